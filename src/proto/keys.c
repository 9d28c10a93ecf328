// SPDX-License-Identifier: BSD-3-Clause
/* Key generation and the base64 and hex forms wg(8) uses. */
#include <sodium.h>
#include <string.h>

#include "altuntun.h"
#include "crypto.h"

#define KEY_B64_LEN 44
#define KEY_HEX_LEN 64

int altuntun_init(void)
{
	/* Again is fine, also after altuntun_init_control(). */
	return crypto_init(true);
}

int altuntun_init_control(void)
{
	return crypto_init(false);
}

void altuntun_generate_private_key(uint8_t key[ALTUNTUN_KEY_LEN])
{
	crypto_random(key, ALTUNTUN_KEY_LEN);
	x25519_clamp(key);
}

int altuntun_public_key(uint8_t pub[ALTUNTUN_KEY_LEN], const uint8_t priv[ALTUNTUN_KEY_LEN])
{
	uint8_t k[ALTUNTUN_KEY_LEN];

	if (crypto_is_zero(priv, ALTUNTUN_KEY_LEN))
		return ALTUNTUN_ERR_BAD_KEY;
	memcpy(k, priv, sizeof(k));
	x25519_clamp(k);
	x25519_public(pub, k);
	crypto_wipe(k, sizeof(k));
	return ALTUNTUN_OK;
}

void altuntun_key_to_base64(char out[45], const uint8_t key[ALTUNTUN_KEY_LEN])
{
	sodium_bin2base64(out, KEY_B64_LEN + 1, key, ALTUNTUN_KEY_LEN,
			  sodium_base64_VARIANT_ORIGINAL);
}

int altuntun_key_from_base64(uint8_t key[ALTUNTUN_KEY_LEN], const char *in)
{
	uint8_t k[ALTUNTUN_KEY_LEN];
	char again[KEY_B64_LEN + 1];
	const char *end = NULL;
	size_t len = 0;
	int ret = ALTUNTUN_ERR_BAD_KEY;

	if (!in || strnlen(in, KEY_B64_LEN + 1) != KEY_B64_LEN)
		return ALTUNTUN_ERR_BAD_KEY;
	if (sodium_base642bin(k, sizeof(k), in, KEY_B64_LEN, NULL, &len, &end,
			      sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    len != sizeof(k) || end != in + KEY_B64_LEN)
		goto out;
	/* Reject encodings whose unused low bits are not zero. */
	altuntun_key_to_base64(again, k);
	if (sodium_memcmp(again, in, KEY_B64_LEN) != 0)
		goto out;
	memcpy(key, k, sizeof(k));
	ret = ALTUNTUN_OK;
out:
	crypto_wipe(k, sizeof(k));
	crypto_wipe(again, sizeof(again));
	return ret;
}

void altuntun_key_to_hex(char out[65], const uint8_t key[ALTUNTUN_KEY_LEN])
{
	sodium_bin2hex(out, KEY_HEX_LEN + 1, key, ALTUNTUN_KEY_LEN);
}

int altuntun_key_from_hex(uint8_t key[ALTUNTUN_KEY_LEN], const char *in)
{
	uint8_t k[ALTUNTUN_KEY_LEN];
	const char *end = NULL;
	size_t len = 0;
	int ret = ALTUNTUN_ERR_BAD_KEY;

	if (!in || strnlen(in, KEY_HEX_LEN + 1) != KEY_HEX_LEN)
		return ALTUNTUN_ERR_BAD_KEY;
	if (sodium_hex2bin(k, sizeof(k), in, KEY_HEX_LEN, NULL, &len, &end) == 0 &&
	    len == sizeof(k) && end == in + KEY_HEX_LEN) {
		memcpy(key, k, sizeof(k));
		ret = ALTUNTUN_OK;
	}
	crypto_wipe(k, sizeof(k));
	return ret;
}

bool altuntun_key_is_zero(const uint8_t key[ALTUNTUN_KEY_LEN])
{
	return crypto_is_zero(key, ALTUNTUN_KEY_LEN);
}
