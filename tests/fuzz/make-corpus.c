// SPDX-License-Identifier: BSD-3-Clause
/*
 * make-corpus [-v] OUTDIR: writes seed inputs into OUTDIR/fuzz_receive,
 * OUTDIR/fuzz_send, OUTDIR/fuzz_uapi and OUTDIR/fuzz_inner (inner_seeds.c);
 * -v tells what each fuzz_receive seed makes the device do.
 *
 * A fuzz_receive seed is a whole exchange between the fuzzed device D
 * (rx_world.c) and real peers P1 and P2 run here, each with its own random
 * stream. Every datagram D is given is recorded as it is played to D, and
 * since the fuzzer builds and drives D with the same code and the same
 * random stream, the seed replays exactly: D's responses, session indices
 * and keys come out the same, and the recorded data messages decrypt.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "inner_seeds.h"
#include "rx_world.h"

#define SEED_MAX (64 * 1024)
#define QUEUE_MAX 256
#define DGRAM_MAX 2048
#define PEER_SEED 0x9e3779b9ULL

/* Delay bytes (fuzz_delay_ns): 0-127 are 10 ms steps, 128+n is n+1 s. */
#define SECONDS(n) ((uint8_t)(127 + (n)))

struct dgram {
	uint8_t sel;
	uint8_t data[DGRAM_MAX];
	size_t len;
};

struct queue {
	struct dgram d[QUEUE_MAX];
	size_t n;
};

struct gen;

struct gen_peer {
	struct gen *g;
	altuntun_device *dev;
	struct fuzz_rng rng;
	uint8_t sel;                  /* the source D sees it send from */
	struct altuntun_endpoint d_ep; /* D's address as it knows it */
	struct queue in;              /* from D */
};

struct gen {
	struct rx_world w;
	struct gen_peer p[2];
	unsigned n_peers;
	struct queue to_d;
	bool drop_to_p;
	uint8_t extra_sel; /* or'ed into the sel of every datagram for D */
	uint8_t seed[SEED_MAX];
	size_t seed_len;
};

static struct gen G;
static const char *out_dir;

/* ---- files ---- */

static void write_file(const char *target, const char *name, const void *data, size_t len)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s/%s", out_dir, target, name);
	f = fopen(path, "wb");
	if (!f || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
		fprintf(stderr, "make-corpus: cannot write %s: %s\n", path, strerror(errno));
		exit(1);
	}
}

static void make_dir(const char *path)
{
	if (mkdir(path, 0755) && errno != EEXIST) {
		fprintf(stderr, "make-corpus: cannot create %s: %s\n", path, strerror(errno));
		exit(1);
	}
}

static void make_dirs(void)
{
	static const char *const targets[] = {"fuzz_receive", "fuzz_send", "fuzz_uapi",
						     "fuzz_inner"};
	char path[4096];

	make_dir(out_dir);
	for (size_t i = 0; i < sizeof(targets) / sizeof(targets[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", out_dir, targets[i]);
		make_dir(path);
	}
}

static void put(uint8_t *buf, size_t *len, size_t cap, const void *data, size_t n)
{
	FUZZ_CHECK(*len + n <= cap);
	if (n)
		memcpy(buf + *len, data, n);
	*len += n;
}

/* ---- the network between D and the peers ---- */

static void push(struct queue *q, uint8_t sel, const uint8_t *data, size_t len)
{
	FUZZ_CHECK(q->n < QUEUE_MAX && len <= DGRAM_MAX);
	q->d[q->n].sel = sel;
	memcpy(q->d[q->n].data, data, len);
	q->d[q->n++].len = len;
}

static bool same_addr(const struct altuntun_endpoint *a, const struct altuntun_endpoint *b)
{
	if (a->addr.sa.sa_family != b->addr.sa.sa_family)
		return false;
	if (a->addr.sa.sa_family == AF_INET)
		return a->addr.in4.sin_port == b->addr.in4.sin_port &&
		       a->addr.in4.sin_addr.s_addr == b->addr.in4.sin_addr.s_addr;
	return a->addr.in6.sin6_port == b->addr.in6.sin6_port &&
	       !memcmp(&a->addr.in6.sin6_addr, &b->addr.in6.sin6_addr, 16);
}

/* D's datagrams reach the peer that sits at the address they go to. */
static void from_d(void *ctx, const struct altuntun_endpoint *to, const uint8_t *data, size_t len)
{
	struct gen *g = ctx;

	for (unsigned i = 0; i < g->n_peers; i++) {
		struct altuntun_endpoint ep;

		rxw_source(g->p[i].sel, &ep);
		if (same_addr(&ep, to)) {
			push(&g->p[i].in, 0, data, len);
			return;
		}
	}
}

static int from_peer(void *ctx, altuntun_peer *peer, const struct altuntun_endpoint *to,
		     const uint8_t *data, size_t len)
{
	struct gen_peer *p = ctx;

	(void)peer;
	(void)to;
	push(&p->g->to_d, p->sel, data, len);
	return 0;
}

/* Appends a record to the seed and plays it to D. */
static void record(struct gen *g, uint8_t delay, uint8_t sel, const uint8_t *data, size_t len)
{
	uint8_t hdr[RXW_RECORD_HEADER] = {delay, sel, (uint8_t)len, (uint8_t)(len >> 8)};

	put(g->seed, &g->seed_len, SEED_MAX, hdr, sizeof(hdr));
	put(g->seed, &g->seed_len, SEED_MAX, data, len);
	rxw_step(&g->w, delay, sel, data, len);
}

static size_t deliver_to_peer(struct gen *g, struct gen_peer *p)
{
	static struct queue q;
	struct altuntun_out out;

	q = p->in;
	p->in.n = 0;
	if (g->drop_to_p)
		return q.n;
	fuzz_rng_use(&p->rng);
	for (size_t i = 0; i < q.n; i++)
		altuntun_receive(p->dev, g->w.now, &p->d_ep, q.d[i].data, q.d[i].len, &out);
	return q.n;
}

static size_t deliver_to_d(struct gen *g)
{
	static struct queue q;

	q = g->to_d;
	g->to_d.n = 0;
	for (size_t i = 0; i < q.n; i++)
		record(g, 0, q.d[i].sel | g->extra_sel, q.d[i].data, q.d[i].len);
	return q.n;
}

/* Delivers everything both ways until the network is quiet. */
static void flush(struct gen *g)
{
	for (unsigned round = 0; round < 64; round++) {
		size_t moved = 0;

		for (unsigned i = 0; i < g->n_peers; i++)
			moved += deliver_to_peer(g, &g->p[i]);
		moved += deliver_to_d(g);
		if (!moved)
			return;
	}
}

/* Moves the clock on (D through an empty record) and runs every timer. */
static void advance(struct gen *g, uint8_t delay)
{
	record(g, delay, 0, NULL, 0);
	for (unsigned i = 0; i < g->n_peers; i++) {
		fuzz_rng_use(&g->p[i].rng);
		altuntun_tick(g->p[i].dev, g->w.now);
	}
}

static void wait(struct gen *g, uint8_t delay)
{
	advance(g, delay);
	flush(g);
}

/* A configuration change of D (enum rxw_ctl). */
static void control(struct gen *g, uint8_t ctl, uint8_t arg)
{
	uint8_t data[2] = {ctl, arg};

	record(g, 0, RXW_OP_CONTROL, data, sizeof(data));
}

/* ---- the peers ---- */

static void peer_init(struct gen *g, unsigned i, uint8_t flags)
{
	struct gen_peer *p = &g->p[i];
	struct altuntun_callbacks cb = {.send = from_peer, .ctx = p};
	uint8_t priv[ALTUNTUN_KEY_LEN], pub[ALTUNTUN_KEY_LEN], psk[ALTUNTUN_KEY_LEN];
	altuntun_peer *d;

	p->g = g;
	p->sel = i ? RXW_SEL_P2 : RXW_SEL_P1;
	fuzz_rng_seed(&p->rng, PEER_SEED + i);
	fuzz_rng_use(&p->rng);
	p->dev = altuntun_device_new(&cb);
	FUZZ_CHECK(p->dev);
	fuzz_key(i ? RXW_KEY_P2 : RXW_KEY_P1, priv, pub);
	FUZZ_CHECK(altuntun_device_set_private_key(p->dev, priv) == ALTUNTUN_OK);
	fuzz_key(RXW_KEY_D, priv, pub);
	d = altuntun_peer_add(p->dev, pub, NULL);
	FUZZ_CHECK(d);
	if (i)
		rxw_addr_d6(&p->d_ep);
	else
		rxw_addr_d(&p->d_ep);
	fuzz_peer_set_endpoint(d, &p->d_ep);
	fuzz_allow(p->dev, d, "0.0.0.0/0");
	fuzz_allow(p->dev, d, "::/0");
	if (!i && (flags & RXW_PSK)) {
		rxw_psk(psk);
		altuntun_peer_set_preshared_key(d, psk);
	}
}

static void gen_init(struct gen *g, uint8_t flags)
{
	memset(g, 0, sizeof(*g));
	g->n_peers = (flags & RXW_TWO_PEERS) ? 2 : 1;
	for (unsigned i = 0; i < g->n_peers; i++)
		peer_init(g, i, flags);
	put(g->seed, &g->seed_len, SEED_MAX, &flags, 1);
	rxw_init(&g->w, flags, from_d, g);
}

static void gen_finish(struct gen *g, const char *name)
{
	write_file("fuzz_receive", name, g->seed, g->seed_len);
	rxw_free(&g->w);
	for (unsigned i = 0; i < g->n_peers; i++) {
		fuzz_rng_use(&g->p[i].rng);
		altuntun_device_free(g->p[i].dev);
	}
	fuzz_rng_use(NULL);
}

/* ---- inner packets ---- */

/* An IPv4 or IPv6 packet between two addresses given as text. */
static void inner_packet(uint8_t *pkt, size_t len, const char *src, const char *dst)
{
	uint8_t s[16], d[16];
	int family = strchr(src, ':') ? AF_INET6 : AF_INET;

	FUZZ_CHECK(inet_pton(family, src, s) == 1 && inet_pton(family, dst, d) == 1);
	if (family == AF_INET)
		fuzz_ipv4_packet(pkt, len, s, d);
	else
		fuzz_ipv6_packet(pkt, len, s, d);
}

/* Peer i sends an inner packet to D (staged if no session yet). */
static void p_send(struct gen *g, unsigned i, const char *src, const char *dst, size_t len)
{
	static uint8_t buf[ALTUNTUN_HEADROOM + DGRAM_MAX + ALTUNTUN_TAILROOM];
	struct gen_peer *p = &g->p[i];
	struct altuntun_out out;

	FUZZ_CHECK(len <= DGRAM_MAX - ALTUNTUN_DATA_OVERHEAD - 16);
	inner_packet(buf + ALTUNTUN_HEADROOM, len, src, dst);
	fuzz_rng_use(&p->rng);
	if (altuntun_send(p->dev, g->w.now, buf, len, sizeof(buf), RXW_MTU, &out) == ALTUNTUN_OK)
		push(&g->to_d, p->sel, out.data, out.len);
}

/* Peer i sends the bytes of pkt as an inner packet, whatever they are. */
static void p_send_raw(struct gen *g, unsigned i, const uint8_t *pkt, size_t len)
{
	static uint8_t buf[ALTUNTUN_HEADROOM + DGRAM_MAX + ALTUNTUN_TAILROOM];
	struct gen_peer *p = &g->p[i];
	struct altuntun_out out;

	memcpy(buf + ALTUNTUN_HEADROOM, pkt, len);
	fuzz_rng_use(&p->rng);
	if (altuntun_send(p->dev, g->w.now, buf, len, sizeof(buf), RXW_MTU, &out) == ALTUNTUN_OK)
		push(&g->to_d, p->sel, out.data, out.len);
}

/* D is asked to send an inner packet (op: RXW_OP_SEND or _SEND_NOMTU). */
static void d_send(struct gen *g, uint8_t op, const char *dst, size_t len)
{
	uint8_t pkt[DGRAM_MAX];

	inner_packet(pkt, len, strchr(dst, ':') ? "fd00::1" : "10.0.0.1", dst);
	record(g, 0, op, pkt, len);
}

/* ---- fuzz_receive scenarios ---- */

static void handshake_p1(struct gen *g)
{
	p_send(g, 0, "10.0.0.2", "10.0.0.1", 84);
	flush(g);
}

static void sc_p1_initiates(struct gen *g)
{
	handshake_p1(g);
	p_send(g, 0, "fd00::2", "fd00::1", 120);
	p_send(g, 0, "10.9.9.9", "10.0.0.1", 60); /* source not allowed */
	p_send(g, 0, "10.0.0.2", "10.0.0.1", 1400);
	d_send(g, RXW_OP_SEND, "10.0.0.2", 200);
	d_send(g, RXW_OP_SEND_NOMTU, "fd00::2", 77);
	flush(g);
	wait(g, SECONDS(11)); /* D answers data with a keepalive */
}

static void sc_d_initiates(struct gen *g)
{
	d_send(g, RXW_OP_SEND, "10.0.0.2", 100);
	d_send(g, RXW_OP_SEND, "fd00::2", 100);
	flush(g);
	p_send(g, 0, "10.0.0.2", "10.0.0.1", 300);
	d_send(g, RXW_OP_SEND, "10.0.0.2", 40);
	d_send(g, RXW_OP_SEND, "10.0.0.99", 40); /* no route */
	flush(g);
}

static void sc_cookie_from_d(struct gen *g)
{
	struct queue *q = &g->to_d;

	handshake_p1(g);        /* answered with a cookie reply */
	advance(g, SECONDS(6)); /* P1 retries with MAC2 */
	FUZZ_CHECK(q->n == 1);
	for (int i = 0; i < 6; i++) /* replays, until rate limited */
		push(q, q->d[0].sel, q->d[0].data, q->d[0].len);
	flush(g);
	p_send(g, 0, "10.0.0.2", "10.0.0.1", 64);
	flush(g);
}

static void sc_cookie_to_d(struct gen *g)
{
	altuntun_device_set_load_threshold(g->p[0].dev, 0);
	d_send(g, RXW_OP_SEND, "10.0.0.2", 100);
	flush(g);
	wait(g, SECONDS(6));
	p_send(g, 0, "10.0.0.2", "10.0.0.1", 64);
	flush(g);
}

static void sc_keepalive(struct gen *g)
{
	flush(g); /* D initiated when the keepalive was set */
	for (int i = 0; i < 3; i++)
		wait(g, SECONDS(26));
	p_send(g, 0, "10.0.0.2", "10.0.0.1", 100);
	flush(g);
}

static void sc_two_peers(struct gen *g)
{
	p_send(g, 1, "10.0.0.3", "10.0.0.1", 100);
	flush(g);
	p_send(g, 1, "10.1.2.3", "10.0.0.1", 100);
	p_send(g, 1, "fd00::3", "fd00::1", 100);
	p_send(g, 1, "10.0.0.2", "10.0.0.1", 100); /* P1's address */
	handshake_p1(g);
	d_send(g, RXW_OP_SEND, "10.1.0.9", 100);
	d_send(g, RXW_OP_SEND, "10.0.0.2", 100);
	flush(g);
}

static void sc_roaming(struct gen *g)
{
	d_send(g, RXW_OP_SEND, "10.0.0.2", 100); /* no endpoint yet */
	handshake_p1(g);
	g->p[0].sel = RXW_SEL_OTHER4 | RXW_SEL_LOCAL;
	p_send(g, 0, "10.0.0.2", "10.0.0.1", 100);
	flush(g);
	d_send(g, RXW_OP_SEND, "10.0.0.2", 100); /* to the new address */
	g->p[0].sel = RXW_SEL_OTHER6;
	p_send(g, 0, "10.0.0.2", "10.0.0.1", 100);
	flush(g);
}

static void sc_rekey(struct gen *g)
{
	d_send(g, RXW_OP_SEND, "10.0.0.2", 100);
	flush(g);
	for (int i = 0; i < 13; i++) {
		wait(g, SECONDS(10));
		d_send(g, RXW_OP_SEND, "10.0.0.2", 100);
		p_send(g, 0, "10.0.0.2", "10.0.0.1", 100);
		flush(g);
	}
	for (int i = 0; i < 5; i++)
		wait(g, SECONDS(128)); /* sessions expire, keys are zeroed */
	p_send(g, 0, "10.0.0.2", "10.0.0.1", 100);
	flush(g);
}

static void reorder_to_d(struct gen *g)
{
	struct queue *q = &g->to_d;
	struct dgram tmp;

	FUZZ_CHECK(q->n >= 3);
	tmp = q->d[0];
	q->d[0] = q->d[q->n - 1];
	q->d[q->n - 1] = tmp;
	push(q, q->d[1].sel, q->d[1].data, q->d[1].len); /* a replay */
}

static void sc_replay(struct gen *g)
{
	handshake_p1(g);
	for (int i = 0; i < 4; i++)
		p_send(g, 0, "10.0.0.2", "10.0.0.1", 40 + 16 * i);
	reorder_to_d(g);
	flush(g);
}

/* Inner packets D must refuse although they decrypt. */
static void sc_bad_inner(struct gen *g)
{
	uint8_t pkt[200];

	handshake_p1(g);
	inner_packet(pkt, 100, "10.0.0.2", "10.0.0.1");
	pkt[0] = 0x44; /* header shorter than 20 bytes */
	p_send_raw(g, 0, pkt, 100);
	pkt[0] = 0x45;
	pkt[2] = 0;
	pkt[3] = 10; /* total length below the header's */
	p_send_raw(g, 0, pkt, 100);
	pkt[2] = 0x03; /* total length past the packet and its padding */
	p_send_raw(g, 0, pkt, 100);
	inner_packet(pkt, 100, "fd00::2", "fd00::1");
	pkt[4] = 0x07; /* payload length past the end */
	p_send_raw(g, 0, pkt, 100);
	flush(g);
}

/* A jump past the replay window, then a packet from before it. */
static void sc_window(struct gen *g)
{
	struct dgram old;

	handshake_p1(g);
	p_send(g, 0, "10.0.0.2", "10.0.0.1", 40);
	old = g->to_d.d[--g->to_d.n];
	for (int i = 0; i < 9000; i++) {
		p_send(g, 0, "10.0.0.2", "10.0.0.1", 20);
		g->to_d.n--;
	}
	p_send(g, 0, "10.0.0.2", "10.0.0.1", 40);
	push(&g->to_d, old.sel, old.data, old.len);
	flush(g);
}

/* More packets than D holds while a handshake is pending. */
static void sc_staged_full(struct gen *g)
{
	g->drop_to_p = true;
	for (int i = 0; i < ALTUNTUN_MAX_STAGED_PACKETS + 3; i++)
		d_send(g, RXW_OP_SEND, "10.0.0.2", 20);
	flush(g); /* the first initiation is lost */
	g->drop_to_p = false;
	wait(g, SECONDS(6));
	p_send(g, 0, "10.0.0.2", "10.0.0.1", 100);
	flush(g);
}

/* Configuration changes in the middle of sessions and handshakes. */
static void sc_controls(struct gen *g)
{
	handshake_p1(g);
	p_send(g, 1, "10.0.0.3", "10.0.0.1", 100);
	flush(g);
	control(g, RXW_CTL_KEY_SAME, 0);
	d_send(g, RXW_OP_SEND, "10.0.0.4", 60); /* low-order peer */
	control(g, RXW_CTL_REMOVE_P2, 0);
	p_send(g, 1, "10.0.0.3", "10.0.0.1", 100); /* to a removed peer */
	control(g, RXW_CTL_KEEPALIVE, 5);
	control(g, RXW_CTL_PSK, 0);
	control(g, RXW_CTL_CLEAR_LOCAL, 0);
	control(g, RXW_CTL_MOVE_PREFIX, 0);
	control(g, RXW_CTL_DROP_PREFIX, 0);
	p_send(g, 0, "10.0.0.2", "10.0.0.1", 100);
	flush(g);
	wait(g, SECONDS(6));
	control(g, RXW_CTL_ENDPOINT, RXW_SEL_OTHER4);
	g->p[0].sel = RXW_SEL_OTHER4;
	wait(g, SECONDS(6));
	control(g, RXW_CTL_LOAD, 0);
	control(g, RXW_CTL_READD_P1, 0); /* P1's session is gone on D */
	p_send(g, 0, "10.0.0.2", "10.0.0.1", 100);
	d_send(g, RXW_OP_SEND, "10.0.0.2", 60);
	flush(g);
	wait(g, SECONDS(6));
}

/* D takes another key, then P1's own (which removes P1), then its own. */
static void sc_key_change(struct gen *g)
{
	handshake_p1(g);
	control(g, RXW_CTL_KEY_OTHER, 0);
	p_send(g, 0, "10.0.0.2", "10.0.0.1", 100);
	d_send(g, RXW_OP_SEND, "10.0.0.2", 60);
	flush(g);
	control(g, RXW_CTL_KEY_OTHER, 1);
	d_send(g, RXW_OP_SEND, "10.0.0.2", 60);
	control(g, RXW_CTL_KEY_REMOVE, 0);
	wait(g, SECONDS(6));
	control(g, RXW_CTL_KEY_RESTORE, 0);
	control(g, RXW_CTL_READD_P1, 0);
	wait(g, SECONDS(6));
	p_send(g, 0, "10.0.0.2", "10.0.0.1", 100);
	flush(g);
}

/* Takes the last datagram a peer queued for D off the queue. */
static struct dgram take_to_d(struct gen *g)
{
	FUZZ_CHECK(g->to_d.n > 0);
	return g->to_d.d[--g->to_d.n];
}

/* Plays msg to D with `len` bytes at `off` replaced by `with` (or flipped
 * when NULL), MAC1 made valid again by the fuzzer. */
static void forge(struct gen *g, const struct dgram *msg, size_t off, const uint8_t *with,
		  size_t len)
{
	struct dgram d = *msg;

	for (size_t i = 0; i < len; i++)
		d.data[off + i] = with ? with[i] : d.data[off + i] ^ 0x80;
	record(g, 0, d.sel | RXW_SEL_FIX_MAC1, d.data, d.len);
}

/* Initiations that pass MAC1 but not what follows, then the real one. */
static void sc_forged_initiation(struct gen *g)
{
	struct dgram init;

	p_send(g, 0, "10.0.0.2", "10.0.0.1", 100);
	init = take_to_d(g);
	forge(g, &init, 8, rxw_low_order_point, 32); /* ephemeral */
	forge(g, &init, 40, NULL, 1);                /* encrypted static */
	forge(g, &init, 88, NULL, 1);                /* encrypted timestamp */
	forge(g, &init, 0, NULL, 0);                 /* nothing: MAC1 stays valid */
	flush(g);
}

/* The same for the response to D's initiation. */
static void sc_forged_response(struct gen *g)
{
	const uint32_t index = 0x12345678;
	struct dgram resp;

	d_send(g, RXW_OP_SEND, "10.0.0.2", 100);
	deliver_to_peer(g, &g->p[0]);
	resp = take_to_d(g);
	forge(g, &resp, 8, (const uint8_t *)&index, 4); /* receiver index */
	forge(g, &resp, 12, rxw_low_order_point, 32);  /* ephemeral */
	forge(g, &resp, 44, NULL, 1);                  /* encrypted nothing */
	record(g, 0, resp.sel, resp.data, resp.len);
	flush(g);
	p_send(g, 0, "10.0.0.2", "10.0.0.1", 100);
	flush(g);
}

/* The split data path, its finish delayed past changes of the session. */
static void sc_split(struct gen *g)
{
	g->extra_sel = RXW_SEL_SPLIT;
	handshake_p1(g);
	for (int i = 0; i < 3; i++)
		p_send(g, 0, "10.0.0.2", "10.0.0.1", 60 + 20 * i);
	reorder_to_d(g); /* five prepared: the first four finish before the fifth */
	flush(g);
	p_send(g, 0, "10.0.0.2", "10.0.0.1", 40);
	g->to_d.d[g->to_d.n - 1].data[20] ^= 1; /* fails the tag */
	deliver_to_d(g);
	d_send(g, RXW_OP_SEND, "10.0.0.2", 80); /* finishes the fifth and sixth */
	p_send(g, 0, "10.0.0.2", "10.0.0.1", 100);
	p_send(g, 0, "fd00::2", "fd00::1", 100);
	deliver_to_d(g);
	control(g, RXW_CTL_READD_P1, 0); /* both finish without a session */
	flush(g);
	p_send(g, 0, "10.0.0.2", "10.0.0.1", 100);
	deliver_to_d(g);
	wait(g, SECONDS(128));
	wait(g, SECONDS(60)); /* finishes after the session expired */
}

static void sc_give_up(struct gen *g)
{
	g->drop_to_p = true;
	d_send(g, RXW_OP_SEND, "10.0.0.2", 100);
	for (int i = 0; i < 20; i++)
		wait(g, SECONDS(6));
	g->drop_to_p = false;
	d_send(g, RXW_OP_SEND, "10.0.0.2", 100);
	flush(g);
}

static void sc_crossing(struct gen *g)
{
	p_send(g, 0, "10.0.0.2", "10.0.0.1", 100);
	d_send(g, RXW_OP_SEND, "10.0.0.2", 100);
	p_send(g, 1, "10.0.0.3", "10.0.0.1", 100);
	d_send(g, RXW_OP_SEND, "10.0.0.3", 100);
	flush(g);
	/* The initiations crossed; the jittered retries must not cross again. */
	wait(g, SECONDS(5));
	for (int i = 0; i < 34; i++)
		wait(g, 1);
	p_send(g, 0, "10.0.0.2", "10.0.0.1", 100);
	p_send(g, 1, "10.0.0.3", "10.0.0.1", 100);
	flush(g);
}

static void sc_load_two(struct gen *g)
{
	p_send(g, 0, "10.0.0.2", "10.0.0.1", 100);
	p_send(g, 1, "fd00::3", "fd00::1", 100);
	flush(g);
	wait(g, SECONDS(6));
	p_send(g, 0, "10.0.0.2", "10.0.0.1", 100);
	p_send(g, 1, "10.1.0.1", "10.0.0.1", 100);
	flush(g);
}

struct scenario {
	const char *name;
	uint8_t flags;
	void (*run)(struct gen *g);
};

static const struct scenario scenarios[] = {
	{"p1-initiates", 0, sc_p1_initiates},
	{"d-initiates", 0, sc_d_initiates},
	{"cookie-from-d", RXW_UNDER_LOAD, sc_cookie_from_d},
	{"cookie-to-d", 0, sc_cookie_to_d},
	{"psk-keepalive", RXW_PSK | RXW_KEEPALIVE, sc_keepalive},
	{"two-peers", RXW_TWO_PEERS, sc_two_peers},
	{"roaming", RXW_NO_ENDPOINT, sc_roaming},
	{"rekey-expiry", 0, sc_rekey},
	{"replay-reorder", 0, sc_replay},
	{"give-up", 0, sc_give_up},
	{"crossing", RXW_TWO_PEERS, sc_crossing},
	{"load-two-psk", RXW_UNDER_LOAD | RXW_TWO_PEERS | RXW_PSK, sc_load_two},
	{"bad-inner", 0, sc_bad_inner},
	{"replay-window", 0, sc_window},
	{"staged-full", 0, sc_staged_full},
	{"controls", RXW_TWO_PEERS | RXW_LOW_ORDER, sc_controls},
	{"key-change", 0, sc_key_change},
	{"forged-initiation", 0, sc_forged_initiation},
	{"forged-response", 0, sc_forged_response},
	{"split", 0, sc_split},
};

static void print_stats(const char *name, size_t len, const struct rxw_stats *st)
{
	fprintf(stderr, "%-20s %5zu bytes: D sent %llu initiations, %llu responses, "
		"%llu cookie replies, %llu data; delivered %llu\n", name, len,
		(unsigned long long)st->sent[1], (unsigned long long)st->sent[2],
		(unsigned long long)st->sent[3], (unsigned long long)st->sent[4],
		(unsigned long long)st->delivered);
}

/*
 * Replays the seed as the fuzzer will: D must do just what it did while the
 * seed was recorded, or the library has a source of randomness or time
 * the fuzzer does not control, and the seeds reach less deep than meant.
 */
static void check_replay(const char *name, const struct gen *g)
{
	struct rxw_stats st;

	rxw_play(g->seed, g->seed_len, &st);
	if (memcmp(&st, &g->w.stats, sizeof(st))) {
		fprintf(stderr, "make-corpus: warning: %s does not replay alike:\n", name);
		print_stats("  recorded", g->seed_len, &g->w.stats);
		print_stats("  replayed", g->seed_len, &st);
	}
}

static void receive_seeds(bool verbose)
{
	for (size_t i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++) {
		char name[64];

		snprintf(name, sizeof(name), "gen-%s", scenarios[i].name);
		gen_init(&G, scenarios[i].flags);
		scenarios[i].run(&G);
		if (verbose)
			print_stats(name, G.seed_len, &G.w.stats);
		if (!G.w.stats.delivered && strcmp(scenarios[i].name, "give-up"))
			fprintf(stderr, "make-corpus: warning: %s delivers nothing\n", name);
		gen_finish(&G, name);
		check_replay(name, &G);
	}
}

/* ---- fuzz_send seeds (format: fuzz_common.h) ---- */

struct send_seed {
	uint8_t buf[8192];
	size_t len;
};

/* A record whose packet is given in full (up to `given` bytes of it). */
static void send_rec(struct send_seed *s, const char *src, const char *dst, size_t len,
		     uint16_t mtu, uint8_t mode, size_t given)
{
	uint8_t hdr[SEND_RECORD_HEADER] = {(uint8_t)len, (uint8_t)(len >> 8), (uint8_t)mtu,
					   (uint8_t)(mtu >> 8), mode};
	static uint8_t pkt[65536];

	inner_packet(pkt, len, src, dst);
	put(s->buf, &s->len, sizeof(s->buf), hdr, sizeof(hdr));
	put(s->buf, &s->len, sizeof(s->buf), pkt, given < len ? given : len);
}

static void send_seeds(void)
{
	struct send_seed s = {0};

	send_rec(&s, "10.0.0.1", "10.0.0.2", 20, 1420, 0, 20);
	send_rec(&s, "10.0.0.1", "10.0.0.2", 100, 0, 0, 100);
	send_rec(&s, "10.0.0.1", "10.0.0.2", 1400, 1420, 3, 1400);
	write_file("fuzz_send", "gen-v4", s.buf, s.len);

	s.len = 0;
	send_rec(&s, "fd00::1", "2001:db8::2", 40, 1280, 0, 40);
	send_rec(&s, "fd00::1", "2001:db8::2", 1500, 1280, 0, 1500); /* beyond the MTU */
	send_rec(&s, "fd00::1", "2001:db8::2", 77, 80, SEND_MODE_BATCH, 77);
	send_rec(&s, "fd00::1", "2001:db8::2", 300, 0, SEND_MODE_SPLIT, 300);
	send_rec(&s, "10.0.0.1", "10.0.0.2", 64, 1420, SEND_MODE_SPLIT | 7, 64);
	write_file("fuzz_send", "gen-v6", s.buf, s.len);

	s.len = 0;
	send_rec(&s, "10.0.0.1", "172.16.0.1", 60, 1420, 0, 60); /* peer C: queued */
	send_rec(&s, "fd00::1", "8000::1", 60, 1420, 0, 60);
	send_rec(&s, "10.0.0.1", "203.0.113.1", 60, 1420, 0, 60); /* no route */
	send_rec(&s, "fd00::1", "fd00::2", 60, 1420, 0, 60);
	write_file("fuzz_send", "gen-routes", s.buf, s.len);

	s.len = 0;
	send_rec(&s, "10.0.0.1", "10.0.0.2", 100, 0, SEND_MODE_SHORT_TAIL | 30, 100);
	send_rec(&s, "10.0.0.1", "10.0.0.2", 9000, 9000, 0, 40); /* rest: pattern */
	send_rec(&s, "10.0.0.1", "10.0.0.2", 65535, 0, 0, 20);
	write_file("fuzz_send", "gen-sizes", s.buf, s.len);

	s.len = 0;
	send_rec(&s, "10.0.0.1", "10.0.0.2", 33, 17, 0, 33);
	send_rec(&s, "10.0.0.1", "10.0.0.2", 48, 1, 0, 48);
	send_rec(&s, "10.0.0.1", "10.0.0.2", 49, 65535, 15, 49);
	write_file("fuzz_send", "gen-mtus", s.buf, s.len);
}

/* ---- fuzz_uapi seeds: requests naming the fuzzed device's real peers ---- */

static void key_hex(unsigned id, bool public, char out[65])
{
	uint8_t priv[ALTUNTUN_KEY_LEN], pub[ALTUNTUN_KEY_LEN];

	fuzz_key(id, priv, pub);
	altuntun_key_to_hex(out, public ? pub : priv);
}

static void uapi_seed(const char *name, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void uapi_seed(const char *name, const char *fmt, ...)
{
	char buf[4096];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	FUZZ_CHECK(n > 0 && (size_t)n < sizeof(buf));
	write_file("fuzz_uapi", name, buf, (size_t)n);
}

/* Enough prefixes for the get response to outgrow its first buffer. */
static void uapi_many_prefixes(const char *peer)
{
	static char buf[8192];
	int n = snprintf(buf, sizeof(buf), "set=1\npublic_key=%s\n", peer);

	for (int i = 0; i < 200; i++)
		n += snprintf(buf + n, sizeof(buf) - (size_t)n, "allowed_ip=10.%d.%d.0/24\n",
			      i / 16, i % 16 * 16);
	n += snprintf(buf + n, sizeof(buf) - (size_t)n, "\nget=1\n\n");
	FUZZ_CHECK((size_t)n < sizeof(buf));
	write_file("fuzz_uapi", "gen-many-prefixes", buf, (size_t)n);
}

static void uapi_seeds(void)
{
	char peer1[65], peer2[65], dev_priv[65], dev_pub[65];

	/* Keys 21-23: the device and peers fuzz_uapi.c sets up. */
	key_hex(22, true, peer1);
	key_hex(23, true, peer2);
	key_hex(21, false, dev_priv);
	key_hex(21, true, dev_pub);
	uapi_seed("gen-update", "set=1\npublic_key=%s\nupdate_only=true\n"
		  "endpoint=[fe80::1%%1]:51820\nreplace_allowed_ips=true\n"
		  "allowed_ip=192.168.0.0/16\nallowed_ip=-10.0.0.2/32\n"
		  "public_key=%s\nremove=true\n\nget=1\n\n", peer1, peer2);
	uapi_seed("gen-self", "set=1\nprivate_key=%s\npublic_key=%s\n"
		  "persistent_keepalive_interval=0\n\n", dev_priv, dev_pub);
	uapi_seed("gen-replace", "set=1\nreplace_peers=true\npublic_key=%s\n"
		  "preshared_key=%s\nallowed_ip=::/0\nprotocol_version=1\n\nget=1\n\n",
		  peer2, peer1);
	uapi_many_prefixes(peer1);
}

int main(int argc, char **argv)
{
	bool verbose = argc == 3 && !strcmp(argv[1], "-v");

	if (argc != 2 && !verbose) {
		fprintf(stderr, "usage: make-corpus [-v] OUTDIR\n");
		return 2;
	}
	out_dir = argv[argc - 1];
	make_dirs();
	fuzz_init();
	receive_seeds(verbose);
	send_seeds();
	uapi_seeds();
	inner_seeds(write_file);
	return 0;
}
