/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Shared by the fuzz targets and tests/fuzz/make-corpus.c: a deterministic
 * random source for libsodium (so a device given the same calls at the same
 * fake times answers with the same bytes, and a seed recorded by make-corpus
 * replays exactly), fixed keys, and a reader that splits the fuzzer's input.
 */
#ifndef ALTUNTUN_FUZZ_COMMON_H
#define ALTUNTUN_FUZZ_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "altuntun.h"

#define FUZZ_NS_PER_SEC 1000000000ULL
/* Where the fake clocks start (any value far from zero will do). */
#define FUZZ_START_MONO (1000 * FUZZ_NS_PER_SEC)
#define FUZZ_START_WALL (1700000000ULL * FUZZ_NS_PER_SEC)

/* Aborts (a crash the fuzzer reports) when an invariant does not hold. */
#define FUZZ_CHECK(cond)                                               \
	do {                                                           \
		if (!(cond))                                           \
			fuzz_fail(__FILE__, __LINE__, #cond);          \
	} while (0)

void fuzz_fail(const char *file, int line, const char *what) __attribute__((noreturn));

/*
 * Installs the deterministic random source and initialises the library;
 * aborts on failure. Call once, first.
 */
void fuzz_init(void);

/* One stream of pseudo-random bytes; randombytes_*() read the current one. */
struct fuzz_rng {
	uint64_t state;
};

void fuzz_rng_seed(struct fuzz_rng *rng, uint64_t seed);
/* Makes rng the stream libsodium draws from (NULL: a private default). */
void fuzz_rng_use(struct fuzz_rng *rng);

/* Fixed key pair number `id` (any small integer). */
void fuzz_key(unsigned id, uint8_t priv[ALTUNTUN_KEY_LEN], uint8_t pub[ALTUNTUN_KEY_LEN]);

/* Fills an endpoint with an IPv4 (a.b.c.d as one host-order word) or IPv6
 * address (16 bytes) and port. */
void fuzz_endpoint4(struct altuntun_endpoint *ep, uint32_t addr, uint16_t port);
void fuzz_endpoint6(struct altuntun_endpoint *ep, const uint8_t addr[16], uint16_t port);
/* Sets an endpoint's address on a peer; aborts on failure. */
void fuzz_peer_set_endpoint(altuntun_peer *peer, const struct altuntun_endpoint *ep);
/* Adds a prefix written as "10.0.0.0/8" or "fd00::/64"; aborts on failure. */
void fuzz_allow(altuntun_device *dev, altuntun_peer *peer, const char *prefix);

/* Consumes the fuzzer input front to back. */
struct fuzz_reader {
	const uint8_t *p;
	size_t left;
};

uint8_t fuzz_take_u8(struct fuzz_reader *r);
/* Little endian; missing bytes read as zero. */
uint16_t fuzz_take_u16(struct fuzz_reader *r);
/* Up to n bytes; *got says how many were there. */
const uint8_t *fuzz_take(struct fuzz_reader *r, size_t n, size_t *got);

/* The time a byte of input advances the clock by: 0-127 in steps of 10 ms
 * (up to 1.27 s), 128-255 in seconds (1 to 128 s), so that both the
 * handshake rate limits and the session timers (120 s, 180 s) are in reach. */
uint64_t fuzz_delay_ns(uint8_t b);

/*
 * fuzz_send's input, records of
 *
 *   len:u16le mtu:u16le mode:u8 data
 *
 * each an inner packet of `len` bytes (data, padded with a pattern when the
 * input runs short) sent with MTU `mtu` (0: none) from a buffer whose
 * tailroom is ALTUNTUN_TAILROOM + (mode & SEND_MODE_SLACK), or only
 * (mode & SEND_MODE_SLACK) bytes with SEND_MODE_SHORT_TAIL.
 * Routes of the sender: 0.0.0.0/1 and ::/1 to peer B (established session),
 * 128.0.0.0/2 and 8000::/2 to peer C (no session), the rest nowhere.
 */
#define SEND_RECORD_HEADER 5
#define SEND_MODE_SLACK 0x1f
#define SEND_MODE_SHORT_TAIL 0x20
#define SEND_MODE_BATCH 0x40 /* through altuntun_send_batch() */
/* Through the split data path, on both sides: altuntun_send_prepare() and
 * altuntun_crypt_seal(), altuntun_receive_prepare(), _crypt_open(), _finish(). */
#define SEND_MODE_SPLIT 0x80

/* Writes a minimal IPv4 or IPv6 packet of len bytes (len >= 20 or 40). */
void fuzz_ipv4_packet(uint8_t *pkt, size_t len, const uint8_t src[4], const uint8_t dst[4]);
void fuzz_ipv6_packet(uint8_t *pkt, size_t len, const uint8_t src[16], const uint8_t dst[16]);

#endif
