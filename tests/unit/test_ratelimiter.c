// SPDX-License-Identifier: BSD-3-Clause
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/un.h>

#include "ratelimiter.h"
#include "test.h"

#define SEC UINT64_C(1000000000)
#define COST (SEC / RATELIMIT_PER_SECOND)
/* An arbitrary start for the fake monotonic clock. */
#define T0 (UINT64_C(1000) * SEC)

static struct sockaddr_storage v4(uint32_t addr, uint16_t port)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *in4 = (struct sockaddr_in *)&ss;

	memset(&ss, 0, sizeof(ss));
	in4->sin_family = AF_INET;
	in4->sin_addr.s_addr = htonl(addr);
	in4->sin_port = htons(port);
	return ss;
}

/* The address as four host-order 32-bit words, most significant first. */
static struct sockaddr_storage v6(uint32_t w0, uint32_t w1, uint32_t w2, uint32_t w3,
				  uint16_t port)
{
	struct sockaddr_storage ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
	uint32_t w[4] = { htonl(w0), htonl(w1), htonl(w2), htonl(w3) };

	memset(&ss, 0, sizeof(ss));
	in6->sin6_family = AF_INET6;
	memcpy(&in6->sin6_addr, w, sizeof(w));
	in6->sin6_port = htons(port);
	return ss;
}

static struct sockaddr_storage v6str(const char *s, uint16_t port)
{
	struct sockaddr_storage ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;

	memset(&ss, 0, sizeof(ss));
	in6->sin6_family = AF_INET6;
	in6->sin6_port = htons(port);
	if (inet_pton(AF_INET6, s, &in6->sin6_addr) != 1)
		abort();
	return ss;
}

static bool allow(struct ratelimiter *rl, uint64_t now, const struct sockaddr_storage *ss)
{
	return ratelimiter_allow(rl, now, (const struct sockaddr *)ss);
}

/* Spends a source's whole bucket; returns how many packets went through. */
static int drain(struct ratelimiter *rl, uint64_t now, const struct sockaddr_storage *ss)
{
	int n = 0;

	while (allow(rl, now, ss) && n <= 1000)
		n++;
	return n;
}

/*
 * The Linux driver's selftest timings (expected_results): the wait before
 * each packet from one source, and whether it passes.
 */
static const struct {
	bool result;
	uint64_t wait_ns;
} expected_results[] = {
	{ true, 0 }, { true, 0 }, { true, 0 }, { true, 0 }, { true, 0 },
	{ false, 0 },
	{ true, COST },
	{ false, 0 },
	{ true, 2 * COST },
	{ true, 0 },
	{ false, 0 },
};

_Static_assert(RATELIMIT_BURST == 5, "expected_results assumes a burst of 5");

TEST(ratelimiter_linux_selftest_timings)
{
	struct ratelimiter *rl = ratelimiter_new();
	uint32_t base4 = 8182;
	uint64_t now = T0;

	CHECK(rl);
	for (uint32_t i = 0; i < sizeof(expected_results) / sizeof(expected_results[0]); i++) {
		struct sockaddr_storage a = v4(base4, 1);
		struct sockaddr_storage fresh4 = v4(base4 + i + 1, 1);
		/* Same /64 as every other step, different interface id. */
		struct sockaddr_storage same64 = v6(1212, 289188, i, i, 1);
		struct sockaddr_storage other64 = v6(1212 + i + 1, 289188, i, i, 1);

		now += expected_results[i].wait_ns;
		CHECK_EQ(allow(rl, now, &a), expected_results[i].result);
		CHECK(allow(rl, now, &fresh4));
		CHECK_EQ(allow(rl, now, &same64), expected_results[i].result);
		CHECK(allow(rl, now, &other64));
	}
	ratelimiter_free(rl);
}

TEST(ratelimiter_burst_then_refill)
{
	struct ratelimiter *rl = ratelimiter_new();
	struct sockaddr_storage a = v4(0x0a000001, 51820);
	uint64_t now = T0;

	CHECK(rl);
	CHECK_EQ(drain(rl, now, &a), RATELIMIT_BURST);
	CHECK(!allow(rl, now + COST - 1, &a));
	/* The refused try above still counted its time: one more ns suffices. */
	CHECK(allow(rl, now + COST, &a));
	CHECK(!allow(rl, now + COST, &a));

	now += COST;
	CHECK_EQ(drain(rl, now + SEC, &a), RATELIMIT_BURST);
	now += SEC;
	/* Long idleness refills only up to the burst. */
	CHECK_EQ(drain(rl, now + 100 * SEC, &a), RATELIMIT_BURST);
	ratelimiter_free(rl);
}

TEST(ratelimiter_steady_rate)
{
	struct ratelimiter *rl = ratelimiter_new();
	struct sockaddr_storage a = v4(0xc0000201, 1);
	uint64_t now = T0;
	int passed = 0;

	CHECK(rl);
	drain(rl, now, &a);
	/* Ten seconds of trying every millisecond: exactly 20 per second. */
	for (int ms = 1; ms <= 10000; ms++)
		passed += allow(rl, now + (uint64_t)ms * 1000000, &a);
	CHECK_EQ(passed, 10 * RATELIMIT_PER_SECOND);
	ratelimiter_free(rl);
}

TEST(ratelimiter_sources_independent)
{
	struct ratelimiter *rl = ratelimiter_new();
	struct sockaddr_storage a = v4(0x0a000001, 1), b = v4(0x0a000002, 1);

	CHECK(rl);
	CHECK_EQ(drain(rl, T0, &a), RATELIMIT_BURST);
	CHECK_EQ(drain(rl, T0, &b), RATELIMIT_BURST);
	CHECK(!allow(rl, T0, &a));
	CHECK_EQ(ratelimiter_entries(rl), 2);
	ratelimiter_free(rl);
}

TEST(ratelimiter_ipv6_prefix)
{
	struct ratelimiter *rl = ratelimiter_new();
	struct sockaddr_storage a = v6str("2001:db8:a:b::1", 1);
	struct sockaddr_storage same = v6str("2001:db8:a:b:ffff:ffff:ffff:ffff", 2);
	struct sockaddr_storage other = v6str("2001:db8:a:c::1", 1);
	struct sockaddr_storage high = v6str("2001:db9:a:b::1", 1);

	CHECK(rl);
	for (int i = 0; i < RATELIMIT_BURST; i++)
		CHECK(allow(rl, T0, i % 2 ? &a : &same));
	CHECK(!allow(rl, T0, &a));
	CHECK(!allow(rl, T0, &same));
	CHECK_EQ(drain(rl, T0, &other), RATELIMIT_BURST);
	CHECK_EQ(drain(rl, T0, &high), RATELIMIT_BURST);
	CHECK_EQ(ratelimiter_entries(rl), 3);
	ratelimiter_free(rl);
}

TEST(ratelimiter_ports_ignored)
{
	struct ratelimiter *rl = ratelimiter_new();
	struct sockaddr_storage p4[2] = { v4(0x01020304, 1), v4(0x01020304, 65535) };
	struct sockaddr_storage p6[2] = { v6str("fd00::1", 1), v6str("fd00::1", 2) };

	CHECK(rl);
	for (int i = 0; i < RATELIMIT_BURST; i++) {
		CHECK(allow(rl, T0, &p4[i % 2]));
		CHECK(allow(rl, T0, &p6[i % 2]));
	}
	CHECK(!allow(rl, T0, &p4[0]));
	CHECK(!allow(rl, T0, &p4[1]));
	CHECK(!allow(rl, T0, &p6[0]));
	CHECK(!allow(rl, T0, &p6[1]));
	CHECK_EQ(ratelimiter_entries(rl), 2);
	ratelimiter_free(rl);
}

TEST(ratelimiter_v4_mapped_is_ipv4)
{
	struct ratelimiter *rl = ratelimiter_new();
	struct sockaddr_storage plain = v4(0xc0a80105, 1);
	struct sockaddr_storage mapped = v6str("::ffff:192.168.1.5", 2);
	struct sockaddr_storage mapped_other = v6str("::ffff:192.168.1.6", 2);

	CHECK(rl);
	for (int i = 0; i < RATELIMIT_BURST; i++)
		CHECK(allow(rl, T0, i % 2 ? &plain : &mapped));
	CHECK(!allow(rl, T0, &plain));
	CHECK(!allow(rl, T0, &mapped));
	/* Not one shared bucket for all of ::ffff:0:0/64. */
	CHECK_EQ(drain(rl, T0, &mapped_other), RATELIMIT_BURST);
	ratelimiter_free(rl);
}

TEST(ratelimiter_gc_idle)
{
	struct ratelimiter *rl = ratelimiter_new();
	struct sockaddr_storage a = v4(1, 1), b = v4(2, 1), c = v4(3, 1);

	CHECK(rl);
	CHECK(allow(rl, T0, &a));
	CHECK(allow(rl, T0, &b));
	CHECK(allow(rl, T0 + SEC / 2, &c));
	CHECK_EQ(ratelimiter_entries(rl), 3);

	ratelimiter_gc(rl, T0 + SEC);
	CHECK_EQ(ratelimiter_entries(rl), 3); /* idle exactly 1 s: kept */
	ratelimiter_gc(rl, T0 + SEC + 1);
	CHECK_EQ(ratelimiter_entries(rl), 1);
	CHECK_EQ(drain(rl, T0 + SEC + 1, &c), RATELIMIT_BURST);
	CHECK_EQ(ratelimiter_entries(rl), 1);
	ratelimiter_gc(rl, T0 + 3 * SEC);
	CHECK_EQ(ratelimiter_entries(rl), 0);

	/* A collected source comes back with a full bucket. */
	CHECK_EQ(drain(rl, T0 + 3 * SEC, &a), RATELIMIT_BURST);
	ratelimiter_free(rl);
}

TEST(ratelimiter_gc_lazy_from_allow)
{
	struct ratelimiter *rl = ratelimiter_new();
	struct sockaddr_storage a = v4(1, 1), b = v4(2, 1), c = v4(3, 1);
	uint64_t now = T0;

	CHECK(rl);
	CHECK(allow(rl, now, &a)); /* the first call collects (nothing) */
	CHECK(allow(rl, now, &b));
	CHECK_EQ(ratelimiter_entries(rl), 2);
	/* Idle for more than 1 s, but the last collection was under 1 s ago. */
	CHECK(allow(rl, now + SEC - 1, &c));
	CHECK_EQ(ratelimiter_entries(rl), 3);
	/* A collection runs, but a and b have been idle just 1 s: kept. */
	CHECK(allow(rl, now + SEC, &c));
	CHECK_EQ(ratelimiter_entries(rl), 3);
	/* The next one, a second later, drops them; c was used 1 s ago. */
	CHECK(allow(rl, now + SEC + SEC, &c));
	CHECK_EQ(ratelimiter_entries(rl), 1);
	ratelimiter_free(rl);
}

TEST(ratelimiter_gc_at_most_once_a_second)
{
	struct ratelimiter *rl = ratelimiter_new();
	struct sockaddr_storage a = v4(1, 1), b = v4(2, 1);

	CHECK(rl);
	CHECK(allow(rl, T0, &a));
	ratelimiter_gc(rl, T0 + SEC / 2);
	CHECK_EQ(ratelimiter_entries(rl), 1);
	/* a is collectable, but the last collection was 0.75 s ago. */
	CHECK(allow(rl, T0 + SEC + SEC / 4, &b));
	CHECK_EQ(ratelimiter_entries(rl), 2);
	CHECK(allow(rl, T0 + SEC + SEC / 2 - 1, &b));
	CHECK_EQ(ratelimiter_entries(rl), 2);
	/* Exactly a second after it, the next one runs. */
	CHECK(allow(rl, T0 + SEC + SEC / 2, &b));
	CHECK_EQ(ratelimiter_entries(rl), 1);
	ratelimiter_free(rl);
}

TEST(ratelimiter_table_full)
{
	struct ratelimiter *rl = ratelimiter_new();
	struct sockaddr_storage known = v4(17, 1), v6new = v6str("2001:db8::1", 1);
	uint64_t now = T0;

	CHECK(rl);
	/* The Linux capacity test: sources 0..max-1 pass, source max doesn't. */
	for (uint32_t i = 0; i <= RATELIMIT_MAX_ENTRIES; i++) {
		struct sockaddr_storage s = v4(i, 1);

		if (allow(rl, now, &s) != (i != RATELIMIT_MAX_ENTRIES))
			test_fail(__FILE__, __LINE__, "source %u", i);
	}
	CHECK_EQ(ratelimiter_entries(rl), RATELIMIT_MAX_ENTRIES);
	CHECK(!allow(rl, now, &v6new));
	CHECK_EQ(drain(rl, now, &known), RATELIMIT_BURST - 1);
	CHECK(!allow(rl, now + COST - 1, &known));
	CHECK(allow(rl, now + COST, &known));

	/* Keep one source busy; once the rest idle out, new ones get in. */
	CHECK(allow(rl, now + SEC, &known));
	CHECK(!allow(rl, now + SEC, &v6new));
	CHECK(allow(rl, now + SEC + SEC / 2, &known));
	CHECK(allow(rl, now + 2 * SEC + 1, &v6new));
	CHECK_EQ(ratelimiter_entries(rl), 2);
	ratelimiter_free(rl);
}

TEST(ratelimiter_gc_many)
{
	struct ratelimiter *rl = ratelimiter_new();
	uint64_t now = T0;

	CHECK(rl);
	/* Interleave two ages so removal moves survivors around the table. */
	for (uint32_t i = 0; i < 3000; i++) {
		struct sockaddr_storage s = v4(0x0a000000 + i, 1);

		CHECK(allow(rl, i % 3 ? now : now + SEC / 2, &s));
	}
	ratelimiter_gc(rl, now + SEC + 1);
	CHECK_EQ(ratelimiter_entries(rl), 1000);
	/* Every survivor is still found where the moves left it... */
	for (uint32_t i = 0; i < 3000; i += 3) {
		struct sockaddr_storage s = v4(0x0a000000 + i, 2);

		CHECK_EQ(drain(rl, now + SEC + 1, &s), RATELIMIT_BURST);
		CHECK_EQ(ratelimiter_entries(rl), 1000);
	}
	/* ...and every collected source is new again. */
	for (uint32_t i = 0; i < 3000; i++) {
		struct sockaddr_storage s = v4(0x0a000000 + i, 2);
		size_t before = ratelimiter_entries(rl);

		if (i % 3 == 0)
			continue;
		CHECK_EQ(drain(rl, now + SEC + 1, &s), RATELIMIT_BURST);
		CHECK_EQ(ratelimiter_entries(rl), before + 1);
	}
	CHECK_EQ(ratelimiter_entries(rl), 3000);
	ratelimiter_free(rl);
}

TEST(ratelimiter_bad_source)
{
	struct ratelimiter *rl = ratelimiter_new();
	struct sockaddr_un un;

	CHECK(rl);
	memset(&un, 0, sizeof(un));
	un.sun_family = AF_UNIX;
	CHECK(!ratelimiter_allow(rl, T0, (const struct sockaddr *)&un));
	CHECK(!ratelimiter_allow(rl, T0, NULL));
	CHECK_EQ(ratelimiter_entries(rl), 0);
	ratelimiter_free(rl);
	ratelimiter_free(NULL);
}

TEST(ratelimiter_clock_backwards)
{
	struct ratelimiter *rl = ratelimiter_new();
	struct sockaddr_storage a = v4(1, 1);

	CHECK(rl);
	CHECK_EQ(drain(rl, T0, &a), RATELIMIT_BURST);
	/* A time before the last one earns nothing, and must not wrap. */
	CHECK(!allow(rl, T0 - SEC, &a));
	CHECK(!allow(rl, T0, &a));
	CHECK(allow(rl, T0 + COST, &a));
	ratelimiter_free(rl);
}

static uint32_t count(struct ratelimiter *rl, uint64_t now, const struct sockaddr_storage *ss)
{
	uint32_t rate = 0;

	CHECK(ratelimiter_count(rl, now, (const struct sockaddr *)ss, &rate));
	return rate;
}

TEST(ratelimiter_count_two_windows)
{
	struct ratelimiter *rl = ratelimiter_new();
	struct sockaddr_storage a = v4(0x0a000001, 1), same64 = v6str("fd00:1::1", 1);
	struct sockaddr_storage same64b = v6str("fd00:1::2", 7);

	CHECK(rl);
	/* The window starts with the first message. */
	for (uint32_t i = 0; i < 10; i++)
		CHECK_EQ(count(rl, T0 + i * COST / 10, &a), i + 1);
	CHECK_EQ(count(rl, T0 + SEC - 1, &a), 11);
	/* A new window: the last one weighs as much as it still overlaps the
	 * last second, all of it at first, half after half a second. */
	CHECK_EQ(count(rl, T0 + SEC, &a), 1 + 11);
	CHECK_EQ(count(rl, T0 + SEC + SEC / 2, &a), 2 + 11 / 2);
	CHECK_EQ(count(rl, T0 + 2 * SEC + SEC / 2, &a), 1 + 2);
	/* Two windows later nothing of it is left (nor of the entry). */
	CHECK_EQ(count(rl, T0 + 4 * SEC, &a), 1);
	/* An IPv6 /64 is one source. */
	CHECK_EQ(count(rl, T0, &same64), 1);
	CHECK_EQ(count(rl, T0, &same64b), 2);
	ratelimiter_free(rl);
}

TEST(ratelimiter_fair_share_water_level)
{
	struct ratelimiter *rl = ratelimiter_new();
	const uint32_t rates[4] = { 1, 2, 3, 1000 };

	CHECK(rl);
	CHECK_EQ(ratelimiter_fair_share(rl, T0, 100), UINT32_MAX);
	for (uint32_t s = 0; s < 4; s++) {
		struct sockaddr_storage src = v4(0xc0000200 + s, 1);

		for (uint32_t i = 0; i < rates[s]; i++)
			count(rl, T0, &src);
	}
	/* 1 + 2 + 3 + 94 = 100: the big sender gets what is left. */
	CHECK_EQ(ratelimiter_fair_share(rl, T0, 100), 94);
	/* 1 + 2 + 3 + 4 = 10 */
	CHECK_EQ(ratelimiter_fair_share(rl, T0, 10), 4);
	/* Less than one each: every source is above its share. */
	CHECK_EQ(ratelimiter_fair_share(rl, T0, 3), 0);
	CHECK_EQ(ratelimiter_fair_share(rl, T0, 1006), UINT32_MAX);
	CHECK_EQ(ratelimiter_fair_share(rl, T0, 1005), 999);
	ratelimiter_free(rl);
}

TEST(ratelimiter_count_table_full)
{
	struct ratelimiter *rl = ratelimiter_new();
	struct sockaddr_storage extra = v4(0xffffffff, 1);
	uint32_t rate = 7;

	CHECK(rl);
	for (uint32_t i = 0; i < RATELIMIT_MAX_ENTRIES; i++) {
		struct sockaddr_storage s = v4(i, 1);

		count(rl, T0, &s);
	}
	CHECK(!ratelimiter_count(rl, T0, (const struct sockaddr *)&extra, &rate));
	CHECK_EQ(rate, 0);
	CHECK_EQ(ratelimiter_fair_share(rl, T0, 1000), 0);
	/* Idle sources leave; then new ones are counted again. */
	CHECK(ratelimiter_count(rl, T0 + 2 * SEC, (const struct sockaddr *)&extra, &rate));
	CHECK_EQ(rate, 1);
	ratelimiter_free(rl);
}

static bool allow_spaced(struct ratelimiter *rl, uint64_t now, const struct sockaddr_storage *ss,
			 uint64_t gap)
{
	return ratelimiter_allow_spaced(rl, now, (const struct sockaddr *)ss, gap);
}

TEST(ratelimiter_spaced_at_most_one_per_gap)
{
	struct ratelimiter *rl = ratelimiter_new();
	struct sockaddr_storage a = v4(0x0a000001, 1), b = v4(0x0a000002, 1);
	uint64_t gap = SEC / 2, now = T0;
	int passed = 0;

	CHECK(rl);
	/* A source never allowed before passes at once, then not within the gap. */
	CHECK(allow_spaced(rl, now, &a, gap));
	CHECK(!allow_spaced(rl, now + gap - 1, &a, gap));
	CHECK(allow_spaced(rl, now + gap, &a, gap));
	/* Another source has its own time. */
	CHECK(allow_spaced(rl, now + 1, &b, gap));
	/* Ten seconds of trying every millisecond: one per gap exactly. */
	now += gap;
	for (int ms = 1; ms <= 10000; ms++)
		passed += allow_spaced(rl, now + (uint64_t)ms * 1000000, &a, gap);
	CHECK_EQ(passed, 20);
	ratelimiter_free(rl);
}

TEST(ratelimiter_spaced_refusal_takes_no_token)
{
	struct ratelimiter *rl = ratelimiter_new();
	struct sockaddr_storage a = v4(0xc0000201, 1);

	CHECK(rl);
	/* Refused by the gap many times: the bucket is still full after. */
	CHECK(allow_spaced(rl, T0, &a, SEC));
	for (int i = 0; i < 100; i++)
		CHECK(!allow_spaced(rl, T0 + 1 + (uint64_t)i, &a, SEC));
	CHECK_EQ(drain(rl, T0 + SEC, &a), RATELIMIT_BURST);
	/* A gap shorter than the bucket's cost changes nothing: the bucket rules. */
	CHECK(!allow_spaced(rl, T0 + SEC, &a, 1));
	CHECK(allow_spaced(rl, T0 + SEC + COST, &a, 1));
	ratelimiter_free(rl);
}

TEST(ratelimiter_count_if_held_only_over_level_and_not_due)
{
	struct ratelimiter *rl = ratelimiter_new();
	struct sockaddr_storage a = v4(0x0a000001, 1), nobody = v4(0x0a000009, 1);
	uint64_t gap = SEC / 2;
	uint32_t rate = 0;

	CHECK(rl);
	/* Not in the table: not held, and not added either. */
	CHECK(!ratelimiter_count_if_held(rl, T0, (const struct sockaddr *)&nobody, 0, gap));
	CHECK_EQ(ratelimiter_entries(rl), 0);
	/* 10 messages counted; a bucket never used is due a token. */
	for (int i = 0; i < 10; i++)
		count(rl, T0, &a);
	CHECK(!ratelimiter_count_if_held(rl, T0, (const struct sockaddr *)&a, 5, gap));
	/* Allowed just now: held within the gap when its rate, with this
	 * message, reaches the level (10 + 1 >= 11), not below it. */
	CHECK(allow_spaced(rl, T0, &a, gap));
	CHECK(!ratelimiter_count_if_held(rl, T0 + 1, (const struct sockaddr *)&a, 12, gap));
	CHECK(ratelimiter_count_if_held(rl, T0 + 1, (const struct sockaddr *)&a, 11, gap));
	/* Held messages are counted: 12 now, 13 with the next. */
	CHECK(ratelimiter_count(rl, T0 + 2, (const struct sockaddr *)&a, &rate));
	CHECK_EQ(rate, 12);
	/* Past the gap it is due again (a token is there): not held. */
	CHECK(!ratelimiter_count_if_held(rl, T0 + gap, (const struct sockaddr *)&a, 1, gap));
	/* With no gap, an empty bucket holds it. */
	CHECK_EQ(drain(rl, T0 + gap, &a), RATELIMIT_BURST);
	CHECK(ratelimiter_count_if_held(rl, T0 + gap, (const struct sockaddr *)&a, 1, 0));
	CHECK(!ratelimiter_count_if_held(rl, T0 + gap + COST, (const struct sockaddr *)&a, 1, 0));
	ratelimiter_free(rl);
}
