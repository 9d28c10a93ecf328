// SPDX-License-Identifier: BSD-3-Clause
/*
 * ICMP errors for packets without a peer (src/agent/icmp_error.c): the
 * addresses, type and code; checksums checked with an independent
 * byte-by-byte routine; how much of the original is quoted; which packets
 * get none (ICMP errors, broadcast, multicast, non-first fragments); the
 * rate limits per sender and in total.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "icmp_error.h"
#include "ref_csum.h"
#include "test.h"

#define SEC 1000000000ull

static bool v4_ok(const uint8_t *p, size_t len)
{
	return ref_fold(ref_sum(0, p, 20)) == 0xffff && ref_fold(ref_sum(0, p + 20, len - 20)) == 0xffff;
}

static bool v6_ok(const uint8_t *p, size_t len)
{
	uint8_t pseudo[8] = { 0, 0, (uint8_t)((len - 40) >> 8), (uint8_t)(len - 40), 0, 0, 0, 58 };
	uint32_t s = ref_sum(0, p + 8, 32);

	s = ref_sum(s, pseudo, 8);
	return ref_fold(ref_sum(s, p + 40, len - 40)) == 0xffff;
}

/* An IPv4 packet of `len` bytes, protocol `proto`, its first payload byte
 * `type` (the ICMP type), the rest a pattern. */
static size_t mk4(uint8_t *p, size_t len, const char *src, const char *dst, uint8_t proto,
		  uint8_t type)
{
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)(i * 7 + 1);
	p[0] = 0x45;
	p[1] = 0x10;
	p[2] = (uint8_t)(len >> 8);
	p[3] = (uint8_t)len;
	p[6] = 0x40; /* DF */
	p[7] = 0;
	p[8] = 63;
	p[9] = proto;
	CHECK(inet_pton(AF_INET, src, p + 12) == 1);
	CHECK(inet_pton(AF_INET, dst, p + 16) == 1);
	if (len > 20)
		p[20] = type;
	return len;
}

static size_t mk6(uint8_t *p, size_t len, const char *src, const char *dst, uint8_t next,
		  uint8_t type)
{
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)(i * 5 + 3);
	p[0] = 0x60;
	p[1] = p[2] = p[3] = 0;
	p[4] = (uint8_t)((len - 40) >> 8);
	p[5] = (uint8_t)(len - 40);
	p[6] = next;
	p[7] = 64;
	CHECK(inet_pton(AF_INET6, src, p + 8) == 1);
	CHECK(inet_pton(AF_INET6, dst, p + 24) == 1);
	if (len > 40)
		p[40] = type;
	return len;
}

static struct icmp_error_limiter lim;
static uint8_t in[2048], out[ICMP_ERROR_MAX];
static enum icmp_error_skip why;

static size_t build(uint64_t now, size_t len)
{
	return icmp_error_unreachable(&lim, now, in, len, out, sizeof(out), &why);
}

TEST(icmp_error_ipv4_host_unreachable)
{
	uint8_t a[4];
	size_t len = mk4(in, 84, "10.52.0.1", "10.53.0.9", IPPROTO_ICMP, 8), n;

	icmp_error_limiter_init(&lim, 1);
	n = build(0, len);
	CHECK_EQ(why, ICMP_ERROR_SENT);
	CHECK_EQ(n, 20 + 8 + 84);
	CHECK(v4_ok(out, n));
	CHECK_EQ(out[0], 0x45);
	CHECK_EQ(out[1], 0xc0 | 0x10);
	CHECK_EQ((out[2] << 8 | out[3]), n);
	CHECK_EQ(out[6] & 0x40, 0); /* may be fragmented on its way */
	CHECK_EQ(out[9], IPPROTO_ICMP);
	inet_pton(AF_INET, "10.53.0.9", a);
	CHECK_MEM(out + 12, a, 4); /* from the unreachable address */
	inet_pton(AF_INET, "10.52.0.1", a);
	CHECK_MEM(out + 16, a, 4); /* to the sender */
	CHECK_EQ(out[20], 3);
	CHECK_EQ(out[21], 1);
	CHECK_EQ(out[24] | out[25] | out[26] | out[27], 0);
	CHECK_MEM(out + 28, in, 84);
}

TEST(icmp_error_ipv4_quote_bounds)
{
	size_t n;

	icmp_error_limiter_init(&lim, 2);
	/* Large: cut at 576 bytes in all. */
	n = build(0, mk4(in, 1400, "192.168.52.2", "10.53.0.9", IPPROTO_UDP, 0));
	CHECK_EQ(n, 576);
	CHECK(v4_ok(out, n));
	CHECK_MEM(out + 28, in, 548);
	/* The header and 8 bytes: all of it. */
	n = build(0, mk4(in, 28, "192.168.52.3", "10.53.0.9", IPPROTO_UDP, 0));
	CHECK_EQ(n, 56);
	CHECK(v4_ok(out, n));
	/* Odd length, and bytes past the IP total length are not quoted. */
	mk4(in, 61, "192.168.52.4", "10.53.0.9", IPPROTO_UDP, 0);
	n = build(0, 100);
	CHECK_EQ(n, 28 + 61);
	CHECK(v4_ok(out, n));
	/* A total length beyond what was read: what was read. */
	mk4(in, 1000, "192.168.52.5", "10.53.0.9", IPPROTO_UDP, 0);
	n = build(0, 300);
	CHECK_EQ(n, 328);
	CHECK(v4_ok(out, n));
}

TEST(icmp_error_ipv6_address_unreachable)
{
	uint8_t a[16];
	size_t n;

	icmp_error_limiter_init(&lim, 3);
	n = build(0, mk6(in, 104, "fd00:5200::2", "fd00:53::9", IPPROTO_ICMPV6, 128));
	CHECK_EQ(why, ICMP_ERROR_SENT);
	CHECK_EQ(n, 40 + 8 + 104);
	CHECK(v6_ok(out, n));
	CHECK_EQ(out[0], 0x60);
	CHECK_EQ((out[4] << 8 | out[5]), n - 40);
	CHECK_EQ(out[6], IPPROTO_ICMPV6);
	inet_pton(AF_INET6, "fd00:53::9", a);
	CHECK_MEM(out + 8, a, 16);
	inet_pton(AF_INET6, "fd00:5200::2", a);
	CHECK_MEM(out + 24, a, 16);
	CHECK_EQ(out[40], 1);
	CHECK_EQ(out[41], 3);
	CHECK_MEM(out + 48, in, 104);
	/* As much as fits in 1280 bytes. */
	n = build(0, mk6(in, 1500, "fd00:5200::3", "fd00:53::9", IPPROTO_TCP, 0));
	CHECK_EQ(n, 1280);
	CHECK(v6_ok(out, n));
	CHECK_MEM(out + 48, in, 1232);
	n = build(0, mk6(in, 41, "fd00:5200::4", "fd00:53::9", IPPROTO_UDP, 0));
	CHECK_EQ(n, 89);
	CHECK(v6_ok(out, n));
}

TEST(icmp_error_never_about_an_error)
{
	static const uint8_t errors4[] = { 3, 4, 5, 11, 12, 19, 40, 255 };
	static const uint8_t info4[] = { 0, 8, 13, 14, 17, 18 };
	uint64_t t = 0;

	icmp_error_limiter_init(&lim, 4);
	for (size_t i = 0; i < sizeof(errors4); i++) {
		CHECK_EQ(build(t, mk4(in, 56, "10.0.0.1", "10.53.0.9", IPPROTO_ICMP, errors4[i])), 0);
		CHECK_EQ(why, ICMP_ERROR_ABOUT_ERROR);
	}
	for (size_t i = 0; i < sizeof(info4); i++, t += SEC)
		CHECK(build(t, mk4(in, 56, "10.0.0.1", "10.53.0.9", IPPROTO_ICMP, info4[i])) > 0);
	/* An ICMP header cut before its type: no error either. */
	CHECK_EQ(build(t, mk4(in, 20, "10.0.0.1", "10.53.0.9", IPPROTO_ICMP, 0)), 0);
	CHECK_EQ(why, ICMP_ERROR_ABOUT_ERROR);

	for (unsigned type = 0; type < 256; type++, t += SEC) {
		size_t n = build(t, mk6(in, 64, "fd00::1", "fd00:53::9", IPPROTO_ICMPV6, (uint8_t)type));

		CHECK_EQ(n > 0, type >= 128);
	}
	/* Behind a hop-by-hop header and a destination options header. */
	mk6(in, 80, "fd00::1", "fd00:53::9", IPPROTO_HOPOPTS, 0);
	in[40] = IPPROTO_DSTOPTS;
	in[41] = 0;
	in[48] = IPPROTO_ICMPV6;
	in[49] = 1; /* 16 bytes */
	in[64] = 1; /* destination unreachable */
	CHECK_EQ(build(t, 80), 0);
	CHECK_EQ(why, ICMP_ERROR_ABOUT_ERROR);
	in[64] = 128;
	CHECK(build(t, 80) > 0);
}

TEST(icmp_error_first_fragments_only)
{
	icmp_error_limiter_init(&lim, 5);
	mk4(in, 100, "10.0.0.1", "10.53.0.9", IPPROTO_UDP, 0);
	in[6] = 0x20; /* more fragments, offset 0: the first */
	CHECK(build(0, 100) > 0);
	in[7] = 0xb9; /* offset 185 * 8 */
	CHECK_EQ(build(0, 100), 0);
	CHECK_EQ(why, ICMP_ERROR_FRAGMENT);
	in[6] = 0x01;
	in[7] = 0x00; /* the last, offset 256 * 8 */
	CHECK_EQ(build(0, 100), 0);
	CHECK_EQ(why, ICMP_ERROR_FRAGMENT);

	mk6(in, 100, "fd00::1", "fd00:53::9", IPPROTO_FRAGMENT, 0);
	in[40] = IPPROTO_UDP;
	in[42] = 0x00;
	in[43] = 0x01; /* offset 0, more fragments */
	CHECK(build(0, 100) > 0);
	in[42] = 0x05;
	in[43] = 0xa8; /* offset 181 * 8 */
	CHECK_EQ(build(0, 100), 0);
	CHECK_EQ(why, ICMP_ERROR_FRAGMENT);
}

TEST(icmp_error_unicast_only)
{
	static const char *const v4[][2] = {
		{ "10.0.0.1", "255.255.255.255" }, { "10.0.0.1", "224.0.0.1" },
		{ "10.0.0.1", "239.1.2.3" },       { "0.0.0.0", "10.53.0.9" },
		{ "224.0.0.5", "10.53.0.9" },      { "127.0.0.1", "10.53.0.9" },
		{ "10.0.0.1", "0.0.0.0" },
	};
	static const char *const v6[][2] = {
		{ "fd00::1", "ff02::1" }, { "::", "fd00:53::9" },
		{ "ff05::2", "fd00:53::9" }, { "::1", "fd00:53::9" },
	};

	icmp_error_limiter_init(&lim, 6);
	for (size_t i = 0; i < sizeof(v4) / sizeof(v4[0]); i++) {
		CHECK_EQ(build(0, mk4(in, 60, v4[i][0], v4[i][1], IPPROTO_UDP, 0)), 0);
		CHECK_EQ(why, ICMP_ERROR_NOT_UNICAST);
	}
	for (size_t i = 0; i < sizeof(v6) / sizeof(v6[0]); i++) {
		CHECK_EQ(build(0, mk6(in, 60, v6[i][0], v6[i][1], IPPROTO_UDP, 0)), 0);
		CHECK_EQ(why, ICMP_ERROR_NOT_UNICAST);
	}
}

TEST(icmp_error_malformed_and_no_room)
{
	icmp_error_limiter_init(&lim, 7);
	mk4(in, 60, "10.0.0.1", "10.53.0.9", IPPROTO_UDP, 0);
	CHECK_EQ(build(0, 19), 0);
	CHECK_EQ(why, ICMP_ERROR_MALFORMED);
	in[0] = 0x4f; /* 60-byte header in a 40-byte read */
	CHECK_EQ(build(0, 40), 0);
	CHECK_EQ(why, ICMP_ERROR_MALFORMED);
	in[0] = 0x44; /* header shorter than 20 bytes */
	CHECK_EQ(build(0, 60), 0);
	in[0] = 0x45;
	in[2] = 0;
	in[3] = 10; /* total length shorter than the header */
	CHECK_EQ(build(0, 60), 0);
	CHECK_EQ(why, ICMP_ERROR_MALFORMED);
	CHECK_EQ(build(0, 0), 0);
	CHECK_EQ(build(0, mk6(in, 39, "fd00::1", "fd00:53::9", IPPROTO_UDP, 0)), 0);
	CHECK_EQ(why, ICMP_ERROR_MALFORMED);
	mk4(in, 60, "10.0.0.1", "10.53.0.9", IPPROTO_UDP, 0);
	CHECK_EQ(icmp_error_unreachable(&lim, 0, in, 60, out, ICMP_ERROR_MAX - 1, &why), 0);
	CHECK_EQ(why, ICMP_ERROR_NO_ROOM);
}

TEST(icmp_error_rate_limit_per_sender)
{
	int sent = 0;

	icmp_error_limiter_init(&lim, 8);
	mk4(in, 60, "10.0.0.1", "10.53.0.9", IPPROTO_UDP, 0);
	/* A burst of 6, then one a second. */
	for (int i = 0; i < 20; i++)
		sent += build(SEC + (uint64_t)i, 60) > 0;
	CHECK_EQ(sent, 6);
	CHECK_EQ(why, ICMP_ERROR_RATE_LIMITED);
	CHECK_EQ(build(SEC + SEC / 2, 60), 0);
	CHECK(build(2 * SEC + 100, 60) > 0);
	CHECK_EQ(build(2 * SEC + 200, 60), 0);
	/* Another sender is not held back meanwhile. */
	mk4(in, 60, "10.0.0.2", "10.53.0.9", IPPROTO_UDP, 0);
	CHECK(build(2 * SEC + 300, 60) > 0);
	/* Long quiet: a full burst again, not more. */
	mk4(in, 60, "10.0.0.1", "10.53.0.9", IPPROTO_UDP, 0);
	sent = 0;
	for (int i = 0; i < 20; i++)
		sent += build(1000 * SEC + (uint64_t)i, 60) > 0;
	CHECK_EQ(sent, 6);
	/* A clock that seems to go back does not earn credit. */
	CHECK_EQ(build(999 * SEC, 60), 0);
}

TEST(icmp_error_rate_limit_total)
{
	char src[32];
	int sent = 0;

	icmp_error_limiter_init(&lim, 9);
	/* Many senders at one instant: 50 in all. */
	for (int i = 0; i < 200; i++) {
		snprintf(src, sizeof(src), "10.1.%d.%d", i / 250, 1 + i % 250);
		sent += build(SEC, mk4(in, 60, src, "10.53.0.9", IPPROTO_UDP, 0)) > 0;
	}
	CHECK_EQ(sent, 50);
	/* 1000 a second: 10 ms later, 10 more. */
	sent = 0;
	for (int i = 200; i < 400; i++) {
		snprintf(src, sizeof(src), "10.1.%d.%d", i / 250, 1 + i % 250);
		sent += build(SEC + SEC / 100, mk4(in, 60, src, "10.53.0.9", IPPROTO_UDP, 0)) > 0;
	}
	CHECK_EQ(sent, 10);
}
