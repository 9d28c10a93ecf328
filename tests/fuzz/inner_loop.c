// SPDX-License-Identifier: BSD-3-Clause
/*
 * fuzz_inner's loop-guard record: loop_guard_own_datagram() for a packet
 * read from the TUN, with a listen port, on a device with three peers,
 * against our own answer: UDP (the first fragment of IPv4, right after
 * the fixed header of IPv6) from the listen port to the endpoint of the
 * peer whose allowed IPs hold the destination.
 *
 *   P1 192.0.2.1:51820      allowed 192.0.2.0/24, 10.0.0.0/8
 *   P2 [2001:db8::1]:51821  allowed 2001:db8::/32, 0.0.0.0/0
 *   P3 198.51.100.7:51820   allowed 198.51.100.7/32, ::/0
 */
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_inner.h"
#include "loop_guard.h"

static altuntun_device *dev;

static int no_send(void *ctx, altuntun_peer *peer, const struct altuntun_endpoint *to,
		   const uint8_t *data, size_t len)
{
	(void)ctx, (void)peer, (void)to, (void)data, (void)len;
	return 0;
}

static altuntun_peer *add_peer(unsigned key, const char *a1, const char *a2)
{
	uint8_t priv[ALTUNTUN_KEY_LEN], pub[ALTUNTUN_KEY_LEN];
	altuntun_peer *peer;

	fuzz_key(key, priv, pub);
	peer = altuntun_peer_add(dev, pub, NULL);
	FUZZ_CHECK(peer);
	fuzz_allow(dev, peer, a1);
	fuzz_allow(dev, peer, a2);
	return peer;
}

void inner_loop_init(void)
{
	static const struct altuntun_callbacks cb = { .send = no_send };
	static const uint8_t p2_addr[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };
	uint8_t priv[ALTUNTUN_KEY_LEN], pub[ALTUNTUN_KEY_LEN];
	struct altuntun_endpoint ep;

	dev = altuntun_device_new(&cb);
	FUZZ_CHECK(dev);
	fuzz_key(31, priv, pub);
	FUZZ_CHECK(altuntun_device_set_private_key(dev, priv) == ALTUNTUN_OK);
	fuzz_endpoint4(&ep, 0xc0000201, INNER_LOOP_PORT);
	fuzz_peer_set_endpoint(add_peer(32, "192.0.2.0/24", "10.0.0.0/8"), &ep);
	fuzz_endpoint6(&ep, p2_addr, INNER_LOOP_PORT + 1);
	fuzz_peer_set_endpoint(add_peer(33, "2001:db8::/32", "0.0.0.0/0"), &ep);
	fuzz_endpoint4(&ep, 0xc6336407, INNER_LOOP_PORT);
	fuzz_peer_set_endpoint(add_peer(34, "198.51.100.7/32", "::/0"), &ep);
}

/* Our own answer, from the table above. */
static bool expected(uint16_t port, const uint8_t *p, size_t len)
{
	static const uint8_t p2[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };
	const uint8_t *udp;

	if (!port || len < 20)
		return false;
	if (p[0] >> 4 == 4) {
		size_t ihl = (size_t)(p[0] & 0xf) * 4;
		const uint8_t *d = p + 16;

		if (ihl < 20 || len < ihl + 8 || p[9] != IPPROTO_UDP || (inner_be16(p + 6) & 0x1fff))
			return false;
		udp = p + ihl;
		if (inner_be16(udp) != port || inner_be16(udp + 2) != INNER_LOOP_PORT)
			return false;
		/* 192.0.2.1 is P1's and its endpoint; 198.51.100.7 P3's. */
		return (d[0] == 192 && d[1] == 0 && d[2] == 2 && d[3] == 1) ||
		       (d[0] == 198 && d[1] == 51 && d[2] == 100 && d[3] == 7);
	}
	if (p[0] >> 4 != 6 || len < 48 || p[6] != IPPROTO_UDP)
		return false;
	udp = p + 40;
	/* 2001:db8::1 is P2's and its endpoint. */
	return inner_be16(udp) == port && inner_be16(udp + 2) == INNER_LOOP_PORT + 1 &&
	       !memcmp(p + 24, p2, 16);
}

void inner_loop(struct fuzz_reader *r)
{
	uint16_t port = fuzz_take_u16(r);
	size_t len = fuzz_take_u16(r);
	uint8_t *pkt = inner_take_packet(r, len);

	FUZZ_CHECK(loop_guard_own_datagram(dev, port, pkt, len) == expected(port, pkt, len));
	free(pkt);
}
