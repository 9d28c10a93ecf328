// SPDX-License-Identifier: BSD-3-Clause
/*
 * fuzz_inner's ICMP record: a packet nobody takes through
 * icmp_error_unreachable() as tx_unreachable() (batch.c) calls it, into a
 * buffer of exactly ICMP_ERROR_MAX bytes, the clock moving on between
 * records. An error, when one is made, is checked: an IPv4 or IPv6 header
 * with its length and checksum, "unreachable" with a right ICMP checksum,
 * from the original destination to its source, quoting the start of the
 * original and no more than 548 (IPv4) or 1232 (IPv6) bytes of it, never
 * past its length; and none is made about an ICMP error.
 */
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_inner.h"
#include "icmp_error.h"
#include "ref_csum.h"

#define V4_QUOTE_MAX (576u - 20u - 8u)
#define V6_QUOTE_MAX (1280u - 40u - 8u)

static struct icmp_error_limiter limiter;
static uint64_t now_ns;

void inner_icmp_reset(void)
{
	icmp_error_limiter_init(&limiter, 0x1c3b5eed);
	now_ns = FUZZ_START_MONO;
}

/* True when pkt is an ICMP or ICMPv6 error by our own reading (the
 * transport header right after a plain IP header). */
static bool is_icmp_error(const uint8_t *p, size_t len)
{
	if (len >= 20 && p[0] >> 4 == 4 && p[9] == IPPROTO_ICMP) {
		size_t ihl = (size_t)(p[0] & 0xf) * 4, total = inner_be16(p + 2);
		uint8_t type;

		if (ihl < 20 || ihl >= len || ihl >= total)
			return false;
		type = p[ihl];
		return type == 3 || type == 4 || type == 5 || type == 11 || type == 12;
	}
	/* Its type is inside the packet whatever the payload length says
	 * (0, a jumbogram, or more than there is: all of it). */
	return len > 40 && p[0] >> 4 == 6 && p[6] == IPPROTO_ICMPV6 && p[40] < 128;
}

static void check_v4(const uint8_t *pkt, size_t len, const uint8_t *e, size_t n)
{
	size_t quote = n - 28, total = inner_be16(pkt + 2);

	FUZZ_CHECK(n >= 28 && n <= ICMP_ERROR_V4_MAX);
	FUZZ_CHECK(e[0] == 0x45 && inner_be16(e + 2) == n && e[9] == IPPROTO_ICMP);
	FUZZ_CHECK((inner_be16(e + 6) & 0x3fff) == 0 && e[8] > 0);
	FUZZ_CHECK(inner_ipv4_header_ok(e, n));
	FUZZ_CHECK(!memcmp(e + 12, pkt + 16, 4) && !memcmp(e + 16, pkt + 12, 4));
	FUZZ_CHECK(e[20] == 3 && e[21] == 1);
	FUZZ_CHECK(ref_fold(ref_sum(0, e + 20, n - 20)) == 0xffff);
	FUZZ_CHECK(quote <= V4_QUOTE_MAX && quote <= len && quote <= total);
	FUZZ_CHECK(quote == V4_QUOTE_MAX || quote == (total < len ? total : len));
	FUZZ_CHECK(!memcmp(e + 28, pkt, quote));
}

static void check_v6(const uint8_t *pkt, size_t len, const uint8_t *e, size_t n)
{
	size_t quote = n - 48, total = 40 + (size_t)inner_be16(pkt + 4);

	if (total == 40 || total > len)
		total = len;
	FUZZ_CHECK(n >= 48 && n <= ICMP_ERROR_V6_MAX);
	FUZZ_CHECK(e[0] >> 4 == 6 && inner_be16(e + 4) + 40u == n && e[6] == IPPROTO_ICMPV6);
	FUZZ_CHECK(e[7] > 0);
	FUZZ_CHECK(!memcmp(e + 8, pkt + 24, 16) && !memcmp(e + 24, pkt + 8, 16));
	FUZZ_CHECK(e[40] == 1 && e[41] == 3);
	FUZZ_CHECK(inner_l4_csum_ok(e, n, 40, IPPROTO_ICMPV6));
	FUZZ_CHECK(quote <= V6_QUOTE_MAX && quote <= len);
	FUZZ_CHECK(quote == V6_QUOTE_MAX || quote == total);
	FUZZ_CHECK(!memcmp(e + 48, pkt, quote));
}

void inner_icmp(struct fuzz_reader *r)
{
	uint8_t dt = fuzz_take_u8(r), *out = malloc(ICMP_ERROR_MAX), *pkt;
	size_t len = fuzz_take_u16(r), n;
	enum icmp_error_skip why = ICMP_ERROR_SENT;

	FUZZ_CHECK(out);
	now_ns += dt * INNER_ICMP_STEP_NS;
	pkt = inner_take_packet(r, len);
	n = icmp_error_unreachable(&limiter, now_ns, pkt, len, out, ICMP_ERROR_MAX, &why);
	FUZZ_CHECK(!n == (why != ICMP_ERROR_SENT));
	FUZZ_CHECK(icmp_error_skip_str(why)[0] != '?');
	if (n) {
		FUZZ_CHECK(!is_icmp_error(pkt, len));
		if (pkt[0] >> 4 == 6)
			check_v6(pkt, len, out, n);
		else
			check_v4(pkt, len, out, n);
	}
	free(pkt);
	free(out);
}
