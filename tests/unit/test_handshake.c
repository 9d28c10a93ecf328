/* SPDX-License-Identifier: BSD-3-Clause */
/* Two in-process peers: handshakes, data, keys, cookies. */
#include <string.h>

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
