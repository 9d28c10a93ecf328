// SPDX-License-Identifier: BSD-3-Clause
/*
 * The AEAD step of the split data path (altuntun_send_prepare,
 * altuntun_receive_prepare / _finish): runs on any thread, touches only the
 * packet, the key copy in its struct altuntun_crypt and the calling
 * thread's context.
 */
#include <stdlib.h>

#include "altuntun.h"
#include "crypto.h"

struct altuntun_aead {
	struct aead_state enc, dec;
};

altuntun_aead *altuntun_aead_new(void)
{
	altuntun_aead *a = calloc(1, sizeof(*a));

	if (a)
		a->enc.any_key = a->dec.any_key = true;
	return a;
}

void altuntun_aead_free(altuntun_aead *a)
{
	if (!a)
		return;
	aead_state_free(&a->enc);
	aead_state_free(&a->dec);
	free(a);
}

void altuntun_crypt_seal(altuntun_aead *a, struct altuntun_crypt *c)
{
	if (a)
		aead_seal_data(&a->enc, c->data, c->data, c->len, c->counter, c->key);
	else
		aead_seal(c->data, c->data, c->len, NULL, 0, c->counter, c->key);
	crypto_wipe(c->key, sizeof(c->key));
}

void altuntun_crypt_open(altuntun_aead *a, struct altuntun_crypt *c)
{
	if (a)
		c->ok = aead_open_data(&a->dec, c->data, c->data, c->len, c->counter, c->key);
	else
		c->ok = aead_open(c->data, c->data, c->len, NULL, 0, c->counter, c->key);
	crypto_wipe(c->key, sizeof(c->key));
}
