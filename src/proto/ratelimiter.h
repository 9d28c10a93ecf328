/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Token bucket per source address for handshake messages under load: each
 * IPv4 address, and each IPv6 /64, may send RATELIMIT_PER_SECOND with a
 * burst of RATELIMIT_BURST. Entries idle for a second are collected; the
 * table is bounded (RATELIMIT_MAX_ENTRIES), and a source that finds it full
 * is refused.
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
/* Drops entries idle for more than a second. Called by allow() as needed. */
void ratelimiter_gc(struct ratelimiter *rl, uint64_t now_ns);
size_t ratelimiter_entries(const struct ratelimiter *rl);

#endif
