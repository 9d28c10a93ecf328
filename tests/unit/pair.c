/* SPDX-License-Identifier: BSD-3-Clause */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "pair.h"
#include "test.h"

static bool same_address(const struct altuntun_endpoint *x, const struct altuntun_endpoint *y)
{
	if (x->addr.sa.sa_family != y->addr.sa.sa_family)
		return false;
	if (x->addr.sa.sa_family == AF_INET)
		return x->addr.in4.sin_addr.s_addr == y->addr.in4.sin_addr.s_addr &&
		       x->addr.in4.sin_port == y->addr.in4.sin_port;
	return !memcmp(&x->addr.in6.sin6_addr, &y->addr.in6.sin6_addr, 16) &&
	       x->addr.in6.sin6_port == y->addr.in6.sin6_port;
}

static void wire_stray(struct wire *w, const uint8_t *data, size_t len)
{
	w->stray++;
	if (data[0] == 2)
		w->stray_responses++;
	else if (data[0] == 3)
		w->stray_cookie_replies++;
	if (len <= sizeof(w->stray_last)) {
		memcpy(w->stray_last, data, len);
		w->stray_last_len = len;
	}
}

static int wire_send(void *ctx, altuntun_peer *peer, const struct altuntun_endpoint *to,
		     const uint8_t *data, size_t len)
{
	struct wire *w = ctx;

	(void)peer;
	if (to && w->dest && !same_address(to, w->dest)) {
		wire_stray(w, data, len);
		return 0;
	}
	if (w->count >= PAIR_QUEUE_MAX || len > PAIR_DGRAM_MAX)
		return -1;
	memcpy(w->data[w->count], data, len);
	w->len[w->count++] = len;
	w->total_sent++;
	if (data[0] == 1)
		w->initiations++;
	else if (data[0] == 2)
		w->responses++;
	else if (data[0] == 3)
		w->cookie_replies++;
	else if (data[0] == 4 && len == 32)
		w->keepalives++;
	return 0;
}

static void side_init(struct side *s, uint8_t host)
{
	struct altuntun_callbacks cb = {.send = wire_send, .ctx = &s->out};

	memset(s, 0, sizeof(*s));
	s->dev = altuntun_device_new(&cb);
	CHECK(s->dev);
	altuntun_generate_private_key(s->priv);
	CHECK_EQ(altuntun_public_key(s->pub, s->priv), ALTUNTUN_OK);
	CHECK_EQ(altuntun_device_set_private_key(s->dev, s->priv), ALTUNTUN_OK);
	s->addr.addr.in4.sin_family = AF_INET;
	s->addr.addr.in4.sin_port = htons(51820);
	s->addr.addr.in4.sin_addr.s_addr = htonl(0xc0000200u | host);
}

static void side_link(struct side *s, const struct side *other, uint8_t other_host)
{
	uint8_t net[4] = {10, 0, 0, other_host};
	int err;

	s->out.dest = &other->addr;
	s->peer = altuntun_peer_add(s->dev, other->pub, &err);
	CHECK(s->peer);
	CHECK_EQ(altuntun_peer_set_endpoint(s->peer, &other->addr.addr.sa,
					   sizeof(other->addr.addr.in4)),
		 ALTUNTUN_OK);
	CHECK_EQ(altuntun_peer_add_allowed_ip(s->dev, s->peer, AF_INET, net, 32), ALTUNTUN_OK);
}

void pair_init(struct pair *p)
{
	memset(p, 0, sizeof(*p));
	p->now.mono_ns = 1000ULL * 1000000000ULL;
	p->now.wall_ns = 1700000000ULL * 1000000000ULL;
	side_init(&p->a, 1);
	side_init(&p->b, 2);
	side_link(&p->a, &p->b, 2);
	side_link(&p->b, &p->a, 1);
}

void pair_free(struct pair *p)
{
	altuntun_device_free(p->a.dev);
	altuntun_device_free(p->b.dev);
}

void pair_advance(struct pair *p, uint64_t ns)
{
	p->now.mono_ns += ns;
	p->now.wall_ns += ns;
}

void pair_tick(struct pair *p)
{
	altuntun_tick(p->a.dev, p->now);
	altuntun_tick(p->b.dev, p->now);
}

/* Moves one side's queue into the other device. */
static size_t deliver(struct pair *p, struct side *from, struct side *to, bool drop)
{
	static uint8_t buf[PAIR_DGRAM_MAX];
	static uint8_t copy[PAIR_QUEUE_MAX][PAIR_DGRAM_MAX];
	static size_t lens[PAIR_QUEUE_MAX];
	size_t n = from->out.count;
	struct altuntun_out out;

	/* Empty the queue first: the receiver's replies go to its own queue. */
	for (size_t i = 0; i < n; i++) {
		memcpy(copy[i], from->out.data[i], from->out.len[i]);
		lens[i] = from->out.len[i];
	}
	from->out.count = 0;
	if (drop)
		return 0;
	for (size_t i = 0; i < n; i++) {
		memcpy(buf, copy[i], lens[i]);
		if (altuntun_receive(to->dev, p->now, &from->addr, buf, lens[i], &out) ==
		    ALTUNTUN_DELIVER)
			to->delivered++;
	}
	return n;
}

size_t pair_flush(struct pair *p)
{
	size_t total = 0, moved;

	do {
		moved = deliver(p, &p->a, &p->b, p->drop_a_to_b);
		moved += deliver(p, &p->b, &p->a, p->drop_b_to_a);
		total += moved;
	} while (moved && total < 100000);
	return total;
}

void build_ipv4(uint8_t *pkt, size_t len, const uint8_t src[4], const uint8_t dst[4])
{
	memset(pkt, 0, len);
	pkt[0] = 0x45;
	pkt[2] = (uint8_t)(len >> 8);
	pkt[3] = (uint8_t)len;
	pkt[8] = 64;
	pkt[9] = 1;
	memcpy(pkt + 12, src, 4);
	memcpy(pkt + 16, dst, 4);
	for (size_t i = 20; i < len; i++)
		pkt[i] = (uint8_t)i;
}

int pair_send_ip(struct pair *p, struct side *from, size_t len)
{
	static uint8_t buf[ALTUNTUN_HEADROOM + 65536 + ALTUNTUN_TAILROOM];
	uint8_t a[4] = {10, 0, 0, 1}, b[4] = {10, 0, 0, 2};
	struct altuntun_out out;
	int ret;

	build_ipv4(buf + ALTUNTUN_HEADROOM, len, from == &p->a ? a : b, from == &p->a ? b : a);
	ret = altuntun_send(from->dev, p->now, buf, len, sizeof(buf), 1420, &out);
	if (ret == ALTUNTUN_OK)
		wire_send(&from->out, out.peer, &out.endpoint, out.data, out.len);
	return ret;
}

void pair_run(struct pair *p, uint64_t total, uint64_t step, int traffic)
{
	for (uint64_t t = 0; t < total; t += step) {
		pair_advance(p, step);
		pair_tick(p);
		if (traffic & 1)
			pair_send_ip(p, &p->a, 100);
		if (traffic & 2)
			pair_send_ip(p, &p->b, 100);
		pair_flush(p);
	}
}
