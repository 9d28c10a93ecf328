// SPDX-License-Identifier: BSD-3-Clause
/*
 * ICMP / ICMPv6 "unreachable" errors for packets no peer takes
 * (icmp_error.h says which, to whom and from where).
 */
#include <netinet/in.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>

#include "icmp_error.h"
#include "offload.h"

#define NSEC_PER_MSEC 1000000ull
#define NSEC_PER_SEC 1000000000ull

/* The kernel's icmp_ratelimit / icmpv6 ratelimit (1000 ms), with its
 * XRLIM_BURST_FACTOR of 6. */
#define SENDER_COST_NS (1000 * NSEC_PER_MSEC)
#define SENDER_BURST_NS (6 * SENDER_COST_NS)
/* icmp_msgs_per_sec = 1000, icmp_msgs_burst = 50. */
#define TOTAL_COST_NS (NSEC_PER_SEC / 1000)
#define TOTAL_BURST_NS (50 * TOTAL_COST_NS)

#define IPV4_HLEN 20u
#define IPV6_HLEN 40u
#define ICMP_HLEN 8u

#define ICMP_DEST_UNREACH 3
#define ICMP_HOST_UNREACH 1
#define ICMPV6_DEST_UNREACH 1
#define ICMPV6_ADDR_UNREACH 3
#define ICMPV6_INFO_MASK 0x80

/* Precedence "internetwork control" and the original's TOS bits, as
 * icmp_send() sets them. */
#define IPTOS_TOS_MASK 0x1e
#define IPTOS_PREC_INTERNETCONTROL 0xc0
#define ERROR_TTL 64

void icmp_error_limiter_init(struct icmp_error_limiter *l, uint32_t seed)
{
	memset(l, 0, sizeof(*l));
	l->seed = seed;
	l->ipv4_id = (uint16_t)(seed >> 16);
}

const char *icmp_error_skip_str(enum icmp_error_skip why)
{
	switch (why) {
	case ICMP_ERROR_SENT:
		return "sent";
	case ICMP_ERROR_MALFORMED:
		return "not a whole IP header";
	case ICMP_ERROR_NOT_UNICAST:
		return "not between unicast addresses";
	case ICMP_ERROR_FRAGMENT:
		return "not the first fragment";
	case ICMP_ERROR_ABOUT_ERROR:
		return "an ICMP error itself";
	case ICMP_ERROR_RATE_LIMITED:
		return "rate limited";
	case ICMP_ERROR_NO_ROOM:
		return "no room for the error";
	}
	return "?";
}

/* ---- rate limits: token buckets of time, as the kernel's xrlim ---- */

/* Adds the time since the last call to the bucket's credit (a bucket
 * never used starts full; a clock going back earns nothing). */
static void bucket_refill(struct icmp_error_bucket *b, uint64_t now, uint64_t burst)
{
	if (!b->used) {
		b->credit_ns = burst;
		b->last_ns = now;
		b->used = 1;
		return;
	}
	if (now <= b->last_ns)
		return;
	if (now - b->last_ns >= burst - b->credit_ns)
		b->credit_ns = burst;
	else
		b->credit_ns += now - b->last_ns;
	b->last_ns = now;
}

static struct icmp_error_sender *sender_of(struct icmp_error_limiter *l, int family,
					   const uint8_t *addr)
{
	size_t alen = family == AF_INET6 ? 16 : 4;
	uint32_t h = 2166136261u ^ l->seed; /* FNV-1a, seeded */
	struct icmp_error_sender *s;

	for (size_t i = 0; i < alen; i++)
		h = (h ^ addr[i]) * 16777619u;
	h ^= h >> 15;
	s = &l->senders[h % ICMP_ERROR_SENDERS];
	if (s->family != family || memcmp(s->addr, addr, alen)) {
		/* Another sender took the slot: a fresh bucket. The total
		 * limit still bounds what many senders can get. */
		memset(s, 0, sizeof(*s));
		s->family = (uint8_t)family;
		memcpy(s->addr, addr, alen);
	}
	return s;
}

static bool rate_allow(struct icmp_error_limiter *l, uint64_t now, int family,
		       const uint8_t *sender)
{
	struct icmp_error_bucket *s = &sender_of(l, family, sender)->bucket;

	bucket_refill(s, now, SENDER_BURST_NS);
	bucket_refill(&l->total, now, TOTAL_BURST_NS);
	if (s->credit_ns < SENDER_COST_NS || l->total.credit_ns < TOTAL_COST_NS)
		return false;
	s->credit_ns -= SENDER_COST_NS;
	l->total.credit_ns -= TOTAL_COST_NS;
	return true;
}

/* ---- which packets get an error ---- */

static bool ipv4_unicast(const uint8_t *a)
{
	/* 0/8 (this network), 127/8 (loopback), 224/4 (multicast) and
	 * 240/4 with the limited broadcast. */
	return a[0] != 0 && a[0] != 127 && a[0] < 224;
}

static bool ipv6_unicast(const uint8_t *a)
{
	static const uint8_t loopback[16] = { [15] = 1 };
	static const uint8_t unspecified[16];

	return a[0] != 0xff && memcmp(a, loopback, 16) && memcmp(a, unspecified, 16);
}

/* The IPv4 ICMP types icmp_send() counts as errors (icmp_pointers[].error),
 * and those past NR_ICMP_TYPES it never answers either. */
static bool icmp4_type_is_error(uint8_t type)
{
	return type > 18 || type == 3 || type == 4 || type == 5 || type == 11 || type == 12;
}

/* Length of the IPv4 packet to consider (header checked), or 0. */
static size_t ipv4_check(const uint8_t *p, size_t len, enum icmp_error_skip *why)
{
	size_t ihl, total;

	*why = ICMP_ERROR_MALFORMED;
	if (len < IPV4_HLEN || p[0] >> 4 != 4)
		return 0;
	ihl = (size_t)(p[0] & 0xf) * 4;
	total = (size_t)p[2] << 8 | p[3];
	if (ihl < IPV4_HLEN || ihl > len || total < ihl)
		return 0;
	if (total > len)
		total = len;
	*why = ICMP_ERROR_NOT_UNICAST;
	if (!ipv4_unicast(p + 12) || !ipv4_unicast(p + 16))
		return 0;
	*why = ICMP_ERROR_FRAGMENT;
	if (((p[6] & 0x1f) | p[7]) != 0)
		return 0;
	*why = ICMP_ERROR_ABOUT_ERROR;
	if (p[9] == IPPROTO_ICMP && (total <= ihl || icmp4_type_is_error(p[ihl])))
		return 0;
	*why = ICMP_ERROR_SENT;
	return total;
}

/* Walks the extension headers as ipv6_skip_exthdr() does. False if the
 * packet is a non-first fragment or an ICMPv6 error (or shows no type). */
static bool ipv6_upper_eligible(const uint8_t *p, size_t total, enum icmp_error_skip *why)
{
	size_t at = IPV6_HLEN;
	uint8_t next = p[6];

	for (;;) {
		size_t hlen;

		if (next == IPPROTO_ICMPV6) {
			*why = ICMP_ERROR_ABOUT_ERROR;
			return at < total && (p[at] & ICMPV6_INFO_MASK);
		}
		if (next != IPPROTO_HOPOPTS && next != IPPROTO_ROUTING &&
		    next != IPPROTO_DSTOPTS && next != IPPROTO_FRAGMENT && next != IPPROTO_AH)
			return true;
		if (at + 8 > total)
			return true; /* truncated chain: as the kernel, answered */
		if (next == IPPROTO_FRAGMENT) {
			if ((((size_t)p[at + 2] << 8 | p[at + 3]) & ~(size_t)7) != 0) {
				*why = ICMP_ERROR_FRAGMENT;
				return false;
			}
			hlen = 8;
		} else if (next == IPPROTO_AH) {
			hlen = ((size_t)p[at + 1] + 2) * 4;
		} else {
			hlen = ((size_t)p[at + 1] + 1) * 8;
		}
		next = p[at];
		at += hlen;
	}
}

static size_t ipv6_check(const uint8_t *p, size_t len, enum icmp_error_skip *why)
{
	size_t total;

	*why = ICMP_ERROR_MALFORMED;
	if (len < IPV6_HLEN || p[0] >> 4 != 6)
		return 0;
	total = IPV6_HLEN + ((size_t)p[4] << 8 | p[5]);
	if (total == IPV6_HLEN || total > len) /* jumbogram or trimmed */
		total = len;
	*why = ICMP_ERROR_NOT_UNICAST;
	if (!ipv6_unicast(p + 8) || !ipv6_unicast(p + 24))
		return 0;
	if (!ipv6_upper_eligible(p, total, why))
		return 0;
	*why = ICMP_ERROR_SENT;
	return total;
}

/* ---- building ---- */

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put_native(uint8_t *p, uint16_t native)
{
	memcpy(p, &native, 2);
}

static size_t build_v4(struct icmp_error_limiter *l, const uint8_t *pkt, size_t quote,
		       uint8_t *out)
{
	uint8_t *icmp = out + IPV4_HLEN;
	size_t len = IPV4_HLEN + ICMP_HLEN + quote;

	memset(out, 0, IPV4_HLEN + ICMP_HLEN);
	out[0] = 0x45;
	out[1] = (uint8_t)((pkt[1] & IPTOS_TOS_MASK) | IPTOS_PREC_INTERNETCONTROL);
	put16(out + 2, (uint16_t)len);
	put16(out + 4, l->ipv4_id++);
	out[8] = ERROR_TTL;
	out[9] = IPPROTO_ICMP;
	memcpy(out + 12, pkt + 16, 4); /* from the unreachable address */
	memcpy(out + 16, pkt + 12, 4); /* to the sender */
	put_native(out + 10, csum_ipv4_header(out, IPV4_HLEN));
	icmp[0] = ICMP_DEST_UNREACH;
	icmp[1] = ICMP_HOST_UNREACH;
	memcpy(icmp + ICMP_HLEN, pkt, quote);
	put_native(icmp + 2, (uint16_t)~csum_fold(csum_add(0, icmp, ICMP_HLEN + quote)));
	return len;
}

static size_t build_v6(const uint8_t *pkt, size_t quote, uint8_t *out)
{
	uint8_t *icmp = out + IPV6_HLEN;
	size_t icmp_len = ICMP_HLEN + quote;
	uint16_t c;

	memset(out, 0, IPV6_HLEN + ICMP_HLEN);
	out[0] = 0x60;
	put16(out + 4, (uint16_t)icmp_len);
	out[6] = IPPROTO_ICMPV6;
	out[7] = ERROR_TTL;
	memcpy(out + 8, pkt + 24, 16);
	memcpy(out + 24, pkt + 8, 16);
	icmp[0] = ICMPV6_DEST_UNREACH;
	icmp[1] = ICMPV6_ADDR_UNREACH;
	memcpy(icmp + ICMP_HLEN, pkt, quote);
	c = (uint16_t)~csum_fold(csum_add(
		csum_pseudo(AF_INET6, out + 8, out + 24, IPPROTO_ICMPV6, (uint32_t)icmp_len), icmp,
		icmp_len));
	put_native(icmp + 2, c ? c : 0xffff);
	return IPV6_HLEN + icmp_len;
}

size_t icmp_error_unreachable(struct icmp_error_limiter *l, uint64_t now_ns, const uint8_t *pkt,
			      size_t len, uint8_t *out, size_t cap, enum icmp_error_skip *why)
{
	size_t total, room;
	bool v6;

	if (cap < ICMP_ERROR_MAX) {
		*why = ICMP_ERROR_NO_ROOM;
		return 0;
	}
	if (len < 1) {
		*why = ICMP_ERROR_MALFORMED;
		return 0;
	}
	v6 = pkt[0] >> 4 == 6;
	total = v6 ? ipv6_check(pkt, len, why) : ipv4_check(pkt, len, why);
	if (!total)
		return 0;
	if (!rate_allow(l, now_ns, v6 ? AF_INET6 : AF_INET, pkt + (v6 ? 8 : 12))) {
		*why = ICMP_ERROR_RATE_LIMITED;
		return 0;
	}
	room = (v6 ? ICMP_ERROR_V6_MAX - IPV6_HLEN : ICMP_ERROR_V4_MAX - IPV4_HLEN) - ICMP_HLEN;
	if (total > room)
		total = room;
	*why = ICMP_ERROR_SENT;
	return v6 ? build_v6(pkt, total, out) : build_v4(l, pkt, total, out);
}
