/* SPDX-License-Identifier: BSD-3-Clause */
/* Two in-process peers: handshakes, data, keys, cookies. */
#include <string.h>

#include "device_internal.h"
#include "pair.h"
#include "test.h"

#define SEC 1000000000ULL
#define MS 1000000ULL

static struct pair P;

TEST(handshake_then_data_both_ways)
{
	struct altuntun_peer_stats sa, sb;

	pair_init(&P);
	CHECK_EQ(pair_send_ip(&P, &P.a, 84), ALTUNTUN_QUEUED);
	CHECK_EQ(P.a.out.initiations, 1);
	pair_flush(&P);
	CHECK_EQ(P.b.out.responses, 1);
	CHECK_EQ(P.b.delivered, 1); /* the queued packet arrived after the handshake */
	CHECK_EQ(pair_send_ip(&P, &P.b, 84), ALTUNTUN_OK);
	pair_flush(&P);
	CHECK_EQ(P.a.delivered, 1);
	for (int i = 0; i < 9; i++) {
		CHECK_EQ(pair_send_ip(&P, &P.a, 84), ALTUNTUN_OK);
		CHECK_EQ(pair_send_ip(&P, &P.b, 84), ALTUNTUN_OK);
		pair_flush(&P);
	}
	CHECK_EQ(P.a.delivered, 10);
	CHECK_EQ(P.b.delivered, 10);
	/* Counted as Linux counts them: initiation 148 + 10 x (84 padded to 96
	 * + 32) sent; response 92 + 10 x 128 received. */
	altuntun_peer_get_stats(P.a.peer, &sa);
	altuntun_peer_get_stats(P.b.peer, &sb);
	CHECK_EQ(sa.tx_bytes, 1428);
	CHECK_EQ(sa.rx_bytes, 1372);
	CHECK_EQ(sb.rx_bytes, 1428);
	CHECK_EQ(sb.tx_bytes, 1372);
	CHECK(sa.last_handshake_wall_ns != 0);
	CHECK(sb.last_handshake_wall_ns != 0);
	pair_free(&P);
}

TEST(handshake_with_preshared_key)
{
	uint8_t psk[32], got[32];

	pair_init(&P);
	memset(psk, 0x42, sizeof(psk));
	altuntun_peer_set_preshared_key(P.a.peer, psk);
	altuntun_peer_set_preshared_key(P.b.peer, psk);
	CHECK(altuntun_peer_get_preshared_key(P.a.peer, got));
	CHECK_MEM(got, psk, 32);
	pair_send_ip(&P, &P.a, 84);
	pair_flush(&P);
	CHECK_EQ(P.b.delivered, 1);
	pair_free(&P);
}

TEST(preshared_key_mismatch_fails)
{
	uint8_t psk[32];

	pair_init(&P);
	memset(psk, 0x42, sizeof(psk));
	altuntun_peer_set_preshared_key(P.a.peer, psk);
	pair_send_ip(&P, &P.a, 84);
	pair_flush(&P);
	CHECK_EQ(P.b.out.responses, 1); /* B answers, A cannot open it */
	CHECK_EQ(P.b.delivered, 0);
	CHECK_EQ(P.a.out.keepalives, 0);
	/* an all-zero key means none */
	memset(psk, 0, sizeof(psk));
	altuntun_peer_set_preshared_key(P.a.peer, psk);
	CHECK(!altuntun_peer_get_preshared_key(P.a.peer, psk));
	pair_free(&P);
}

TEST(unknown_peer_key_rejected)
{
	uint8_t other[32], pub[32], buf[256];
	struct altuntun_out out;

	pair_init(&P);
	/* B forgets A and learns a different key: A's initiation is refused. */
	altuntun_peer_remove(P.b.dev, P.b.peer);
	altuntun_generate_private_key(other);
	altuntun_public_key(pub, other);
	CHECK(altuntun_peer_add(P.b.dev, pub, NULL));
	pair_send_ip(&P, &P.a, 84);
	CHECK_EQ(P.a.out.count, 1);
	memcpy(buf, P.a.out.data[0], P.a.out.len[0]);
	CHECK_EQ(altuntun_receive(P.b.dev, P.now, &P.a.addr, buf, P.a.out.len[0], &out),
		 ALTUNTUN_ERR_UNKNOWN_PEER);
	/* a flipped MAC1 byte is caught before any DH */
	memcpy(buf, P.a.out.data[0], P.a.out.len[0]);
	buf[116] ^= 1;
	CHECK_EQ(altuntun_receive(P.b.dev, P.now, &P.a.addr, buf, P.a.out.len[0], &out),
		 ALTUNTUN_ERR_BAD_MAC1);
	pair_free(&P);
}

TEST(wrong_responder_key_gives_no_session)
{
	uint8_t priv[32];

	pair_init(&P);
	/* B changes its private key: A still expects the old public key. */
	altuntun_generate_private_key(priv);
	altuntun_device_set_private_key(P.b.dev, priv);
	pair_send_ip(&P, &P.a, 84);
	pair_flush(&P);
	CHECK_EQ(P.b.out.responses, 0);
	CHECK_EQ(P.b.delivered, 0);
	pair_free(&P);
}

TEST(replayed_initiation_rejected)
{
	uint8_t saved[148], buf[148];
	struct altuntun_out out;

	pair_init(&P);
	pair_send_ip(&P, &P.a, 84);
	memcpy(saved, P.a.out.data[0], 148);
	pair_flush(&P);
	CHECK_EQ(P.b.out.responses, 1);
	pair_advance(&P, SEC);
	memcpy(buf, saved, 148);
	CHECK_EQ(altuntun_receive(P.b.dev, P.now, &P.a.addr, buf, 148, &out),
		 ALTUNTUN_ERR_REPLAYED_TIMESTAMP);
	CHECK_EQ(P.b.out.count, 0);
	pair_free(&P);
}

TEST(initiation_flood_from_peer_dropped)
{
	struct altuntun_now a_time, b_time;
	uint8_t buf[148];
	struct altuntun_out out;
	int accepted = 0, flood = 0;

	pair_init(&P);
	a_time = b_time = P.now;
	/* A's clock runs 6 s per initiation (past REKEY_TIMEOUT, newer
	 * timestamps); B sees them 10 ms apart: 100 per second. */
	for (int i = 0; i < 100; i++) {
		int ret;

		a_time.mono_ns += 6 * SEC;
		a_time.wall_ns += 6 * SEC;
		b_time.mono_ns += 10 * MS;
		P.now = a_time;
		P.a.out.count = 0;
		/* not waiting for the retransmission timer: a new initiation */
		P.a.peer->timers.retransmit_handshake = TIMER_OFF;
		pair_send_ip(&P, &P.a, 84);
		CHECK_EQ(P.a.out.count, 1);
		memcpy(buf, P.a.out.data[0], 148);
		CHECK_EQ(buf[0], 1);
		ret = altuntun_receive(P.b.dev, b_time, &P.a.addr, buf, 148, &out);
		if (ret == ALTUNTUN_OK)
			accepted++;
		else if (ret == ALTUNTUN_ERR_INITIATION_FLOOD)
			flood++;
		P.b.out.count = 0;
	}
	/* 50 per second at most: every other one of these. */
	CHECK_EQ(accepted, 50);
	CHECK_EQ(flood, 50);
	pair_free(&P);
}
