/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Handshake floods on a fake clock (src/proto/load.c): B of a pair is the
 * responder, with a load threshold of 100 messages/s; flooders send valid
 * initiations (MAC1 right, keys unknown or known to B) from one source or
 * from many; A is the legitimate peer. What B sends to flooders is counted
 * in P.b.out.stray*, what it sends to A goes over the pair's wire. A
 * message B does nothing with but count is "rate limited": a source over
 * its share gets cookie replies at the per-source rate only.
 */
#include <arpa/inet.h>
#include <string.h>

#include "device_internal.h"
#include "pair.h"
#include "test.h"

#define SEC 1000000000ULL
#define MS 1000000ULL
#define US 1000ULL
#define THRESHOLD 100

static struct pair P;

/* A client of B's, not necessarily one B knows: its device and the last
 * initiation it built. */
struct flooder {
	altuntun_device *dev;
	uint8_t priv[32], pub[32];
	uint8_t msg[sizeof(struct message_initiation)];
	size_t len;
	struct altuntun_now now;
};

static int flooder_capture(void *ctx, altuntun_peer *peer, const struct altuntun_endpoint *to,
			   const uint8_t *data, size_t len)
{
	struct flooder *f = ctx;

	(void)peer;
	(void)to;
	if (len == sizeof(f->msg) && data[0] == MESSAGE_INITIATION) {
		memcpy(f->msg, data, len);
		f->len = len;
	}
	return 0;
}

static void flooder_init(struct flooder *f)
{
	struct altuntun_callbacks cb = { .send = flooder_capture, .ctx = f };
	static uint8_t buf[ALTUNTUN_HEADROOM + 100 + ALTUNTUN_TAILROOM];
	uint8_t src[4] = { 10, 0, 0, 9 }, dst[4] = { 10, 0, 0, 2 }, any[4] = { 0 };
	struct altuntun_out out;
	altuntun_peer *b;
	int err;

	memset(f, 0, sizeof(*f));
	f->now = P.now;
	f->dev = altuntun_device_new(&cb);
	CHECK(f->dev);
	altuntun_generate_private_key(f->priv);
	CHECK_EQ(altuntun_public_key(f->pub, f->priv), ALTUNTUN_OK);
	CHECK_EQ(altuntun_device_set_private_key(f->dev, f->priv), ALTUNTUN_OK);
	b = altuntun_peer_add(f->dev, P.b.pub, &err);
	CHECK(b);
	CHECK_EQ(altuntun_peer_set_endpoint(b, &P.b.addr.addr.sa, sizeof(P.b.addr.addr.in4)),
		 ALTUNTUN_OK);
	CHECK_EQ(altuntun_peer_add_allowed_ip(f->dev, b, AF_INET, any, 0), ALTUNTUN_OK);
	build_ipv4(buf + ALTUNTUN_HEADROOM, 100, src, dst);
	CHECK_EQ(altuntun_send(f->dev, f->now, buf, 100, sizeof(buf), 1420, &out),
		 ALTUNTUN_QUEUED);
	CHECK_EQ(f->len, sizeof(f->msg));
}

static struct altuntun_endpoint source(uint32_t addr, uint16_t port)
{
	struct altuntun_endpoint ep;

	memset(&ep, 0, sizeof(ep));
	ep.addr.in4.sin_family = AF_INET;
	ep.addr.in4.sin_addr.s_addr = htonl(addr);
	ep.addr.in4.sin_port = htons(port);
	return ep;
}

/* Results of handshake messages received by B. */
struct tally {
	uint64_t cookie_required, rate_limited, processed;
};

static void deliver_to_b(const struct altuntun_endpoint *from, const uint8_t *msg, size_t len,
			 struct tally *t)
{
	uint8_t buf[sizeof(struct message_initiation)];
	struct altuntun_out out;
	int r;

	memcpy(buf, msg, len);
	r = altuntun_receive(P.b.dev, P.now, from, buf, len, &out);
	if (r == ALTUNTUN_ERR_COOKIE_REQUIRED)
		t->cookie_required++;
	else if (r == ALTUNTUN_ERR_RATE_LIMITED)
		t->rate_limited++;
	else
		t->processed++;
}

/* n copies of msg from `from`, one every `gap` ns. */
static void flood(const struct altuntun_endpoint *from, const uint8_t *msg, uint64_t n,
		  uint64_t gap, struct tally *t)
{
	for (uint64_t i = 0; i < n; i++) {
		deliver_to_b(from, msg, sizeof(struct message_initiation), t);
		pair_advance(&P, gap);
	}
}

static void setup(void)
{
	pair_init(&P);
	altuntun_device_set_load_threshold(P.b.dev, THRESHOLD);
}

TEST(flood_one_source_legit_peer_gets_in_at_once)
{
	struct flooder unknown, known;
	struct altuntun_endpoint from = source(0xc6336407, 4444); /* 198.51.100.7 */
	struct tally t = { 0 };
	int err;

	setup();
	flooder_init(&unknown);
	flooder_init(&known);
	CHECK(altuntun_peer_add(P.b.dev, known.pub, &err));
	/* 20,000/s from one source, alternating an unknown and a known key. */
	for (int i = 0; i < 1000; i++) {
		flood(&from, unknown.msg, 1, 25 * US, &t);
		flood(&from, known.msg, 1, 25 * US, &t);
	}
	/* The first THRESHOLD are processed: the known key's first initiation
	 * is answered, its replays and the unknown key's are refused. */
	CHECK_EQ(t.processed, THRESHOLD);
	CHECK_EQ(P.b.out.stray_responses, 1);
	/* From then on the source is far above its share: no more work, and
	 * cookie replies only as fast as its MAC2 messages could pass (a burst
	 * of 5, then one per 50 ms: none more in these 47.5 ms). */
	CHECK_EQ(t.cookie_required, RATELIMIT_BURST);
	CHECK_EQ(P.b.out.stray_cookie_replies, RATELIMIT_BURST);
	CHECK_EQ(t.rate_limited, 2000 - THRESHOLD - RATELIMIT_BURST);
	CHECK(device_under_load(P.b.dev, P.now.mono_ns));

	/* A, from elsewhere, gets in at once: no cookie, one round trip. */
	CHECK_EQ(pair_send_ip(&P, &P.a, 84), ALTUNTUN_QUEUED);
	pair_flush(&P);
	CHECK_EQ(P.b.out.cookie_replies, 0);
	CHECK_EQ(P.b.out.responses, 1);
	CHECK_EQ(P.b.delivered, 1);

	/* The flood goes on for a second; traffic flows both ways meanwhile. */
	for (int ms = 0; ms < 1000; ms++) {
		flood(&from, ms % 2 ? known.msg : unknown.msg, 20, 50 * US, &t);
		pair_tick(&P);
		pair_send_ip(&P, &P.a, 100);
		pair_send_ip(&P, &P.b, 100);
		pair_flush(&P);
	}
	CHECK_EQ(t.processed, THRESHOLD);
	/* One more cookie reply every 50 ms, from 52.5 ms to 1002.5 ms. */
	CHECK_EQ(P.b.out.stray_cookie_replies, RATELIMIT_BURST + 20);
	CHECK_EQ(t.cookie_required, RATELIMIT_BURST + 20);
	CHECK_EQ(t.rate_limited, 22000 - THRESHOLD - RATELIMIT_BURST - 20);
	CHECK_EQ(P.b.delivered, 1001);
	CHECK_EQ(P.a.delivered, 1000);
	CHECK_EQ(P.b.out.cookie_replies, 0);
	CHECK_EQ(P.b.out.responses, 1);
	altuntun_device_free(unknown.dev);
	altuntun_device_free(known.dev);
	pair_free(&P);
}

/* What many_source_flood() saw. */
struct many_flood {
	uint64_t sent;
	uint64_t answered;   /* how long A waited for its response (0: never) */
	uint64_t cookies_2s; /* B's cookie replies to the flood by 2 s */
	uint64_t cookies_7s; /* ... and by 7 s */
};

/* Eight seconds of a flood of per_ms initiations a millisecond from
 * `sources` addresses from base on, in turn; A starts its handshake at 1 s. */
static void many_source_flood(struct flooder *f, uint32_t base, uint32_t sources, int per_ms,
			      struct tally *t, struct many_flood *m)
{
	uint64_t start = 0;

	memset(m, 0, sizeof(*m));
	for (uint64_t ms = 0; ms < 8000; ms++) {
		for (int k = 0; k < per_ms; k++, m->sent++) {
			struct altuntun_endpoint from = source(base + (uint32_t)(m->sent % sources), 5000);

			deliver_to_b(&from, f->msg, sizeof(f->msg), t);
		}
		if (ms == 1000) {
			start = P.now.mono_ns;
			CHECK_EQ(pair_send_ip(&P, &P.a, 84), ALTUNTUN_QUEUED);
		}
		if (ms == 2000)
			m->cookies_2s = P.b.out.stray_cookie_replies;
		if (ms == 7000)
			m->cookies_7s = P.b.out.stray_cookie_replies;
		pair_advance(&P, MS);
		pair_tick(&P);
		pair_flush(&P);
		if (!m->answered && P.b.out.responses)
			m->answered = P.now.mono_ns - start;
	}
	CHECK_EQ(t->processed, THRESHOLD);
	CHECK_EQ(t->cookie_required + t->rate_limited, m->sent - THRESHOLD);
	CHECK_EQ(P.b.out.stray_cookie_replies, t->cookie_required);
	/* A paid too: one cookie, then its retransmission with MAC2 got in. */
	CHECK_EQ(P.b.out.cookie_replies, 1);
	CHECK_EQ(P.b.out.responses, 1);
	CHECK_EQ(P.b.delivered, 1);
	CHECK(m->answered >= REKEY_TIMEOUT);
	CHECK(m->answered <= REKEY_TIMEOUT + REKEY_TIMEOUT_JITTER_MAX + 2 * MS);
}

TEST(flood_many_sources_everyone_pays_the_cookie_round_trip)
{
	struct flooder f;
	struct tally t = { 0 };
	struct many_flood m;

	setup();
	flooder_init(&f);
	/* 10,000 sources (more than the source table holds), 10,000/s in turn:
	 * each one sends once a second, none is above the others. */
	many_source_flood(&f, 0x0a140000, 10000, 10, &t, &m);
	/* The sources without a place in the table (1808) are answered every
	 * time; the tracked ones share the cookie budget after their first. */
	CHECK(t.cookie_required <= RATELIMIT_MAX_ENTRIES +
					   8 * (COOKIE_REPLIES_PER_SECOND + 10000 - RATELIMIT_MAX_ENTRIES));
	altuntun_device_free(f.dev);
	pair_free(&P);
}

TEST(flood_thousand_sources_share_the_cookie_budget)
{
	struct flooder f;
	struct tally t = { 0 };
	struct many_flood m;

	setup();
	flooder_init(&f);
	/* 1000 sources (all in the table), 20,000/s in turn: 20 a second each,
	 * each one at the per-source cookie rate. Alone, their buckets would
	 * let 20,000 cookie replies a second out; they share 2000. A, a new
	 * source, gets its cookie at once and is in one round trip later, as
	 * under a flood from few sources (many_source_flood checks). */
	many_source_flood(&f, 0x0a150000, 1000, 20, &t, &m);
	/* Five seconds of steady flood: one reply per source every 0.5 s. */
	CHECK(m.cookies_7s - m.cookies_2s >= 5 * COOKIE_REPLIES_PER_SECOND - 1000);
	CHECK(m.cookies_7s - m.cookies_2s <= 5 * COOKIE_REPLIES_PER_SECOND + 1000);
	altuntun_device_free(f.dev);
	pair_free(&P);
}

TEST(flood_cookie_gap_grows_with_the_sources)
{
	/* Up to budget / 20 sources their own buckets (20/s) keep within it. */
	CHECK_EQ(device_cookie_gap(1), 0);
	CHECK_EQ(device_cookie_gap(COOKIE_REPLIES_PER_SECOND / RATELIMIT_PER_SECOND), 0);
	CHECK_EQ(device_cookie_gap(COOKIE_REPLIES_PER_SECOND / RATELIMIT_PER_SECOND + 1),
		 (COOKIE_REPLIES_PER_SECOND / RATELIMIT_PER_SECOND + 1) * SEC /
			 COOKIE_REPLIES_PER_SECOND);
	CHECK_EQ(device_cookie_gap(1000), SEC * 1000 / COOKIE_REPLIES_PER_SECOND);
	CHECK_EQ(device_cookie_gap(RATELIMIT_MAX_ENTRIES),
		 SEC * RATELIMIT_MAX_ENTRIES / COOKIE_REPLIES_PER_SECOND);
}

TEST(flood_light_sources_share_the_direct_budget)
{
	struct flooder f;
	struct altuntun_endpoint heavy = source(0xc6336407, 4444);
	struct tally t = { 0 }, light = { 0 };

	setup();
	flooder_init(&f);
	flood(&heavy, f.msg, 2000, 50 * US, &t);
	/* Cookie replies: the burst at 5 ms, one more at 55 ms. */
	CHECK_EQ(t.cookie_required, RATELIMIT_BURST + 1);
	CHECK_EQ(t.rate_limited, 2000 - THRESHOLD - RATELIMIT_BURST - 1);
	/* 50 new sources at once, each well within its share: the direct
	 * budget (a tenth of a second of the threshold: 10) goes first. */
	for (uint32_t i = 0; i < 50; i++) {
		struct altuntun_endpoint from = source(0xcb007100 + i, 1);

		deliver_to_b(&from, f.msg, sizeof(f.msg), &light);
	}
	CHECK_EQ(light.processed, THRESHOLD / 10);
	CHECK_EQ(light.cookie_required, 50 - THRESHOLD / 10);
	/* It refills at the threshold's rate: one message per 10 ms. */
	pair_advance(&P, 10 * MS);
	for (uint32_t i = 50; i < 52; i++) {
		struct altuntun_endpoint from = source(0xcb007100 + i, 1);

		deliver_to_b(&from, f.msg, sizeof(f.msg), &light);
	}
	CHECK_EQ(light.processed, THRESHOLD / 10 + 1);
	/* A light source still gets the per-source limit (burst 5). */
	pair_advance(&P, 100 * MS);
	{
		struct altuntun_endpoint from = source(0xcb007200, 1);
		struct tally one = { 0 };

		for (int i = 0; i < 8; i++)
			deliver_to_b(&from, f.msg, sizeof(f.msg), &one);
		CHECK_EQ(one.processed, RATELIMIT_BURST);
		CHECK_EQ(one.rate_limited, 8 - RATELIMIT_BURST);
	}
	altuntun_device_free(f.dev);
	pair_free(&P);
}

TEST(flood_with_cookies_is_rate_limited_per_source)
{
	struct flooder f;
	struct altuntun_endpoint from = source(0xc6336407, 4444);
	struct altuntun_out out;
	struct altuntun_peer *b;
	struct tally t = { 0 };

	setup();
	flooder_init(&f);
	flood(&from, f.msg, 200, 50 * US, &t);
	CHECK_EQ(t.cookie_required, RATELIMIT_BURST);
	CHECK_EQ(t.rate_limited, 200 - THRESHOLD - RATELIMIT_BURST);
	/* The flooder reads its cookie and puts MAC2 on its initiation, as a
	 * client of B's under load does. */
	CHECK_EQ(P.b.out.stray_last_len, sizeof(struct message_cookie_reply));
	CHECK_EQ(altuntun_receive(f.dev, f.now, &P.b.addr, P.b.out.stray_last,
				  P.b.out.stray_last_len, &out),
		 ALTUNTUN_OK);
	b = altuntun_peer_first(f.dev);
	CHECK(b->cookie.has_cookie);
	mac16(f.msg + sizeof(f.msg) - MAC_LEN, b->cookie.cookie, MAC_LEN, f.msg,
	      sizeof(f.msg) - MAC_LEN);
	/* 1,000/s with a valid MAC2 for one second: the burst, then 20/s. */
	memset(&t, 0, sizeof(t));
	flood(&from, f.msg, 1000, MS, &t);
	CHECK_EQ(t.cookie_required, 0);
	CHECK_EQ(t.processed, RATELIMIT_BURST + 19);
	CHECK_EQ(t.rate_limited, 1000 - RATELIMIT_BURST - 19);
	altuntun_device_free(f.dev);
	pair_free(&P);
}

TEST(flood_with_wrong_mac2_needs_a_cookie_too)
{
	struct flooder f;
	struct altuntun_endpoint from = source(0xc6336407, 4444);
	struct tally zero = { 0 }, wrong = { 0 };

	setup();
	flooder_init(&f);
	flood(&from, f.msg, THRESHOLD, 50 * US, &zero);
	CHECK_EQ(zero.processed, THRESHOLD);
	/* Under load: a zero MAC2 (no cookie, not even computed) and a wrong
	 * one are the same to B. */
	flood(&from, f.msg, 1, 50 * US, &zero);
	CHECK_EQ(zero.cookie_required, 1);
	memset(f.msg + sizeof(f.msg) - MAC_LEN, 0xa5, MAC_LEN);
	flood(&from, f.msg, 1, 50 * US, &wrong);
	CHECK_EQ(wrong.cookie_required, 1);
	CHECK_EQ(wrong.processed, 0);
	altuntun_device_free(f.dev);
	pair_free(&P);
}

TEST(flood_held_source_refused_before_mac1)
{
	struct flooder f;
	struct altuntun_endpoint from = source(0xc6336407, 4444), other = source(0xcb007300, 1);
	struct tally t = { 0 };
	uint8_t bad[sizeof(struct message_initiation)];
	struct altuntun_out out;

	setup();
	flooder_init(&f);
	flood(&from, f.msg, 2000, 50 * US, &t);
	CHECK_EQ(t.cookie_required, RATELIMIT_BURST + 1);
	/* Its bucket is empty: whatever the MAC1, the flooder is refused
	 * before it is computed, and counted. */
	memcpy(bad, f.msg, sizeof(bad));
	bad[sizeof(bad) - 2 * MAC_LEN] ^= 1;
	CHECK_EQ(altuntun_receive(P.b.dev, P.now, &from, bad, sizeof(bad), &out),
		 ALTUNTUN_ERR_RATE_LIMITED);
	/* A source not over its share is checked: a bad MAC1 is a bad MAC1. */
	memcpy(bad, f.msg, sizeof(bad));
	bad[sizeof(bad) - 2 * MAC_LEN] ^= 1;
	CHECK_EQ(altuntun_receive(P.b.dev, P.now, &other, bad, sizeof(bad), &out),
		 ALTUNTUN_ERR_BAD_MAC1);
	/* A message carrying a MAC2 always goes the whole way (a wrong MAC2
	 * is then no cookie; the flooder's bucket is still empty). */
	memcpy(bad, f.msg, sizeof(bad));
	memset(bad + sizeof(bad) - MAC_LEN, 0xa5, MAC_LEN);
	bad[sizeof(bad) - 2 * MAC_LEN] ^= 1;
	CHECK_EQ(altuntun_receive(P.b.dev, P.now, &from, bad, sizeof(bad), &out),
		 ALTUNTUN_ERR_BAD_MAC1);
	altuntun_device_free(f.dev);
	pair_free(&P);
}
