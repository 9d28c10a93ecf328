// SPDX-License-Identifier: BSD-3-Clause
/* Noise primitives for WireGuard: BLAKE2s from libb2, the rest from libsodium. */
#include <blake2.h>
#include <limits.h>
#include <sodium.h>
#include <string.h>

#include "crypto.h"

#define HMAC_BLOCK_LEN 64

void hash2(uint8_t out[HASH_LEN], const void *a, size_t alen, const void *b, size_t blen)
{
	blake2s_state st;

	blake2s_init(&st, HASH_LEN);
	blake2s_update(&st, a, alen);
	if (b && blen)
		blake2s_update(&st, b, blen);
	blake2s_final(&st, out, HASH_LEN);
	sodium_memzero(&st, sizeof(st));
}

void mix_hash(uint8_t h[HASH_LEN], const void *data, size_t len)
{
	/* hash2() reads all of its input before writing out, so h may alias. */
	hash2(h, h, HASH_LEN, data, len);
}

void mac16(uint8_t out[MAC_LEN], const uint8_t *key, size_t keylen, const void *in, size_t inlen)
{
	blake2s(out, in, key, MAC_LEN, inlen, keylen);
}

void hmac(uint8_t out[HASH_LEN], const uint8_t *key, size_t keylen, const void *in, size_t inlen)
{
	uint8_t k[HMAC_BLOCK_LEN] = {0};
	uint8_t pad[HMAC_BLOCK_LEN];
	uint8_t inner[HASH_LEN];
	size_t i;

	if (keylen > HMAC_BLOCK_LEN)
		hash2(k, key, keylen, NULL, 0);
	else if (keylen)
		memcpy(k, key, keylen);

	for (i = 0; i < HMAC_BLOCK_LEN; i++)
		pad[i] = k[i] ^ 0x36;
	hash2(inner, pad, sizeof(pad), in, inlen);

	for (i = 0; i < HMAC_BLOCK_LEN; i++)
		pad[i] = k[i] ^ 0x5c;
	/* out may alias key or in: both have been consumed by now. */
	hash2(out, pad, sizeof(pad), inner, sizeof(inner));

	sodium_memzero(k, sizeof(k));
	sodium_memzero(pad, sizeof(pad));
	sodium_memzero(inner, sizeof(inner));
}

void kdf(uint8_t t1[HASH_LEN], uint8_t t2[HASH_LEN], uint8_t t3[HASH_LEN],
	 const uint8_t chaining_key[HASH_LEN], const void *input, size_t inlen)
{
	uint8_t t0[HASH_LEN];
	uint8_t out[3][HASH_LEN];
	uint8_t buf[HASH_LEN + 1];

	hmac(t0, chaining_key, HASH_LEN, input, inlen);

	buf[0] = 1;
	hmac(out[0], t0, HASH_LEN, buf, 1);

	if (t2) {
		memcpy(buf, out[0], HASH_LEN);
		buf[HASH_LEN] = 2;
		hmac(out[1], t0, HASH_LEN, buf, sizeof(buf));
	}
	if (t2 && t3) {
		memcpy(buf, out[1], HASH_LEN);
		buf[HASH_LEN] = 3;
		hmac(out[2], t0, HASH_LEN, buf, sizeof(buf));
	}

	/* Copied last so outputs may alias chaining_key or input. */
	if (t1)
		memcpy(t1, out[0], HASH_LEN);
	if (t2)
		memcpy(t2, out[1], HASH_LEN);
	if (t2 && t3)
		memcpy(t3, out[2], HASH_LEN);

	sodium_memzero(t0, sizeof(t0));
	sodium_memzero(out, sizeof(out));
	sodium_memzero(buf, sizeof(buf));
}

void x25519_clamp(uint8_t key[KEY_LEN])
{
	key[0] &= 248;
	key[31] &= 127;
	key[31] |= 64;
}

void x25519_public(uint8_t pub[KEY_LEN], const uint8_t priv[KEY_LEN])
{
	if (crypto_scalarmult_base(pub, priv) != 0)
		sodium_memzero(pub, KEY_LEN);
}

bool x25519(uint8_t out[KEY_LEN], const uint8_t priv[KEY_LEN], const uint8_t pub[KEY_LEN])
{
	uint8_t tmp[KEY_LEN];
	bool ok;

	/*
	 * libsodium fails both when the result is zero and (before computing
	 * anything) when pub has small order: with a clamped scalar, a
	 * multiple of 8, both mean the same thing.
	 */
	ok = crypto_scalarmult(tmp, priv, pub) == 0;
	if (ok)
		memcpy(out, tmp, KEY_LEN);
	else
		sodium_memzero(out, KEY_LEN);
	sodium_memzero(tmp, sizeof(tmp));
	return ok;
}

static void aead_nonce(uint8_t nonce[crypto_aead_chacha20poly1305_IETF_NPUBBYTES],
		       uint64_t counter)
{
	memset(nonce, 0, 4);
	for (int i = 0; i < 8; i++)
		nonce[4 + i] = (uint8_t)(counter >> (8 * i));
}

void aead_seal(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t *ad, size_t adlen,
	       uint64_t counter, const uint8_t key[KEY_LEN])
{
	uint8_t nonce[crypto_aead_chacha20poly1305_IETF_NPUBBYTES];

	aead_nonce(nonce, counter);
	crypto_aead_chacha20poly1305_ietf_encrypt_detached(dst, dst + len, NULL, src, len, ad,
							   adlen, NULL, nonce, key);
}

bool aead_open(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t *ad, size_t adlen,
	       uint64_t counter, const uint8_t key[KEY_LEN])
{
	uint8_t nonce[crypto_aead_chacha20poly1305_IETF_NPUBBYTES];
	size_t mlen;

	if (len < AEAD_TAG_LEN)
		return false;
	mlen = len - AEAD_TAG_LEN;
	aead_nonce(nonce, counter);
	/* libsodium checks the tag before it decrypts, so dst == src is fine. */
	return crypto_aead_chacha20poly1305_ietf_decrypt_detached(dst, NULL, src, mlen,
								  src + mlen, ad, adlen,
								  nonce, key) == 0;
}

#ifdef ALTUNTUN_AEAD_OPENSSL
#include <openssl/evp.h>

static EVP_CIPHER *evp_chacha;

/* Below this many bytes EVP's per-call overhead (parameter lookups) costs
 * more than its faster ChaCha20 saves: libsodium takes small packets (TCP
 * ACKs, keepalives). bench/aead_bench: at 64 bytes libsodium about 300 ns,
 * OpenSSL about 600 ns; at 1440 bytes OpenSSL is faster. */
#define EVP_MIN_LEN 256

/* The context of st for encrypting (enc) or decrypting, its key set. */
static EVP_CIPHER_CTX *evp_ctx(struct aead_state *st, const uint8_t key[KEY_LEN], int enc)
{
	EVP_CIPHER_CTX *c = st->evp;

	if (c) {
		/* A context shared by keys (altuntun_aead): key per packet. */
		if (st->any_key && EVP_CipherInit_ex(c, NULL, NULL, key, NULL, enc) != 1)
			return NULL;
		return c;
	}
	if (!evp_chacha)
		return NULL;
	c = EVP_CIPHER_CTX_new();
	if (!c)
		return NULL;
	if (EVP_CipherInit_ex(c, evp_chacha, NULL, key, NULL, enc) != 1) {
		EVP_CIPHER_CTX_free(c);
		return NULL;
	}
	st->evp = c;
	return c;
}

void aead_seal_data(struct aead_state *st, uint8_t *dst, const uint8_t *src, size_t len,
		    uint64_t counter, const uint8_t key[KEY_LEN])
{
	uint8_t nonce[crypto_aead_chacha20poly1305_IETF_NPUBBYTES];
	EVP_CIPHER_CTX *c = len < EVP_MIN_LEN ? NULL : evp_ctx(st, key, 1);
	int n = 0, f = 0;

	aead_nonce(nonce, counter);
	/* A new nonce restarts the cipher and the MAC; the key stays. */
	if (c && len <= INT_MAX && EVP_EncryptInit_ex(c, NULL, NULL, NULL, nonce) == 1 &&
	    EVP_EncryptUpdate(c, dst, &n, src, (int)len) == 1 &&
	    EVP_EncryptFinal_ex(c, dst + n, &f) == 1 &&
	    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_GET_TAG, AEAD_TAG_LEN, dst + len) == 1)
		return;
	aead_seal(dst, src, len, NULL, 0, counter, key);
}

bool aead_open_data(struct aead_state *st, uint8_t *dst, const uint8_t *src, size_t len,
		    uint64_t counter, const uint8_t key[KEY_LEN])
{
	uint8_t nonce[crypto_aead_chacha20poly1305_IETF_NPUBBYTES];
	EVP_CIPHER_CTX *c;
	size_t mlen;
	int n = 0, f = 0;

	if (len < AEAD_TAG_LEN)
		return false;
	mlen = len - AEAD_TAG_LEN;
	c = mlen < EVP_MIN_LEN ? NULL : evp_ctx(st, key, 0);
	if (!c || mlen > INT_MAX)
		return aead_open(dst, src, len, NULL, 0, counter, key);
	aead_nonce(nonce, counter);
	/* Decrypts while it authenticates: on a bad tag dst holds garbage,
	 * which the caller drops (as crypto.h allows). */
	if (EVP_DecryptInit_ex(c, NULL, NULL, NULL, nonce) != 1 ||
	    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_TAG, AEAD_TAG_LEN, (void *)(src + mlen)) != 1 ||
	    EVP_DecryptUpdate(c, dst, &n, src, (int)mlen) != 1)
		return false;
	return EVP_DecryptFinal_ex(c, dst + n, &f) == 1;
}

void aead_state_free(struct aead_state *st)
{
	/* OpenSSL cleanses the context as it frees it. */
	EVP_CIPHER_CTX_free(st->evp);
	st->evp = NULL;
}

const char *aead_data_backend(void)
{
	return evp_chacha ? "openssl" : "libsodium";
}

int crypto_init(bool data_aead)
{
	if (sodium_init() < 0)
		return -1;
	/* OpenSSL's initialisation costs about 250 KiB of heap and 2 MiB of
	 * touched code: only where data is encrypted. */
	if (data_aead && !evp_chacha)
		evp_chacha = EVP_CIPHER_fetch(NULL, "ChaCha20-Poly1305", NULL);
	return 0;
}
#else
void aead_seal_data(struct aead_state *st, uint8_t *dst, const uint8_t *src, size_t len,
		    uint64_t counter, const uint8_t key[KEY_LEN])
{
	(void)st;
	aead_seal(dst, src, len, NULL, 0, counter, key);
}

bool aead_open_data(struct aead_state *st, uint8_t *dst, const uint8_t *src, size_t len,
		    uint64_t counter, const uint8_t key[KEY_LEN])
{
	(void)st;
	return aead_open(dst, src, len, NULL, 0, counter, key);
}

void aead_state_free(struct aead_state *st)
{
	st->evp = NULL;
}

const char *aead_data_backend(void)
{
	return "libsodium";
}

int crypto_init(bool data_aead)
{
	(void)data_aead;
	return sodium_init() < 0 ? -1 : 0;
}
#endif

void xaead_seal(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t *ad, size_t adlen,
		const uint8_t nonce[XAEAD_NONCE_LEN], const uint8_t key[KEY_LEN])
{
	crypto_aead_xchacha20poly1305_ietf_encrypt_detached(dst, dst + len, NULL, src, len, ad,
							    adlen, NULL, nonce, key);
}

bool xaead_open(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t *ad, size_t adlen,
		const uint8_t nonce[XAEAD_NONCE_LEN], const uint8_t key[KEY_LEN])
{
	size_t mlen;

	if (len < AEAD_TAG_LEN)
		return false;
	mlen = len - AEAD_TAG_LEN;
	return crypto_aead_xchacha20poly1305_ietf_decrypt_detached(dst, NULL, src, mlen,
								   src + mlen, ad, adlen,
								   nonce, key) == 0;
}

void tai64n(uint8_t out[TAI64N_LEN], uint64_t unix_ns)
{
	const uint64_t ns_per_s = 1000000000ULL;
	uint64_t secs = 0x400000000000000aULL + unix_ns / ns_per_s;
	uint32_t nsec = (uint32_t)(unix_ns % ns_per_s) & ~(uint32_t)((1U << 24) - 1);
	int i;

	for (i = 0; i < 8; i++)
		out[i] = (uint8_t)(secs >> (56 - 8 * i));
	for (i = 0; i < 4; i++)
		out[8 + i] = (uint8_t)(nsec >> (24 - 8 * i));
}

bool crypto_equal(const void *a, const void *b, size_t len)
{
	return sodium_memcmp(a, b, len) == 0;
}

bool crypto_is_zero(const void *a, size_t len)
{
	return sodium_is_zero(a, len) == 1;
}

void crypto_wipe(void *p, size_t len)
{
	sodium_memzero(p, len);
}

void crypto_random(void *p, size_t len)
{
	randombytes_buf(p, len);
}

uint32_t crypto_random_uniform(uint32_t bound)
{
	return randombytes_uniform(bound);
}
