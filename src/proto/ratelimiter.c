// SPDX-License-Identifier: BSD-3-Clause
/*
 * Token buckets per source, as the Linux driver's ratelimiter: tokens are
 * nanoseconds of credit, a packet costs 1 s / RATELIMIT_PER_SECOND and a
 * bucket holds RATELIMIT_BURST packets' worth. Rates are counted per second
 * in two windows, the previous one weighted by how much it still overlaps
 * the last second (as the device's own load estimate).
 *
 * Entries live densely in entries[0, count) and are chained from a fixed
 * array of buckets by index; the bucket is SipHash (crypto_shorthash) of the
 * source under a random key, so a sender cannot aim at one chain. Removing
 * an entry moves the last one into its place, which keeps the collection
 * O(entries).
 */
#include <netinet/in.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "ratelimiter.h"

#define NSEC_PER_SEC UINT64_C(1000000000)
#define PACKET_COST (NSEC_PER_SEC / RATELIMIT_PER_SECOND)
#define TOKEN_MAX (PACKET_COST * RATELIMIT_BURST)
#define IDLE_NS NSEC_PER_SEC
#define GC_INTERVAL_NS NSEC_PER_SEC
#define NBUCKETS RATELIMIT_MAX_ENTRIES
#define MIN_CAPACITY 64
#define NIL UINT32_MAX
/* Family tag, then the IPv4 address or the IPv6 /64 prefix. */
#define SRC_KEY_LEN 9

_Static_assert((NBUCKETS & (NBUCKETS - 1)) == 0, "bucket count must be a power of two");
_Static_assert(NSEC_PER_SEC % RATELIMIT_PER_SECOND == 0, "packet cost must be exact");

struct rl_entry {
	uint8_t key[SRC_KEY_LEN];
	uint32_t next;
	uint32_t bucket;
	uint64_t tokens;
	uint64_t last_ns; /* of the tokens */
	uint64_t seen_ns; /* last use of any kind: idle entries are collected */
	uint64_t window_start_ns;
	uint32_t count_current, count_previous;
	uint64_t allowed_ns; /* last ratelimiter_allow_spaced() that said yes */
	bool was_allowed;
};

struct ratelimiter {
	uint8_t hash_key[crypto_shorthash_KEYBYTES];
	uint64_t last_gc_ns;
	uint32_t count;
	uint32_t capacity;
	struct rl_entry *entries;
	uint32_t heads[NBUCKETS];
};

struct ratelimiter *ratelimiter_new(void)
{
	struct ratelimiter *rl = calloc(1, sizeof(*rl));

	if (!rl)
		return NULL;
	randombytes_buf(rl->hash_key, sizeof(rl->hash_key));
	for (size_t i = 0; i < NBUCKETS; i++)
		rl->heads[i] = NIL;
	return rl;
}

void ratelimiter_free(struct ratelimiter *rl)
{
	if (!rl)
		return;
	free(rl->entries);
	sodium_memzero(rl->hash_key, sizeof(rl->hash_key));
	free(rl);
}

size_t ratelimiter_entries(const struct ratelimiter *rl)
{
	return rl->count;
}

/*
 * IPv4-mapped IPv6 sources (from a dual-stack socket) are keyed as IPv4:
 * otherwise every IPv4 sender would share the bucket of ::ffff:0:0/64.
 */
static bool source_key(uint8_t key[SRC_KEY_LEN], const struct sockaddr *src)
{
	memset(key, 0, SRC_KEY_LEN);
	if (!src)
		return false;
	if (src->sa_family == AF_INET) {
		const struct sockaddr_in *in4 = (const struct sockaddr_in *)src;

		key[0] = 4;
		memcpy(key + 1, &in4->sin_addr, 4);
		return true;
	}
	if (src->sa_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)src)->sin6_addr;

		if (IN6_IS_ADDR_V4MAPPED(a)) {
			key[0] = 4;
			memcpy(key + 1, a->s6_addr + 12, 4);
		} else {
			key[0] = 6;
			memcpy(key + 1, a->s6_addr, 8);
		}
		return true;
	}
	return false;
}

static uint32_t bucket_of(const struct ratelimiter *rl, const uint8_t key[SRC_KEY_LEN])
{
	uint8_t h[crypto_shorthash_BYTES];
	uint64_t v;

	crypto_shorthash(h, key, SRC_KEY_LEN, rl->hash_key);
	memcpy(&v, h, sizeof(v));
	return (uint32_t)(v & (NBUCKETS - 1));
}

/* Points at the link (a bucket head or a `next`) that holds index `idx`. */
static uint32_t *link_to(struct ratelimiter *rl, uint32_t idx)
{
	uint32_t *p = &rl->heads[rl->entries[idx].bucket];

	while (*p != idx)
		p = &rl->entries[*p].next;
	return p;
}

static void remove_entry(struct ratelimiter *rl, uint32_t idx)
{
	uint32_t last = rl->count - 1;

	*link_to(rl, idx) = rl->entries[idx].next;
	if (idx != last) {
		*link_to(rl, last) = idx;
		rl->entries[idx] = rl->entries[last];
	}
	rl->count--;
}

static bool is_idle(const struct rl_entry *e, uint64_t now_ns)
{
	return now_ns > e->seen_ns && now_ns - e->seen_ns > IDLE_NS;
}

void ratelimiter_gc(struct ratelimiter *rl, uint64_t now_ns)
{
	uint32_t i = 0;

	rl->last_gc_ns = now_ns;
	while (i < rl->count) {
		if (is_idle(&rl->entries[i], now_ns))
			remove_entry(rl, i); /* the last entry moved to i */
		else
			i++;
	}
}

/* The bucket's credit at now_ns, refilled since its last use. */
static uint64_t tokens_now(const struct rl_entry *e, uint64_t now_ns)
{
	uint64_t elapsed = now_ns > e->last_ns ? now_ns - e->last_ns : 0;
	uint64_t tokens;

	if (elapsed > TOKEN_MAX)
		elapsed = TOKEN_MAX;
	tokens = e->tokens + elapsed;
	return tokens > TOKEN_MAX ? TOKEN_MAX : tokens;
}

static bool take_token(struct rl_entry *e, uint64_t now_ns)
{
	uint64_t tokens = tokens_now(e, now_ns);
	bool ok;

	if (now_ns > e->last_ns)
		e->last_ns = now_ns;
	ok = tokens >= PACKET_COST;
	e->tokens = ok ? tokens - PACKET_COST : tokens;
	return ok;
}

static bool reserve(struct ratelimiter *rl)
{
	uint32_t cap;
	struct rl_entry *grown;

	if (rl->count < rl->capacity)
		return true;
	if (rl->capacity >= RATELIMIT_MAX_ENTRIES)
		return false;
	cap = rl->capacity ? rl->capacity * 2 : MIN_CAPACITY;
	if (cap > RATELIMIT_MAX_ENTRIES)
		cap = RATELIMIT_MAX_ENTRIES;
	grown = realloc(rl->entries, cap * sizeof(*grown));
	if (!grown)
		return false;
	rl->entries = grown;
	rl->capacity = cap;
	return true;
}

/* A new source starts with a full bucket (insert() callers spend from it). */
static struct rl_entry *insert(struct ratelimiter *rl, uint32_t bucket,
			       const uint8_t key[SRC_KEY_LEN], uint64_t now_ns)
{
	struct rl_entry *e;

	if (!reserve(rl))
		return NULL;
	e = &rl->entries[rl->count];
	memset(e, 0, sizeof(*e));
	memcpy(e->key, key, SRC_KEY_LEN);
	e->tokens = TOKEN_MAX;
	e->last_ns = now_ns;
	e->seen_ns = now_ns;
	e->window_start_ns = now_ns;
	e->bucket = bucket;
	e->next = rl->heads[bucket];
	rl->heads[bucket] = rl->count++;
	return e;
}

/* The entry of `src`, made if new and `make`; NULL if there is none. */
static struct rl_entry *find(struct ratelimiter *rl, uint64_t now_ns, const struct sockaddr *src,
			     bool make, bool *is_new)
{
	uint8_t key[SRC_KEY_LEN];
	uint32_t bucket;

	*is_new = false;
	if (!source_key(key, src))
		return NULL;
	if (now_ns > rl->last_gc_ns && now_ns - rl->last_gc_ns >= GC_INTERVAL_NS)
		ratelimiter_gc(rl, now_ns);
	bucket = bucket_of(rl, key);
	for (uint32_t i = rl->heads[bucket]; i != NIL; i = rl->entries[i].next) {
		struct rl_entry *e = &rl->entries[i];

		if (!memcmp(e->key, key, SRC_KEY_LEN)) {
			if (now_ns > e->seen_ns)
				e->seen_ns = now_ns;
			return e;
		}
	}
	if (!make)
		return NULL;
	*is_new = true;
	return insert(rl, bucket, key, now_ns);
}

static struct rl_entry *lookup(struct ratelimiter *rl, uint64_t now_ns, const struct sockaddr *src,
			       bool *is_new)
{
	return find(rl, now_ns, src, true, is_new);
}

/* Allowed by ratelimiter_allow_spaced() less than gap_ns ago. */
static bool too_soon(const struct rl_entry *e, uint64_t now_ns, uint64_t gap_ns)
{
	return e->was_allowed && now_ns >= e->allowed_ns && now_ns - e->allowed_ns < gap_ns;
}

/* Whether take_token() would succeed now (nothing changed). */
static bool token_ready(const struct rl_entry *e, uint64_t now_ns)
{
	return tokens_now(e, now_ns) >= PACKET_COST;
}

bool ratelimiter_allow_spaced(struct ratelimiter *rl, uint64_t now_ns, const struct sockaddr *src,
			      uint64_t gap_ns)
{
	bool is_new;
	struct rl_entry *e = lookup(rl, now_ns, src, &is_new);

	if (!e)
		return false;
	if (too_soon(e, now_ns, gap_ns))
		return false; /* no token taken */
	if (is_new)
		e->tokens -= PACKET_COST;
	else if (!take_token(e, now_ns))
		return false;
	e->was_allowed = true;
	e->allowed_ns = now_ns;
	return true;
}

bool ratelimiter_allow(struct ratelimiter *rl, uint64_t now_ns, const struct sockaddr *src)
{
	return ratelimiter_allow_spaced(rl, now_ns, src, 0);
}

static uint32_t rate_estimate(const struct rl_entry *e, uint64_t now_ns)
{
	uint64_t elapsed = now_ns > e->window_start_ns ? now_ns - e->window_start_ns : 0;

	if (elapsed >= 2 * NSEC_PER_SEC)
		return 0;
	if (elapsed >= NSEC_PER_SEC) /* the current window has become the previous one */
		return (uint32_t)(e->count_current * (2 * NSEC_PER_SEC - elapsed) / NSEC_PER_SEC);
	return e->count_current +
	       (uint32_t)(e->count_previous * (NSEC_PER_SEC - elapsed) / NSEC_PER_SEC);
}

/* Starts a new counting window once the current one is a second old. */
static void roll_window(struct rl_entry *e, uint64_t now_ns)
{
	uint64_t elapsed = now_ns > e->window_start_ns ? now_ns - e->window_start_ns : 0;

	if (elapsed >= NSEC_PER_SEC) {
		e->count_previous = elapsed < 2 * NSEC_PER_SEC ? e->count_current : 0;
		e->count_current = 0;
		e->window_start_ns = now_ns;
	}
}

static void count_one(struct rl_entry *e)
{
	/* Half the range: the estimate adds a share of the previous window. */
	if (e->count_current < UINT32_MAX / 2)
		e->count_current++;
}

bool ratelimiter_count(struct ratelimiter *rl, uint64_t now_ns, const struct sockaddr *src,
		       uint32_t *rate)
{
	bool is_new;
	struct rl_entry *e = lookup(rl, now_ns, src, &is_new);

	*rate = 0;
	if (!e)
		return false;
	roll_window(e, now_ns);
	count_one(e);
	*rate = rate_estimate(e, now_ns);
	return true;
}

bool ratelimiter_count_if_held(struct ratelimiter *rl, uint64_t now_ns, const struct sockaddr *src,
			       uint32_t level, uint64_t gap_ns)
{
	bool is_new;
	struct rl_entry *e = find(rl, now_ns, src, false, &is_new);

	if (!e)
		return false;
	roll_window(e, now_ns);
	/* ratelimiter_count() would make the rate one more. */
	if ((uint64_t)rate_estimate(e, now_ns) + 1 < level)
		return false;
	if (!too_soon(e, now_ns, gap_ns) && token_ready(e, now_ns))
		return false;
	count_one(e);
	return true;
}

/* sum(min(rate, level)) over the sources, at most `cap` (and then cap + 1). */
static uint64_t sum_capped(const struct ratelimiter *rl, uint64_t now_ns, uint32_t level,
			   uint64_t cap)
{
	uint64_t sum = 0;

	for (uint32_t i = 0; i < rl->count && sum <= cap; i++) {
		uint32_t r = rate_estimate(&rl->entries[i], now_ns);

		sum += r < level ? r : level;
	}
	return sum;
}

/*
 * The largest level whose capped sum fits the budget, by bisection: no
 * sorting, since qsort may make system calls (glibc asks sysinfo for the
 * memory size) and the packet process runs under a seccomp filter.
 */
uint32_t ratelimiter_fair_share(struct ratelimiter *rl, uint64_t now_ns, uint32_t budget)
{
	uint32_t lo = 0, hi = 0;

	for (uint32_t i = 0; i < rl->count; i++) {
		uint32_t r = rate_estimate(&rl->entries[i], now_ns);

		if (r > hi)
			hi = r;
	}
	if (sum_capped(rl, now_ns, hi, budget) <= budget)
		return UINT32_MAX; /* everyone fits */
	/* sum(lo) <= budget < sum(hi) */
	while (hi - lo > 1) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (sum_capped(rl, now_ns, mid, budget) <= budget)
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}
