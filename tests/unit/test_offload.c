// SPDX-License-Identifier: BSD-3-Clause
/*
 * Userspace offloads (src/agent/offload.c): TSO/USO super-packets split into
 * segments whose checksums are checked with an independent, byte-by-byte
 * checksum routine; partial checksums completed; TCP segments coalesced and
 * split again.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>

#include "agent.h"
#include "offload.h"
#include "options.h"
#include "ref_csum.h"
#include "test.h"

/* True when the IPv4 header checksum is right. */
static bool ipv4_header_ok(const uint8_t *p)
{
	size_t ihl = (size_t)(p[0] & 0xf) * 4;

	return ref_fold(ref_sum(0, p, ihl)) == 0xffff;
}

/* True when the TCP/UDP checksum of the packet is right (no IPv6
 * extension headers). */
static bool l4_csum_ok(const uint8_t *p, size_t len)
{
	uint8_t pseudo[40] = { 0 };
	size_t plen, l4;
	uint8_t proto;

	if (p[0] >> 4 == 4) {
		l4 = (size_t)(p[0] & 0xf) * 4;
		proto = p[9];
		memcpy(pseudo, p + 12, 8);
		pseudo[9] = proto;
		pseudo[10] = (uint8_t)((len - l4) >> 8);
		pseudo[11] = (uint8_t)(len - l4);
		plen = 12;
	} else {
		l4 = 40;
		proto = p[6];
		memcpy(pseudo, p + 8, 32);
		pseudo[34] = (uint8_t)((len - l4) >> 8);
		pseudo[35] = (uint8_t)(len - l4);
		pseudo[39] = proto;
		plen = 40;
	}
	if (proto == IPPROTO_UDP && p[l4 + 6] == 0 && p[l4 + 7] == 0)
		return false; /* we always fill it in */
	return ref_fold(ref_sum(ref_sum(0, pseudo, plen), p + l4, len - l4)) == 0xffff;
}

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

static uint32_t rnd_state = 12345;

static uint8_t rnd8(void)
{
	rnd_state = rnd_state * 1103515245u + 12345u;
	return (uint8_t)(rnd_state >> 16);
}

/* ---- building packets ---- */

#define TSO_OPT_LEN 12 /* NOP NOP timestamps */

/* Sequence number of the first payload byte of make_tcp(); the default
 * wraps within a large packet. */
static uint32_t tcp_seq0 = 0xfffff000u;

/*
 * A TCP super-packet as the kernel hands it to a TUN with TSO: headers,
 * `payload` bytes, the checksum field holding the pseudo-header sum only.
 * Returns its length; *h gets the virtio header.
 */
static size_t make_tcp(uint8_t *p, int family, size_t payload, uint8_t flags, uint16_t mss,
		       struct virtio_net_hdr *h)
{
	size_t l4 = family == AF_INET ? 20 : 40, thl = 20 + TSO_OPT_LEN, len = l4 + thl + payload;
	uint64_t sum;

	memset(p, 0, l4 + thl);
	if (family == AF_INET) {
		p[0] = 0x45;
		put16(p + 2, (uint16_t)len);
		put16(p + 4, 0x1234);
		p[6] = 0x40; /* DF */
		p[8] = 64;
		p[9] = IPPROTO_TCP;
		memcpy(p + 12, "\x0a\x00\x00\x01\x0a\x00\x00\x02", 8);
		put16(p + 10, (uint16_t)~ref_fold(ref_sum(0, p, 20)));
	} else {
		p[0] = 0x60;
		put16(p + 4, (uint16_t)(len - 40));
		p[6] = IPPROTO_TCP;
		p[7] = 64;
		for (int i = 0; i < 16; i++) {
			p[8 + i] = (uint8_t)(0xfd + i);
			p[24 + i] = (uint8_t)(0xfd + 2 * i);
		}
	}
	put16(p + l4, 40000);
	put16(p + l4 + 2, 5201);
	put32(p + l4 + 4, tcp_seq0);
	put32(p + l4 + 8, 0x01020304);
	p[l4 + 12] = (uint8_t)((thl / 4) << 4);
	p[l4 + 13] = flags;
	put16(p + l4 + 14, 502);
	memcpy(p + l4 + 20, "\x01\x01\x08\x0a\x11\x22\x33\x44\x55\x66\x77\x88", TSO_OPT_LEN);
	for (size_t i = 0; i < payload; i++)
		p[l4 + thl + i] = rnd8();
	/* What the kernel leaves there: the folded pseudo-header sum. */
	sum = csum_pseudo(family, family == AF_INET ? p + 12 : p + 8,
			  family == AF_INET ? p + 16 : p + 24, IPPROTO_TCP, (uint32_t)(len - l4));
	{
		uint16_t c = csum_fold(sum);

		memcpy(p + l4 + 16, &c, 2);
	}
	memset(h, 0, sizeof(*h));
	h->flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	h->gso_type = family == AF_INET ? VIRTIO_NET_HDR_GSO_TCPV4 : VIRTIO_NET_HDR_GSO_TCPV6;
	if (flags & 0x80)
		h->gso_type |= VIRTIO_NET_HDR_GSO_ECN;
	h->hdr_len = (uint16_t)len; /* deliberately useless, as the kernel may give */
	h->gso_size = mss;
	h->csum_start = (uint16_t)l4;
	h->csum_offset = 16;
	return len;
}

static size_t make_udp(uint8_t *p, int family, size_t payload, uint16_t gso,
		       struct virtio_net_hdr *h)
{
	size_t l4 = family == AF_INET ? 20 : 40, len = l4 + 8 + payload;
	uint64_t sum;
	uint16_t c;

	memset(p, 0, l4 + 8);
	if (family == AF_INET) {
		p[0] = 0x45;
		put16(p + 2, (uint16_t)len);
		put16(p + 4, 0xfffe); /* the ID wraps */
		p[8] = 64;
		p[9] = IPPROTO_UDP;
		memcpy(p + 12, "\xc0\xa8\x01\x01\xc0\xa8\x01\x02", 8);
	} else {
		p[0] = 0x60;
		put16(p + 4, (uint16_t)(len - 40));
		p[6] = IPPROTO_UDP;
		p[7] = 64;
		p[8] = 0xfe;
		p[24] = 0xfe;
		p[39] = 2;
	}
	put16(p + l4, 1111);
	put16(p + l4 + 2, 2222);
	put16(p + l4 + 4, (uint16_t)(len - l4));
	for (size_t i = 0; i < payload; i++)
		p[l4 + 8 + i] = rnd8();
	sum = csum_pseudo(family, family == AF_INET ? p + 12 : p + 8,
			  family == AF_INET ? p + 16 : p + 24, IPPROTO_UDP, (uint32_t)(len - l4));
	c = csum_fold(sum);
	memcpy(p + l4 + 6, &c, 2);
	memset(h, 0, sizeof(*h));
	h->flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	h->gso_type = gso ? VIRTIO_NET_HDR_GSO_UDP_L4 : VIRTIO_NET_HDR_GSO_NONE;
	h->hdr_len = (uint16_t)(l4 + 8);
	h->gso_size = gso;
	h->csum_start = (uint16_t)l4;
	h->csum_offset = 6;
	return len;
}

static uint8_t super[70000], seg_buf[GRO_MAX_PACKETS][2048], joined[70000];
static size_t seg_len[GRO_MAX_PACKETS];

/* ---- tests ---- */

TEST(offload_csum_matches_reference)
{
	uint8_t data[3001];

	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = rnd8();
	for (size_t len = 0; len <= sizeof(data); len += (len < 80 ? 1 : 97)) {
		uint16_t mine = csum_fold(csum_add(0, data, len)), ref = ref_fold(ref_sum(0, data, len));

		/* Native order vs big-endian words: compare as stored bytes. */
		uint8_t stored[2];

		memcpy(stored, &mine, 2);
		if (ref == 0xffff && be16(stored) == 0)
			continue; /* the same one's complement value */
		CHECK_EQ(be16(stored), ref);
		/* In even pieces, then the rest. */
		for (size_t cut = 0; cut <= len; cut += 38) {
			uint16_t two = csum_fold(csum_add(csum_add(0, data, cut), data + cut, len - cut));

			CHECK_EQ(two, mine);
		}
	}
	/* Many 0xff bytes: carries all the way. */
	memset(data, 0xff, sizeof(data));
	{
		uint16_t c = csum_fold(csum_add(0, data, 3000));

		CHECK(c == 0xffff || c == 0);
	}
}

static void check_tcp_split(int family, size_t payload, uint16_t mss, uint8_t flags)
{
	struct virtio_net_hdr h;
	struct gso_iter it;
	size_t len = make_tcp(super, family, payload, flags, mss, &h);
	size_t l4 = family == AF_INET ? 20 : 40, hl = l4 + 20 + TSO_OPT_LEN, got = 0;
	int n = gso_begin(&it, &h, super, len);
	int expect = (int)((payload + mss - 1) / mss);
	long sl;

	CHECK_EQ(n, expect ? expect : 1);
	CHECK_EQ(gso_max_packet(&it), hl + (payload < mss ? payload : mss));
	for (int i = 0; i < n; i++) {
		uint8_t *s = seg_buf[i];
		bool last = i == n - 1;

		sl = gso_next(&it, s, sizeof(seg_buf[i]));
		CHECK(sl > 0);
		CHECK((size_t)sl <= hl + mss);
		CHECK(last || (size_t)sl == hl + mss);
		if (family == AF_INET) {
			CHECK_EQ(be16(s + 2), sl);
			CHECK_EQ(be16(s + 4), (uint16_t)(0x1234 + i));
			CHECK(ipv4_header_ok(s));
		} else {
			CHECK_EQ(be16(s + 4) + 40, sl);
		}
		CHECK(l4_csum_ok(s, (size_t)sl));
		CHECK_EQ(be32(s + l4 + 4), (uint32_t)(0xfffff000u + i * mss));
		CHECK_EQ(be32(s + l4 + 8), 0x01020304);
		CHECK_EQ(s[l4 + 13] & 0x09, last ? (flags & 0x09) : 0); /* FIN, PSH */
		CHECK_EQ(s[l4 + 13] & 0x80, i == 0 ? (flags & 0x80) : 0); /* CWR */
		CHECK_EQ(s[l4 + 13] & 0x10, 0x10);
		CHECK_MEM(s + l4 + 20, super + l4 + 20, TSO_OPT_LEN);
		memcpy(joined + got, s + hl, (size_t)sl - hl);
		got += (size_t)sl - hl;
	}
	CHECK_EQ(gso_next(&it, seg_buf[0], sizeof(seg_buf[0])), 0);
	CHECK_EQ(got, payload);
	CHECK_MEM(joined, super + hl, payload);
}

TEST(offload_tso4_split)
{
	check_tcp_split(AF_INET, 65000, 1368, 0x18);
	check_tcp_split(AF_INET, 1368 * 3, 1368, 0x19);
	check_tcp_split(AF_INET, 1367, 1368, 0x18); /* one segment, still GSO */
	check_tcp_split(AF_INET, 5001, 1000, 0x90); /* CWR on the first only */
	check_tcp_split(AF_INET, 777, 1, 0x18);
}

TEST(offload_tso6_split)
{
	check_tcp_split(AF_INET6, 64000, 1348, 0x18);
	check_tcp_split(AF_INET6, 3 * 1348 + 1, 1348, 0x11);
	check_tcp_split(AF_INET6, 9999, 1348, 0x90);
}

static void check_udp_split(int family, size_t payload, uint16_t gso)
{
	struct virtio_net_hdr h;
	struct gso_iter it;
	size_t len = make_udp(super, family, payload, gso, &h);
	size_t l4 = family == AF_INET ? 20 : 40, hl = l4 + 8, got = 0;
	int n = gso_begin(&it, &h, super, len);

	CHECK_EQ(n, (int)((payload + gso - 1) / gso));
	for (int i = 0; i < n; i++) {
		uint8_t *s = seg_buf[i];
		long sl = gso_next(&it, s, sizeof(seg_buf[i]));

		CHECK(sl > 0);
		CHECK_EQ(be16(s + l4 + 4), sl - (long)l4);
		if (family == AF_INET) {
			CHECK_EQ(be16(s + 4), (uint16_t)(0xfffe + i));
			CHECK(ipv4_header_ok(s));
		}
		CHECK(l4_csum_ok(s, (size_t)sl));
		memcpy(joined + got, s + hl, (size_t)sl - hl);
		got += (size_t)sl - hl;
	}
	CHECK_EQ(got, payload);
	CHECK_MEM(joined, super + hl, payload);
}

TEST(offload_uso_split)
{
	check_udp_split(AF_INET, 60000, 1392);
	check_udp_split(AF_INET, 1392 * 2, 1392);
	check_udp_split(AF_INET6, 30001, 1000);
}

TEST(offload_partial_checksum_completed)
{
	struct virtio_net_hdr h;
	struct gso_iter it;
	uint8_t out[2048];
	size_t len;

	/* UDP without GSO, checksum left partial. */
	len = make_udp(super, AF_INET, 1000, 0, &h);
	CHECK(!l4_csum_ok(super, len));
	CHECK_EQ(gso_begin(&it, &h, super, len), 1);
	CHECK_EQ(gso_next(&it, out, sizeof(out)), (long)len);
	CHECK(l4_csum_ok(out, len));
	CHECK_EQ(gso_next(&it, out, sizeof(out)), 0);
	/* In place. */
	CHECK_EQ(vnet_complete_csum(&h, super, len), 0);
	CHECK(l4_csum_ok(super, len));
	/* A TCP packet without GSO. */
	len = make_tcp(super, AF_INET6, 1001, 0x18, 1400, &h);
	h.gso_type = VIRTIO_NET_HDR_GSO_NONE;
	CHECK_EQ(vnet_complete_csum(&h, super, len), 0);
	CHECK(l4_csum_ok(super, len));
	/* A header pointing outside. */
	h.csum_start = (uint16_t)len;
	CHECK_EQ(vnet_complete_csum(&h, super, len), -EINVAL);
	/* No flags: passed as it is. */
	memset(&h, 0, sizeof(h));
	CHECK_EQ(gso_begin(&it, &h, super, 100), 1);
	CHECK_EQ(gso_next(&it, out, sizeof(out)), 100);
	CHECK_MEM(out, super, 100);
	CHECK_EQ(gso_next(&it, out, 50), 0);
}

TEST(offload_gso_rejects_garbage)
{
	struct virtio_net_hdr h;
	struct gso_iter it;
	size_t len = make_tcp(super, AF_INET, 5000, 0x10, 1000, &h);
	struct virtio_net_hdr bad;

	bad = h;
	bad.gso_size = 0;
	CHECK_EQ(gso_begin(&it, &bad, super, len), -EINVAL);
	bad = h;
	bad.gso_type = VIRTIO_NET_HDR_GSO_TCPV6;
	CHECK_EQ(gso_begin(&it, &bad, super, len), -EINVAL);
	bad = h;
	bad.gso_type = VIRTIO_NET_HDR_GSO_UDP;
	CHECK_EQ(gso_begin(&it, &bad, super, len), -EPROTONOSUPPORT);
	bad = h;
	bad.csum_start = 24;
	CHECK_EQ(gso_begin(&it, &bad, super, len), -EINVAL);
	CHECK_EQ(gso_begin(&it, &h, super, 30), -EINVAL); /* TCP header cut */
	CHECK_EQ(gso_begin(&it, &h, super, 10), -EINVAL);
	CHECK_EQ(gso_begin(&it, &h, super, len), 5);
	CHECK_EQ(gso_next(&it, seg_buf[0], 100), -ENOSPC);
}

/* Headers longer than any the kernel makes would be copied into each of up
 * to 64 K segments: refused (seen by fuzz_inner: 10 s for one 18-byte
 * input, a 38 KB "header" and gso_size 1). */
TEST(offload_gso_refuses_overlong_headers)
{
	struct virtio_net_hdr h;
	struct gso_iter it;
	size_t len = make_udp(super, AF_INET6, 4000, 1, &h);

	/* The transport header where IPv6 extension headers would end. */
	h.csum_start = (uint16_t)(GSO_MAX_HEADER - 8);
	CHECK_EQ(gso_begin(&it, &h, super, len), (int)(len - GSO_MAX_HEADER));
	h.csum_start = (uint16_t)(GSO_MAX_HEADER - 7);
	CHECK_EQ(gso_begin(&it, &h, super, len), -EINVAL);
	h.csum_start = 38000;
	CHECK_EQ(gso_begin(&it, &h, super, len), -EINVAL);
}

/* Splits a super-packet into seg_buf[]; returns the count. */
static size_t split(int family, size_t payload, uint16_t mss, uint8_t flags)
{
	struct virtio_net_hdr h;
	struct gso_iter it;
	size_t len = make_tcp(super, family, payload, flags, mss, &h);
	int n = gso_begin(&it, &h, super, len);

	CHECK(n > 0);
	for (int i = 0; i < n; i++) {
		long sl = gso_next(&it, seg_buf[i], sizeof(seg_buf[i]));

		CHECK(sl > 0);
		seg_len[i] = (size_t)sl;
	}
	return (size_t)n;
}

/* Writes group g of b as one buffer (what the TUN receives), returns its
 * length and the virtio header. */
static size_t flatten(struct gro_batch *b, size_t g, struct virtio_net_hdr *h, uint8_t *out)
{
	struct iovec iov[GRO_MAX_SEGS + 1];
	size_t n = gro_group_iov(b, g, h, iov, GRO_MAX_SEGS + 1), len = 0;

	CHECK(n >= 2);
	CHECK(iov[0].iov_base == h);
	for (size_t i = 1; i < n; i++) {
		memcpy(out + len, iov[i].iov_base, iov[i].iov_len);
		len += iov[i].iov_len;
	}
	return len;
}

static void check_roundtrip(int family, size_t payload, uint16_t mss)
{
	static struct gro_batch b;
	static uint8_t orig[GRO_MAX_SEGS][2048];
	struct virtio_net_hdr h;
	struct gso_iter it;
	size_t n = split(family, payload, mss, 0x18), len;
	size_t l4 = family == AF_INET ? 20 : 40;

	CHECK(n <= GRO_MAX_SEGS);
	gro_init(&b);
	for (size_t i = 0; i < n; i++) {
		memcpy(orig[i], seg_buf[i], seg_len[i]);
		CHECK(gro_add(&b, seg_buf[i], seg_len[i]));
	}
	CHECK_EQ(b.ngroups, 1);
	len = flatten(&b, 0, &h, joined);
	CHECK_EQ(len, l4 + 32 + payload);
	if (n == 1) {
		CHECK_EQ(h.gso_type, VIRTIO_NET_HDR_GSO_NONE);
		CHECK_EQ(h.flags, 0);
		CHECK_MEM(joined, orig[0], seg_len[0]);
		return;
	}
	CHECK_EQ(h.gso_type, family == AF_INET ? VIRTIO_NET_HDR_GSO_TCPV4 : VIRTIO_NET_HDR_GSO_TCPV6);
	CHECK_EQ(h.flags, VIRTIO_NET_HDR_F_NEEDS_CSUM);
	CHECK_EQ(h.gso_size, mss);
	CHECK_EQ(h.hdr_len, l4 + 32);
	CHECK_EQ(h.csum_start, l4);
	CHECK_EQ(h.csum_offset, 16);
	if (family == AF_INET) {
		CHECK_EQ(be16(joined + 2), len);
		CHECK(ipv4_header_ok(joined));
	} else {
		CHECK_EQ(be16(joined + 4) + 40, len);
	}
	CHECK_EQ(joined[l4 + 13], 0x18); /* PSH of the last one */
	/* Split again: the very same segments. */
	CHECK_EQ(gso_begin(&it, &h, joined, len), (int)n);
	for (size_t i = 0; i < n; i++) {
		uint8_t s[2048];

		CHECK_EQ(gso_next(&it, s, sizeof(s)), (long)seg_len[i]);
		CHECK_MEM(s, orig[i], seg_len[i]);
	}
	/* And the partial checksum completes to the right one. */
	CHECK_EQ(vnet_complete_csum(&h, joined, len), 0);
	CHECK(l4_csum_ok(joined, len));
}

TEST(offload_gro_roundtrip)
{
	check_roundtrip(AF_INET, 20 * 1368, 1368);
	check_roundtrip(AF_INET, 20 * 1368 - 5, 1368);
	check_roundtrip(AF_INET6, 30 * 1348 + 7, 1348);
	check_roundtrip(AF_INET, 100, 1368);
	/* The largest that fits 64 KiB. */
	check_roundtrip(AF_INET, 65535 - 52, 1368);
}

TEST(offload_gro_limits_and_order)
{
	static struct gro_batch b;
	struct virtio_net_hdr h;
	size_t n;

	/* More segments than a super-packet takes: 64, then the rest. */
	n = split(AF_INET, 65000, 1000, 0x10);
	gro_init(&b);
	for (size_t i = 0; i < n; i++)
		CHECK(gro_add(&b, seg_buf[i], seg_len[i]));
	CHECK_EQ(b.ngroups, 2);
	CHECK_EQ(b.groups[0].count, GRO_MAX_SEGS);
	CHECK_EQ(b.groups[1].count, n - GRO_MAX_SEGS);
	CHECK_EQ(flatten(&b, 0, &h, joined), b.groups[0].bytes);
	CHECK_EQ(flatten(&b, 1, &h, joined), b.groups[1].bytes);

	/* More bytes than 64 KiB: two super-packets' worth in sequence. */
	{
		static uint8_t first[GRO_MAX_SEGS][2048];
		size_t n1 = split(AF_INET, 30 * 1368, 1368, 0x10), n2;

		for (size_t i = 0; i < n1; i++)
			memcpy(first[i], seg_buf[i], seg_len[i]);
		tcp_seq0 += 30 * 1368;
		n2 = split(AF_INET, 30 * 1368, 1368, 0x10);
		tcp_seq0 = 0xfffff000u;
		gro_init(&b);
		for (size_t i = 0; i < n1; i++)
			CHECK(gro_add(&b, first[i], seg_len[i]));
		for (size_t i = 0; i < n2; i++)
			CHECK(gro_add(&b, seg_buf[i], seg_len[i]));
		CHECK_EQ(b.ngroups, 2);
		CHECK_EQ(b.groups[0].count, (GRO_MAX_LEN - 52) / 1368);
		CHECK(b.groups[0].bytes <= GRO_MAX_LEN);
		CHECK(b.groups[0].bytes + 1368 > GRO_MAX_LEN);
		CHECK_EQ(b.groups[0].count + b.groups[1].count, n1 + n2);
	}

	/* A missing segment (loss): segments after it start a new group. */
	n = split(AF_INET, 10 * 1368, 1368, 0x10);
	gro_init(&b);
	for (size_t i = 0; i < n; i++)
		if (i != 4)
			CHECK(gro_add(&b, seg_buf[i], seg_len[i]));
	CHECK_EQ(b.ngroups, 2);
	CHECK_EQ(b.groups[0].count, 4);
	CHECK_EQ(b.groups[1].count, 5);

	/* A short segment ends a group; a changed ACK, window or TTL too. */
	n = split(AF_INET, 6 * 1000, 1000, 0x10);
	gro_init(&b);
	seg_buf[1][20 + 11] ^= 1;          /* ACK number */
	seg_buf[3][20 + 15] ^= 1;          /* window */
	seg_buf[5][8] = 63;                /* TTL */
	for (size_t i = 0; i < n; i++)
		CHECK(gro_add(&b, seg_buf[i], seg_len[i]));
	CHECK_EQ(b.ngroups, 6);

	/* Two flows interleaved: two groups; a pure ACK of flow 1 between
	 * closes flow 1's group (nothing overtakes it) but not flow 2's. */
	{
		static uint8_t f2[GRO_MAX_SEGS][2048];
		static uint8_t ack[64];
		size_t n2;

		n2 = split(AF_INET, 8 * 1000, 1000, 0x10);
		for (size_t i = 0; i < n2; i++) {
			memcpy(f2[i], seg_buf[i], seg_len[i]);
			put16(f2[i] + 20, 40001); /* another source port */
		}
		n = split(AF_INET, 8 * 1000, 1000, 0x10);
		memcpy(ack, seg_buf[0], 52);
		put16(ack + 2, 52);
		gro_init(&b);
		for (size_t i = 0; i < n; i++) {
			CHECK(gro_add(&b, seg_buf[i], seg_len[i]));
			CHECK(gro_add(&b, f2[i], seg_len[i]));
			if (i == 3)
				CHECK(gro_add(&b, ack, 52));
		}
		CHECK_EQ(b.ngroups, 4);
		CHECK_EQ(b.groups[0].count, 4); /* flow 1, up to the ACK */
		CHECK_EQ(b.groups[1].count, 8); /* flow 2, whole */
		CHECK_EQ(b.groups[2].count, 1); /* the ACK */
		CHECK_EQ(b.groups[3].count, 4); /* flow 1, the rest */
	}

	/* Not TCP, or TCP that never merges (SYN, no payload, IPv4 options). */
	{
		uint8_t udp[100];
		struct virtio_net_hdr uh;
		size_t ul = make_udp(udp, AF_INET, 50, 0, &uh);

		n = split(AF_INET, 3 * 1000, 1000, 0x10);
		gro_init(&b);
		CHECK(gro_add(&b, udp, ul));
		CHECK(gro_add(&b, udp, ul));
		seg_buf[1][20 + 13] |= 0x02;
		for (size_t i = 0; i < n; i++)
			CHECK(gro_add(&b, seg_buf[i], seg_len[i]));
		CHECK_EQ(b.ngroups, 5);
		for (size_t g = 0; g < b.ngroups; g++) {
			size_t fl = flatten(&b, g, &h, joined);

			CHECK_EQ(h.gso_type, VIRTIO_NET_HDR_GSO_NONE);
			CHECK(fl > 0);
		}
	}
}

TEST(offload_gro_batch_full)
{
	static struct gro_batch b;
	uint8_t pkt[40] = { 0x45 };

	gro_init(&b);
	for (size_t i = 0; i < GRO_MAX_PACKETS; i++)
		CHECK(gro_add(&b, pkt, sizeof(pkt)));
	CHECK(!gro_add(&b, pkt, sizeof(pkt)));
	CHECK_EQ(b.ngroups, GRO_MAX_PACKETS);
}

/* fuzz_inner found (tests/fuzz/crashes/fuzz_inner-urgent-pointer-lost): a
 * segment whose urgent pointer differed (URG clear) was coalesced, and split
 * again it came back with the first segment's. */
TEST(offload_gro_urgent_pointer_kept)
{
	static struct gro_batch b;
	size_t n = split(AF_INET, 3 * 1000, 1000, 0x10);

	put16(seg_buf[1] + 20 + 18, 1);
	gro_init(&b);
	for (size_t i = 0; i < n; i++)
		CHECK(gro_add(&b, seg_buf[i], seg_len[i]));
	CHECK_EQ(b.ngroups, 3);
	for (size_t g = 0; g < b.ngroups; g++)
		CHECK_EQ(b.groups[g].count, 1);
}

/* fuzz_inner found (tests/fuzz/crashes/fuzz_inner-ack-with-ip-options-
 * overtaken): a TCP packet of the flow that is never coalesced (here an
 * ACK with IPv4 options) did not close the flow's group, so the next
 * segment joined the group and was written before it. */
TEST(offload_gro_odd_tcp_not_overtaken)
{
	static struct gro_batch b;
	uint8_t ack[20 + 4 + 32], udp[100];
	struct virtio_net_hdr uh;
	size_t n = split(AF_INET, 2 * 1000, 1000, 0x10), ul;

	CHECK_EQ(n, 2);
	memcpy(ack, seg_buf[1], 20);
	ack[0] = 0x46;
	put16(ack + 2, sizeof(ack));
	memcpy(ack + 20, "\x01\x01\x01\x00", 4);
	memcpy(ack + 24, seg_buf[1] + 20, 32);
	gro_init(&b);
	CHECK(gro_add(&b, seg_buf[0], seg_len[0]));
	CHECK(gro_add(&b, ack, sizeof(ack)));
	CHECK(gro_add(&b, seg_buf[1], seg_len[1]));
	CHECK_EQ(b.ngroups, 3);
	CHECK(b.groups[0].head == 0 && b.groups[1].head == 1 && b.groups[2].head == 2);

	/* IPv6 with an extension header: the same. */
	n = split(AF_INET6, 2 * 1000, 1000, 0x10);
	memcpy(ack, seg_buf[1], 40);
	ack[6] = 0; /* hop-by-hop options */
	gro_init(&b);
	CHECK(gro_add(&b, seg_buf[0], seg_len[0]));
	CHECK(gro_add(&b, ack, 48));
	CHECK(gro_add(&b, seg_buf[1], seg_len[1]));
	CHECK_EQ(b.ngroups, 3);

	/* UDP between the same addresses closes nothing. */
	n = split(AF_INET, 2 * 1000, 1000, 0x10);
	ul = make_udp(udp, AF_INET, 50, 0, &uh);
	memcpy(udp + 12, seg_buf[0] + 12, 8);
	gro_init(&b);
	CHECK(gro_add(&b, seg_buf[0], seg_len[0]));
	CHECK(gro_add(&b, udp, ul));
	CHECK(gro_add(&b, seg_buf[1], seg_len[1]));
	CHECK_EQ(b.ngroups, 2);
	CHECK_EQ(b.groups[0].count, 2);
}

/* ---- turning offloads off ---- */

TEST(offload_options)
{
	struct agent_options o;
	char err[256];
	char *with[] = { "altuntun-cli", "--no-offload", "wg0", NULL };
	char *without[] = { "altuntun-cli", "wg0", NULL };

	unsetenv("ALTUNTUN_NO_OFFLOAD");
	unsetenv("ALTUNTUN_OFFLOAD_OFF");
	CHECK_EQ(options_parse(&o, 3, with, err, sizeof(err)), OPTIONS_RUN);
	CHECK(o.no_offload);
	CHECK_EQ(datapath_offloads(&o), 0);
	CHECK_EQ(options_parse(&o, 2, without, err, sizeof(err)), OPTIONS_RUN);
	CHECK(!o.no_offload);
	CHECK_EQ(datapath_offloads(&o), DP_OFFLOAD_ALL);
	setenv("ALTUNTUN_NO_OFFLOAD", "1", 1);
	CHECK_EQ(options_parse(&o, 2, without, err, sizeof(err)), OPTIONS_RUN);
	CHECK(o.no_offload);
	unsetenv("ALTUNTUN_NO_OFFLOAD");
	CHECK_EQ(options_parse(&o, 2, without, err, sizeof(err)), OPTIONS_RUN);
	/* One at a time, for measurements; unknown names change nothing. */
	setenv("ALTUNTUN_OFFLOAD_OFF", "gro,coalesce", 1);
	CHECK_EQ(datapath_offloads(&o), DP_OFFLOAD_TSO | DP_OFFLOAD_UDP_GSO);
	setenv("ALTUNTUN_OFFLOAD_OFF", "tso", 1);
	CHECK_EQ(datapath_offloads(&o), DP_OFFLOAD_ALL & ~DP_OFFLOAD_TSO);
	setenv("ALTUNTUN_OFFLOAD_OFF", "xgso,gsox,grow", 1);
	CHECK_EQ(datapath_offloads(&o), DP_OFFLOAD_ALL);
	unsetenv("ALTUNTUN_OFFLOAD_OFF");
}
