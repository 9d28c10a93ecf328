// SPDX-License-Identifier: BSD-3-Clause
/*
 * The data-path AEAD (aead_seal_data / aead_open_data, one context kept per
 * key and direction): the same bytes as the one-shot aead_seal of RFC 8439,
 * packet after packet through the same context, whichever backend the
 * library was built with.
 */
#include "crypto.h"
#include "test.h"

TEST(aead_data_matches_oneshot)
{
	static const size_t sizes[] = { 0, 1, 15, 16, 64, 1420, 1440, 8192 };
	static uint8_t a[8192 + AEAD_TAG_LEN], b[8192 + AEAD_TAG_LEN], p[8192];
	struct aead_state enc = { 0 }, dec = { 0 };
	uint8_t key[KEY_LEN];

	crypto_random(key, sizeof(key));
	for (uint64_t ctr = 0; ctr < 40; ctr++) {
		size_t len = sizes[ctr % (sizeof(sizes) / sizeof(sizes[0]))];

		crypto_random(p, len);
		memcpy(a, p, len);
		memcpy(b, p, len);
		aead_seal(a, a, len, NULL, 0, ctr * 1000003u, key);
		aead_seal_data(&enc, b, b, len, ctr * 1000003u, key);
		CHECK_MEM(a, b, len + AEAD_TAG_LEN);
		/* In place, through its own context. */
		CHECK(aead_open_data(&dec, b, b, len + AEAD_TAG_LEN, ctr * 1000003u, key));
		CHECK_MEM(b, p, len);
		/* A flipped bit anywhere, or another counter: refused. */
		a[(ctr * 7) % (len + AEAD_TAG_LEN)] ^= 0x20;
		CHECK(!aead_open_data(&dec, b, a, len + AEAD_TAG_LEN, ctr * 1000003u, key));
		a[(ctr * 7) % (len + AEAD_TAG_LEN)] ^= 0x20;
		CHECK(!aead_open_data(&dec, b, a, len + AEAD_TAG_LEN, ctr * 1000003u + 1, key));
		/* And the context still works after a failure. */
		CHECK(aead_open_data(&dec, b, a, len + AEAD_TAG_LEN, ctr * 1000003u, key));
		CHECK_MEM(b, p, len);
	}
	CHECK(!aead_open_data(&dec, b, a, AEAD_TAG_LEN - 1, 0, key));
	aead_state_free(&enc);
	aead_state_free(&dec);
	CHECK(enc.evp == NULL && dec.evp == NULL);
	CHECK(!strcmp(aead_data_backend(), "openssl") || !strcmp(aead_data_backend(), "libsodium"));
}
