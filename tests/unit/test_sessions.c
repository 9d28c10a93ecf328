/* SPDX-License-Identifier: BSD-3-Clause */
/* Sessions over time with a fake clock: rekeying, expiry, keepalives,
 * cookies under load, and how many handshakes each traffic pattern causes. */
#include <string.h>

#include "device_internal.h"
#include "pair.h"
#include "test.h"

#define SEC 1000000000ULL
#define MS 1000000ULL

static struct pair P;

static uint64_t initiations(void)
{
	return P.a.out.initiations + P.b.out.initiations;
}

static void establish(void)
{
	pair_init(&P);
	CHECK_EQ(pair_send_ip(&P, &P.a, 84), ALTUNTUN_QUEUED);
	pair_flush(&P);
	CHECK_EQ(P.b.delivered, 1);
	CHECK_EQ(initiations(), 1);
}

TEST(cookie_round_trip_under_load)
{
	pair_init(&P);
	altuntun_device_set_load_threshold(P.b.dev, 0); /* B always under load */
	pair_send_ip(&P, &P.a, 84);
	pair_flush(&P);
	CHECK_EQ(P.b.out.cookie_replies, 1);
	CHECK_EQ(P.b.out.responses, 0);
	CHECK(P.a.peer->cookie.has_cookie);
	/* The retransmission after REKEY_TIMEOUT carries MAC2 and gets in. */
	pair_run(&P, 6 * SEC, 100 * MS, 0);
	CHECK_EQ(P.b.out.cookie_replies, 1);
	CHECK_EQ(P.b.out.responses, 1);
	CHECK_EQ(P.b.delivered, 1);
	pair_free(&P);
}

TEST(cookie_reply_for_wrong_mac1_is_refused)
{
	struct message_cookie_reply reply;
	struct altuntun_out out;

	pair_init(&P);
	altuntun_device_set_load_threshold(P.b.dev, 0);
	pair_send_ip(&P, &P.a, 84);
	pair_flush(&P);
	CHECK(P.a.peer->cookie.has_cookie);
	/* A second reply for the same initiation: MAC1 already consumed. */
	memset(&reply, 0, sizeof(reply));
	reply.type = htole32(3);
	reply.receiver_index = P.a.peer->hs.entry.index;
	CHECK_EQ(altuntun_receive(P.a.dev, P.now, &P.b.addr, (uint8_t *)&reply, sizeof(reply), &out),
		 ALTUNTUN_ERR_DECRYPT);
	pair_free(&P);
}

TEST(rekey_after_time_loses_nothing)
{
	uint64_t sent = 0;

	establish();
	for (uint64_t t = 0; t < 600 * SEC; t += 100 * MS) {
		pair_advance(&P, 100 * MS);
		pair_tick(&P);
		pair_send_ip(&P, &P.a, 100);
		pair_send_ip(&P, &P.b, 100);
		sent++;
		pair_flush(&P);
	}
	CHECK_EQ(P.b.delivered, sent + 1);
	CHECK_EQ(P.a.delivered, sent);
	/* one initial handshake plus one per REKEY_AFTER_TIME */
	CHECK(initiations() >= 5 && initiations() <= 6);
	pair_free(&P);
}

TEST(rekey_after_messages)
{
	establish();
	pair_advance(&P, 6 * SEC); /* past REKEY_TIMEOUT since the first */
	P.a.peer->kp_current->send_counter = REKEY_AFTER_MESSAGES + 1;
	CHECK_EQ(pair_send_ip(&P, &P.a, 100), ALTUNTUN_OK);
	CHECK_EQ(P.a.out.initiations, 2);
	pair_flush(&P);
	CHECK_EQ(P.b.delivered, 2);
	CHECK(P.a.peer->kp_current->send_counter < 10);
	pair_free(&P);
}

TEST(reject_after_messages_stops_sending)
{
	establish();
	pair_advance(&P, 6 * SEC);
	P.a.peer->kp_current->send_counter = REJECT_AFTER_MESSAGES;
	CHECK_EQ(pair_send_ip(&P, &P.a, 100), ALTUNTUN_QUEUED);
	CHECK_EQ(P.a.out.initiations, 2);
	pair_flush(&P);
	CHECK_EQ(P.b.delivered, 2);
	pair_free(&P);
}

TEST(session_expires_after_reject_after_time)
{
	establish();
	pair_run(&P, 180 * SEC, SEC, 0);
	/* expired: the next packet waits for a new handshake */
	CHECK_EQ(pair_send_ip(&P, &P.a, 100), ALTUNTUN_QUEUED);
	pair_flush(&P);
	CHECK_EQ(P.b.delivered, 2);
	pair_free(&P);
}

TEST(keys_wiped_after_three_reject_after_times)
{
	establish();
	CHECK(P.a.peer->kp_current);
	pair_run(&P, 539 * SEC, SEC, 0);
	CHECK(P.a.peer->kp_current);
	pair_run(&P, 2 * SEC, SEC, 0);
	CHECK(!P.a.peer->kp_current && !P.a.peer->kp_previous && !P.a.peer->kp_next);
	CHECK(!P.b.peer->kp_current && !P.b.peer->kp_previous && !P.b.peer->kp_next);
	pair_free(&P);
}

TEST(keepalive_answers_one_way_data)
{
	establish();
	CHECK_EQ(P.b.out.keepalives, 0);
	pair_run(&P, 9 * SEC, SEC, 0);
	CHECK_EQ(P.b.out.keepalives, 0);
	pair_run(&P, 2 * SEC, SEC, 0);
	CHECK_EQ(P.b.out.keepalives, 1);
	/* and not again while nothing else arrives */
	pair_run(&P, 30 * SEC, SEC, 0);
	CHECK_EQ(P.b.out.keepalives, 1);
	pair_free(&P);
}

TEST(persistent_keepalive_interval)
{
	establish();
	altuntun_peer_set_persistent_keepalive(P.a.dev, P.a.peer, 25, P.now);
	CHECK_EQ(altuntun_peer_get_persistent_keepalive(P.a.peer), 25);
	CHECK_EQ(P.a.out.keepalives, 1); /* switching it on sends one at once */
	pair_flush(&P);
	/* Any authenticated packet restarts the interval: B's keepalive for
	 * the first data packet arrives at 10 s, so A sends at 35, 60, 85. */
	pair_run(&P, 100 * SEC, SEC, 0);
	CHECK_EQ(P.a.out.keepalives, 4);
	altuntun_peer_set_persistent_keepalive(P.a.dev, P.a.peer, 0, P.now);
	pair_run(&P, 100 * SEC, SEC, 0);
	CHECK_EQ(P.a.out.keepalives, 4);
	pair_free(&P);
}

TEST(retransmit_then_give_up_after_rekey_attempt_time)
{
	struct altuntun_peer_stats st;

	pair_init(&P);
	P.drop_a_to_b = true;
	pair_send_ip(&P, &P.a, 84);
	pair_run(&P, 120 * SEC, 100 * MS, 0);
	/* the first, then retries until attempts exceed MAX_TIMER_HANDSHAKES:
	 * 20 in all, as the Linux driver reports giving up after */
	altuntun_peer_get_stats(P.a.peer, &st);
	CHECK_EQ(st.handshakes_initiated, MAX_TIMER_HANDSHAKES + 2);
	CHECK_EQ(P.a.peer->staged_count, 0);
	P.drop_a_to_b = false;
	pair_run(&P, 60 * SEC, SEC, 0);
	CHECK_EQ(P.b.delivered, 0); /* the queued packet was dropped */
	pair_free(&P);
}

TEST(simultaneous_initiation_resolves)
{
	pair_init(&P);
	CHECK_EQ(pair_send_ip(&P, &P.a, 84), ALTUNTUN_QUEUED);
	CHECK_EQ(pair_send_ip(&P, &P.b, 84), ALTUNTUN_QUEUED);
	pair_flush(&P);
	/* Both initiations crossed; the retransmissions are jittered apart
	 * (10 ms steps resolve the up to 333 ms jitter). */
	pair_run(&P, 30 * SEC, 10 * MS, 0);
	CHECK_EQ(P.a.delivered, 1);
	CHECK_EQ(P.b.delivered, 1);
	CHECK(initiations() <= 8);
	pair_free(&P);
}

/*
 * Handshake counts over an hour. `pattern` decides who sends at second t.
 * Without loss, a handshake is due only when a session ages past
 * REKEY_AFTER_TIME (or expires): never two within REKEY_AFTER_TIME of each
 * other after the first session.
 */
static void count_handshakes_step(bool (*a_sends)(uint64_t), bool (*b_sends)(uint64_t),
				 uint64_t step_ms, uint64_t *count, uint64_t *min_gap)
{
	uint64_t last = 0, before, steps = 3600 * 1000 / step_ms;

	*min_gap = UINT64_MAX;
	for (uint64_t i = 1; i <= steps; i++) {
		uint64_t ms = i * step_ms;
		bool whole_second = ms % 1000 == 0;

		pair_advance(&P, step_ms * MS);
		before = initiations();
		pair_tick(&P);
		if (whole_second && a_sends && a_sends(ms / 1000))
			pair_send_ip(&P, &P.a, 200);
		if (whole_second && b_sends && b_sends(ms / 1000))
			pair_send_ip(&P, &P.b, 200);
		pair_flush(&P);
		if (initiations() != before) {
			if (last && ms - last < *min_gap)
				*min_gap = ms - last;
			last = ms;
		}
	}
	*count = initiations();
	*min_gap /= 1000;
}

static void count_handshakes(bool (*a_sends)(uint64_t), bool (*b_sends)(uint64_t),
			     uint64_t *count, uint64_t *min_gap)
{
	count_handshakes_step(a_sends, b_sends, 1000, count, min_gap);
}

static bool always(uint64_t t)
{
	(void)t;
	return true;
}

static bool every_37s(uint64_t t)
{
	return t % 37 == 0;
}

static bool every_20s_offset(uint64_t t)
{
	return t % 20 == 7;
}

TEST(rekey_count_steady_traffic_both_ways)
{
	uint64_t n, gap;

	establish();
	count_handshakes(always, always, &n, &gap);
	CHECK(n >= 28 && n <= 32);
	CHECK(gap >= 120);
	pair_free(&P);
}

TEST(rekey_count_one_way_traffic)
{
	uint64_t n, gap;

	establish();
	count_handshakes(always, NULL, &n, &gap);
	CHECK(n >= 28 && n <= 32);
	CHECK(gap >= 120);
	pair_free(&P);
	/* and from the responder's side */
	establish();
	count_handshakes(NULL, always, &n, &gap);
	CHECK(n <= 32);
	CHECK(gap >= 120);
	pair_free(&P);
}

TEST(rekey_count_idle_with_sporadic_packets)
{
	uint64_t n, gap;

	establish();
	count_handshakes(every_37s, NULL, &n, &gap);
	/* boringtun's spurious rekey would handshake on every packet (97) */
	CHECK(n <= 32);
	CHECK(gap >= 120);
	pair_free(&P);
	establish();
	count_handshakes(every_37s, every_20s_offset, &n, &gap);
	CHECK(n <= 32);
	CHECK(gap >= 120);
	pair_free(&P);
}

TEST(rekey_count_both_initiating_at_once)
{
	uint64_t n, gap;

	pair_init(&P);
	/* 10 ms steps: the retransmission jitter (up to 333 ms) is what
	 * separates two peers that started at the same instant. */
	count_handshakes_step(always, always, 10, &n, &gap);
	CHECK(n <= 36);
	/* a simultaneous start costs a retransmission or two, then steady */
	CHECK(P.a.delivered >= 3590 && P.b.delivered >= 3590);
	pair_free(&P);
}
