/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A bounded table of handshake sources (each IPv4 address, and each IPv6
 * /64). Entries idle for a second are collected; the table holds at most
 * RATELIMIT_MAX_ENTRIES, and a source that finds it full is refused.
 *
 * Each entry serves two uses, one per table instance:
 * * a token bucket for handshake messages processed under load: each source
 *   may send RATELIMIT_PER_SECOND with a burst of RATELIMIT_BURST
 *   (ratelimiter_allow);
 * * a count of the source's handshake messages per second
 *   (ratelimiter_count), from which ratelimiter_fair_share finds the share
 *   of a budget that each source gets when it is divided fairly.
 */
#ifndef ALTUNTUN_RATELIMITER_H
#define ALTUNTUN_RATELIMITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define RATELIMIT_PER_SECOND 20
#define RATELIMIT_BURST 5
#define RATELIMIT_MAX_ENTRIES 8192

struct ratelimiter;

struct ratelimiter *ratelimiter_new(void);
void ratelimiter_free(struct ratelimiter *rl);
/* true if a handshake message from `src` may be processed now. */
bool ratelimiter_allow(struct ratelimiter *rl, uint64_t now_ns, const struct sockaddr *src);
/*
 * As ratelimiter_allow, and also false (no token taken) when this source
 * was last allowed by this function less than gap_ns ago: its rate is then
 * at most one per gap_ns, whatever its bucket holds.
 */
bool ratelimiter_allow_spaced(struct ratelimiter *rl, uint64_t now_ns, const struct sockaddr *src,
			      uint64_t gap_ns);
/*
 * Counts a handshake message from `src` and sets *rate to the source's
 * messages per second (this one included: a two-window estimate). false if
 * the source cannot be tracked (bad family, table full).
 */
bool ratelimiter_count(struct ratelimiter *rl, uint64_t now_ns, const struct sockaddr *src,
		       uint32_t *rate);
/*
 * For a source already in the table whose rate, counting this message,
 * would be `level` or more and which ratelimiter_allow_spaced(gap_ns) would
 * refuse now: counts the message (as ratelimiter_count) and returns true.
 * Otherwise changes nothing but the counting window and returns false.
 */
bool ratelimiter_count_if_held(struct ratelimiter *rl, uint64_t now_ns, const struct sockaddr *src,
			       uint32_t level, uint64_t gap_ns);
/*
 * The max-min fair share of `budget` messages per second among the counted
 * sources: the largest level L with sum(min(rate, L)) <= budget, so a
 * source at L or above takes all of its share. UINT32_MAX if all of them
 * fit. O(entries * 32); makes no system call.
 */
uint32_t ratelimiter_fair_share(struct ratelimiter *rl, uint64_t now_ns, uint32_t budget);
/* Drops entries idle for more than a second. Called by allow() as needed. */
void ratelimiter_gc(struct ratelimiter *rl, uint64_t now_ns);
size_t ratelimiter_entries(const struct ratelimiter *rl);

#endif
