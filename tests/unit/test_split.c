// SPDX-License-Identifier: BSD-3-Clause
/*
 * The split data path (altuntun_send_prepare, altuntun_receive_prepare /
 * _finish, altuntun_crypt_seal / _open): the same datagrams and deliveries
 * as altuntun_send / altuntun_receive, the AEAD step on another thread, and
 * what happens when the session changes between the steps.
 */
#include <pthread.h>

#include "pair.h"
#include "test.h"

static struct pair P;

#define NPKT 32
#define PKT_LEN 1000
#define BUF_LEN (ALTUNTUN_HEADROOM + PKT_LEN + ALTUNTUN_TAILROOM)

static const uint8_t ip_a[4] = { 10, 0, 0, 1 }, ip_b[4] = { 10, 0, 0, 2 };

/* A session both ways. */
static void up(void)
{
	pair_init(&P);
	CHECK_EQ(pair_send_ip(&P, &P.a, 84), ALTUNTUN_QUEUED);
	pair_flush(&P);
	CHECK_EQ(pair_send_ip(&P, &P.b, 84), ALTUNTUN_OK);
	pair_flush(&P);
}

static bool all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

TEST(split_send_same_as_send)
{
	static uint8_t one[BUF_LEN], two[BUF_LEN], plain[PKT_LEN];
	struct altuntun_out o1, o2;
	struct altuntun_crypt c;
	altuntun_aead *aead = altuntun_aead_new();

	CHECK(aead);
	up();
	for (int round = 0; round < 3; round++) {
		build_ipv4(plain, PKT_LEN, ip_a, ip_b);
		plain[40] = (uint8_t)round;
		/* The split path, then what B makes of it. */
		memcpy(one + ALTUNTUN_HEADROOM, plain, PKT_LEN);
		CHECK_EQ(altuntun_send_prepare(P.a.dev, P.now, one, PKT_LEN, sizeof(one), 1420, &o1,
					       &c),
			 ALTUNTUN_OK);
		CHECK(o1.data == one);
		CHECK_EQ(o1.len, 32 + 1008);
		CHECK(c.data == one + ALTUNTUN_HEADROOM);
		CHECK_EQ(c.len, 1008);
		altuntun_crypt_seal(round == 1 ? NULL : aead, &c);
		CHECK(all_zero(c.key, sizeof(c.key)));
		CHECK_EQ(altuntun_receive(P.b.dev, P.now, &P.a.addr, one, o1.len, &o1),
			 ALTUNTUN_DELIVER);
		CHECK_EQ(o1.len, PKT_LEN);
		CHECK_MEM(o1.data, plain, PKT_LEN);
		/* And the whole call still works alongside. */
		memcpy(two + ALTUNTUN_HEADROOM, plain, PKT_LEN);
		CHECK_EQ(altuntun_send(P.a.dev, P.now, two, PKT_LEN, sizeof(two), 1420, &o2),
			 ALTUNTUN_OK);
		CHECK_EQ(altuntun_receive(P.b.dev, P.now, &P.a.addr, two, o2.len, &o2),
			 ALTUNTUN_DELIVER);
		CHECK_MEM(o2.data, plain, PKT_LEN);
	}
	/* No session to a peer: staged, as altuntun_send does. */
	altuntun_peer_remove(P.a.dev, P.a.peer);
	memcpy(one + ALTUNTUN_HEADROOM, plain, PKT_LEN);
	CHECK_EQ(altuntun_send_prepare(P.a.dev, P.now, one, PKT_LEN, sizeof(one), 1420, &o1, &c),
		 ALTUNTUN_ERR_NO_ROUTE);
	CHECK_EQ(altuntun_send_prepare(P.a.dev, P.now, one, PKT_LEN, sizeof(one), 1420, &o1, NULL),
		 ALTUNTUN_ERR_INVALID_ARGUMENT);
	altuntun_aead_free(aead);
	pair_free(&P);
}

struct opener {
	struct altuntun_crypt *c;
	size_t from, to;
};

static void *open_some(void *arg)
{
	struct opener *o = arg;
	altuntun_aead *aead = altuntun_aead_new();

	for (size_t i = o->from; i < o->to; i++)
		altuntun_crypt_open(aead, &o->c[i]);
	altuntun_aead_free(aead);
	return NULL;
}

TEST(split_receive_on_two_threads)
{
	static uint8_t buf[NPKT][BUF_LEN], plain[NPKT][PKT_LEN];
	static struct altuntun_crypt c[NPKT];
	size_t len[NPKT];
	struct altuntun_out out;
	struct opener half = { c, NPKT / 2, NPKT };
	pthread_t t;

	up();
	for (size_t i = 0; i < NPKT; i++) {
		build_ipv4(plain[i], PKT_LEN - i, ip_a, ip_b);
		plain[i][30] = (uint8_t)i;
		memcpy(buf[i] + ALTUNTUN_HEADROOM, plain[i], PKT_LEN - i);
		CHECK_EQ(altuntun_send(P.a.dev, P.now, buf[i], PKT_LEN - i, BUF_LEN, 1420, &out),
			 ALTUNTUN_OK);
		len[i] = out.len;
	}
	for (size_t i = 0; i < NPKT; i++)
		CHECK_EQ(altuntun_receive_prepare(P.b.dev, P.now, &P.a.addr, buf[i], len[i], &out,
						  &c[i]),
			 ALTUNTUN_DECRYPT);
	/* One packet damaged in flight. */
	buf[5][ALTUNTUN_HEADROOM + 100] ^= 4;
	/* Half on another thread, half here, while nothing else happens. */
	CHECK_EQ(pthread_create(&t, NULL, open_some, &half), 0);
	{
		struct opener mine = { c, 0, NPKT / 2 };

		open_some(&mine);
	}
	CHECK_EQ(pthread_join(t, NULL), 0);
	for (size_t i = 0; i < NPKT; i++) {
		CHECK(all_zero(c[i].key, sizeof(c[i].key)));
		CHECK_EQ(c[i].ok, i != 5);
	}
	/* Finished in order: delivered, but the damaged one. */
	for (size_t i = 0; i < NPKT; i++) {
		int r = altuntun_receive_finish(P.b.dev, P.now, &P.a.addr, buf[i], len[i], &out, &c[i]);

		if (i == 5) {
			CHECK_EQ(r, ALTUNTUN_ERR_DECRYPT);
			continue;
		}
		CHECK_EQ(r, ALTUNTUN_DELIVER);
		CHECK_EQ(out.len, PKT_LEN - i);
		CHECK_MEM(out.data, plain[i], PKT_LEN - i);
		CHECK(out.peer == P.b.peer);
	}
	/* Finishing one again is a replay. */
	c[3].ok = true;
	CHECK_EQ(altuntun_receive_finish(P.b.dev, P.now, &P.a.addr, buf[3], len[3], &out, &c[3]),
		 ALTUNTUN_ERR_REPLAY);
	/* Another buffer than the prepared one. */
	CHECK_EQ(altuntun_receive_finish(P.b.dev, P.now, &P.a.addr, buf[4], len[3], &out, &c[3]),
		 ALTUNTUN_ERR_INVALID_ARGUMENT);
	pair_free(&P);
}

TEST(split_session_changes_in_between)
{
	static uint8_t buf[2][BUF_LEN];
	struct altuntun_crypt c[2];
	struct altuntun_out out;
	size_t len[2];
	uint8_t priv[32];

	up();
	for (int i = 0; i < 2; i++) {
		build_ipv4(buf[i] + ALTUNTUN_HEADROOM, 200, ip_a, ip_b);
		CHECK_EQ(altuntun_send(P.a.dev, P.now, buf[i], 200, BUF_LEN, 1420, &out), ALTUNTUN_OK);
		len[i] = out.len;
		CHECK_EQ(altuntun_receive_prepare(P.b.dev, P.now, &P.a.addr, buf[i], len[i], &out,
						  &c[i]),
			 ALTUNTUN_DECRYPT);
		altuntun_crypt_open(NULL, &c[i]);
		CHECK(c[i].ok);
	}
	/* Expired in between (the clock moved past REJECT_AFTER_TIME). */
	pair_advance(&P, 181ull * 1000000000ull);
	CHECK_EQ(altuntun_receive_finish(P.b.dev, P.now, &P.a.addr, buf[0], len[0], &out, &c[0]),
		 ALTUNTUN_ERR_KEY_EXPIRED);
	/* Gone: B has a new private key, every session dropped. */
	altuntun_generate_private_key(priv);
	CHECK_EQ(altuntun_device_set_private_key(P.b.dev, priv), ALTUNTUN_OK);
	CHECK(altuntun_receive_finish(P.b.dev, P.now, &P.a.addr, buf[1], len[1], &out, &c[1]) < 0);
	pair_free(&P);
}

TEST(split_prepare_handles_other_messages)
{
	static uint8_t buf[BUF_LEN];
	struct altuntun_crypt c;
	struct altuntun_out out;

	pair_init(&P);
	/* A's initiation reaches B through the prepare: answered at once. */
	CHECK_EQ(pair_send_ip(&P, &P.a, 84), ALTUNTUN_QUEUED);
	CHECK_EQ(P.a.out.count, 1);
	memcpy(buf, P.a.out.data[0], P.a.out.len[0]);
	CHECK_EQ(altuntun_receive_prepare(P.b.dev, P.now, &P.a.addr, buf, P.a.out.len[0], &out, &c),
		 ALTUNTUN_OK);
	CHECK_EQ(P.b.out.count, 1); /* the response */
	/* Too short, unknown index: the codes of altuntun_receive. */
	memset(buf, 0, 48);
	buf[0] = 4;
	CHECK_EQ(altuntun_receive_prepare(P.b.dev, P.now, &P.a.addr, buf, 20, &out, &c),
		 ALTUNTUN_ERR_PACKET_BAD_LENGTH);
	CHECK_EQ(altuntun_receive_prepare(P.b.dev, P.now, &P.a.addr, buf, 48, &out, &c),
		 ALTUNTUN_ERR_UNKNOWN_INDEX);
	CHECK_EQ(altuntun_receive_prepare(P.b.dev, P.now, &P.a.addr, buf, 48, &out, NULL),
		 ALTUNTUN_ERR_INVALID_ARGUMENT);
	CHECK(strcmp(altuntun_strerror(ALTUNTUN_DECRYPT), "unknown error") != 0);
	pair_free(&P);
}
