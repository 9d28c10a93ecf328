// SPDX-License-Identifier: BSD-3-Clause
/*
 * make-corpus's seeds for fuzz_inner (format: fuzz_inner.c): valid TCP, UDP
 * and ICMP packets over IPv4 and IPv6, runs of TCP segments that coalesce,
 * TSO/USO super-packets with their virtio-net headers, ICMP errors and our
 * own datagrams.
 */
#include <netinet/in.h>
#include <string.h>

#include "fuzz_inner.h"
#include "inner_seeds.h"
#include "offload.h"

#define SEED_MAX (128 * 1024)

struct seed {
	uint8_t buf[SEED_MAX];
	size_t len;
};

static struct seed S;
static uint8_t pkt[65536];

static void put(const void *data, size_t n)
{
	FUZZ_CHECK(S.len + n <= SEED_MAX);
	memcpy(S.buf + S.len, data, n);
	S.len += n;
}

static void put8(uint8_t v)
{
	put(&v, 1);
}

static void put16le(uint16_t v)
{
	uint8_t b[2] = { (uint8_t)v, (uint8_t)(v >> 8) };

	put(b, 2);
}

/* A packet given in full, or only its first `given` bytes (the pattern
 * makes the rest). */
static void put_pkt(size_t len, size_t given)
{
	put16le((uint16_t)len);
	put(pkt, given < len ? given : len);
}

static void emit(inner_seed_writer write, const char *name)
{
	write("fuzz_inner", name, S.buf, S.len);
	S.len = 0;
}

/* A batch: one TCP segment, `more` segments following it, then other
 * packets, segments of the first flow after them. */
static void coalesce(const char *src, const char *dst, size_t mss, unsigned more)
{
	size_t len = inner_build(pkt, sizeof(pkt), src, dst, IPPROTO_TCP, 40000, 443, 0, mss);

	put8(INNER_COALESCE);
	put8((uint8_t)(more + 5));
	put8(0);
	put_pkt(len, len);
	for (unsigned i = 0; i < more; i++) {
		put8(INNER_FOLLOW);
		put16le((uint16_t)mss);
	}
	len = inner_build(pkt, sizeof(pkt), src, dst, IPPROTO_UDP, 5353, 53, 0, 100);
	put8(0);
	put_pkt(len, len);
	put8(INNER_FOLLOW | 0x10); /* after the last TCP segment */
	put16le((uint16_t)mss);
	put8(INNER_FOLLOW | 0x08); /* PSH: the end */
	put16le((uint16_t)(mss / 2));
	len = inner_build(pkt, sizeof(pkt), src, dst, IPPROTO_TCP, 40001, 443, 0, 0);
	put8(0);
	put_pkt(len, len);
}

/* A batch of whole segments of one flow in sequence, given byte by byte
 * (for the fuzzer to change any field of any of them). */
static void coalesce_raw(const char *src, const char *dst, size_t mss, unsigned count)
{
	size_t l4 = strchr(src, ':') ? 40 : 20, len = 0;

	put8(INNER_COALESCE);
	put8((uint8_t)count);
	for (unsigned i = 0; i < count; i++) {
		len = inner_build(pkt, sizeof(pkt), src, dst, IPPROTO_TCP, 40000, 443, 0, mss);
		inner_put32(pkt + l4 + 4, 0x10000000 + (uint32_t)(i * mss));
		if (l4 == 20) {
			inner_put16(pkt + 4, (uint16_t)(0x1234 + i));
			inner_set_ipv4_csum(pkt);
		}
		inner_set_l4_csum(pkt, len, l4, IPPROTO_TCP, 16);
		put8(0);
		put_pkt(len, len);
	}
}

/* A super-packet read from the TUN, with its header. */
static void split(uint8_t gso_type, bool partial, const char *src, const char *dst,
		  uint8_t proto, size_t payload, uint16_t gso_size)
{
	size_t len = inner_build(pkt, sizeof(pkt), src, dst, proto, 40000, 443, 0, payload);
	size_t l4 = strchr(src, ':') ? 40 : 20;

	put8(INNER_SPLIT);
	put8(partial ? VIRTIO_NET_HDR_F_NEEDS_CSUM : 0);
	put8(gso_type);
	put16le((uint16_t)(l4 + (proto == IPPROTO_TCP ? 20 : 8)));
	put16le(gso_size);
	put16le(partial ? (uint16_t)l4 : 0);
	put16le(partial ? (proto == IPPROTO_TCP ? 16 : 6) : 0);
	put8(0);
	put_pkt(len, l4 + 64); /* the rest: the target's pattern */
}

static void icmp(const char *src, const char *dst, uint8_t proto, uint8_t type, size_t payload,
		 uint8_t dt)
{
	size_t len = inner_build(pkt, sizeof(pkt), src, dst, proto, 7, 1, type, payload);

	put8(INNER_ICMP);
	put8(dt);
	put_pkt(len, len);
}

static void loop(uint16_t port, const char *src, const char *dst, uint16_t dport)
{
	size_t len = inner_build(pkt, sizeof(pkt), src, dst, IPPROTO_UDP, port, dport, 0, 32);

	put8(INNER_LOOP);
	put16le(port);
	put_pkt(len, len);
}

void inner_seeds(inner_seed_writer write)
{
	coalesce("10.0.0.1", "10.0.0.2", 1368, 12);
	emit(write, "gen-coalesce-v4");
	coalesce("fd00::1", "fd00::2", 1348, 8);
	emit(write, "gen-coalesce-v6");
	coalesce("10.0.0.1", "10.0.0.2", 100, 70); /* more than a super-packet takes */
	emit(write, "gen-coalesce-many");
	coalesce_raw("10.0.0.1", "10.0.0.2", 200, 4);
	coalesce_raw("fd00::1", "fd00::2", 120, 3);
	emit(write, "gen-coalesce-raw");

	split(VIRTIO_NET_HDR_GSO_TCPV4, true, "10.0.0.1", "10.0.0.2", IPPROTO_TCP, 20000, 1448);
	emit(write, "gen-tso4");
	split(VIRTIO_NET_HDR_GSO_TCPV6, true, "fd00::1", "fd00::2", IPPROTO_TCP, 9000, 1428);
	emit(write, "gen-tso6");
	split(VIRTIO_NET_HDR_GSO_UDP_L4, true, "10.0.0.1", "10.0.0.2", IPPROTO_UDP, 5000, 1200);
	split(VIRTIO_NET_HDR_GSO_UDP_L4, true, "fd00::1", "fd00::2", IPPROTO_UDP, 3000, 1000);
	emit(write, "gen-uso");
	split(VIRTIO_NET_HDR_GSO_NONE, true, "10.0.0.1", "10.0.0.2", IPPROTO_UDP, 300, 0);
	split(VIRTIO_NET_HDR_GSO_NONE, false, "fd00::1", "fd00::2", IPPROTO_TCP, 10, 0);
	emit(write, "gen-whole");

	icmp("10.0.0.1", "10.9.9.9", IPPROTO_TCP, 0, 100, 0);
	icmp("10.0.0.1", "10.9.9.9", IPPROTO_UDP, 0, 1400, 1);
	icmp("10.0.0.1", "10.9.9.9", IPPROTO_ICMP, 8, 56, 1);  /* echo request */
	icmp("10.0.0.1", "10.9.9.9", IPPROTO_ICMP, 3, 28, 1);  /* an error: none */
	emit(write, "gen-icmp-v4");
	icmp("fd00::1", "fd00::99", IPPROTO_TCP, 0, 100, 0);
	icmp("fd00::1", "fd00::99", IPPROTO_UDP, 0, 1400, 1);
	icmp("fd00::1", "fd00::99", IPPROTO_ICMPV6, 128, 56, 1); /* echo request */
	icmp("fd00::1", "fd00::99", IPPROTO_ICMPV6, 1, 48, 1);   /* an error: none */
	emit(write, "gen-icmp-v6");

	loop(INNER_LOOP_PORT, "10.0.0.1", "192.0.2.1", INNER_LOOP_PORT);
	loop(INNER_LOOP_PORT, "fd00::1", "2001:db8::1", INNER_LOOP_PORT + 1);
	loop(INNER_LOOP_PORT, "10.0.0.1", "198.51.100.7", INNER_LOOP_PORT);
	loop(INNER_LOOP_PORT, "10.0.0.1", "192.0.2.9", INNER_LOOP_PORT); /* not an endpoint */
	emit(write, "gen-loop");

	coalesce("10.0.0.1", "10.0.0.2", 500, 3);
	split(VIRTIO_NET_HDR_GSO_TCPV4, true, "10.0.0.1", "10.0.0.2", IPPROTO_TCP, 3000, 1000);
	icmp("10.0.0.1", "10.9.9.9", IPPROTO_TCP, 0, 40, 0);
	loop(INNER_LOOP_PORT, "10.0.0.1", "192.0.2.1", INNER_LOOP_PORT);
	emit(write, "gen-mixed");
}
