// SPDX-License-Identifier: BSD-3-Clause
/* Packet helpers of fuzz_inner and its seeds (fuzz_inner.h). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "fuzz_inner.h"
#include "ref_csum.h"

uint16_t inner_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

uint32_t inner_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

void inner_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

void inner_put32(uint8_t *p, uint32_t v)
{
	inner_put16(p, (uint16_t)(v >> 16));
	inner_put16(p + 2, (uint16_t)v);
}

uint8_t *inner_take_packet(struct fuzz_reader *r, size_t len)
{
	uint8_t *pkt = malloc(len ? len : 1);
	const uint8_t *d;
	size_t got;

	FUZZ_CHECK(pkt);
	d = fuzz_take(r, len, &got);
	if (got)
		memcpy(pkt, d, got);
	for (size_t i = got; i < len; i++)
		pkt[i] = (uint8_t)(i * 7 + 3);
	return pkt;
}

bool inner_ipv4_header_ok(const uint8_t *p, size_t len)
{
	size_t ihl = (size_t)(p[0] & 0xf) * 4;

	return ihl >= 20 && ihl <= len && ref_fold(ref_sum(0, p, ihl)) == 0xffff;
}

static uint32_t pseudo_sum(const uint8_t *pkt, size_t l4_len, uint8_t proto)
{
	uint8_t tail[8] = { 0 };
	uint32_t s;

	if (pkt[0] >> 4 == 6)
		s = ref_sum(0, pkt + 8, 32);
	else
		s = ref_sum(0, pkt + 12, 8);
	inner_put32(tail, (uint32_t)l4_len);
	tail[7] = proto;
	return ref_sum(s, tail, sizeof(tail));
}

bool inner_l4_csum_ok(const uint8_t *pkt, size_t len, size_t l4, uint8_t proto)
{
	return ref_fold(ref_sum(pseudo_sum(pkt, len - l4, proto), pkt + l4, len - l4)) == 0xffff;
}

void inner_set_ipv4_csum(uint8_t *p)
{
	size_t ihl = (size_t)(p[0] & 0xf) * 4;

	p[10] = p[11] = 0;
	inner_put16(p + 10, (uint16_t)~ref_fold(ref_sum(0, p, ihl)));
}

void inner_set_l4_csum(uint8_t *pkt, size_t len, size_t l4, uint8_t proto, size_t at)
{
	uint32_t s;
	uint16_t c;

	pkt[l4 + at] = pkt[l4 + at + 1] = 0;
	s = ref_sum(pseudo_sum(pkt, len - l4, proto), pkt + l4, len - l4);
	c = (uint16_t)~ref_fold(s);
	if (proto == IPPROTO_UDP && c == 0)
		c = 0xffff;
	inner_put16(pkt + l4 + at, c);
}

size_t inner_build(uint8_t *pkt, size_t cap, const char *src, const char *dst, uint8_t proto,
		   uint16_t sport, uint16_t dport, uint8_t type, size_t payload)
{
	bool v6 = strchr(src, ':') != NULL;
	size_t l3 = v6 ? 40 : 20, l4h = proto == IPPROTO_TCP ? 20 : 8, len = l3 + l4h + payload;
	uint8_t *l4 = pkt + l3;

	FUZZ_CHECK(len <= cap && len <= 65535);
	memset(pkt, 0, l3 + l4h);
	for (size_t i = l3 + l4h; i < len; i++)
		pkt[i] = (uint8_t)(i * 31);
	if (v6) {
		pkt[0] = 0x60;
		inner_put16(pkt + 4, (uint16_t)(len - 40));
		pkt[6] = proto;
		pkt[7] = 64;
		FUZZ_CHECK(inet_pton(AF_INET6, src, pkt + 8) == 1);
		FUZZ_CHECK(inet_pton(AF_INET6, dst, pkt + 24) == 1);
	} else {
		pkt[0] = 0x45;
		inner_put16(pkt + 2, (uint16_t)len);
		inner_put16(pkt + 4, 0x1234);
		pkt[6] = 0x40; /* DF */
		pkt[8] = 64;
		pkt[9] = proto;
		FUZZ_CHECK(inet_pton(AF_INET, src, pkt + 12) == 1);
		FUZZ_CHECK(inet_pton(AF_INET, dst, pkt + 16) == 1);
		inner_set_ipv4_csum(pkt);
	}
	if (proto == IPPROTO_TCP) {
		inner_put16(l4, sport);
		inner_put16(l4 + 2, dport);
		inner_put32(l4 + 4, 0x10000000);
		inner_put32(l4 + 8, 0x20000000);
		l4[12] = 5 << 4;
		l4[13] = 0x10; /* ACK */
		inner_put16(l4 + 14, 502);
		inner_set_l4_csum(pkt, len, l3, proto, 16);
	} else if (proto == IPPROTO_UDP) {
		inner_put16(l4, sport);
		inner_put16(l4 + 2, dport);
		inner_put16(l4 + 4, (uint16_t)(len - l3));
		inner_set_l4_csum(pkt, len, l3, proto, 6);
	} else {
		l4[0] = type;
		inner_put16(l4 + 4, sport); /* identifier */
		inner_put16(l4 + 6, dport); /* sequence */
		if (v6) {
			inner_set_l4_csum(pkt, len, l3, proto, 2);
		} else {
			l4[2] = l4[3] = 0;
			inner_put16(l4 + 2, (uint16_t)~ref_fold(ref_sum(0, l4, len - l3)));
		}
	}
	return len;
}
