/* SPDX-License-Identifier: BSD-3-Clause */
/* The routing-loop guard: our own outer datagram coming back out of the TUN
 * is recognised (IPv4, IPv6), anything else is not. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "loop_guard.h"
#include "test.h"

#define PORT 51820
#define PEER_PORT 51821

struct world {
	altuntun_device *dev;
	altuntun_peer *peer;
};

static int no_send(void *ctx, altuntun_peer *peer, const struct altuntun_endpoint *to,
		   const uint8_t *data, size_t len)
{
	(void)ctx, (void)peer, (void)to, (void)data, (void)len;
	return 0;
}

/* A device with one peer at 192.0.2.2:51821 / [2001:db8::2]:51821 (family),
 * allowing everything. */
static void world_init(struct world *w, int family)
{
	static const struct altuntun_callbacks cb = { .send = no_send };
	uint8_t priv[ALTUNTUN_KEY_LEN], pub[ALTUNTUN_KEY_LEN], zero[16] = { 0 };
	int err;

	w->dev = altuntun_device_new(&cb);
	CHECK(w->dev);
	altuntun_generate_private_key(priv);
	CHECK_EQ(altuntun_public_key(pub, priv), 0);
	w->peer = altuntun_peer_add(w->dev, pub, &err);
	CHECK(w->peer);
	CHECK_EQ(altuntun_peer_add_allowed_ip(w->dev, w->peer, AF_INET, zero, 0), 0);
	CHECK_EQ(altuntun_peer_add_allowed_ip(w->dev, w->peer, AF_INET6, zero, 0), 0);
	if (family == AF_INET) {
		struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(PEER_PORT) };

		inet_pton(AF_INET, "192.0.2.2", &sin.sin_addr);
		CHECK_EQ(altuntun_peer_set_endpoint(w->peer, (struct sockaddr *)&sin, sizeof(sin)), 0);
	} else {
		struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6, .sin6_port = htons(PEER_PORT) };

		inet_pton(AF_INET6, "2001:db8::2", &sin6.sin6_addr);
		CHECK_EQ(altuntun_peer_set_endpoint(w->peer, (struct sockaddr *)&sin6, sizeof(sin6)), 0);
	}
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* An IPv4 UDP packet sport -> dst:dport with 32 bytes of payload. */
static size_t udp4(uint8_t *pkt, const char *dst, uint16_t sport, uint16_t dport)
{
	memset(pkt, 0, 60);
	pkt[0] = 0x45;
	put16(pkt + 2, 60);
	pkt[8] = 64;
	pkt[9] = IPPROTO_UDP;
	inet_pton(AF_INET, "10.0.0.1", pkt + 12);
	inet_pton(AF_INET, dst, pkt + 16);
	put16(pkt + 20, sport);
	put16(pkt + 22, dport);
	put16(pkt + 24, 40);
	return 60;
}

static size_t udp6(uint8_t *pkt, const char *dst, uint16_t sport, uint16_t dport)
{
	memset(pkt, 0, 80);
	pkt[0] = 0x60;
	put16(pkt + 4, 40);
	pkt[6] = IPPROTO_UDP;
	pkt[7] = 64;
	inet_pton(AF_INET6, "fd00::1", pkt + 8);
	inet_pton(AF_INET6, dst, pkt + 24);
	put16(pkt + 40, sport);
	put16(pkt + 42, dport);
	put16(pkt + 44, 40);
	return 80;
}

TEST(loop_guard_drops_own_ipv4_datagram)
{
	struct world w;
	uint8_t pkt[80];
	size_t n;

	world_init(&w, AF_INET);
	n = udp4(pkt, "192.0.2.2", PORT, PEER_PORT);
	CHECK(loop_guard_own_datagram(w.dev, PORT, pkt, n));
	/* Not ours: another source port, destination, port or protocol. */
	CHECK(!loop_guard_own_datagram(w.dev, PORT + 1, pkt, n));
	CHECK(!loop_guard_own_datagram(w.dev, 0, pkt, n));
	n = udp4(pkt, "192.0.2.3", PORT, PEER_PORT);
	CHECK(!loop_guard_own_datagram(w.dev, PORT, pkt, n));
	n = udp4(pkt, "192.0.2.2", PORT, PEER_PORT + 1);
	CHECK(!loop_guard_own_datagram(w.dev, PORT, pkt, n));
	n = udp4(pkt, "192.0.2.2", PORT, PEER_PORT);
	pkt[9] = IPPROTO_TCP;
	CHECK(!loop_guard_own_datagram(w.dev, PORT, pkt, n));
	/* A later fragment carries no ports; a truncated header is not UDP. */
	pkt[9] = IPPROTO_UDP;
	put16(pkt + 6, 185);
	CHECK(!loop_guard_own_datagram(w.dev, PORT, pkt, n));
	put16(pkt + 6, 0);
	CHECK(!loop_guard_own_datagram(w.dev, PORT, pkt, 27));
	pkt[0] = 0x4f; /* header of 60 bytes: no room for UDP */
	CHECK(!loop_guard_own_datagram(w.dev, PORT, pkt, n));
	pkt[0] = 0x44; /* shorter than 20 bytes */
	CHECK(!loop_guard_own_datagram(w.dev, PORT, pkt, n));
	/* No peer owns the destination: nothing to loop through. */
	altuntun_peer_clear_allowed_ips(w.dev, w.peer);
	n = udp4(pkt, "192.0.2.2", PORT, PEER_PORT);
	CHECK(!loop_guard_own_datagram(w.dev, PORT, pkt, n));
	altuntun_device_free(w.dev);
}

TEST(loop_guard_drops_own_ipv6_datagram)
{
	struct world w;
	uint8_t pkt[80];
	size_t n;

	world_init(&w, AF_INET6);
	n = udp6(pkt, "2001:db8::2", PORT, PEER_PORT);
	CHECK(loop_guard_own_datagram(w.dev, PORT, pkt, n));
	CHECK(!loop_guard_own_datagram(w.dev, PORT, pkt, 47));
	n = udp6(pkt, "2001:db8::3", PORT, PEER_PORT);
	CHECK(!loop_guard_own_datagram(w.dev, PORT, pkt, n));
	n = udp6(pkt, "2001:db8::2", PORT + 7, PEER_PORT);
	CHECK(!loop_guard_own_datagram(w.dev, PORT, pkt, n));
	/* An IPv4 datagram to the same port is not to this (IPv6) endpoint. */
	n = udp4(pkt, "192.0.2.2", PORT, PEER_PORT);
	CHECK(!loop_guard_own_datagram(w.dev, PORT, pkt, n));
	altuntun_device_free(w.dev);
}
