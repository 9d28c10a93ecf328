/* SPDX-License-Identifier: BSD-3-Clause */
/* The primitives of Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s, on libsodium and libb2. */
#ifndef ALTUNTUN_CRYPTO_H
#define ALTUNTUN_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HASH_LEN 32
#define MAC_LEN 16
#define KEY_LEN 32
#define AEAD_TAG_LEN 16
#define XAEAD_NONCE_LEN 24
#define TAI64N_LEN 12

/* BLAKE2s-256 of the concatenation of a and b (b may be NULL/0). */
void hash2(uint8_t out[HASH_LEN], const void *a, size_t alen, const void *b, size_t blen);
/* h = BLAKE2s-256(h || data): Noise's MixHash. */
void mix_hash(uint8_t h[HASH_LEN], const void *data, size_t len);
/* Keyed BLAKE2s with a 16-byte output (WireGuard's MAC). keylen <= 32. */
void mac16(uint8_t out[MAC_LEN], const uint8_t *key, size_t keylen, const void *in, size_t inlen);
/* HMAC-BLAKE2s-256 (block size 64). */
void hmac(uint8_t out[HASH_LEN], const uint8_t *key, size_t keylen, const void *in, size_t inlen);
/*
 * HKDF as WireGuard uses it: T0 = HMAC(key, input); T1 = HMAC(T0, 0x1);
 * T2 = HMAC(T0, T1 || 0x2); T3 = HMAC(T0, T2 || 0x3). Outputs may be NULL
 * when not wanted (t2 NULL implies t3 NULL). Intermediates are wiped.
 */
void kdf(uint8_t t1[HASH_LEN], uint8_t t2[HASH_LEN], uint8_t t3[HASH_LEN],
	 const uint8_t chaining_key[HASH_LEN], const void *input, size_t inlen);

/* Clamps a private key as X25519 requires. */
void x25519_clamp(uint8_t key[KEY_LEN]);
/* Public key of a private key. */
void x25519_public(uint8_t pub[KEY_LEN], const uint8_t priv[KEY_LEN]);
/* out = DH(priv, pub); false (and out zeroed) if the result is all zero
 * (pub is a low-order point). */
bool x25519(uint8_t out[KEY_LEN], const uint8_t priv[KEY_LEN], const uint8_t pub[KEY_LEN]);

/*
 * ChaCha20-Poly1305 (RFC 8439) with the nonce 32 zero bits || counter (LE64).
 * In place allowed (dst == src). seal writes len + 16 bytes; open reads
 * len bytes (including the tag) and writes len - 16; returns false if the tag
 * is wrong (dst is then unspecified).
 */
void aead_seal(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t *ad, size_t adlen,
	       uint64_t counter, const uint8_t key[KEY_LEN]);
bool aead_open(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t *ad, size_t adlen,
	       uint64_t counter, const uint8_t key[KEY_LEN]);
/*
 * The same AEAD for data messages, with a context kept per key and
 * direction between packets: OpenSSL's EVP ChaCha20-Poly1305 when the
 * library is built with ALTUNTUN_AEAD_OPENSSL (docs/performance.md, "Which
 * AEAD"), except for messages under 256 bytes, and libsodium otherwise
 * (the context then stays empty). The same bytes either way. The context
 * is made on first use; if that fails, libsodium does the packet. A
 * context is used by one thread at a time. aead_state_free() frees it,
 * wiping the key it holds.
 */
struct aead_state {
	void *evp;
	bool any_key; /* not tied to one key: the key is set for each packet */
};
void aead_seal_data(struct aead_state *st, uint8_t *dst, const uint8_t *src, size_t len,
		    uint64_t counter, const uint8_t key[KEY_LEN]);
bool aead_open_data(struct aead_state *st, uint8_t *dst, const uint8_t *src, size_t len,
		    uint64_t counter, const uint8_t key[KEY_LEN]);
void aead_state_free(struct aead_state *st);
/* "openssl" or "libsodium": what aead_*_data use. */
const char *aead_data_backend(void);
/* From altuntun_init() (data_aead: also the data-path AEAD's backend) or
 * altuntun_init_control() (not). 0 or -1. */
int crypto_init(bool data_aead);

/* XChaCha20-Poly1305 with a 24-byte nonce, same conventions. */
void xaead_seal(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t *ad, size_t adlen,
		const uint8_t nonce[XAEAD_NONCE_LEN], const uint8_t key[KEY_LEN]);
bool xaead_open(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t *ad, size_t adlen,
		const uint8_t nonce[XAEAD_NONCE_LEN], const uint8_t key[KEY_LEN]);

/*
 * TAI64N label of a Unix time in ns: 8 bytes big-endian 2^62 + 10 + seconds
 * (TAI-UTC offset as wireguard-go/Linux use it), 4 bytes big-endian
 * nanoseconds rounded down to a multiple of 2^24 ns so the timestamp does not
 * leak precise timing (as the Linux driver does).
 */
void tai64n(uint8_t out[TAI64N_LEN], uint64_t unix_ns);

/* Constant-time equality. */
bool crypto_equal(const void *a, const void *b, size_t len);
/* true if all len bytes are zero, in constant time. */
bool crypto_is_zero(const void *a, size_t len);
void crypto_wipe(void *p, size_t len);
void crypto_random(void *p, size_t len);
/* Uniform in [0, bound). */
uint32_t crypto_random_uniform(uint32_t bound);

#endif
