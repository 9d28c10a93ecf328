/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Sliding replay window over the 64-bit counters of received data messages:
 * 8192 bits kept, one word of which is always being recycled, so 8128
 * packets behind the highest counter seen are accepted once each (as the
 * Linux driver and wireguard-go do).
 */
#ifndef ALTUNTUN_REPLAY_H
#define ALTUNTUN_REPLAY_H

#include <stdbool.h>
#include <stdint.h>

#define REPLAY_BITS_TOTAL 8192
#define REPLAY_WORD_BITS 64
#define REPLAY_WINDOW (REPLAY_BITS_TOTAL - REPLAY_WORD_BITS)

struct replay_window {
	uint64_t greatest; /* one more than the highest counter accepted */
	uint64_t bits[REPLAY_BITS_TOTAL / REPLAY_WORD_BITS];
};

void replay_init(struct replay_window *w);
/*
 * Accepts `counter` (true) and records it, or rejects it (false) because it
 * was seen, is too old, or is >= `limit` (REJECT_AFTER_MESSAGES). Call only
 * after the packet authenticated.
 */
bool replay_check(struct replay_window *w, uint64_t counter, uint64_t limit);

#endif
