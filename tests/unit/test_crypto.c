// SPDX-License-Identifier: BSD-3-Clause
/* Known-answer and property tests for src/proto/crypto.c and keys.c. */
#include <blake2.h>
#include <sodium.h>
#include <stdlib.h>

#include "altuntun.h"
#include "crypto.h"
#include "test.h"

static void unhex32(uint8_t out[32], const char *hex)
{
	if (test_unhex(out, 32, hex) != 32)
		abort();
}

/* ---- X25519 ---- */

static const char alice_priv[] =
	"77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a";
static const char alice_pub[] =
	"8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a";
static const char bob_priv[] =
	"5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb";
static const char bob_pub[] =
	"de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f";
static const char alice_bob_shared[] =
	"4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742";

static void check_x25519(const char *scalar, const char *u, const char *expect)
{
	uint8_t k[32], p[32], want[32], got[32];

	unhex32(k, scalar);
	unhex32(p, u);
	unhex32(want, expect);
	CHECK(x25519(got, k, p));
	CHECK_MEM(got, want, 32);
}

/* RFC 7748 section 5.2; the second u has its top bit set, which must be ignored. */
TEST(crypto_x25519_rfc7748_vectors)
{
	check_x25519("a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4",
		     "e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c",
		     "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552");
	check_x25519("4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d",
		     "e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493",
		     "95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957");
}

/* RFC 7748 section 5.2: k = u = 9, then k, u = X25519(k, u), k. */
TEST(crypto_x25519_rfc7748_iterated)
{
	uint8_t k[32] = {9}, u[32] = {9}, r[32], want[32];

	for (int i = 1; i <= 1000; i++) {
		CHECK(x25519(r, k, u));
		memcpy(u, k, 32);
		memcpy(k, r, 32);
		if (i == 1) {
			unhex32(want, "422c8e7a6227d7bca1350b3e2bb7279f7897b87bb6854b783c60e80311ae3079");
			CHECK_MEM(k, want, 32);
		}
	}
	unhex32(want, "684cf59ba83309552800ef566f2f4d3c1c3887c49360e3875f2eb94d99532c51");
	CHECK_MEM(k, want, 32);
}

/* RFC 7748 section 6.1. */
TEST(crypto_x25519_rfc7748_dh)
{
	uint8_t a[32], b[32], apub[32], bpub[32], shared[32], want[32], got[32];

	unhex32(a, alice_priv);
	unhex32(b, bob_priv);
	unhex32(apub, alice_pub);
	unhex32(bpub, bob_pub);
	unhex32(shared, alice_bob_shared);

	x25519_public(got, a);
	CHECK_MEM(got, apub, 32);
	x25519_public(got, b);
	CHECK_MEM(got, bpub, 32);

	CHECK(x25519(got, a, bpub));
	CHECK_MEM(got, shared, 32);
	CHECK(x25519(got, b, apub));
	CHECK_MEM(got, shared, 32);

	/* Clamping the private keys first changes nothing. */
	x25519_clamp(a);
	CHECK(x25519(want, a, bpub));
	CHECK_MEM(want, shared, 32);
}

TEST(crypto_x25519_low_order)
{
	/* u-coordinates of points of order 1, 2, 4 or 8 (curve or twist). */
	static const char *const points[] = {
		/* 0 and 1 */
		"0000000000000000000000000000000000000000000000000000000000000000",
		"0100000000000000000000000000000000000000000000000000000000000000",
		/* a point of order 8 */
		"e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
		/* p - 1 */
		"ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
	};
	uint8_t priv[32], pub[32], out[32];

	unhex32(priv, alice_priv);
	for (size_t i = 0; i < sizeof(points) / sizeof(points[0]); i++) {
		unhex32(pub, points[i]);
		memset(out, 0xaa, sizeof(out));
		CHECK(!x25519(out, priv, pub));
		CHECK(crypto_is_zero(out, sizeof(out)));
	}
}

TEST(crypto_x25519_clamp)
{
	uint8_t k[32];

	memset(k, 0xff, sizeof(k));
	x25519_clamp(k);
	CHECK_EQ(k[0], 0xf8);
	CHECK_EQ(k[31], 0x7f);
	for (int i = 1; i < 31; i++)
		CHECK_EQ(k[i], 0xff);

	memset(k, 0, sizeof(k));
	x25519_clamp(k);
	CHECK_EQ(k[0], 0);
	CHECK_EQ(k[31], 0x40);
}

/* ---- ChaCha20-Poly1305 ---- */

static const char sunscreen[] =
	"Ladies and Gentlemen of the class of '99: If I could offer you only one tip for "
	"the future, sunscreen would be it.";
#define SUNSCREEN_LEN 114

static const char aead_key_hex[] =
	"808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f";
static const char aead_ad_hex[] = "50515253c0c1c2c3c4c5c6c7";

/* RFC 8439 section 2.8.2, run through libsodium itself: its nonce has a
 * non-zero first word, which our wrapper cannot express. */
TEST(crypto_aead_rfc8439_library)
{
	static const char ct_hex[] =
		"d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d6"
		"3dbea45e8ca9671282fafb69da92728b1a71de0a9e060b2905d6a5b67ecd3b36"
		"92ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc"
		"3ff4def08e4b7a9de576d26586cec64b6116"
		"1ae10b594f09e26a7e902ecbd0600691";
	uint8_t key[32], ad[12], nonce[12], want[SUNSCREEN_LEN + 16];
	uint8_t ct[SUNSCREEN_LEN + 16], pt[SUNSCREEN_LEN];
	unsigned long long clen, mlen;

	CHECK_EQ(strlen(sunscreen), SUNSCREEN_LEN);
	unhex32(key, aead_key_hex);
	CHECK_EQ(test_unhex(ad, sizeof(ad), aead_ad_hex), sizeof(ad));
	CHECK_EQ(test_unhex(nonce, sizeof(nonce), "070000004041424344454647"), sizeof(nonce));
	CHECK_EQ(test_unhex(want, sizeof(want), ct_hex), sizeof(want));

	crypto_aead_chacha20poly1305_ietf_encrypt(ct, &clen, (const uint8_t *)sunscreen,
						  SUNSCREEN_LEN, ad, sizeof(ad), NULL, nonce, key);
	CHECK_EQ(clen, sizeof(want));
	CHECK_MEM(ct, want, sizeof(want));
	CHECK_EQ(crypto_aead_chacha20poly1305_ietf_decrypt(pt, &mlen, NULL, ct, clen, ad,
							   sizeof(ad), nonce, key), 0);
	CHECK_EQ(mlen, SUNSCREEN_LEN);
	CHECK_MEM(pt, sunscreen, SUNSCREEN_LEN);
}

/* Our wrapper must equal the library with nonce 0^32 || LE64(counter). */
TEST(crypto_aead_nonce_layout)
{
	static const struct {
		uint64_t counter;
		const char *nonce;
	} cases[] = {
		{0, "000000000000000000000000"},
		{1, "000000000100000000000000"},
		{0x0102030405060708ULL, "000000000807060504030201"},
		{UINT64_MAX, "00000000ffffffffffffffff"},
	};
	uint8_t key[32], ad[12], nonce[12];
	uint8_t ours[SUNSCREEN_LEN + 16], ref[SUNSCREEN_LEN + 16];
	unsigned long long clen;

	unhex32(key, aead_key_hex);
	test_unhex(ad, sizeof(ad), aead_ad_hex);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		CHECK_EQ(test_unhex(nonce, sizeof(nonce), cases[i].nonce), sizeof(nonce));
		crypto_aead_chacha20poly1305_ietf_encrypt(ref, &clen,
							  (const uint8_t *)sunscreen,
							  SUNSCREEN_LEN, ad, sizeof(ad), NULL,
							  nonce, key);
		memset(ours, 0, sizeof(ours));
		aead_seal(ours, (const uint8_t *)sunscreen, SUNSCREEN_LEN, ad, sizeof(ad),
			  cases[i].counter, key);
		CHECK_MEM(ours, ref, sizeof(ref));
	}
}

TEST(crypto_aead_round_trip)
{
	uint8_t key[32], ad[12], buf[SUNSCREEN_LEN + 16], ct[SUNSCREEN_LEN + 16];
	uint8_t pt[SUNSCREEN_LEN];
	const uint64_t ctr = 42;

	unhex32(key, aead_key_hex);
	test_unhex(ad, sizeof(ad), aead_ad_hex);
	aead_seal(ct, (const uint8_t *)sunscreen, SUNSCREEN_LEN, ad, sizeof(ad), ctr, key);
	CHECK(memcmp(ct, sunscreen, SUNSCREEN_LEN) != 0);
	CHECK(aead_open(pt, ct, sizeof(ct), ad, sizeof(ad), ctr, key));
	CHECK_MEM(pt, sunscreen, SUNSCREEN_LEN);

	/* In place, both ways. */
	memcpy(buf, sunscreen, SUNSCREEN_LEN);
	aead_seal(buf, buf, SUNSCREEN_LEN, ad, sizeof(ad), ctr, key);
	CHECK_MEM(buf, ct, sizeof(ct));
	CHECK(aead_open(buf, buf, sizeof(buf), ad, sizeof(ad), ctr, key));
	CHECK_MEM(buf, sunscreen, SUNSCREEN_LEN);

	/* Every bit of the tag and of the ciphertext matters. */
	for (size_t i = 0; i < sizeof(ct) * 8; i += 7) {
		memcpy(buf, ct, sizeof(ct));
		buf[i / 8] ^= (uint8_t)(1u << (i % 8));
		CHECK(!aead_open(pt, buf, sizeof(buf), ad, sizeof(ad), ctr, key));
	}
	memcpy(buf, ct, sizeof(ct));
	buf[sizeof(buf) - 1] ^= 0x80;
	CHECK(!aead_open(pt, buf, sizeof(buf), ad, sizeof(ad), ctr, key));

	ad[0] ^= 1;
	CHECK(!aead_open(pt, ct, sizeof(ct), ad, sizeof(ad), ctr, key));
	ad[0] ^= 1;
	CHECK(!aead_open(pt, ct, sizeof(ct), ad, sizeof(ad) - 1, ctr, key));
	CHECK(!aead_open(pt, ct, sizeof(ct), NULL, 0, ctr, key));
	CHECK(!aead_open(pt, ct, sizeof(ct), ad, sizeof(ad), ctr + 1, key));
	CHECK(!aead_open(pt, ct, sizeof(ct), ad, sizeof(ad), ctr ^ (1ULL << 63), key));
	key[31] ^= 1;
	CHECK(!aead_open(pt, ct, sizeof(ct), ad, sizeof(ad), ctr, key));
	key[31] ^= 1;

	/* A truncated message is refused, not read out of bounds. */
	CHECK(!aead_open(pt, ct, AEAD_TAG_LEN - 1, ad, sizeof(ad), ctr, key));
	CHECK(!aead_open(pt, ct, 0, ad, sizeof(ad), ctr, key));
	CHECK(aead_open(pt, ct, sizeof(ct), ad, sizeof(ad), ctr, key));
}

/* An empty plaintext (a keepalive) is just a tag. */
TEST(crypto_aead_empty)
{
	uint8_t key[32], tag[AEAD_TAG_LEN], dummy[1];

	crypto_random(key, sizeof(key));
	aead_seal(tag, dummy, 0, NULL, 0, 7, key);
	CHECK(!crypto_is_zero(tag, sizeof(tag)));
	CHECK(aead_open(dummy, tag, sizeof(tag), NULL, 0, 7, key));
	CHECK(!aead_open(dummy, tag, sizeof(tag), NULL, 0, 8, key));
}

/* draft-irtf-cfrg-xchacha-03 appendix A.3.1. */
TEST(crypto_xaead_draft_vector)
{
	static const char ct_hex[] =
		"bd6d179d3e83d43b9576579493c0e939572a1700252bfaccbed2902c21396cbb"
		"731c7f1b0b4aa6440bf3a82f4eda7e39ae64c6708c54c216cb96b72e1213b452"
		"2f8c9ba40db5d945b11b69b982c1bb9e3f3fac2bc369488f76b2383565d3fff9"
		"21f9664c97637da9768812f615c68b13b52e"
		"c0875924c1c7987947deafd8780acf49";
	uint8_t key[32], ad[12], nonce[XAEAD_NONCE_LEN], want[SUNSCREEN_LEN + 16];
	uint8_t ct[SUNSCREEN_LEN + 16], pt[SUNSCREEN_LEN];

	unhex32(key, aead_key_hex);
	test_unhex(ad, sizeof(ad), aead_ad_hex);
	CHECK_EQ(test_unhex(nonce, sizeof(nonce),
			    "404142434445464748494a4b4c4d4e4f5051525354555657"), sizeof(nonce));
	CHECK_EQ(test_unhex(want, sizeof(want), ct_hex), sizeof(want));

	xaead_seal(ct, (const uint8_t *)sunscreen, SUNSCREEN_LEN, ad, sizeof(ad), nonce, key);
	CHECK_MEM(ct, want, sizeof(want));
	CHECK(xaead_open(pt, ct, sizeof(ct), ad, sizeof(ad), nonce, key));
	CHECK_MEM(pt, sunscreen, SUNSCREEN_LEN);

	CHECK(xaead_open(ct, ct, sizeof(ct), ad, sizeof(ad), nonce, key));
	CHECK_MEM(ct, sunscreen, SUNSCREEN_LEN);
	xaead_seal(ct, ct, SUNSCREEN_LEN, ad, sizeof(ad), nonce, key);
	CHECK_MEM(ct, want, sizeof(want));

	ct[sizeof(ct) - 1] ^= 1;
	CHECK(!xaead_open(pt, ct, sizeof(ct), ad, sizeof(ad), nonce, key));
	ct[sizeof(ct) - 1] ^= 1;
	nonce[23] ^= 1;
	CHECK(!xaead_open(pt, ct, sizeof(ct), ad, sizeof(ad), nonce, key));
	nonce[23] ^= 1;
	ad[11] ^= 1;
	CHECK(!xaead_open(pt, ct, sizeof(ct), ad, sizeof(ad), nonce, key));
	CHECK(!xaead_open(pt, ct, AEAD_TAG_LEN - 1, ad, sizeof(ad), nonce, key));
}

/* ---- BLAKE2s ---- */

TEST(crypto_blake2s_abc)
{
	uint8_t want[32], got[32];

	unhex32(want, "508c5e8c327c14e2e1a72ba34eeb452f37458b209ed63a294d999b4c86675982");
	hash2(got, "abc", 3, NULL, 0);
	CHECK_MEM(got, want, 32);
	hash2(got, "a", 1, "bc", 2);
	CHECK_MEM(got, want, 32);
	hash2(got, "ab", 2, "c", 1);
	CHECK_MEM(got, want, 32);
	hash2(got, "", 0, "abc", 3);
	CHECK_MEM(got, want, 32);
}

/* The construction and identifier hashes every WireGuard starts from. */
TEST(crypto_mix_hash_wireguard_constants)
{
	static const char construction[] = "Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s";
	static const char identifier[] = "WireGuard v1 zx2c4 Jason@zx2c4.com";
	uint8_t ck[32], h[32], want[32];

	hash2(ck, construction, strlen(construction), NULL, 0);
	unhex32(want, "60e26daef327efc02ec335e2a025d2d016eb4206f87277f52d38d1988b78cd36");
	CHECK_MEM(ck, want, 32);

	memcpy(h, ck, 32);
	mix_hash(h, identifier, strlen(identifier));
	unhex32(want, "2211b361081ac566691243db458ad5322d9c6c662293e8b70ee19c65ba079ef3");
	CHECK_MEM(h, want, 32);
}

static void selftest_seq(uint8_t *out, size_t len, uint32_t seed)
{
	uint32_t a = 0xDEAD4BAD * seed, b = 1, t;

	for (size_t i = 0; i < len; i++) {
		t = a + b;
		a = b;
		b = t;
		out[i] = (uint8_t)(t >> 24);
	}
}

/* BLAKE2s of any length, through our entry points where they fit. */
static void b2s(uint8_t *out, size_t outlen, const uint8_t *key, size_t keylen,
		const uint8_t *in, size_t inlen)
{
	if (outlen == HASH_LEN && keylen == 0)
		hash2(out, in, inlen, NULL, 0);
	else if (outlen == MAC_LEN)
		mac16(out, key, keylen, in, inlen);
	else if (blake2s(out, in, key, outlen, inlen, keylen) != 0)
		abort();
}

/* RFC 7693 appendix E. */
TEST(crypto_blake2s_rfc7693_selftest)
{
	static const size_t md_len[] = {16, 20, 28, 32};
	static const size_t in_len[] = {0, 3, 64, 65, 255, 1024};
	uint8_t in[1024], key[32], md[32], grand[32], want[32];
	uint8_t all[2 * 6 * (16 + 20 + 28 + 32)];
	size_t n = 0;

	for (size_t i = 0; i < 4; i++) {
		size_t outlen = md_len[i];

		for (size_t j = 0; j < 6; j++) {
			size_t inlen = in_len[j];

			selftest_seq(in, inlen, (uint32_t)inlen);
			b2s(md, outlen, NULL, 0, in, inlen);
			memcpy(all + n, md, outlen);
			n += outlen;

			selftest_seq(key, outlen, (uint32_t)outlen);
			b2s(md, outlen, key, outlen, in, inlen);
			memcpy(all + n, md, outlen);
			n += outlen;
		}
	}
	CHECK_EQ(n, sizeof(all));
	hash2(grand, all, n, NULL, 0);
	unhex32(want, "6a411f08ce25adcdfb02aba641451cec53c598b24f4fc787fbdc88797f4c1dfe");
	CHECK_MEM(grand, want, 32);
}

TEST(crypto_mac16)
{
	uint8_t key[32], ref[16], got[16];
	const char *msg = "WireGuard mac1";

	for (size_t i = 0; i < sizeof(key); i++)
		key[i] = (uint8_t)i;
	CHECK_EQ(blake2s(ref, msg, key, 16, strlen(msg), 32), 0);
	mac16(got, key, 32, msg, strlen(msg));
	CHECK_MEM(got, ref, 16);

	/* A 16-byte output is not a truncated 32-byte one. */
	uint8_t full[32];
	CHECK_EQ(blake2s(full, msg, key, 32, strlen(msg), 32), 0);
	CHECK(memcmp(got, full, 16) != 0);

	key[0] ^= 1;
	mac16(ref, key, 32, msg, strlen(msg));
	CHECK(memcmp(got, ref, 16) != 0);
}

/* ---- HMAC and KDF ---- */

/* A second HMAC-BLAKE2s, written plainly and streaming. */
static void ref_hmac(uint8_t out[32], const uint8_t *key, size_t keylen, const uint8_t *in,
		     size_t inlen)
{
	uint8_t k0[64] = {0}, block[64], inner[32];
	blake2s_state st;

	if (keylen > 64) {
		blake2s_init(&st, 32);
		blake2s_update(&st, key, keylen);
		blake2s_final(&st, k0, 32);
	} else {
		memcpy(k0, key, keylen);
	}
	for (int i = 0; i < 64; i++)
		block[i] = k0[i] ^ 0x36;
	blake2s_init(&st, 32);
	blake2s_update(&st, block, 64);
	blake2s_update(&st, in, inlen);
	blake2s_final(&st, inner, 32);
	for (int i = 0; i < 64; i++)
		block[i] = k0[i] ^ 0x5c;
	blake2s_init(&st, 32);
	blake2s_update(&st, block, 64);
	blake2s_update(&st, inner, 32);
	blake2s_final(&st, out, 32);
}

TEST(crypto_hmac_blake2s)
{
	static const char msg[] = "The quick brown fox jumps over the lazy dog";
	uint8_t key[100], got[32], ref[32], want[32], buf[200];

	for (size_t i = 0; i < sizeof(key); i++)
		key[i] = (uint8_t)i;

	/* Known answers (Python's hmac with hashlib.blake2s). */
	hmac(got, key, 32, msg, strlen(msg));
	unhex32(want, "f4660dee21c6a48e2a3d695ceedc26693e37b64b5ac5227476578517ee87fe6d");
	CHECK_MEM(got, want, 32);
	hmac(got, key, 100, msg, strlen(msg));
	unhex32(want, "62bc55ee982e83e9f80ff756c037bac835c4201c91817685b52396da1482a6e4");
	CHECK_MEM(got, want, 32);
	hmac(got, key, 0, "", 0);
	unhex32(want, "eaf4bb25938f4d20e72656bbbc7a9bf63c0c18537333c35bdb67db1402661acd");
	CHECK_MEM(got, want, 32);

	/* Against the second implementation over key and input lengths
	 * around the block size. */
	crypto_random(buf, sizeof(buf));
	for (size_t kl = 0; kl <= 100; kl += 1) {
		for (size_t il = 0; il <= 200; il += 37) {
			hmac(got, key, kl, buf, il);
			ref_hmac(ref, key, kl, buf, il);
			CHECK_MEM(got, ref, 32);
		}
	}

	/* Output may alias the key. */
	memcpy(ref, key, 32);
	ref_hmac(want, ref, 32, buf, 10);
	hmac(ref, ref, 32, buf, 10);
	CHECK_MEM(ref, want, 32);
}

TEST(crypto_kdf)
{
	uint8_t ck[32], in[32], t1[32], t2[32], t3[32], t0[32], want[32], buf[33];
	uint8_t a[32], b[32];

	unhex32(ck, "60e26daef327efc02ec335e2a025d2d016eb4206f87277f52d38d1988b78cd36");
	for (size_t i = 0; i < sizeof(in); i++)
		in[i] = (uint8_t)i;

	/* Known answers (Python). */
	kdf(t1, t2, t3, ck, in, sizeof(in));
	unhex32(want, "6ff66e10ab4a55ac8144a867fcd9f8ee64d4bd6239223338cb3437cf085ab031");
	CHECK_MEM(t1, want, 32);
	unhex32(want, "203b22d63d63e35cebb9e40210cf8c1d7f90879428a4c766cda9ef34bb299398");
	CHECK_MEM(t2, want, 32);
	unhex32(want, "35a7b2fc3e4f59db341dbe588e3b75897980c463d5bbb855f8ed8134ff40133a");
	CHECK_MEM(t3, want, 32);

	/* The definition, on the reference HMAC. */
	ref_hmac(t0, ck, 32, in, sizeof(in));
	buf[0] = 1;
	ref_hmac(want, t0, 32, buf, 1);
	CHECK_MEM(t1, want, 32);
	memcpy(buf, t1, 32);
	buf[32] = 2;
	ref_hmac(want, t0, 32, buf, 33);
	CHECK_MEM(t2, want, 32);
	memcpy(buf, t2, 32);
	buf[32] = 3;
	ref_hmac(want, t0, 32, buf, 33);
	CHECK_MEM(t3, want, 32);

	/* Fewer outputs give the same prefix. */
	kdf(a, NULL, NULL, ck, in, sizeof(in));
	CHECK_MEM(a, t1, 32);
	kdf(a, b, NULL, ck, in, sizeof(in));
	CHECK_MEM(a, t1, 32);
	CHECK_MEM(b, t2, 32);
	kdf(NULL, b, NULL, ck, in, sizeof(in));
	CHECK_MEM(b, t2, 32);

	/* Outputs may alias the chaining key (ck = KDF1(ck, x) is common). */
	memcpy(a, ck, 32);
	kdf(a, b, NULL, a, in, sizeof(in));
	CHECK_MEM(a, t1, 32);
	CHECK_MEM(b, t2, 32);

	/* Empty input is allowed (the final key derivation). */
	kdf(a, b, NULL, ck, NULL, 0);
	ref_hmac(t0, ck, 32, NULL, 0);
	buf[0] = 1;
	ref_hmac(want, t0, 32, buf, 1);
	CHECK_MEM(a, want, 32);
}

/* ---- TAI64N ---- */

TEST(crypto_tai64n_known)
{
	uint8_t got[12], want[12];

	tai64n(got, 0);
	test_unhex(want, 12, "400000000000000a 00000000");
	CHECK_MEM(got, want, 12);

	/* 1700000000.123456789 s: 0x6553f100 s; 0x075bcd15 ns rounds to 0x07000000. */
	tai64n(got, 1700000000ULL * 1000000000ULL + 123456789ULL);
	test_unhex(want, 12, "400000006553f10a 07000000");
	CHECK_MEM(got, want, 12);
}

TEST(crypto_tai64n_rounding)
{
	uint8_t got[12], want[12];
	const uint64_t base = 1000000000ULL * 1000000000ULL; /* 10^9 s */

	/* 10^9 s = 0x3b9aca00 s. */
	tai64n(got, base + (1u << 24) - 1);
	test_unhex(want, 12, "400000003b9aca0a 00000000");
	CHECK_MEM(got, want, 12);
	tai64n(got, base + (1u << 24));
	test_unhex(want, 12, "400000003b9aca0a 01000000");
	CHECK_MEM(got, want, 12);
	/* 999999999 = 0x3b9ac9ff */
	tai64n(got, base + 999999999);
	test_unhex(want, 12, "400000003b9aca0a 3b000000");
	CHECK_MEM(got, want, 12);
	tai64n(got, base + 1000000000);
	test_unhex(want, 12, "400000003b9aca0b 00000000");
	CHECK_MEM(got, want, 12);
}

TEST(crypto_tai64n_monotonic)
{
	uint8_t prev[12], cur[12];
	uint64_t t = 1600000000ULL * 1000000000ULL;

	tai64n(prev, t);
	for (int i = 0; i < 2000; i++) {
		t += 3000001 + (uint64_t)i * 7919;
		tai64n(cur, t);
		CHECK(memcmp(cur, prev, 12) >= 0);
		memcpy(prev, cur, 12);
	}
	/* Labels 2^24 ns or more apart always differ. */
	tai64n(prev, t);
	tai64n(cur, t + (1u << 24));
	CHECK(memcmp(cur, prev, 12) > 0);
}

/* ---- helpers ---- */

TEST(crypto_equal_zero_random)
{
	uint8_t a[64], b[64];
	bool seen[10] = {false};

	memset(a, 0, sizeof(a));
	CHECK(crypto_is_zero(a, sizeof(a)));
	a[63] = 1;
	CHECK(!crypto_is_zero(a, sizeof(a)));
	memcpy(b, a, sizeof(a));
	CHECK(crypto_equal(a, b, sizeof(a)));
	b[0] ^= 0x80;
	CHECK(!crypto_equal(a, b, sizeof(a)));
	b[0] ^= 0x80;
	b[63] ^= 0x01;
	CHECK(!crypto_equal(a, b, sizeof(a)));
	CHECK(crypto_equal(a, b, sizeof(a) - 1));

	crypto_random(a, sizeof(a));
	crypto_random(b, sizeof(b));
	CHECK(!crypto_equal(a, b, sizeof(a)));
	crypto_wipe(a, sizeof(a));
	CHECK(crypto_is_zero(a, sizeof(a)));

	for (int i = 0; i < 1000; i++) {
		uint32_t r = crypto_random_uniform(10);

		CHECK(r < 10);
		seen[r] = true;
	}
	for (int i = 0; i < 10; i++)
		CHECK(seen[i]);
	CHECK_EQ(crypto_random_uniform(1), 0);
}

/* ---- keys ---- */

/* From the example configuration in wg(8). */
static const char wg8_key[] = "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=";
static const char wg8_key_hex[] =
	"c809f3e5317e9575c9b5ed78b638b7ce530dabe85ddab614220241801ddf0669";

TEST(keys_base64)
{
	uint8_t key[32], want[32], back[32];
	char s[45];

	CHECK_EQ(altuntun_key_from_base64(key, wg8_key), ALTUNTUN_OK);
	unhex32(want, wg8_key_hex);
	CHECK_MEM(key, want, 32);
	memset(s, 'x', sizeof(s));
	altuntun_key_to_base64(s, key);
	CHECK_EQ(strlen(s), 44);
	CHECK_EQ(s[43], '=');
	CHECK(strcmp(s, wg8_key) == 0);

	memset(key, 0, sizeof(key));
	altuntun_key_to_base64(s, key);
	CHECK(strcmp(s, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=") == 0);

	for (int i = 0; i < 100; i++) {
		crypto_random(key, sizeof(key));
		altuntun_key_to_base64(s, key);
		CHECK_EQ(strlen(s), 44);
		CHECK_EQ(altuntun_key_from_base64(back, s), ALTUNTUN_OK);
		CHECK_MEM(back, key, 32);
	}
}

static void check_bad_base64(const char *s)
{
	uint8_t key[32], untouched[32];

	memset(key, 0xa5, sizeof(key));
	memset(untouched, 0xa5, sizeof(untouched));
	if (altuntun_key_from_base64(key, s) != ALTUNTUN_ERR_BAD_KEY)
		test_fail(__FILE__, __LINE__, "accepted base64 \"%s\"", s);
	CHECK_MEM(key, untouched, 32);
}

TEST(keys_base64_reject)
{
	char s[64];

	check_bad_base64("");
	check_bad_base64("yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk");    /* 43 */
	check_bad_base64("yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk==");  /* 45 */
	check_bad_base64("yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmkA");   /* no pad */
	check_bad_base64("yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBm==");   /* 31 bytes */
	check_bad_base64("yAnz5TF-lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=");   /* URL-safe */
	check_bad_base64("yAnz5TF+lXXJte14tji3zlMNq_hd2rYUIgJBgB3fBmk=");
	check_bad_base64("yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBm!=");
	check_bad_base64("yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3f mk=");
	check_bad_base64(" yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=");
	check_bad_base64("yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=\n");
	check_bad_base64("=Anz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=");
	/*
	 * 'k' is 100100: its low two bits fall past the 256th bit. 'l' to 'n'
	 * set them, decode to the same bytes, and must still be refused.
	 */
	for (char c = 'l'; c <= 'n'; c++) {
		snprintf(s, sizeof(s), "%s", wg8_key);
		s[42] = c;
		check_bad_base64(s);
	}
	snprintf(s, sizeof(s), "%s", wg8_key);
	s[43] = '\0';
	check_bad_base64(s);
	/* A NUL inside the 44 characters. */
	char embedded[64];
	memcpy(embedded, wg8_key, 45);
	embedded[20] = '\0';
	check_bad_base64(embedded);
}

TEST(keys_hex)
{
	uint8_t key[32], want[32], untouched[32];
	char s[65], upper[65];

	unhex32(want, wg8_key_hex);
	CHECK_EQ(altuntun_key_from_hex(key, wg8_key_hex), ALTUNTUN_OK);
	CHECK_MEM(key, want, 32);
	altuntun_key_to_hex(s, key);
	CHECK(strcmp(s, wg8_key_hex) == 0);

	for (int i = 0; i < 65; i++)
		upper[i] = (char)(s[i] >= 'a' && s[i] <= 'f' ? s[i] - 'a' + 'A' : s[i]);
	memset(key, 0, sizeof(key));
	CHECK_EQ(altuntun_key_from_hex(key, upper), ALTUNTUN_OK);
	CHECK_MEM(key, want, 32);

	memset(key, 0xa5, sizeof(key));
	memset(untouched, 0xa5, sizeof(untouched));
	snprintf(s, sizeof(s), "%.63s", wg8_key_hex);
	CHECK_EQ(altuntun_key_from_hex(key, s), ALTUNTUN_ERR_BAD_KEY);
	char longer[80];
	snprintf(longer, sizeof(longer), "%s0", wg8_key_hex);
	CHECK_EQ(altuntun_key_from_hex(key, longer), ALTUNTUN_ERR_BAD_KEY);
	snprintf(longer, sizeof(longer), "0x%.62s", wg8_key_hex);
	CHECK_EQ(altuntun_key_from_hex(key, longer), ALTUNTUN_ERR_BAD_KEY);
	snprintf(s, sizeof(s), "%s", wg8_key_hex);
	s[10] = 'g';
	CHECK_EQ(altuntun_key_from_hex(key, s), ALTUNTUN_ERR_BAD_KEY);
	s[10] = ' ';
	CHECK_EQ(altuntun_key_from_hex(key, s), ALTUNTUN_ERR_BAD_KEY);
	s[10] = ':';
	CHECK_EQ(altuntun_key_from_hex(key, s), ALTUNTUN_ERR_BAD_KEY);
	CHECK_EQ(altuntun_key_from_hex(key, ""), ALTUNTUN_ERR_BAD_KEY);
	CHECK_MEM(key, untouched, 32);
}

TEST(keys_public)
{
	uint8_t priv[32], pub[32], want[32], again[32];

	unhex32(priv, alice_priv);
	unhex32(want, alice_pub);
	CHECK_EQ(altuntun_public_key(pub, priv), ALTUNTUN_OK);
	CHECK_MEM(pub, want, 32);

	/* Bits the clamp overrides do not matter. */
	priv[0] ^= 7;
	priv[31] ^= 0xc0;
	CHECK_EQ(altuntun_public_key(again, priv), ALTUNTUN_OK);
	CHECK_MEM(again, want, 32);
	/* And the input is left alone. */
	unhex32(want, alice_priv);
	CHECK(memcmp(priv, want, 32) != 0);

	memset(priv, 0, sizeof(priv));
	CHECK_EQ(altuntun_public_key(pub, priv), ALTUNTUN_ERR_BAD_KEY);
	CHECK(altuntun_key_is_zero(priv));
	priv[17] = 1;
	CHECK(!altuntun_key_is_zero(priv));
}

TEST(keys_generate)
{
	uint8_t a[32], b[32], pa[32], pb[32], s1[32], s2[32];

	altuntun_generate_private_key(a);
	altuntun_generate_private_key(b);
	CHECK(memcmp(a, b, 32) != 0);
	CHECK_EQ(a[0] & 7, 0);
	CHECK_EQ(a[31] & 0xc0, 0x40);
	CHECK_EQ(b[0] & 7, 0);
	CHECK_EQ(b[31] & 0xc0, 0x40);

	CHECK_EQ(altuntun_public_key(pa, a), ALTUNTUN_OK);
	CHECK_EQ(altuntun_public_key(pb, b), ALTUNTUN_OK);
	CHECK(x25519(s1, a, pb));
	CHECK(x25519(s2, b, pa));
	CHECK_MEM(s1, s2, 32);
}

TEST(keys_init_twice)
{
	CHECK_EQ(altuntun_init(), 0);
	CHECK_EQ(altuntun_init(), 0);
}

/* The control-only initialisation after the full one changes nothing: the
 * data path keeps OpenSSL's AEAD (the default build). */
TEST(keys_init_control_after_init)
{
	const char *before = aead_data_backend();

	CHECK_EQ(altuntun_init_control(), 0);
	CHECK(!strcmp(aead_data_backend(), before));
#ifdef ALTUNTUN_AEAD_OPENSSL
	CHECK(!strcmp(before, "openssl"));
#endif
}
