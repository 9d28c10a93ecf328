/* SPDX-License-Identifier: BSD-3-Clause */
/* Keys as Linux and wg(8) treat them, and the data path's checks. */
#include <arpa/inet.h>
#include <string.h>

#include "device_internal.h"
#include "pair.h"
#include "test.h"

#define SEC 1000000000ULL

static struct pair P;

static int null_send(void *ctx, altuntun_peer *peer, const struct altuntun_endpoint *to,
		     const uint8_t *data, size_t len)
{
	(void)peer;
	(void)to;
	(void)data;
	(void)len;
	(*(int *)ctx)++;
	return 0;
}

TEST(private_key_is_clamped)
{
	int sent = 0;
	struct altuntun_callbacks cb = {.send = null_send, .ctx = &sent};
	altuntun_device *dev = altuntun_device_new(&cb);
	uint8_t key[32], got[32];

	memset(key, 0xff, sizeof(key));
	CHECK_EQ(altuntun_device_set_private_key(dev, key), ALTUNTUN_OK);
	CHECK(altuntun_device_get_private_key(dev, got));
	CHECK_EQ(got[0], 0xf8);
	CHECK_EQ(got[31], 0x7f);
	for (int i = 1; i < 31; i++)
		CHECK_EQ(got[i], 0xff);
	/* all zeroes means none */
	memset(key, 0, sizeof(key));
	CHECK_EQ(altuntun_device_set_private_key(dev, key), ALTUNTUN_OK);
	CHECK(!altuntun_device_get_private_key(dev, got));
	CHECK(!altuntun_device_get_public_key(dev, got));
	altuntun_device_free(dev);
}

TEST(own_public_key_as_peer_is_ignored)
{
	int sent = 0, err;
	struct altuntun_callbacks cb = {.send = null_send, .ctx = &sent};
	altuntun_device *dev = altuntun_device_new(&cb);
	uint8_t priv[32], pub[32], other_priv[32], other_pub[32];

	altuntun_generate_private_key(priv);
	altuntun_public_key(pub, priv);
	altuntun_device_set_private_key(dev, priv);
	CHECK(!altuntun_peer_add(dev, pub, &err));
	CHECK_EQ(err, ALTUNTUN_ERR_PEER_IS_SELF);
	CHECK_EQ(altuntun_peer_count(dev), 0);
	/* a peer whose key becomes ours when our key changes is removed */
	altuntun_generate_private_key(other_priv);
	altuntun_public_key(other_pub, other_priv);
	CHECK(altuntun_peer_add(dev, other_pub, &err));
	CHECK_EQ(altuntun_peer_count(dev), 1);
	altuntun_device_set_private_key(dev, other_priv);
	CHECK_EQ(altuntun_peer_count(dev), 0);
	CHECK(!altuntun_peer_lookup(dev, other_pub));
	altuntun_device_free(dev);
}

TEST(low_order_peer_gets_nothing)
{
	/* u = 0 and u = 1 are points of small order (RFC 7748 section 6.1). */
	static const uint8_t low_orders[2][32] = {{0}, {1}};
	int sent = 0, err;
	struct altuntun_callbacks cb = {.send = null_send, .ctx = &sent};
	altuntun_device *dev = altuntun_device_new(&cb);
	uint8_t priv[32], buf[ALTUNTUN_HEADROOM + 100 + ALTUNTUN_TAILROOM];
	uint8_t src[4] = {10, 0, 0, 1}, dst[4] = {10, 9, 0, 1};
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(1)};
	struct altuntun_out out;
	struct altuntun_now now = {5 * SEC, 5 * SEC};

	altuntun_generate_private_key(priv);
	altuntun_device_set_private_key(dev, priv);
	for (int i = 0; i < 2; i++) {
		altuntun_peer *peer = altuntun_peer_add(dev, low_orders[i], &err);
		CHECK(peer); /* kept, as Linux and wireguard-go keep it */
		CHECK_EQ(altuntun_peer_set_endpoint(peer, (struct sockaddr *)&sin, sizeof(sin)),
			 ALTUNTUN_OK);
		dst[1] = (uint8_t)(9 + i);
		CHECK_EQ(altuntun_peer_add_allowed_ip(dev, peer, AF_INET, dst, 32), ALTUNTUN_OK);
		build_ipv4(buf + ALTUNTUN_HEADROOM, 100, src, dst);
		CHECK_EQ(altuntun_send(dev, now, buf, 100, sizeof(buf), 1420, &out),
			 ALTUNTUN_ERR_LOW_ORDER_KEY);
		altuntun_peer_set_persistent_keepalive(dev, peer, 1, now);
	}
	for (int s = 0; s < 30; s++) {
		now.mono_ns += SEC;
		altuntun_tick(dev, now);
	}
	CHECK_EQ(sent, 0);
	CHECK_EQ(altuntun_peer_count(dev), 2);
	altuntun_device_free(dev);
}

TEST(private_key_change_handshakes_at_once)
{
	uint8_t priv[32], pub[32];
	uint8_t a_net[4] = {10, 0, 0, 1};
	int err;

	pair_init(&P);
	pair_send_ip(&P, &P.a, 84);
	pair_flush(&P);
	CHECK_EQ(P.b.delivered, 1);
	pair_advance(&P, 1 * SEC);
	/* A takes a new key; B is told about it. */
	altuntun_generate_private_key(priv);
	altuntun_public_key(pub, priv);
	altuntun_device_set_private_key(P.a.dev, priv);
	memcpy(P.a.pub, pub, 32);
	altuntun_peer_remove(P.b.dev, P.b.peer);
	P.b.peer = altuntun_peer_add(P.b.dev, pub, &err);
	CHECK(P.b.peer);
	altuntun_peer_set_endpoint(P.b.peer, &P.a.addr.addr.sa, sizeof(P.a.addr.addr.in4));
	altuntun_peer_add_allowed_ip(P.b.dev, P.b.peer, AF_INET, a_net, 32);
	/* One second after the last handshake: no REKEY_TIMEOUT wait. */
	CHECK_EQ(pair_send_ip(&P, &P.a, 84), ALTUNTUN_QUEUED);
	CHECK_EQ(P.a.out.initiations, 2);
	pair_flush(&P);
	CHECK_EQ(P.b.delivered, 2);
	pair_free(&P);
}

TEST(crypto_routing_drops_foreign_source)
{
	static uint8_t buf[ALTUNTUN_HEADROOM + 200 + ALTUNTUN_TAILROOM];
	uint8_t wrong_src[4] = {10, 0, 0, 99}, dst[4] = {10, 0, 0, 2};
	struct altuntun_peer_stats before, after;
	struct altuntun_out out;

	pair_init(&P);
	pair_send_ip(&P, &P.a, 84);
	pair_flush(&P);
	/* A claims a source B does not route to A: B drops it. */
	build_ipv4(buf + ALTUNTUN_HEADROOM, 100, wrong_src, dst);
	/* Route it through A anyway by sending to B's address. */
	CHECK_EQ(altuntun_send(P.a.dev, P.now, buf, 100, sizeof(buf), 1420, &out), ALTUNTUN_OK);
	altuntun_peer_get_stats(P.b.peer, &before);
	CHECK_EQ(altuntun_receive(P.b.dev, P.now, &P.a.addr, out.data, out.len, &out),
		 ALTUNTUN_ERR_SOURCE_NOT_ALLOWED);
	/* Not counted as received, as the Linux driver counts it. */
	altuntun_peer_get_stats(P.b.peer, &after);
	CHECK_EQ(after.rx_bytes, before.rx_bytes);
	pair_free(&P);
}

TEST(no_route_and_bad_packets)
{
	static uint8_t buf[ALTUNTUN_HEADROOM + 200 + ALTUNTUN_TAILROOM];
	uint8_t src[4] = {10, 0, 0, 1}, nowhere[4] = {172, 16, 0, 1};
	struct altuntun_out out;

	pair_init(&P);
	build_ipv4(buf + ALTUNTUN_HEADROOM, 100, src, nowhere);
	CHECK_EQ(altuntun_send(P.a.dev, P.now, buf, 100, sizeof(buf), 1420, &out),
		 ALTUNTUN_ERR_NO_ROUTE);
	buf[ALTUNTUN_HEADROOM] = 0x55; /* neither v4 nor v6 */
	CHECK_EQ(altuntun_send(P.a.dev, P.now, buf, 100, sizeof(buf), 1420, &out),
		 ALTUNTUN_ERR_BAD_INNER_PACKET);
	CHECK_EQ(altuntun_send(P.a.dev, P.now, buf, 100, 100, 1420, &out),
		 ALTUNTUN_ERR_BUFFER_TOO_SMALL);
	/* receive: short, unknown type, wrong sizes, reserved bytes set */
	memset(buf, 0, 200);
	CHECK_EQ(altuntun_receive(P.a.dev, P.now, &P.b.addr, buf, 3, &out),
		 ALTUNTUN_ERR_PACKET_TOO_SHORT);
	buf[0] = 9;
	CHECK_EQ(altuntun_receive(P.a.dev, P.now, &P.b.addr, buf, 100, &out),
		 ALTUNTUN_ERR_PACKET_UNKNOWN_TYPE);
	buf[0] = 1;
	CHECK_EQ(altuntun_receive(P.a.dev, P.now, &P.b.addr, buf, 147, &out),
		 ALTUNTUN_ERR_PACKET_BAD_LENGTH);
	buf[0] = 4;
	CHECK_EQ(altuntun_receive(P.a.dev, P.now, &P.b.addr, buf, 31, &out),
		 ALTUNTUN_ERR_PACKET_BAD_LENGTH);
	CHECK_EQ(altuntun_receive(P.a.dev, P.now, &P.b.addr, buf, 32, &out),
		 ALTUNTUN_ERR_UNKNOWN_INDEX);
	buf[1] = 1;
	CHECK_EQ(altuntun_receive(P.a.dev, P.now, &P.b.addr, buf, 32, &out),
		 ALTUNTUN_ERR_PACKET_UNKNOWN_TYPE);
	pair_free(&P);
}

TEST(replayed_data_packet_rejected)
{
	static uint8_t buf[ALTUNTUN_HEADROOM + 200 + ALTUNTUN_TAILROOM], copy[300];
	uint8_t src[4] = {10, 0, 0, 1}, dst[4] = {10, 0, 0, 2};
	struct altuntun_out out;
	size_t len;

	pair_init(&P);
	pair_send_ip(&P, &P.a, 84);
	pair_flush(&P);
	build_ipv4(buf + ALTUNTUN_HEADROOM, 100, src, dst);
	CHECK_EQ(altuntun_send(P.a.dev, P.now, buf, 100, sizeof(buf), 1420, &out), ALTUNTUN_OK);
	len = out.len;
	memcpy(copy, out.data, len);
	CHECK_EQ(altuntun_receive(P.b.dev, P.now, &P.a.addr, out.data, len, &out), ALTUNTUN_DELIVER);
	CHECK_EQ(out.len, 100);
	memcpy(buf, copy, len);
	CHECK_EQ(altuntun_receive(P.b.dev, P.now, &P.a.addr, buf, len, &out), ALTUNTUN_ERR_REPLAY);
	/* tampering is caught by the tag */
	copy[40] ^= 1;
	CHECK_EQ(altuntun_receive(P.b.dev, P.now, &P.a.addr, copy, len, &out), ALTUNTUN_ERR_DECRYPT);
	pair_free(&P);
}

TEST(padding_capped_at_mtu)
{
	static uint8_t buf[ALTUNTUN_HEADROOM + 2000 + ALTUNTUN_TAILROOM];
	uint8_t src[4] = {10, 0, 0, 1}, dst[4] = {10, 0, 0, 2};
	struct altuntun_out out;

	pair_init(&P);
	pair_send_ip(&P, &P.a, 84);
	pair_flush(&P);
	/* 1297 bytes pad to 1312, but a 1299 MTU route caps it at 1299 */
	build_ipv4(buf + ALTUNTUN_HEADROOM, 1297, src, dst);
	CHECK_EQ(altuntun_send(P.a.dev, P.now, buf, 1297, sizeof(buf), 1299, &out), ALTUNTUN_OK);
	CHECK_EQ(out.len, 1299 + 32);
	build_ipv4(buf + ALTUNTUN_HEADROOM, 1297, src, dst);
	CHECK_EQ(altuntun_send(P.a.dev, P.now, buf, 1297, sizeof(buf), 1420, &out), ALTUNTUN_OK);
	CHECK_EQ(out.len, 1312 + 32);
	/* no MTU given: padded to 16 */
	build_ipv4(buf + ALTUNTUN_HEADROOM, 1297, src, dst);
	CHECK_EQ(altuntun_send(P.a.dev, P.now, buf, 1297, sizeof(buf), 0, &out), ALTUNTUN_OK);
	CHECK_EQ(out.len, 1312 + 32);
	/* the receiver trims padding by the IP header's length */
	CHECK_EQ(altuntun_receive(P.b.dev, P.now, &P.a.addr, out.data, out.len, &out),
		 ALTUNTUN_DELIVER);
	CHECK_EQ(out.len, 1297);
	pair_free(&P);
}

TEST(roaming_updates_endpoint)
{
	struct altuntun_endpoint ep;

	pair_init(&P);
	pair_send_ip(&P, &P.a, 84);
	pair_flush(&P);
	/* A moves to another address and port */
	P.a.addr.addr.in4.sin_addr.s_addr = htonl(0xc6336401u);
	P.a.addr.addr.in4.sin_port = htons(40000);
	pair_send_ip(&P, &P.a, 84);
	pair_flush(&P);
	CHECK(altuntun_peer_get_endpoint(P.b.peer, &ep));
	CHECK_EQ(ntohl(ep.addr.in4.sin_addr.s_addr), 0xc6336401u);
	CHECK_EQ(ntohs(ep.addr.in4.sin_port), 40000);
	pair_free(&P);
}

TEST(strerror_covers_every_code)
{
	for (int c = ALTUNTUN_ERR__LAST + 1; c <= 0; c++)
		CHECK(strcmp(altuntun_strerror(c), "unknown error") != 0);
	CHECK(strcmp(altuntun_strerror(ALTUNTUN_QUEUED), "unknown error") != 0);
	CHECK(strcmp(altuntun_strerror(-1000), "unknown error") == 0);
}
