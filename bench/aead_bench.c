// SPDX-License-Identifier: BSD-3-Clause
/*
 * Which AEAD for the data path (docs/performance.md, "Which AEAD"):
 * ChaCha20-Poly1305 (RFC 8439) as WireGuard uses it, 12-byte nonce of
 * 4 zero bytes and a 64-bit counter, no associated data, on one core:
 *
 *   libsodium   crypto_aead_chacha20poly1305_ietf_{en,de}crypt_detached
 *   openssl     EVP_chacha20_poly1305 through one EVP_CIPHER_CTX reused
 *               for every packet (key and nonce set per packet, as the
 *               data path does)
 *
 * Both must give the same ciphertext and tag (checked first).
 *
 *   cc -O2 -o build/bench/aead_bench bench/aead_bench.c -lsodium -lcrypto
 *   build/bench/aead_bench [SIZE...]     default sizes: 64 1440 8192
 *
 * Prints one line per library, operation and size: ns per packet and
 * Gbit/s of plaintext.
 */
#include <openssl/evp.h>
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TAG_LEN 16
#define MAX_SIZE 65536

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void nonce_of(uint8_t nonce[12], uint64_t counter)
{
	memset(nonce, 0, 4);
	for (int i = 0; i < 8; i++)
		nonce[4 + i] = (uint8_t)(counter >> (8 * i));
}

static EVP_CIPHER *chacha;

static void ossl_seal(EVP_CIPHER_CTX *c, uint8_t *buf, size_t len, uint64_t ctr,
		      const uint8_t key[32])
{
	uint8_t nonce[12];
	int out;

	nonce_of(nonce, ctr);
	if (!EVP_EncryptInit_ex(c, NULL, NULL, key, nonce) ||
	    !EVP_EncryptUpdate(c, buf, &out, buf, (int)len) ||
	    !EVP_EncryptFinal_ex(c, buf + out, &out) ||
	    !EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_GET_TAG, TAG_LEN, buf + len))
		abort();
}

/* Opens src (len bytes and the tag) into dst; dst may be src. */
static int ossl_open(EVP_CIPHER_CTX *c, uint8_t *dst, const uint8_t *src, size_t len, uint64_t ctr,
		     const uint8_t key[32])
{
	uint8_t nonce[12];
	int out;

	nonce_of(nonce, ctr);
	if (!EVP_DecryptInit_ex(c, NULL, NULL, key, nonce) ||
	    !EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_TAG, TAG_LEN, (void *)(src + len)) ||
	    !EVP_DecryptUpdate(c, dst, &out, src, (int)len))
		abort();
	return EVP_DecryptFinal_ex(c, dst + out, &out) == 1;
}

static void sodium_seal(uint8_t *buf, size_t len, uint64_t ctr, const uint8_t key[32])
{
	uint8_t nonce[12];

	nonce_of(nonce, ctr);
	crypto_aead_chacha20poly1305_ietf_encrypt_detached(buf, buf + len, NULL, buf, len, NULL, 0,
							   NULL, nonce, key);
}

static int sodium_open(uint8_t *dst, const uint8_t *src, size_t len, uint64_t ctr,
		       const uint8_t key[32])
{
	uint8_t nonce[12];

	nonce_of(nonce, ctr);
	return crypto_aead_chacha20poly1305_ietf_decrypt_detached(dst, NULL, src, len, src + len,
								  NULL, 0, nonce, key) == 0;
}

static void report(const char *lib, const char *op, size_t size, uint64_t n, uint64_t ns)
{
	double per = (double)ns / (double)n;

	printf("%-10s %-7s %6zu B  %8.1f ns/packet  %6.2f Gbit/s\n", lib, op, size, per,
	       (double)size * 8.0 / per);
}

static void bench_size(size_t size, EVP_CIPHER_CTX *enc, EVP_CIPHER_CTX *dec)
{
	static uint8_t buf[MAX_SIZE + TAG_LEN], ref[MAX_SIZE + TAG_LEN], plain[MAX_SIZE], key[32];
	/* About 0.4 s per measurement. */
	uint64_t n = 400000000ull / (size + 400), t0, ctr;
	volatile int ok = 1;

	randombytes_buf(key, sizeof(key));
	randombytes_buf(buf, size);
	memcpy(ref, buf, size);
	/* Same output from both. */
	sodium_seal(ref, size, 7, key);
	ossl_seal(enc, buf, size, 7, key);
	if (memcmp(buf, ref, size + TAG_LEN)) {
		fprintf(stderr, "aead_bench: libsodium and OpenSSL disagree at %zu bytes\n", size);
		exit(1);
	}
	if (!ossl_open(dec, buf, buf, size, 7, key) || !sodium_open(ref, ref, size, 7, key) ||
	    memcmp(buf, ref, size)) {
		fprintf(stderr, "aead_bench: decryption failed at %zu bytes\n", size);
		exit(1);
	}

	t0 = now_ns();
	for (ctr = 0; ctr < n; ctr++)
		sodium_seal(buf, size, ctr, key);
	report("libsodium", "seal", size, n, now_ns() - t0);
	/* Opened out of place, so the ciphertext stays valid: a wrong tag
	 * would skip the decryption in libsodium. */
	sodium_seal(buf, size, 1, key);
	t0 = now_ns();
	for (ctr = 0; ctr < n; ctr++)
		ok &= sodium_open(plain, buf, size, 1, key);
	report("libsodium", "open", size, n, now_ns() - t0);

	t0 = now_ns();
	for (ctr = 0; ctr < n; ctr++)
		ossl_seal(enc, buf, size, ctr, key);
	report("openssl", "seal", size, n, now_ns() - t0);
	ossl_seal(enc, buf, size, 1, key);
	t0 = now_ns();
	for (ctr = 0; ctr < n; ctr++)
		ok &= ossl_open(dec, plain, buf, size, 1, key);
	report("openssl", "open", size, n, now_ns() - t0);
	if (!ok) {
		fprintf(stderr, "aead_bench: a tag did not verify\n");
		exit(1);
	}
}

int main(int argc, char **argv)
{
	static const size_t defaults[] = { 64, 1440, 8192 };
	EVP_CIPHER_CTX *enc, *dec;

	if (sodium_init() < 0)
		return 1;
	chacha = EVP_CIPHER_fetch(NULL, "ChaCha20-Poly1305", NULL);
	enc = EVP_CIPHER_CTX_new();
	dec = EVP_CIPHER_CTX_new();
	if (!chacha || !enc || !dec || !EVP_EncryptInit_ex(enc, chacha, NULL, NULL, NULL) ||
	    !EVP_DecryptInit_ex(dec, chacha, NULL, NULL, NULL)) {
		fprintf(stderr, "aead_bench: no ChaCha20-Poly1305 in OpenSSL\n");
		return 1;
	}
	printf("# OpenSSL %s, libsodium %s\n", OpenSSL_version(OPENSSL_VERSION),
	       sodium_version_string());
	if (argc > 1) {
		for (int i = 1; i < argc; i++) {
			size_t s = strtoul(argv[i], NULL, 10);

			if (s == 0 || s > MAX_SIZE) {
				fprintf(stderr, "aead_bench: size 1..%d\n", MAX_SIZE);
				return 2;
			}
			bench_size(s, enc, dec);
		}
	} else {
		for (size_t i = 0; i < sizeof(defaults) / sizeof(defaults[0]); i++)
			bench_size(defaults[i], enc, dec);
	}
	EVP_CIPHER_CTX_free(enc);
	EVP_CIPHER_CTX_free(dec);
	EVP_CIPHER_free(chacha);
	return 0;
}
