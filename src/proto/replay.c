// SPDX-License-Identifier: BSD-3-Clause
/*
 * Replay window for data-message counters. Bit `counter % 8192` of the ring
 * records whether `counter` was accepted. Moving the top forward zeroes the
 * words it passes over, which also recycles the word furthest behind, so the
 * bits still trusted span REPLAY_WINDOW counters below the highest accepted.
 */
#include <string.h>

#include "replay.h"

#define RING_WORDS (REPLAY_BITS_TOTAL / REPLAY_WORD_BITS)

_Static_assert((RING_WORDS & (RING_WORDS - 1)) == 0, "ring must be a power of two");

static inline uint64_t word_of(uint64_t counter)
{
	return counter / REPLAY_WORD_BITS;
}

void replay_init(struct replay_window *w)
{
	memset(w, 0, sizeof(*w));
}

/*
 * Zeroes the words after the current top's word up to and including the
 * new top's word. Capping at the ring size clears everything on long jumps.
 * An empty window (greatest == 0) is all zero already.
 */
static void advance(struct replay_window *w, uint64_t counter)
{
	if (w->greatest) {
		uint64_t cur = word_of(w->greatest - 1);
		uint64_t span = word_of(counter) - cur;

		if (span > RING_WORDS)
			span = RING_WORDS;
		for (uint64_t i = 1; i <= span; i++)
			w->bits[(cur + i) % RING_WORDS] = 0;
	}
	w->greatest = counter + 1;
}

static bool test_and_set(struct replay_window *w, uint64_t counter)
{
	uint64_t *word = &w->bits[word_of(counter) % RING_WORDS];
	uint64_t mask = UINT64_C(1) << (counter % REPLAY_WORD_BITS);
	bool seen = *word & mask;

	*word |= mask;
	return !seen;
}

bool replay_check(struct replay_window *w, uint64_t counter, uint64_t limit)
{
	if (counter >= limit)
		return false;
	if (counter >= w->greatest)
		advance(w, counter);
	else if (w->greatest - 1 - counter > REPLAY_WINDOW)
		return false;
	return test_and_set(w, counter);
}
