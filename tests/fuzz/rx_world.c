// SPDX-License-Identifier: BSD-3-Clause
/* The receiving device of fuzz_receive and make-corpus; see rx_world.h. */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "messages.h"
#include "rx_world.h"

#define RXW_SEED 0x5eedd0d0ULL

static const uint8_t p2_addr6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 2};
static const uint8_t other_addr6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 0x99};
static const uint8_t d_addr6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 1};

void rxw_addr_d(struct altuntun_endpoint *ep)
{
	fuzz_endpoint4(ep, 0xc0000201, 51820);
}

void rxw_addr_d6(struct altuntun_endpoint *ep)
{
	fuzz_endpoint6(ep, d_addr6, 51820);
}

void rxw_addr_p1(struct altuntun_endpoint *ep)
{
	fuzz_endpoint4(ep, 0xc0000202, 51820);
}

void rxw_addr_p2(struct altuntun_endpoint *ep)
{
	fuzz_endpoint6(ep, p2_addr6, 51820);
}

void rxw_psk(uint8_t psk[ALTUNTUN_KEY_LEN])
{
	for (size_t i = 0; i < ALTUNTUN_KEY_LEN; i++)
		psk[i] = (uint8_t)(0xa5 ^ i);
}

/* Every datagram the library hands out must be a well-formed message. */
static void check_datagram(const altuntun_peer *peer, const struct altuntun_endpoint *to,
			   const uint8_t *data, size_t len)
{
	FUZZ_CHECK(to && (to->addr.sa.sa_family == AF_INET || to->addr.sa.sa_family == AF_INET6));
	FUZZ_CHECK(len >= 4 && !data[1] && !data[2] && !data[3]);
	switch (data[0]) {
	case MESSAGE_INITIATION:
		FUZZ_CHECK(peer && len == sizeof(struct message_initiation));
		break;
	case MESSAGE_RESPONSE:
		FUZZ_CHECK(peer && len == sizeof(struct message_response));
		break;
	case MESSAGE_COOKIE_REPLY:
		FUZZ_CHECK(len == sizeof(struct message_cookie_reply));
		break;
	case MESSAGE_DATA:
		FUZZ_CHECK(peer && len >= ALTUNTUN_DATA_OVERHEAD &&
			   len <= ALTUNTUN_DATA_OVERHEAD + ALTUNTUN_MAX_PACKET + 15);
		break;
	default:
		FUZZ_CHECK(!"unknown message type sent");
	}
}

static void emit(struct rx_world *w, const altuntun_peer *peer,
		 const struct altuntun_endpoint *to, const uint8_t *data, size_t len)
{
	check_datagram(peer, to, data, len);
	w->stats.sent[data[0]]++;
	if (w->output)
		w->output(w->ctx, to, data, len);
}

static int world_send(void *ctx, altuntun_peer *peer, const struct altuntun_endpoint *to,
		      const uint8_t *data, size_t len)
{
	emit(ctx, peer, to, data, len);
	return 0;
}

static void add_p1(struct rx_world *w, uint8_t flags)
{
	uint8_t priv[ALTUNTUN_KEY_LEN], pub[ALTUNTUN_KEY_LEN], psk[ALTUNTUN_KEY_LEN];
	struct altuntun_endpoint ep;
	altuntun_peer *p;

	int err;

	fuzz_key(RXW_KEY_P1, priv, pub);
	w->peer[0] = p = altuntun_peer_add(w->dev, pub, &err);
	if (!p) {
		/* D has P1's key (RXW_CTL_KEY_OTHER). */
		FUZZ_CHECK(err == ALTUNTUN_ERR_PEER_IS_SELF);
		return;
	}
	if (!(flags & RXW_NO_ENDPOINT)) {
		rxw_addr_p1(&ep);
		fuzz_peer_set_endpoint(p, &ep);
	}
	if (flags & RXW_PSK) {
		rxw_psk(psk);
		altuntun_peer_set_preshared_key(p, psk);
	}
	fuzz_allow(w->dev, p, "10.0.0.2/32");
	fuzz_allow(w->dev, p, "fd00::2/128");
}

static void add_p2(struct rx_world *w)
{
	uint8_t priv[ALTUNTUN_KEY_LEN], pub[ALTUNTUN_KEY_LEN];
	struct altuntun_endpoint ep;
	altuntun_peer *p;

	fuzz_key(RXW_KEY_P2, priv, pub);
	p = altuntun_peer_add(w->dev, pub, NULL);
	FUZZ_CHECK(p);
	rxw_addr_p2(&ep);
	fuzz_peer_set_endpoint(p, &ep);
	fuzz_allow(w->dev, p, "10.0.0.3/32");
	fuzz_allow(w->dev, p, "10.1.0.0/16");
	fuzz_allow(w->dev, p, "fd00::3/128");
	w->peer[1] = p;
}

const uint8_t rxw_low_order_point[ALTUNTUN_KEY_LEN] = {
	0xe0, 0xeb, 0x7a, 0x7c, 0x3b, 0x41, 0xb8, 0xae, 0x16, 0x56, 0xe3,
	0xfa, 0xf1, 0x9f, 0xc4, 0x6a, 0xda, 0x09, 0x8d, 0xeb, 0x9c, 0x32,
	0xb1, 0xfd, 0x86, 0x62, 0x05, 0x16, 0x5f, 0x49, 0xb8, 0x00,
};

/* A peer nothing can be sent to: its key is a point of order 8. */
static void add_low_order(struct rx_world *w)
{
	struct altuntun_endpoint ep;
	altuntun_peer *p = altuntun_peer_add(w->dev, rxw_low_order_point, NULL);

	FUZZ_CHECK(p);
	fuzz_endpoint4(&ep, 0xc0000204, 51820);
	fuzz_peer_set_endpoint(p, &ep);
	fuzz_allow(w->dev, p, "10.0.0.4/32");
}

void rxw_init(struct rx_world *w, uint8_t flags, rxw_output *output, void *ctx)
{
	struct altuntun_callbacks cb = {.send = world_send, .ctx = w};
	uint8_t priv[ALTUNTUN_KEY_LEN], pub[ALTUNTUN_KEY_LEN];

	memset(w, 0, sizeof(*w));
	w->flags = flags;
	w->output = output;
	w->ctx = ctx;
	w->now.mono_ns = FUZZ_START_MONO;
	w->now.wall_ns = FUZZ_START_WALL;
	fuzz_rng_seed(&w->rng, RXW_SEED);
	fuzz_rng_use(&w->rng);

	w->dev = altuntun_device_new(&cb);
	w->aead = altuntun_aead_new();
	FUZZ_CHECK(w->dev && w->aead);
	fuzz_key(RXW_KEY_D, priv, pub);
	FUZZ_CHECK(altuntun_device_set_private_key(w->dev, priv) == ALTUNTUN_OK);
	if (flags & RXW_UNDER_LOAD)
		altuntun_device_set_load_threshold(w->dev, 0);
	add_p1(w, flags);
	if (flags & RXW_TWO_PEERS)
		add_p2(w);
	if (flags & RXW_LOW_ORDER)
		add_low_order(w);
	if (flags & RXW_KEEPALIVE)
		altuntun_peer_set_persistent_keepalive(w->dev, w->peer[0], 25, w->now);
}

static void finish_pending(struct rx_world *w);

void rxw_free(struct rx_world *w)
{
	fuzz_rng_use(&w->rng);
	finish_pending(w);
	altuntun_aead_free(w->aead);
	altuntun_device_free(w->dev);
	w->dev = NULL;
	fuzz_rng_use(NULL);
}

void rxw_source(uint8_t sel, struct altuntun_endpoint *ep)
{
	switch (sel & 3) {
	case RXW_SEL_P1:
		rxw_addr_p1(ep);
		break;
	case RXW_SEL_P2:
		rxw_addr_p2(ep);
		break;
	case RXW_SEL_OTHER4:
		fuzz_endpoint4(ep, 0xc6336407, 4242);
		break;
	default:
		fuzz_endpoint6(ep, other_addr6, 1);
		ep->addr.in6.sin6_scope_id = 2;
		ep->addr.in6.sin6_flowinfo = htonl(0x12345);
		break;
	}
	if (!(sel & RXW_SEL_LOCAL))
		return;
	ep->local_family = ep->addr.sa.sa_family;
	if (ep->local_family == AF_INET)
		ep->local.v4.s_addr = htonl(0xc0000201);
	else
		memcpy(&ep->local.v6, d_addr6, 16);
	ep->local_ifindex = 3;
}

static void check_result(int ret)
{
	FUZZ_CHECK(ret == ALTUNTUN_OK || ret == ALTUNTUN_DELIVER || ret == ALTUNTUN_QUEUED ||
		   (ret < 0 && ret > ALTUNTUN_ERR__LAST));
	FUZZ_CHECK(altuntun_strerror(ret) != NULL);
}

static int receive_one(struct rx_world *w, uint8_t sel, uint8_t *buf, size_t len,
		       struct altuntun_out *out)
{
	struct altuntun_packet pkt = {.buf = buf, .len = len, .cap = len};
	struct altuntun_endpoint from;

	rxw_source(sel, &from);
	if (!(sel & RXW_SEL_BATCH))
		return altuntun_receive(w->dev, w->now, &from, buf, len, out);
	pkt.from = from;
	altuntun_receive_batch(w->dev, w->now, &pkt, 1);
	*out = pkt.out;
	return pkt.result;
}

/* The peer that may send a delivered packet: the owner of its source. */
static altuntun_peer *inner_source_owner(const altuntun_device *dev, const uint8_t *pkt)
{
	if (pkt[0] >> 4 == 4)
		return altuntun_allowed_ip_lookup(dev, AF_INET, pkt + 12);
	return altuntun_allowed_ip_lookup(dev, AF_INET6, pkt + 8);
}

/* What a peer's state must not change in, unless a packet authenticated. */
struct peer_snapshot {
	bool has_endpoint;
	struct altuntun_endpoint endpoint;
	struct altuntun_peer_stats stats;
};

static void snapshot(const struct rx_world *w, struct peer_snapshot snap[2])
{
	memset(snap, 0, 2 * sizeof(*snap));
	for (unsigned i = 0; i < 2; i++) {
		if (!w->peer[i])
			continue;
		snap[i].has_endpoint = altuntun_peer_get_endpoint(w->peer[i], &snap[i].endpoint);
		altuntun_peer_get_stats(w->peer[i], &snap[i].stats);
	}
}

/*
 * Whether the datagram proved to come from a peer: a handshake message or a
 * data message that decrypted with a fresh counter (whatever its content).
 * Only such a datagram may move a peer's endpoint (roaming) or count.
 */
static bool authenticated(int ret, const uint8_t *data, size_t len)
{
	if (ret == ALTUNTUN_ERR_BAD_INNER_PACKET || ret == ALTUNTUN_ERR_SOURCE_NOT_ALLOWED)
		return true;
	return ret >= 0 && len && data[0] != 3;
}

/* A data message accepted twice would be a hole in the replay window. */
static void note_accepted(struct rx_world *w, const uint8_t *data, size_t len)
{
	struct rxw_accepted a;

	if (len < 16 || data[0] != 4)
		return;
	memcpy(&a.index, data + 4, sizeof(a.index));
	memcpy(&a.counter, data + 8, sizeof(a.counter));
	for (size_t i = 0; i < w->n_accepted; i++)
		FUZZ_CHECK(w->accepted[i].index != a.index || w->accepted[i].counter != a.counter);
	if (w->n_accepted < RXW_MAX_RECORDS)
		w->accepted[w->n_accepted++] = a;
}

static void check_receive(struct rx_world *w, int ret, const uint8_t *data, size_t len,
			  const struct peer_snapshot before[2])
{
	struct peer_snapshot after[2];

	check_result(ret);
	if (authenticated(ret, data, len)) {
		note_accepted(w, data, len);
		return;
	}
	snapshot(w, after);
	FUZZ_CHECK(!memcmp(before, after, sizeof(after)));
}

/* Signs a handshake message for D, as only a holder of D's public key can. */
static void fix_mac1(const altuntun_device *dev, uint8_t *msg, size_t len)
{
	uint8_t pub[ALTUNTUN_KEY_LEN], key[HASH_LEN];
	size_t covered = len - sizeof(struct message_macs);

	if (len != sizeof(struct message_initiation) && len != sizeof(struct message_response))
		return;
	if (!altuntun_device_get_public_key(dev, pub))
		return;
	hash2(key, LABEL_MAC1, strlen(LABEL_MAC1), pub, sizeof(pub));
	mac16(msg + covered, key, sizeof(key), msg, covered);
}

/* The outcome of a receive; orig holds (at least the header of) the
 * datagram as it came, buf what the library made of it. */
static void check_delivery(struct rx_world *w, int ret, const uint8_t *orig, const uint8_t *buf,
			   size_t len, const struct altuntun_out *out,
			   const struct peer_snapshot before[2])
{
	check_receive(w, ret, orig, len, before);
	if (ret != ALTUNTUN_DELIVER)
		return;
	FUZZ_CHECK(out->peer && out->data == buf + ALTUNTUN_HEADROOM);
	FUZZ_CHECK(out->len >= 20 && out->len + ALTUNTUN_DATA_OVERHEAD <= len);
	FUZZ_CHECK(out->peer == inner_source_owner(w->dev, out->data));
	w->stats.delivered++;
}

/* The split data path's last step for a message prepared (and decrypted)
 * earlier: the session may have changed in between. */
static void finish_one(struct rx_world *w, struct rxw_pending *p)
{
	struct peer_snapshot before[2];
	struct altuntun_out out;
	int ret;

	snapshot(w, before);
	ret = altuntun_receive_finish(w->dev, w->now, &p->from, p->buf, p->len, &out, &p->crypt);
	FUZZ_CHECK(ret != ALTUNTUN_DECRYPT);
	check_delivery(w, ret, p->header, p->buf, p->len, &out, before);
	free(p->buf);
}

static void finish_pending(struct rx_world *w)
{
	for (size_t i = 0; i < w->n_pending; i++)
		finish_one(w, &w->pending[i]);
	memset(w->pending, 0, sizeof(w->pending));
	w->n_pending = 0;
}

/* altuntun_receive_prepare(), and for a data message the AEAD step; its
 * finish waits. Returns false when it keeps buf. */
static bool receive_split(struct rx_world *w, uint8_t sel, uint8_t *buf, size_t len,
			  const struct peer_snapshot before[2])
{
	struct rxw_pending *p;
	struct peer_snapshot after[2];
	struct altuntun_out out;
	int ret;

	FUZZ_CHECK(w->n_pending < RXW_MAX_PENDING);
	p = &w->pending[w->n_pending];
	rxw_source(sel, &p->from);
	ret = altuntun_receive_prepare(w->dev, w->now, &p->from, buf, len, &out, &p->crypt);
	if (ret != ALTUNTUN_DECRYPT) {
		check_delivery(w, ret, buf, buf, len, &out, before);
		return true;
	}
	/* Nothing is known of the message yet: nothing may have changed. */
	snapshot(w, after);
	FUZZ_CHECK(!memcmp(before, after, sizeof(after)));
	FUZZ_CHECK(p->crypt.data == buf + ALTUNTUN_HEADROOM &&
		   p->crypt.len + ALTUNTUN_HEADROOM == len);
	memcpy(p->header, buf, sizeof(p->header));
	altuntun_crypt_open(w->aead, &p->crypt);
	p->buf = buf;
	p->len = len;
	w->n_pending++;
	return false;
}

static void do_receive(struct rx_world *w, uint8_t sel, const uint8_t *data, size_t len)
{
	/* Exactly len bytes, so that ASan sees any read past the datagram. */
	uint8_t *buf = malloc(len ? len : 1);
	struct peer_snapshot before[2];
	struct altuntun_out out;
	int ret;

	FUZZ_CHECK(buf);
	if (len)
		memcpy(buf, data, len);
	if (sel & RXW_SEL_FIX_MAC1)
		fix_mac1(w->dev, buf, len);
	if ((sel & RXW_SEL_SPLIT) && w->n_pending == RXW_MAX_PENDING)
		finish_pending(w);
	snapshot(w, before);
	if (sel & RXW_SEL_SPLIT) {
		if (receive_split(w, sel, buf, len, before))
			free(buf);
		return;
	}
	ret = receive_one(w, sel, buf, len, &out);
	check_delivery(w, ret, data, buf, len, &out, before);
	free(buf);
}

static void do_send(struct rx_world *w, uint8_t sel, const uint8_t *data, size_t len)
{
	size_t cap = ALTUNTUN_HEADROOM + len + ALTUNTUN_TAILROOM;
	uint8_t *buf = malloc(cap);
	struct altuntun_out out;
	int ret;

	FUZZ_CHECK(buf);
	if (len)
		memcpy(buf + ALTUNTUN_HEADROOM, data, len);
	ret = altuntun_send(w->dev, w->now, buf, len, cap,
			    (sel & RXW_OP_SEND_NOMTU) ? 0 : RXW_MTU, &out);
	check_result(ret);
	FUZZ_CHECK(ret != ALTUNTUN_DELIVER);
	if (ret == ALTUNTUN_OK) {
		FUZZ_CHECK(out.peer && out.data == buf && out.len <= cap);
		emit(w, out.peer, &out.endpoint, out.data, out.len);
	}
	free(buf);
}

/* D's private key becomes key `id` (0: none); peers with that public key go. */
static void set_key(struct rx_world *w, unsigned id)
{
	uint8_t priv[ALTUNTUN_KEY_LEN], pub[ALTUNTUN_KEY_LEN], got[ALTUNTUN_KEY_LEN];

	if (!id) {
		FUZZ_CHECK(altuntun_device_set_private_key(w->dev, NULL) == ALTUNTUN_OK);
		FUZZ_CHECK(!altuntun_device_get_public_key(w->dev, got));
		return;
	}
	fuzz_key(id, priv, pub);
	FUZZ_CHECK(altuntun_device_set_private_key(w->dev, priv) == ALTUNTUN_OK);
	FUZZ_CHECK(altuntun_device_get_public_key(w->dev, got) && !memcmp(got, pub, sizeof(pub)));
	for (unsigned i = 0; i < 2; i++) {
		fuzz_key(i ? RXW_KEY_P2 : RXW_KEY_P1, priv, got);
		if (w->peer[i])
			w->peer[i] = altuntun_peer_lookup(w->dev, got);
	}
}

static void remove_peer(struct rx_world *w, unsigned i)
{
	if (!w->peer[i])
		return;
	altuntun_peer_remove(w->dev, w->peer[i]);
	w->peer[i] = NULL;
}

static void set_endpoint(altuntun_peer *peer, uint8_t sel)
{
	struct altuntun_endpoint ep;

	rxw_source(sel, &ep);
	fuzz_peer_set_endpoint(peer, &ep);
}

/* Changes that concern P1, if it is there. */
static void control_p1(struct rx_world *w, unsigned ctl, uint8_t arg)
{
	altuntun_peer *p1 = w->peer[0];
	uint8_t psk[ALTUNTUN_KEY_LEN];

	if (!p1)
		return;
	switch (ctl) {
	case RXW_CTL_KEEPALIVE:
		altuntun_peer_set_persistent_keepalive(w->dev, p1, arg, w->now);
		FUZZ_CHECK(altuntun_peer_get_persistent_keepalive(p1) == arg);
		break;
	case RXW_CTL_CLEAR_LOCAL:
		altuntun_peer_clear_local_address(p1);
		break;
	case RXW_CTL_PSK:
		rxw_psk(psk);
		altuntun_peer_set_preshared_key(p1, arg ? psk : NULL);
		break;
	case RXW_CTL_ENDPOINT:
		set_endpoint(p1, arg);
		break;
	case RXW_CTL_MOVE_PREFIX:
		fuzz_allow(w->dev, w->peer[1] ? w->peer[1] : p1, "10.0.0.0/8");
		break;
	default: /* RXW_CTL_DROP_PREFIX */
		altuntun_peer_remove_allowed_ip(w->dev, p1, AF_INET, "\x0a\x00\x00\x02", 32);
		break;
	}
}

static void do_control(struct rx_world *w, const uint8_t *data, size_t len)
{
	unsigned ctl = len ? data[0] % RXW_CTL_COUNT : RXW_CTL_KEY_SAME;
	uint8_t arg = len > 1 ? data[1] : 0;
	size_t peers = altuntun_peer_count(w->dev);

	switch (ctl) {
	case RXW_CTL_KEY_SAME:
	case RXW_CTL_KEY_RESTORE:
		set_key(w, RXW_KEY_D);
		break;
	case RXW_CTL_KEY_REMOVE:
		set_key(w, 0);
		break;
	case RXW_CTL_KEY_OTHER:
		set_key(w, (arg & 1) ? RXW_KEY_P1 : RXW_KEY_OTHER);
		break;
	case RXW_CTL_REMOVE_P2:
		remove_peer(w, 1);
		break;
	case RXW_CTL_READD_P1:
		remove_peer(w, 0);
		add_p1(w, w->flags);
		break;
	case RXW_CTL_LOAD:
		altuntun_device_set_load_threshold(w->dev, arg);
		break;
	default:
		control_p1(w, ctl, arg);
		break;
	}
	FUZZ_CHECK(altuntun_peer_count(w->dev) <= peers + 1);
}

void rxw_step(struct rx_world *w, uint8_t delay, uint8_t sel, const uint8_t *data, size_t len)
{
	uint64_t ns = fuzz_delay_ns(delay);
	uint64_t next;
	unsigned op = sel >> 6;

	fuzz_rng_use(&w->rng);
	w->now.mono_ns += ns;
	w->now.wall_ns += ns;
	next = altuntun_tick(w->dev, w->now);
	FUZZ_CHECK(next > w->now.mono_ns);
	if (op == 0)
		do_receive(w, sel, data, len);
	else if (op == 3)
		do_control(w, data, len);
	else
		do_send(w, sel, data, len);
	if (op != 0 || !(sel & RXW_SEL_SPLIT))
		finish_pending(w);
}

void rxw_play(const uint8_t *data, size_t size, struct rxw_stats *st)
{
	struct fuzz_reader r = {data, size};
	struct rx_world w;

	rxw_init(&w, fuzz_take_u8(&r), NULL, NULL);
	for (unsigned n = 0; n < RXW_MAX_RECORDS && r.left >= RXW_RECORD_HEADER; n++) {
		uint8_t delay = fuzz_take_u8(&r);
		uint8_t sel = fuzz_take_u8(&r);
		uint16_t len = fuzz_take_u16(&r);
		const uint8_t *p;
		size_t got;

		p = fuzz_take(&r, len, &got);
		rxw_step(&w, delay, sel, p, got);
	}
	if (st)
		*st = w.stats;
	rxw_free(&w);
}
