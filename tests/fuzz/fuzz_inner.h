/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fuzz_inner: decrypted inner packets (and packets read from the TUN)
 * through the agent's packet code: coalescing for TUN writes, super-packet
 * splitting, ICMP errors, the routing-loop guard. The input format is
 * described at the top of fuzz_inner.c; the record kinds and the packet
 * helpers are shared here with the parts of the target and with the seeds
 * make-corpus writes (inner_seeds.c).
 */
#ifndef ALTUNTUN_FUZZ_INNER_H
#define ALTUNTUN_FUZZ_INNER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fuzz_common.h"

/* Record kinds: the selector byte modulo INNER_KINDS. */
enum {
	INNER_COALESCE = 0,
	INNER_SPLIT = 1,
	INNER_ICMP = 2,
	INNER_LOOP = 3,
	INNER_KINDS = 4,
};

#define INNER_MAX_RECORDS 64
#define INNER_BATCH_MAX 128            /* packets in one coalescing batch */
#define INNER_BATCH_BYTES (1u << 20)   /* and bytes: the rest is skipped */
/* Coalescing: a packet mode >= 0x80 is the TCP segment following packet
 * i - 1 - INNER_FOLLOW_BACK(mode), with its flags XORed with
 * (mode & INNER_FOLLOW_FLAGS). */
#define INNER_FOLLOW 0x80
#define INNER_FOLLOW_BACK(mode) (((mode) >> 4) & 7)
#define INNER_FOLLOW_FLAGS 0x0f
/* Splitting: the option byte. */
#define INNER_SPLIT_EXTRA 0x1f /* bytes added to the 16-bit length */
#define INNER_SPLIT_SHORT 0x20 /* first offer an output buffer one byte short */
/* The ICMP record's clock step, per unit of its dt byte. */
#define INNER_ICMP_STEP_NS 50000000ull
/* The loop-guard record's device (fuzz_inner.c): peer endpoints. */
#define INNER_LOOP_PORT 51820

/* Big-endian fields. */
uint16_t inner_be16(const uint8_t *p);
uint32_t inner_be32(const uint8_t *p);
void inner_put16(uint8_t *p, uint16_t v);
void inner_put32(uint8_t *p, uint32_t v);

/* A malloc'ed packet of exactly len bytes (at least one allocated): the
 * input's bytes, then a pattern where it runs short. */
uint8_t *inner_take_packet(struct fuzz_reader *r, size_t len);

/* Checksums, computed with tests/unit/ref_csum.c, not with offload.c. */
bool inner_ipv4_header_ok(const uint8_t *p, size_t len);
/* The TCP/UDP/ICMPv6 checksum of pkt[l4..len) with the pseudo-header of
 * the IPv4 or IPv6 header at pkt (version from pkt[0]) and protocol proto. */
bool inner_l4_csum_ok(const uint8_t *pkt, size_t len, size_t l4, uint8_t proto);
/* Stores the right checksum: IPv4 header; transport at l4 + at. */
void inner_set_ipv4_csum(uint8_t *p);
void inner_set_l4_csum(uint8_t *pkt, size_t len, size_t l4, uint8_t proto, size_t at);

/*
 * Builds a valid IPv4 or IPv6 packet (family from the text addresses) of
 * protocol proto (TCP with a 20-byte header, flags ACK; UDP; ICMP/ICMPv6
 * with `type`) and `payload` bytes of pattern into pkt; returns its length.
 */
size_t inner_build(uint8_t *pkt, size_t cap, const char *src, const char *dst, uint8_t proto,
		   uint16_t sport, uint16_t dport, uint8_t type, size_t payload);

/* The parts of the target: one record each, reading from r. */
void inner_coalesce(struct fuzz_reader *r);
void inner_split(struct fuzz_reader *r);
/* A fresh rate limiter and clock, for every input. */
void inner_icmp_reset(void);
void inner_icmp(struct fuzz_reader *r);
void inner_loop(struct fuzz_reader *r);
/* The loop guard's device with its peers: once. */
void inner_loop_init(void);

#endif
