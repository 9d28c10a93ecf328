// SPDX-License-Identifier: BSD-3-Clause
#include <stdlib.h>

#include "replay.h"
#include "test.h"

/* The Linux driver's value: U64_MAX - COUNTER_WINDOW_SIZE - 1. */
#define LIMIT_LINUX (UINT64_MAX - REPLAY_WINDOW - 1)
/* The whitepaper's Reject-After-Messages: 2^64 - 2^13 - 1. */
#define LIMIT_PAPER (UINT64_MAX - 8192)
#define W ((uint64_t)REPLAY_WINDOW)
/* The Linux selftest's T_LIM: the first counter that pushes 0 out. */
#define TLIM (W + 1)

static struct replay_window win;

static bool check(uint64_t counter)
{
	return replay_check(&win, counter, LIMIT_LINUX);
}

/*
 * One step of the Linux counter selftest: the counter is `off`, or
 * `limit + off` when `near_limit` is set (off is then small and negative).
 */
struct step {
	bool near_limit;
	int64_t off;
	bool accept;
};

static const struct step selftest_steps[] = {
	{ false, 0, true },
	{ false, 1, true },
	{ false, 1, false },
	{ false, 9, true },
	{ false, 8, true },
	{ false, 7, true },
	{ false, 7, false },
	{ false, TLIM, true },
	{ false, TLIM - 1, true },
	{ false, TLIM - 1, false },
	{ false, TLIM - 2, true },
	{ false, 2, true },
	{ false, 2, false },
	{ false, TLIM + 16, true },
	{ false, 3, false },
	{ false, TLIM + 16, false },
	{ false, TLIM * 4, true },
	{ false, TLIM * 4 - (TLIM - 1), true },
	{ false, 10, false },
	{ false, TLIM * 4 - TLIM, false },
	{ false, TLIM * 4 - (TLIM + 1), false },
	{ false, TLIM * 4 - (TLIM - 2), true },
	{ false, TLIM * 4 + 1 - TLIM, false },
	{ false, 0, false },
	{ true, 0, false },
	{ true, -1, true },
	{ true, 0, false },
	{ true, -1, false },
	{ true, -2, true },
	{ true, 1, false },
	{ true, 2, false },
	{ true, -2, false },
	{ true, -3, true },
	{ false, 0, false },
};

static void run_selftest_steps(uint64_t limit)
{
	replay_init(&win);
	for (size_t i = 0; i < sizeof(selftest_steps) / sizeof(selftest_steps[0]); i++) {
		const struct step *s = &selftest_steps[i];
		uint64_t n = (s->near_limit ? limit : 0) + (uint64_t)s->off;

		if (replay_check(&win, n, limit) != s->accept)
			test_fail(__FILE__, __LINE__, "selftest step %zu (counter %llu)",
				  i + 1, (unsigned long long)n);
	}
}

TEST(replay_linux_selftest_sequence)
{
	run_selftest_steps(LIMIT_LINUX);
}

TEST(replay_linux_selftest_sequence_paper_limit)
{
	run_selftest_steps(LIMIT_PAPER);
}

TEST(replay_linux_selftest_loops)
{
	replay_init(&win);
	for (uint64_t i = 1; i <= W; i++)
		CHECK(check(i));
	CHECK(check(0));
	CHECK(!check(0));

	replay_init(&win);
	for (uint64_t i = 2; i <= W + 1; i++)
		CHECK(check(i));
	CHECK(check(1));
	CHECK(!check(0));

	replay_init(&win);
	for (uint64_t i = W + 1; i-- > 0;)
		CHECK(check(i));

	replay_init(&win);
	for (uint64_t i = W + 2; i-- > 1;)
		CHECK(check(i));
	CHECK(!check(0));

	replay_init(&win);
	for (uint64_t i = W + 1; i-- > 1;)
		CHECK(check(i));
	CHECK(check(W + 1));
	CHECK(!check(0));

	replay_init(&win);
	for (uint64_t i = W + 1; i-- > 1;)
		CHECK(check(i));
	CHECK(check(0));
	CHECK(check(W + 1));
}

TEST(replay_in_order_100k)
{
	replay_init(&win);
	for (uint64_t i = 0; i < 100000; i++) {
		CHECK(check(i));
		CHECK(!check(i));
		if (i >= 50)
			CHECK(!check(i - 50));
	}
	CHECK_EQ(win.greatest, 100000);
}

/* xorshift64*: deterministic pseudo-random numbers for the tests. */
static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dULL;
}

TEST(replay_out_of_order_within_window)
{
	enum { CHUNK = 4000, CHUNKS = 25 };
	static uint64_t order[CHUNK];

	replay_init(&win);
	for (uint64_t c = 0; c < CHUNKS; c++) {
		for (uint64_t i = 0; i < CHUNK; i++)
			order[i] = c * CHUNK + i;
		for (size_t i = CHUNK - 1; i > 0; i--) {
			size_t j = rnd() % (i + 1);
			uint64_t t = order[i];

			order[i] = order[j];
			order[j] = t;
		}
		for (size_t i = 0; i < CHUNK; i++)
			CHECK(check(order[i]));
		for (size_t i = 0; i < CHUNK; i++)
			CHECK(!check(order[i]));
	}
	/* Everything ever sent is now either a duplicate or too old. */
	for (uint64_t i = 0; i < CHUNK * CHUNKS; i++)
		CHECK(!check(i));
}

TEST(replay_duplicates)
{
	replay_init(&win);
	CHECK(check(100));
	for (int i = 0; i < 10; i++)
		CHECK(!check(100));
	CHECK(check(50));
	CHECK(!check(50));
	CHECK(check(101));
	CHECK(!check(101));
	CHECK(!check(100));
	CHECK(!check(50));
	CHECK(check(0));
	CHECK(!check(0));
}

TEST(replay_window_edge)
{
	const uint64_t top = 100000;

	replay_init(&win);
	CHECK(check(top));
	CHECK(!check(top - W - 1));
	CHECK(check(top - W));
	CHECK(!check(top - W));

	/* The same two counters tried in the other order. */
	replay_init(&win);
	CHECK(check(top));
	CHECK(check(top - W));
	CHECK(!check(top - W - 1));

	/* Advancing by one pushes the old edge out. */
	replay_init(&win);
	CHECK(check(top));
	CHECK(check(top + 1));
	CHECK(!check(top - W));
	CHECK(check(top + 1 - W));
}

TEST(replay_far_jump)
{
	const uint64_t jump = UINT64_C(1) << 40;

	replay_init(&win);
	for (uint64_t i = 0; i < REPLAY_BITS_TOTAL; i++)
		CHECK(check(i));
	/* jump aliases slot 0: every bit of the ring was set before. */
	CHECK(check(jump));
	CHECK(!check(jump));
	CHECK(!check(5));
	CHECK(!check(REPLAY_BITS_TOTAL - 1));
	for (uint64_t c = jump - W; c < jump; c++)
		CHECK(check(c));
	CHECK(!check(jump - W - 1));
	for (uint64_t c = jump - W; c <= jump; c++)
		CHECK(!check(c));

	CHECK(check(jump * 3 + 17));
	CHECK(!check(jump));
	CHECK(check(jump * 3 + 16));
}

/*
 * Fills the whole window below `base`, advances to base + delta, and checks
 * every counter around: old ones still inside the new window are duplicates,
 * ones that fell out are too old, and new ones between the two tops (whose
 * ring slots held old bits) are accepted exactly once.
 */
static void check_advance(uint64_t base, uint64_t delta)
{
	uint64_t top = base + delta, lo = top >= W ? top - W : 0;

	replay_init(&win);
	for (uint64_t c = base - W; c <= base; c++)
		CHECK(check(c));
	CHECK(check(top));
	for (uint64_t c = base - W; c <= base; c++)
		CHECK(!check(c));
	for (uint64_t c = base + 1 > lo ? base + 1 : lo; c < top; c++)
		if (!check(c))
			test_fail(__FILE__, __LINE__, "base %llu delta %llu: %llu seen",
				  (unsigned long long)base, (unsigned long long)delta,
				  (unsigned long long)c);
	for (uint64_t c = lo; c <= top; c++)
		CHECK(!check(c));
	if (lo)
		CHECK(!check(lo - 1));
}

TEST(replay_ring_recycling)
{
	static const uint64_t bases[] = { 3 * 8192, 3 * 8192 + 63, 3 * 8192 + 64,
					  5 * 8192 + 4000 };
	static const uint64_t deltas[] = { 1, 63, 64, 65, 127, 128, 4096, 8127, 8128,
					   8129, 8191, 8192, 8193, 16384, 16385,
					   UINT64_C(1) << 40 };

	for (size_t b = 0; b < sizeof(bases) / sizeof(bases[0]); b++)
		for (size_t d = 0; d < sizeof(deltas) / sizeof(deltas[0]); d++)
			check_advance(bases[b], deltas[d]);
}

TEST(replay_limit)
{
	replay_init(&win);
	CHECK(!replay_check(&win, 0, 0));
	CHECK(!replay_check(&win, 10, 10));
	CHECK(replay_check(&win, 9, 10));
	CHECK(!replay_check(&win, 9, 10));
	CHECK(replay_check(&win, 8, 10));

	replay_init(&win);
	CHECK(!replay_check(&win, UINT64_MAX, UINT64_MAX));
	CHECK(replay_check(&win, UINT64_MAX - 1, UINT64_MAX));
	CHECK(!replay_check(&win, UINT64_MAX - 1, UINT64_MAX));
	CHECK(replay_check(&win, UINT64_MAX - 1 - W, UINT64_MAX));
	CHECK(!replay_check(&win, UINT64_MAX - 2 - W, UINT64_MAX));
	CHECK(win.greatest == UINT64_MAX);
}

/*
 * Compares against a plain model over a bounded counter range: accepted iff
 * below the limit, never accepted before, and either above the highest so
 * far or at most REPLAY_WINDOW below it.
 */
TEST(replay_matches_model)
{
	enum { RANGE = 1 << 24 };
	uint8_t *seen = calloc(RANGE, 1);
	/* Reached about halfway through, so the limit gets tested too. */
	uint64_t top = 0, limit = (RANGE >> 1) + 12345;
	bool any = false;

	CHECK(seen);
	replay_init(&win);
	for (int i = 0; i < 400000; i++) {
		uint64_t r = rnd(), back = rnd() % (W + 200), c;
		bool want, got;

		if (r % 1000 == 0)
			c = top + rnd() % 20000;
		else if (r % 4 == 0)
			c = top + rnd() % 100;
		else
			c = back <= top ? top - back : rnd() % (top + 1);
		want = c < limit && !seen[c] && (!any || c > top || top - c <= W);
		got = replay_check(&win, c, limit);
		if (want != got) {
			free(seen);
			test_fail(__FILE__, __LINE__, "op %d counter %llu top %llu: got %d",
				  i, (unsigned long long)c, (unsigned long long)top, got);
		}
		if (got) {
			seen[c] = 1;
			if (!any || c > top)
				top = c;
			any = true;
		}
	}
	free(seen);
}
