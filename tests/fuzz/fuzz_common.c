// SPDX-License-Identifier: BSD-3-Clause
/* Deterministic randomness, fixed keys and input splitting for the fuzzers. */
#include <arpa/inet.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"

void fuzz_fail(const char *file, int line, const char *what)
{
	fprintf(stderr, "%s:%d: invariant failed: %s\n", file, line, what);
	abort();
}

/* ---- random source: SplitMix64, one state per stream ---- */

static struct fuzz_rng default_rng = {0x0123456789abcdefULL};
static struct fuzz_rng *current_rng = &default_rng;

void fuzz_rng_seed(struct fuzz_rng *rng, uint64_t seed)
{
	rng->state = seed;
}

void fuzz_rng_use(struct fuzz_rng *rng)
{
	current_rng = rng ? rng : &default_rng;
}

static uint64_t rng_next(void)
{
	uint64_t z = (current_rng->state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static const char *rng_name(void)
{
	return "altuntun-fuzz-splitmix64";
}

static uint32_t rng_random(void)
{
	return (uint32_t)(rng_next() >> 32);
}

static void rng_buf(void *const buf, const size_t size)
{
	uint8_t *p = buf;

	for (size_t i = 0; i < size; i += 8) {
		uint64_t v = rng_next();
		size_t n = size - i < 8 ? size - i : 8;

		memcpy(p + i, &v, n);
	}
}

static randombytes_implementation fuzz_randombytes = {
	.implementation_name = rng_name,
	.random = rng_random,
	.buf = rng_buf,
};

void fuzz_init(void)
{
	if (randombytes_set_implementation(&fuzz_randombytes) != 0 || altuntun_init() != 0) {
		fprintf(stderr, "fuzz: cannot initialise libsodium\n");
		abort();
	}
}

/* ---- keys and addresses ---- */

void fuzz_key(unsigned id, uint8_t priv[ALTUNTUN_KEY_LEN], uint8_t pub[ALTUNTUN_KEY_LEN])
{
	for (size_t i = 0; i < ALTUNTUN_KEY_LEN; i++)
		priv[i] = (uint8_t)(id * 0x3b + i * 7 + 1);
	priv[0] &= 248;
	priv[31] = (priv[31] & 127) | 64;
	FUZZ_CHECK(altuntun_public_key(pub, priv) == ALTUNTUN_OK);
}

void fuzz_endpoint4(struct altuntun_endpoint *ep, uint32_t addr, uint16_t port)
{
	memset(ep, 0, sizeof(*ep));
	ep->addr.in4.sin_family = AF_INET;
	ep->addr.in4.sin_port = htons(port);
	ep->addr.in4.sin_addr.s_addr = htonl(addr);
}

void fuzz_endpoint6(struct altuntun_endpoint *ep, const uint8_t addr[16], uint16_t port)
{
	memset(ep, 0, sizeof(*ep));
	ep->addr.in6.sin6_family = AF_INET6;
	ep->addr.in6.sin6_port = htons(port);
	memcpy(&ep->addr.in6.sin6_addr, addr, 16);
}

void fuzz_peer_set_endpoint(altuntun_peer *peer, const struct altuntun_endpoint *ep)
{
	socklen_t len = ep->addr.sa.sa_family == AF_INET ? sizeof(struct sockaddr_in)
							  : sizeof(struct sockaddr_in6);

	FUZZ_CHECK(altuntun_peer_set_endpoint(peer, &ep->addr.sa, len) == ALTUNTUN_OK);
}

void fuzz_allow(altuntun_device *dev, altuntun_peer *peer, const char *prefix)
{
	char addr[INET6_ADDRSTRLEN];
	const char *slash = strchr(prefix, '/');
	uint8_t bin[16];
	int family;

	FUZZ_CHECK(slash && (size_t)(slash - prefix) < sizeof(addr));
	memcpy(addr, prefix, (size_t)(slash - prefix));
	addr[slash - prefix] = '\0';
	family = strchr(addr, ':') ? AF_INET6 : AF_INET;
	FUZZ_CHECK(inet_pton(family, addr, bin) == 1);
	FUZZ_CHECK(altuntun_peer_add_allowed_ip(dev, peer, family, bin,
						(uint8_t)atoi(slash + 1)) == ALTUNTUN_OK);
}

/* ---- input ---- */

uint8_t fuzz_take_u8(struct fuzz_reader *r)
{
	if (!r->left)
		return 0;
	r->left--;
	return *r->p++;
}

uint16_t fuzz_take_u16(struct fuzz_reader *r)
{
	uint16_t lo = fuzz_take_u8(r);

	return (uint16_t)(lo | fuzz_take_u8(r) << 8);
}

const uint8_t *fuzz_take(struct fuzz_reader *r, size_t n, size_t *got)
{
	const uint8_t *p = r->p;

	*got = n < r->left ? n : r->left;
	r->p += *got;
	r->left -= *got;
	return p;
}

uint64_t fuzz_delay_ns(uint8_t b)
{
	if (b < 128)
		return (uint64_t)b * 10000000ULL;
	return (uint64_t)(b - 127) * FUZZ_NS_PER_SEC;
}

/* ---- inner packets ---- */

static void fill_payload(uint8_t *pkt, size_t from, size_t len)
{
	for (size_t i = from; i < len; i++)
		pkt[i] = (uint8_t)(i * 31);
}

void fuzz_ipv4_packet(uint8_t *pkt, size_t len, const uint8_t src[4], const uint8_t dst[4])
{
	memset(pkt, 0, 20);
	pkt[0] = 0x45;
	pkt[2] = (uint8_t)(len >> 8);
	pkt[3] = (uint8_t)len;
	pkt[8] = 64;
	pkt[9] = 17;
	memcpy(pkt + 12, src, 4);
	memcpy(pkt + 16, dst, 4);
	fill_payload(pkt, 20, len);
}

void fuzz_ipv6_packet(uint8_t *pkt, size_t len, const uint8_t src[16], const uint8_t dst[16])
{
	memset(pkt, 0, 40);
	pkt[0] = 0x60;
	pkt[4] = (uint8_t)((len - 40) >> 8);
	pkt[5] = (uint8_t)(len - 40);
	pkt[6] = 17;
	pkt[7] = 64;
	memcpy(pkt + 8, src, 16);
	memcpy(pkt + 24, dst, 16);
	fill_payload(pkt, 40, len);
}
