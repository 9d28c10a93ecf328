// SPDX-License-Identifier: BSD-3-Clause
/*
 * The data path in batches (docs/performance.md, "Levers"):
 *
 * TUN -> UDP: read packets from the TUN until it is empty or a batch is
 * full; with IFF_VNET_HDR a read may bring a TCP/UDP super-packet of up to
 * 64 KiB, split here into MTU-sized packets (offload.c). All of them are
 * copied into one arena of fixed size, encrypted in place, and sent with
 * as few system calls as possible: runs of equal-sized datagrams to one
 * endpoint go as one UDP GSO message (UDP_SEGMENT), and all messages of
 * the batch in one sendmmsg.
 *
 * UDP -> TUN: recvmmsg into fixed buffers; with UDP_GRO one buffer holds
 * many datagrams of one size. Each is decrypted in place; consecutive TCP
 * segments of a flow are written to the TUN as one super-packet (writev:
 * virtio header, first packet, the payloads of the others).
 *
 * With --threads 2 or more, a second thread does half of the AEAD work of
 * each batch (the library's split data path: prepare here, seal or open
 * there, finish here), while this one does the other half.
 *
 * Memory is allocated once, in datapath_init(); nothing per packet.
 */
#include <errno.h>
#include <linux/if_tun.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent.h"
#include "icmp_error.h"
#include "log.h"
#include "loop_guard.h"
#include "offload.h"

#define DP_ARENA (512u * 1024u)        /* TUN -> UDP: packets of one batch */
#define DP_TX_MAX 512                  /* packets in one batch */
#define DP_TUN_READS 64                /* TUN reads per event */
#define DP_GSO_MAX_SEGS 64             /* datagrams per UDP GSO message */
#define DP_GSO_MAX_BYTES 65000u        /* bytes per UDP GSO message */
#define DP_RX_MSGS 16                  /* recvmmsg buffers */
#define DP_RX_BUF (64u * 1024u)        /* each: room for a coalesced 64 KiB */
#define DP_UDP_CALLS 8                 /* recvmmsg calls per event */

struct dp_tx {
	uint8_t *buf; /* ALTUNTUN_HEADROOM + packet + ALTUNTUN_TAILROOM */
	size_t len, cap;
};

/* A datagram of the receive batch waiting for its AEAD step. */
struct dp_rxjob {
	const struct altuntun_endpoint *from;
	uint8_t *buf;
	size_t len;
};

#define DP_RX_JOBS 1024
/* Batches smaller than this are not worth waking the worker for. */
#define DP_WORKER_MIN 8
/* How long either side spins before it sleeps, waiting for the other. */
#define DP_SPIN_NS 30000

/* The AEAD worker (--threads 2 or more). */
struct dp_worker {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	atomic_uint state; /* WK_IDLE, WK_WORK, WK_QUIT */
	struct altuntun_crypt *jobs;
	size_t njobs;
	bool open;
	altuntun_aead *aead;
	bool started;
};

enum { WK_IDLE, WK_WORK, WK_QUIT };

/* A datagram for no peer (a cookie reply) made while a receive batch is
 * handled: they go out together at the end of the batch, in one sendmmsg. */
#define DP_REPLIES 64
#define DP_REPLY_MAX 64 /* a cookie reply */

struct dp_reply {
	struct altuntun_endpoint ep;
	uint8_t data[DP_REPLY_MAX];
	struct iovec iov;
};

struct datapath {
	bool vnet;         /* the TUN has IFF_VNET_HDR */
	bool coalesce;     /* coalesce TCP toward the TUN */
	bool udp_gso;      /* UDP_SEGMENT works */
	unsigned features; /* TUN_F_* granted */
	bool loop_warned;  /* a routing loop was reported (loop_guard.h) */
	bool used;         /* a packet went through: the buffers held plaintext */

	/* TUN -> UDP */
	uint8_t *arena;
	size_t arena_used, ntx;
	struct dp_tx tx[DP_TX_MAX];
	struct altuntun_out out[DP_TX_MAX];
	int res[DP_TX_MAX];
	struct udp_tx msg[DP_TX_MAX];
	struct altuntun_endpoint ep[DP_TX_MAX];
	altuntun_peer *peer[DP_TX_MAX];
	struct iovec iov[DP_TX_MAX];
	struct altuntun_crypt crypt[DP_TX_MAX > DP_RX_JOBS ? DP_TX_MAX : DP_RX_JOBS];

	/* --threads: the AEAD worker and this thread's context */
	struct dp_worker wk;
	altuntun_aead *aead;
	struct dp_rxjob rxjob[DP_RX_JOBS];
	size_t nrxjob;

	/* UDP -> TUN */
	bool in_rx; /* handling a receive batch: replies wait for its end */
	struct dp_reply reply[DP_REPLIES];
	struct udp_tx reply_tx[DP_REPLIES];
	size_t nreply;
	uint8_t *rxmem;
	struct udp_rx rx[DP_RX_MSGS];
	struct gro_batch gro;
	struct virtio_net_hdr whdr;
	struct iovec wiov[GRO_MAX_SEGS + 1];

	/* No peer for a destination: the sender is told (icmp_error.h) */
	struct icmp_error_limiter icmp;
	uint8_t icmp_buf[ICMP_ERROR_MAX];
};

/* ---- the AEAD worker ---- */

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void crypt_run(altuntun_aead *aead, struct altuntun_crypt *c, size_t n, bool open)
{
	for (size_t i = 0; i < n; i++) {
		if (open)
			altuntun_crypt_open(aead, &c[i]);
		else
			altuntun_crypt_seal(aead, &c[i]);
	}
}

/* Waits until *state is no longer `from` (spinning a little first). */
static unsigned wait_change(struct dp_worker *w, unsigned from)
{
	uint64_t until = mono_ns() + DP_SPIN_NS;
	unsigned st;

	while ((st = atomic_load_explicit(&w->state, memory_order_acquire)) == from) {
		if (mono_ns() > until) {
			pthread_mutex_lock(&w->mu);
			while ((st = atomic_load_explicit(&w->state, memory_order_acquire)) == from)
				pthread_cond_wait(&w->cv, &w->mu);
			pthread_mutex_unlock(&w->mu);
			break;
		}
	}
	return st;
}

static void set_state(struct dp_worker *w, unsigned st)
{
	pthread_mutex_lock(&w->mu);
	atomic_store_explicit(&w->state, st, memory_order_release);
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

static void *worker_main(void *arg)
{
	struct dp_worker *w = arg;

	for (;;) {
		if (wait_change(w, WK_IDLE) == WK_QUIT)
			return NULL;
		crypt_run(w->aead, w->jobs, w->njobs, w->open);
		set_state(w, WK_IDLE);
	}
}

/* The AEAD step of n prepared packets: half on the worker, if there is
 * one and the batch is worth it. */
static void crypt_batch(struct datapath *d, struct altuntun_crypt *c, size_t n, bool open)
{
	size_t mine = n;

	if (d->wk.started && n >= DP_WORKER_MIN) {
		mine = n / 2;
		d->wk.jobs = c + mine;
		d->wk.njobs = n - mine;
		d->wk.open = open;
		set_state(&d->wk, WK_WORK);
	}
	crypt_run(d->aead, c, mine, open);
	if (mine < n)
		wait_change(&d->wk, WK_WORK);
}

static int worker_start(struct datapath *d)
{
	struct dp_worker *w = &d->wk;
	int r;

	w->aead = altuntun_aead_new();
	d->aead = altuntun_aead_new();
	if (!w->aead || !d->aead)
		return -ENOMEM;
	atomic_init(&w->state, WK_IDLE);
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	r = pthread_create(&w->thread, NULL, worker_main, w);
	if (r)
		return -r;
	w->started = true;
	return 0;
}

static void worker_stop(struct datapath *d)
{
	struct dp_worker *w = &d->wk;

	if (w->started) {
		set_state(w, WK_QUIT);
		pthread_join(w->thread, NULL);
		pthread_mutex_destroy(&w->mu);
		pthread_cond_destroy(&w->cv);
		w->started = false;
	}
	altuntun_aead_free(w->aead);
	altuntun_aead_free(d->aead);
	w->aead = d->aead = NULL;
}

unsigned datapath_offloads(const struct agent_options *o)
{
	static const struct {
		const char *name;
		unsigned bit;
	} names[] = {
		{ "tso", DP_OFFLOAD_TSO }, { "gso", DP_OFFLOAD_UDP_GSO },
		{ "gro", DP_OFFLOAD_UDP_GRO }, { "coalesce", DP_OFFLOAD_COALESCE },
	};
	const char *off = getenv("ALTUNTUN_OFFLOAD_OFF");
	unsigned mask = DP_OFFLOAD_ALL;

	if (o->no_offload)
		return 0;
	for (size_t i = 0; off && i < sizeof(names) / sizeof(names[0]); i++) {
		size_t n = strlen(names[i].name);

		for (const char *p = strstr(off, names[i].name); p; p = strstr(p + 1, names[i].name))
			if ((p == off || p[-1] == ',') && (p[n] == ',' || !p[n]))
				mask &= ~names[i].bit;
	}
	return mask;
}

int datapath_init(struct agent *a)
{
	struct datapath *d;
	unsigned features = 0, offloads;
	int r;

	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->arena = malloc(DP_ARENA);
	d->rxmem = malloc((size_t)DP_RX_MSGS * DP_RX_BUF);
	if (!d->arena || !d->rxmem) {
		free(d->arena);
		free(d->rxmem);
		free(d);
		return -ENOMEM;
	}
	for (size_t i = 0; i < DP_RX_MSGS; i++) {
		d->rx[i].buf = d->rxmem + i * DP_RX_BUF;
		d->rx[i].cap = DP_RX_BUF;
	}
	a->dp = d;
	icmp_error_limiter_init(&d->icmp, randombytes_random());

	offloads = datapath_offloads(a->opt);
	r = tun_offload_enable(a->tun_src.fd, offloads & DP_OFFLOAD_TSO, &features);
	if (r < 0) {
		log_error("tun %s: cannot set up offloads: %s", a->ifname, strerror(-r));
		return r;
	}
	d->vnet = r > 0;
	d->features = features;
	d->coalesce = d->vnet && (offloads & DP_OFFLOAD_COALESCE);
	d->udp_gso = offloads & DP_OFFLOAD_UDP_GSO;
	if (a->opt->threads > 1) {
		r = worker_start(d);
		if (r < 0) {
			log_error("cannot start the encryption thread: %s", strerror(-r));
			return r;
		}
	}
	if (a->opt->no_offload)
		log_info("offloads off (--no-offload)");
	else
		log_info("offloads: TUN %s%s%s%s%s; UDP GSO %s, GRO %s",
			 d->vnet ? "with virtio header" : "plain",
			 features & TUN_F_CSUM ? ", checksum" : "",
			 (features & TUN_F_TSO4) && (features & TUN_F_TSO6) ? ", TSO4/6" : "",
			 features & 0x60 ? ", USO4/6" : "", d->coalesce ? ", TCP coalescing" : "",
			 d->udp_gso ? "on" : "off", offloads & DP_OFFLOAD_UDP_GRO ? "on" : "off");
	return 0;
}

int datapath_start_worker(struct agent *a)
{
	struct datapath *d = a->dp;
	int r;

	if (!d || d->wk.started || a->opt->threads <= 1)
		return 0;
	r = worker_start(d);
	if (r < 0)
		log_error("cannot start the encryption thread: %s", strerror(-r));
	return r;
}

void datapath_free(struct agent *a)
{
	struct datapath *d = a->dp;

	if (!d)
		return;
	worker_stop(d);
	/* Plaintext went through these (if anything did: the bootstrap of a
	 * separated daemon never moves a packet, and wiping would only
	 * touch 1.5 MiB it never used). */
	if (d->used) {
		explicit_bzero(d->arena, DP_ARENA);
		explicit_bzero(d->rxmem, (size_t)DP_RX_MSGS * DP_RX_BUF);
	}
	free(d->arena);
	free(d->rxmem);
	if (d->used)
		explicit_bzero(d, sizeof(*d));
	free(d);
	a->dp = NULL;
}

/* ---- TUN -> UDP ---- */

static size_t slot_size(size_t len)
{
	return (ALTUNTUN_HEADROOM + len + ALTUNTUN_TAILROOM + 15) & ~(size_t)15;
}

/* Room for a packet of up to maxlen bytes, or NULL: flush first. */
static uint8_t *tx_reserve(struct datapath *d, size_t maxlen)
{
	if (d->ntx == DP_TX_MAX || d->arena_used + slot_size(maxlen) > DP_ARENA)
		return NULL;
	return d->arena + d->arena_used;
}

static void tx_commit(struct datapath *d, uint8_t *slot, size_t len)
{
	d->tx[d->ntx].buf = slot;
	d->tx[d->ntx].len = len;
	d->tx[d->ntx].cap = ALTUNTUN_HEADROOM + len + ALTUNTUN_TAILROOM;
	d->ntx++;
	d->arena_used += slot_size(len);
}

/* Datagrams of a GSO message that could not be sent as one, one by one. */
static void tx_send_singly(struct agent *a, struct udp_tx *m, altuntun_peer *peer)
{
	for (size_t j = 0; j < m->iovlen; j++) {
		struct altuntun_endpoint ep = *m->ep;
		bool had_source = ep.local_family != 0;
		int r = udp_send(&a->udp, &ep, m->iov[j].iov_base, m->iov[j].iov_len);

		if (r == -EMSGSIZE && outer_frag_allowed(&a->frag, &a->route, m->ep, a->udp.fwmark))
			r = udp_send_fragmented(&a->udp, &ep, m->iov[j].iov_base, m->iov[j].iov_len);

		if (had_source && !ep.local_family && peer)
			altuntun_peer_clear_local_address(peer);
		if (r < 0) {
			a->stats.udp_tx_failed++;
			log_debug("udp: %zu bytes not sent: %s", m->iov[j].iov_len, strerror(-r));
		} else {
			a->stats.udp_tx++;
		}
	}
}

static void tun_write_one(struct agent *a, const uint8_t *pkt, size_t len);

/* No peer has the destination, or its peer no endpoint: an ICMP error
 * back to the sender, as the Linux driver's wg_xmit sends in both cases
 * (icmp_error.h). */
static void tx_unreachable(struct agent *a, uint64_t now_ns, const uint8_t *pkt, size_t len)
{
	struct datapath *d = a->dp;
	enum icmp_error_skip why;
	size_t n = icmp_error_unreachable(&d->icmp, now_ns, pkt, len, d->icmp_buf,
					  sizeof(d->icmp_buf), &why);

	if (!n) {
		log_trace("tun: no ICMP error for the packet nobody takes: %s",
			  icmp_error_skip_str(why));
		return;
	}
	log_trace("tun: %zu-byte ICMP unreachable back to the sender", n);
	tun_write_one(a, d->icmp_buf, n);
}

/* One of our own datagrams came back out of the TUN (loop_guard.h). */
static void tx_loop_drop(struct agent *a, size_t len)
{
	a->stats.tun_rx_dropped++;
	if (!a->dp->loop_warned) {
		a->dp->loop_warned = true;
		log_warn("tun %s: dropped our own UDP datagram (%zu bytes) coming back out of the "
			 "tunnel: a peer's endpoint is routed into it (a routing loop; route the "
			 "endpoint outside the tunnel, or use an fwmark)", a->ifname, len);
	} else {
		log_debug("tun: our own datagram of %zu bytes came back: dropped (routing loop)", len);
	}
}

/* Encrypts the batch and sends it. */
static void tx_flush(struct agent *a)
{
	struct datapath *d = a->dp;
	struct altuntun_now now;
	struct udp_tx *m = NULL;
	size_t nmsg = 0, nseg = 0, bytes = 0;
	bool closed = true;

	if (!d->ntx)
		return;
	now = agent_now();
	for (size_t i = 0; i < d->ntx; i++) {
		struct dp_tx *t = &d->tx[i];
		unsigned mtu = route_mtu_of_packet(a->routes, t->buf + ALTUNTUN_HEADROOM, t->len,
						   a->mtu);
		int r;

		if (loop_guard_own_datagram(a->dev, a->udp.port, t->buf + ALTUNTUN_HEADROOM, t->len)) {
			tx_loop_drop(a, t->len);
			d->res[i] = ALTUNTUN_ERR_NO_ROUTE;
			continue;
		}
		if (d->wk.started)
			r = altuntun_send_prepare(a->dev, now, t->buf, t->len, t->cap, mtu, &d->out[i],
						  &d->crypt[nseg++]);
		else
			r = altuntun_send(a->dev, now, t->buf, t->len, t->cap, mtu, &d->out[i]);
		d->res[i] = r;
		if (r != ALTUNTUN_OK && d->wk.started)
			nseg--;
		if (r == ALTUNTUN_QUEUED) {
			log_trace("tun: %zu bytes queued until a handshake completes", t->len);
		} else if (r < 0) {
			a->stats.tun_rx_dropped++;
			log_debug("tun: packet of %zu bytes dropped: %s (%d)", t->len,
				  altuntun_strerror(r), r);
			if (r == ALTUNTUN_ERR_NO_ROUTE || r == ALTUNTUN_ERR_NO_ENDPOINT)
				tx_unreachable(a, now.mono_ns, t->buf + ALTUNTUN_HEADROOM, t->len);
		}
	}
	if (d->wk.started) {
		crypt_batch(d, d->crypt, nseg, false);
		nseg = 0;
	}
	/* Runs of datagrams to one endpoint, all of one size but the last. */
	for (size_t i = 0; i < d->ntx; i++) {
		struct altuntun_out *o = &d->out[i];

		if (d->res[i] != ALTUNTUN_OK)
			continue;
		d->iov[nseg].iov_base = o->data;
		d->iov[nseg].iov_len = o->len;
		if (m && !closed && d->udp_gso && o->peer == d->peer[nmsg - 1] &&
		    o->len <= m->gso_size && m->iovlen < DP_GSO_MAX_SEGS &&
		    bytes + o->len <= DP_GSO_MAX_BYTES && udp_endpoint_same(&o->endpoint, m->ep)) {
			m->iovlen++;
			bytes += o->len;
			if (o->len < m->gso_size)
				closed = true;
		} else {
			m = &d->msg[nmsg];
			d->ep[nmsg] = o->endpoint;
			d->peer[nmsg] = o->peer;
			m->ep = &d->ep[nmsg];
			m->iov = &d->iov[nseg];
			m->iovlen = 1;
			m->gso_size = (uint16_t)o->len;
			bytes = o->len;
			/* Datagrams this large (a jumbo MTU) go one by one. */
			closed = o->len > DP_GSO_MAX_BYTES / 2;
			nmsg++;
		}
		nseg++;
	}
	for (size_t k = 0; k < nmsg; k++)
		if (d->msg[k].iovlen == 1)
			d->msg[k].gso_size = 0;
	udp_send_many(&a->udp, d->msg, nmsg);
	for (size_t k = 0; k < nmsg; k++) {
		struct udp_tx *t = &d->msg[k];

		if (t->source_cleared) {
			log_debug("udp: source address for a peer no longer usable, cleared");
			if (d->peer[k])
				altuntun_peer_clear_local_address(d->peer[k]);
		}
		if (!t->result) {
			a->stats.udp_tx += t->iovlen;
			log_trace("udp: sent %zu datagrams", t->iovlen);
			continue;
		}
		/* A GSO batch the kernel refused, or a datagram too large for
		 * its link (outer_frag.h): one by one. */
		if ((t->gso_size && (t->result == -EIO || t->result == -EINVAL)) ||
		    t->result == -EMSGSIZE) {
			if (t->result == -EIO && d->udp_gso) {
				d->udp_gso = false;
				log_info("udp: the kernel cannot segment UDP here (GSO): "
					 "datagrams go one by one");
			}
			tx_send_singly(a, t, d->peer[k]);
			continue;
		}
		a->stats.udp_tx_failed += t->iovlen;
		log_debug("udp: %zu datagrams not sent: %s", t->iovlen, strerror(-t->result));
	}
	d->ntx = 0;
	d->arena_used = 0;
}

/* One packet (or super-packet) read with its virtio header: split into the
 * arena. */
static void tx_add_vnet(struct agent *a, const struct virtio_net_hdr *h, const uint8_t *pkt,
			size_t len)
{
	struct datapath *d = a->dp;
	struct gso_iter it;
	size_t max;
	int r;

	r = gso_begin(&it, h, pkt, len);
	if (r < 0) {
		a->stats.tun_rx_dropped++;
		log_debug("tun: packet of %zu bytes (gso type %u, size %u) dropped: %s", len,
			  h->gso_type, h->gso_size, strerror(-r));
		return;
	}
	max = gso_max_packet(&it);
	if (max > ALTUNTUN_MAX_PACKET) {
		a->stats.tun_rx_dropped++;
		return;
	}
	for (;;) {
		uint8_t *slot = tx_reserve(d, max);
		long n;

		if (!slot) {
			tx_flush(a);
			slot = tx_reserve(d, max);
		}
		n = gso_next(&it, slot + ALTUNTUN_HEADROOM, max);
		if (n <= 0)
			break;
		tx_commit(d, slot, (size_t)n);
	}
}

void datapath_tun_readable(struct agent *a)
{
	struct datapath *d = a->dp;
	int fd = a->tun_src.fd;

	d->used = true;
	for (int i = 0; i < DP_TUN_READS && !a->stop; i++) {
		struct virtio_net_hdr h;
		uint8_t *slot = NULL;
		ssize_t n;

		if (d->vnet) {
			n = tun_read_vnet(fd, &h, a->buf + ALTUNTUN_HEADROOM,
					  sizeof(a->buf) - ALTUNTUN_HEADROOM);
		} else {
			/* Straight into the arena: no copy. */
			slot = tx_reserve(d, ALTUNTUN_MAX_PACKET);
			if (!slot) {
				tx_flush(a);
				slot = tx_reserve(d, ALTUNTUN_MAX_PACKET);
			}
			n = tun_read(fd, slot + ALTUNTUN_HEADROOM, ALTUNTUN_MAX_PACKET);
		}
		if (n == -EAGAIN)
			break;
		if (n == -EBADFD || n == -EIO) {
			agent_stop(a, 0, "the interface was deleted (TUN device detached)");
			break;
		}
		if (n < 0) {
			log_error("tun %s: read: %s", a->ifname, strerror((int)-n));
			agent_stop(a, 1, "the TUN device failed");
			break;
		}
		if (n == 0)
			continue;
		a->stats.tun_rx++;
		if (d->vnet)
			tx_add_vnet(a, &h, a->buf + ALTUNTUN_HEADROOM, (size_t)n);
		else
			tx_commit(d, slot, (size_t)n);
	}
	tx_flush(a);
}

/* ---- UDP -> TUN ---- */

static void rx_write(struct agent *a, const struct iovec *iov, int n, size_t pkts)
{
	ssize_t w = tun_writev(a->tun_src.fd, iov, n);

	if (w < 0) {
		a->stats.tun_tx_failed += pkts;
		log_debug("tun: write of %zu packets: %s", pkts, strerror((int)-w));
	} else {
		a->stats.tun_tx += pkts;
		log_trace("tun: delivered %zd bytes in %zu packets", w, pkts);
	}
}

static void rx_flush(struct agent *a)
{
	struct datapath *d = a->dp;

	for (size_t g = 0; g < d->gro.ngroups; g++) {
		size_t n = gro_group_iov(&d->gro, g, &d->whdr, d->wiov, GRO_MAX_SEGS + 1);

		rx_write(a, d->wiov, (int)n, d->gro.groups[g].count);
	}
	gro_init(&d->gro);
}

static void rx_deliver(struct agent *a, uint8_t *pkt, size_t len)
{
	struct datapath *d = a->dp;

	if (d->coalesce) {
		if (!gro_add(&d->gro, pkt, len)) {
			rx_flush(a);
			gro_add(&d->gro, pkt, len);
		}
	} else {
		tun_write_one(a, pkt, len);
	}
}

/* One packet to the TUN, not coalesced. */
static void tun_write_one(struct agent *a, const uint8_t *pkt, size_t len)
{
	if (a->dp->vnet) {
		struct virtio_net_hdr h = { 0 };
		struct iovec iov[2] = { { &h, sizeof(h) }, { (void *)pkt, len } };

		rx_write(a, iov, 2, 1);
	} else {
		ssize_t w = tun_write(a->tun_src.fd, pkt, len);

		if (w < 0) {
			a->stats.tun_tx_failed++;
			log_debug("tun: write of %zu bytes: %s", len, strerror((int)-w));
		} else {
			a->stats.tun_tx++;
			log_trace("tun: delivered %zu bytes", len);
		}
	}
}

static void rx_result(struct agent *a, int r, struct altuntun_out *out, size_t len);

/* --threads: the AEAD step of the collected data messages, then each one
 * finished in order. */
static void rx_jobs(struct agent *a, struct altuntun_now now)
{
	struct datapath *d = a->dp;
	struct altuntun_out out;

	crypt_batch(d, d->crypt, d->nrxjob, true);
	for (size_t i = 0; i < d->nrxjob; i++) {
		struct dp_rxjob *j = &d->rxjob[i];
		int r = altuntun_receive_finish(a->dev, now, j->from, j->buf, j->len, &out,
						&d->crypt[i]);

		rx_result(a, r, &out, j->len);
	}
	d->nrxjob = 0;
}

static void rx_datagram(struct agent *a, struct altuntun_now now, const struct altuntun_endpoint *from,
			uint8_t *buf, size_t len)
{
	struct datapath *d = a->dp;
	struct altuntun_out out;
	int r;

	a->stats.udp_rx++;
	if (d->wk.started) {
		r = altuntun_receive_prepare(a->dev, now, from, buf, len, &out,
					     &d->crypt[d->nrxjob]);
		if (r == ALTUNTUN_DECRYPT) {
			d->rxjob[d->nrxjob++] = (struct dp_rxjob){ from, buf, len };
			if (d->nrxjob == DP_RX_JOBS)
				rx_jobs(a, now);
			return;
		}
	} else {
		r = altuntun_receive(a->dev, now, from, buf, len, &out);
	}
	rx_result(a, r, &out, len);
}

static void rx_result(struct agent *a, int r, struct altuntun_out *out, size_t len)
{
	if (r == ALTUNTUN_DELIVER) {
		if (out->len)
			rx_deliver(a, out->data, out->len);
	} else if (r < 0) {
		a->stats.udp_rx_dropped++;
		log_debug("udp: %zu bytes dropped: %s (%d)", len, altuntun_strerror(r), r);
	} else {
		log_trace("udp: %zu bytes consumed", len);
	}
}

static void replies_flush(struct agent *a)
{
	struct datapath *d = a->dp;

	for (size_t i = 0; i < d->nreply; i++)
		d->reply_tx[i] = (struct udp_tx){ .ep = &d->reply[i].ep, .iov = &d->reply[i].iov,
						  .iovlen = 1 };
	udp_send_many(&a->udp, d->reply_tx, d->nreply);
	for (size_t i = 0; i < d->nreply; i++) {
		if (d->reply_tx[i].result) {
			a->stats.udp_tx_failed++;
			log_debug("udp: reply of %zu bytes not sent: %s", d->reply[i].iov.iov_len,
				  strerror(-d->reply_tx[i].result));
		} else {
			a->stats.udp_tx++;
		}
	}
	d->nreply = 0;
}

bool datapath_queue_reply(struct agent *a, const struct altuntun_endpoint *to,
			  const uint8_t *data, size_t len)
{
	struct datapath *d = a->dp;
	struct dp_reply *r;

	if (!d || !d->in_rx || len > DP_REPLY_MAX)
		return false;
	if (d->nreply == DP_REPLIES)
		replies_flush(a);
	r = &d->reply[d->nreply++];
	r->ep = *to;
	memcpy(r->data, data, len);
	r->iov = (struct iovec){ r->data, len };
	return true;
}

void datapath_udp_readable(struct agent *a, struct ev_source *src)
{
	struct datapath *d = a->dp;

	d->used = true;
	for (int call = 0; call < DP_UDP_CALLS && !a->stop && src->fd >= 0; call++) {
		struct altuntun_now now;
		ssize_t m = udp_recv_many(src->fd, d->rx, DP_RX_MSGS);

		if (m == -EAGAIN)
			break;
		if (m < 0) {
			a->stats.udp_rx_dropped++;
			log_debug("udp: receive: %s", strerror((int)-m));
			break;
		}
		now = agent_now();
		d->in_rx = true;
		for (ssize_t j = 0; j < m; j++) {
			struct udp_rx *r = &d->rx[j];
			size_t step = r->gso_size ? r->gso_size : r->len, off = 0;

			if (r->error) {
				a->stats.udp_rx_dropped++;
				log_debug("udp: receive: %s", strerror(-r->error));
				continue;
			}
			do {
				size_t dl = r->len - off < step ? r->len - off : step;

				rx_datagram(a, now, &r->from, r->buf + off, dl);
				off += step;
			} while (off < r->len);
		}
		if (d->nrxjob)
			rx_jobs(a, now);
		rx_flush(a);
		d->in_rx = false;
		replies_flush(a);
		/* Fewer than asked for: the socket is empty (epoll tells us
		 * when it is not any more). */
		if (m < DP_RX_MSGS)
			break;
	}
}
