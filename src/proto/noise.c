/* SPDX-License-Identifier: BSD-3-Clause */
#include <endian.h>
#include <stdlib.h>
#include <string.h>

#include "noise.h"

/* HASH(CONSTRUCTION) and HASH(HASH(CONSTRUCTION) || IDENTIFIER), computed once. */
static uint8_t initial_chaining_key[HASH_LEN];
static uint8_t initial_hash[HASH_LEN];
static bool initial_ready;

static void noise_init_constants(void)
{
	if (initial_ready)
		return;
	hash2(initial_chaining_key, NOISE_CONSTRUCTION, strlen(NOISE_CONSTRUCTION), NULL, 0);
	hash2(initial_hash, initial_chaining_key, HASH_LEN, NOISE_IDENTIFIER,
	      strlen(NOISE_IDENTIFIER));
	initial_ready = true;
}

/* ck, h for a handshake whose responder has public key `responder`. */
static void handshake_start(uint8_t ck[HASH_LEN], uint8_t h[HASH_LEN], const uint8_t *responder)
{
	noise_init_constants();
	memcpy(ck, initial_chaining_key, HASH_LEN);
	memcpy(h, initial_hash, HASH_LEN);
	mix_hash(h, responder, KEY_LEN);
}

/* ck = KDF1(ck, DH(priv, pub)); optionally key = second output. */
static bool mix_dh(uint8_t ck[HASH_LEN], uint8_t key[KEY_LEN], const uint8_t priv[KEY_LEN],
		   const uint8_t pub[KEY_LEN])
{
	uint8_t shared[KEY_LEN];

	if (!x25519(shared, priv, pub))
		return false;
	kdf(ck, key, NULL, ck, shared, KEY_LEN);
	crypto_wipe(shared, sizeof(shared));
	return true;
}

static void mix_precomputed(uint8_t ck[HASH_LEN], uint8_t key[KEY_LEN], const uint8_t dh[KEY_LEN])
{
	kdf(ck, key, NULL, ck, dh, KEY_LEN);
}

static void mix_psk(uint8_t ck[HASH_LEN], uint8_t h[HASH_LEN], uint8_t key[KEY_LEN],
		    const uint8_t psk[KEY_LEN])
{
	uint8_t tau[HASH_LEN];

	kdf(ck, tau, key, ck, psk, KEY_LEN);
	mix_hash(h, tau, HASH_LEN);
	crypto_wipe(tau, sizeof(tau));
}

/* Encrypts with AD = h and folds the ciphertext into h. */
static void seal_and_hash(uint8_t *dst, const uint8_t *src, size_t len, uint8_t h[HASH_LEN],
			  const uint8_t key[KEY_LEN])
{
	aead_seal(dst, src, len, h, HASH_LEN, 0, key);
	mix_hash(h, dst, len + AEAD_TAG_LEN);
}

static bool open_and_hash(uint8_t *dst, const uint8_t *src, size_t len, uint8_t h[HASH_LEN],
			  const uint8_t key[KEY_LEN])
{
	if (!aead_open(dst, src, len + AEAD_TAG_LEN, h, HASH_LEN, 0, key))
		return false;
	mix_hash(h, src, len + AEAD_TAG_LEN);
	return true;
}

static void ephemeral_generate(uint8_t priv[KEY_LEN], uint8_t pub[KEY_LEN])
{
	crypto_random(priv, KEY_LEN);
	x25519_clamp(priv);
	x25519_public(pub, priv);
}

void noise_precompute_static_static(altuntun_device *dev, struct altuntun_peer *peer)
{
	peer->static_static_valid = dev->has_identity &&
		x25519(peer->static_static, dev->static_private, peer->public_key);
}

void noise_handshake_clear(altuntun_device *dev, struct altuntun_peer *peer)
{
	struct handshake *hs = &peer->hs;

	index_table_remove(&dev->indices, &hs->entry);
	hs->state = HANDSHAKE_ZEROED;
	hs->remote_index = 0;
	crypto_wipe(hs->ephemeral_private, sizeof(hs->ephemeral_private));
	crypto_wipe(hs->remote_ephemeral, sizeof(hs->remote_ephemeral));
	crypto_wipe(hs->hash, sizeof(hs->hash));
	crypto_wipe(hs->chaining_key, sizeof(hs->chaining_key));
}

int noise_create_initiation(altuntun_device *dev, struct altuntun_peer *peer,
			    struct message_initiation *msg, uint64_t wall_ns)
{
	struct handshake *hs = &peer->hs;
	uint8_t key[KEY_LEN], timestamp[TAI64N_LEN];

	if (!dev->has_identity)
		return ALTUNTUN_ERR_NO_PRIVATE_KEY;
	if (!peer->static_static_valid)
		return ALTUNTUN_ERR_LOW_ORDER_KEY;

	memset(msg, 0, sizeof(*msg));
	msg->type = htole32(MESSAGE_INITIATION);
	handshake_start(hs->chaining_key, hs->hash, peer->public_key);

	ephemeral_generate(hs->ephemeral_private, msg->ephemeral);
	kdf(hs->chaining_key, NULL, NULL, hs->chaining_key, msg->ephemeral, KEY_LEN);
	mix_hash(hs->hash, msg->ephemeral, KEY_LEN);

	if (!mix_dh(hs->chaining_key, key, hs->ephemeral_private, peer->public_key))
		goto fail;
	seal_and_hash(msg->encrypted_static, dev->static_public, KEY_LEN, hs->hash, key);

	mix_precomputed(hs->chaining_key, key, peer->static_static);
	tai64n(timestamp, wall_ns);
	seal_and_hash(msg->encrypted_timestamp, timestamp, TAI64N_LEN, hs->hash, key);
	crypto_wipe(key, sizeof(key));

	hs->entry.kind = INDEX_HANDSHAKE;
	hs->entry.peer = peer;
	hs->entry.keypair = NULL;
	index_table_insert(&dev->indices, &hs->entry);
	msg->sender_index = hs->entry.index;
	hs->state = HANDSHAKE_CREATED_INITIATION;
	return ALTUNTUN_OK;
fail:
	crypto_wipe(key, sizeof(key));
	noise_handshake_clear(dev, peer);
	return ALTUNTUN_ERR_HANDSHAKE_FAILED;
}

struct altuntun_peer *noise_consume_initiation(altuntun_device *dev,
					       const struct message_initiation *msg,
					       uint64_t mono_ns, int *err)
{
	uint8_t ck[HASH_LEN], h[HASH_LEN], key[KEY_LEN];
	uint8_t remote_static[KEY_LEN], timestamp[TAI64N_LEN];
	struct altuntun_peer *peer = NULL;
	struct handshake *hs;
	bool replayed, flood;

	*err = ALTUNTUN_ERR_HANDSHAKE_FAILED;
	if (!dev->has_identity) {
		*err = ALTUNTUN_ERR_NO_PRIVATE_KEY;
		return NULL;
	}
	handshake_start(ck, h, dev->static_public);
	kdf(ck, NULL, NULL, ck, msg->ephemeral, KEY_LEN);
	mix_hash(h, msg->ephemeral, KEY_LEN);

	if (!mix_dh(ck, key, dev->static_private, msg->ephemeral))
		goto out;
	if (!open_and_hash(remote_static, msg->encrypted_static, KEY_LEN, h, key))
		goto out;

	peer = device_peer_by_key(dev, remote_static);
	if (!peer) {
		*err = ALTUNTUN_ERR_UNKNOWN_PEER;
		goto out;
	}
	if (!peer->static_static_valid) {
		*err = ALTUNTUN_ERR_LOW_ORDER_KEY;
		peer = NULL;
		goto out;
	}
	mix_precomputed(ck, key, peer->static_static);
	if (!open_and_hash(timestamp, msg->encrypted_timestamp, TAI64N_LEN, h, key)) {
		peer = NULL;
		goto out;
	}

	hs = &peer->hs;
	/* TAI64N is big-endian, so memcmp orders timestamps. */
	replayed = hs->consumed_any_initiation &&
		   memcmp(timestamp, hs->latest_timestamp, TAI64N_LEN) <= 0;
	flood = hs->consumed_any_initiation &&
		mono_ns - hs->last_initiation_consumption_ns < NS_PER_SEC / INITIATIONS_PER_SECOND;
	if (replayed || flood) {
		*err = replayed ? ALTUNTUN_ERR_REPLAYED_TIMESTAMP : ALTUNTUN_ERR_INITIATION_FLOOD;
		peer = NULL;
		goto out;
	}

	noise_handshake_clear(dev, peer);
	memcpy(hs->remote_ephemeral, msg->ephemeral, KEY_LEN);
	memcpy(hs->latest_timestamp, timestamp, TAI64N_LEN);
	hs->last_initiation_consumption_ns = mono_ns;
	hs->consumed_any_initiation = true;
	memcpy(hs->hash, h, HASH_LEN);
	memcpy(hs->chaining_key, ck, HASH_LEN);
	hs->remote_index = msg->sender_index;
	hs->state = HANDSHAKE_CONSUMED_INITIATION;
	*err = ALTUNTUN_OK;
out:
	crypto_wipe(ck, sizeof(ck));
	crypto_wipe(h, sizeof(h));
	crypto_wipe(key, sizeof(key));
	crypto_wipe(timestamp, sizeof(timestamp));
	return peer;
}

int noise_create_response(altuntun_device *dev, struct altuntun_peer *peer,
			  struct message_response *msg)
{
	struct handshake *hs = &peer->hs;
	uint8_t key[KEY_LEN];
	static const uint8_t zero_psk[KEY_LEN];

	if (hs->state != HANDSHAKE_CONSUMED_INITIATION)
		return ALTUNTUN_ERR_UNEXPECTED_MESSAGE;

	memset(msg, 0, sizeof(*msg));
	msg->type = htole32(MESSAGE_RESPONSE);
	msg->receiver_index = hs->remote_index;

	ephemeral_generate(hs->ephemeral_private, msg->ephemeral);
	kdf(hs->chaining_key, NULL, NULL, hs->chaining_key, msg->ephemeral, KEY_LEN);
	mix_hash(hs->hash, msg->ephemeral, KEY_LEN);

	if (!mix_dh(hs->chaining_key, NULL, hs->ephemeral_private, hs->remote_ephemeral) ||
	    !mix_dh(hs->chaining_key, NULL, hs->ephemeral_private, peer->public_key)) {
		noise_handshake_clear(dev, peer);
		return ALTUNTUN_ERR_HANDSHAKE_FAILED;
	}
	mix_psk(hs->chaining_key, hs->hash, key,
		peer->has_preshared_key ? peer->preshared_key : zero_psk);
	seal_and_hash(msg->encrypted_nothing, NULL, 0, hs->hash, key);
	crypto_wipe(key, sizeof(key));

	hs->entry.kind = INDEX_HANDSHAKE;
	hs->entry.peer = peer;
	hs->entry.keypair = NULL;
	index_table_insert(&dev->indices, &hs->entry);
	msg->sender_index = hs->entry.index;
	hs->state = HANDSHAKE_CREATED_RESPONSE;
	return ALTUNTUN_OK;
}

struct altuntun_peer *noise_consume_response(altuntun_device *dev,
					     const struct message_response *msg, int *err)
{
	static const uint8_t zero_psk[KEY_LEN];
	uint8_t ck[HASH_LEN], h[HASH_LEN], key[KEY_LEN], nothing[1];
	struct index_entry *e;
	struct altuntun_peer *peer = NULL;
	struct handshake *hs;

	*err = ALTUNTUN_ERR_HANDSHAKE_FAILED;
	if (!dev->has_identity) {
		*err = ALTUNTUN_ERR_NO_PRIVATE_KEY;
		return NULL;
	}
	e = index_table_lookup(&dev->indices, msg->receiver_index, INDEX_HANDSHAKE);
	if (!e) {
		*err = ALTUNTUN_ERR_UNKNOWN_INDEX;
		return NULL;
	}
	hs = &e->peer->hs;
	if (hs->state != HANDSHAKE_CREATED_INITIATION) {
		*err = ALTUNTUN_ERR_UNEXPECTED_MESSAGE;
		return NULL;
	}
	memcpy(ck, hs->chaining_key, HASH_LEN);
	memcpy(h, hs->hash, HASH_LEN);

	kdf(ck, NULL, NULL, ck, msg->ephemeral, KEY_LEN);
	mix_hash(h, msg->ephemeral, KEY_LEN);
	if (!mix_dh(ck, NULL, hs->ephemeral_private, msg->ephemeral) ||
	    !mix_dh(ck, NULL, dev->static_private, msg->ephemeral))
		goto out;
	mix_psk(ck, h, key, e->peer->has_preshared_key ? e->peer->preshared_key : zero_psk);
	if (!open_and_hash(nothing, msg->encrypted_nothing, 0, h, key))
		goto out;

	peer = e->peer;
	memcpy(hs->remote_ephemeral, msg->ephemeral, KEY_LEN);
	memcpy(hs->hash, h, HASH_LEN);
	memcpy(hs->chaining_key, ck, HASH_LEN);
	hs->remote_index = msg->sender_index;
	hs->state = HANDSHAKE_CONSUMED_RESPONSE;
	*err = ALTUNTUN_OK;
out:
	crypto_wipe(ck, sizeof(ck));
	crypto_wipe(h, sizeof(h));
	crypto_wipe(key, sizeof(key));
	return peer;
}

struct keypair *noise_begin_session(altuntun_device *dev, struct altuntun_peer *peer,
				    uint64_t mono_ns)
{
	struct handshake *hs = &peer->hs;
	struct keypair *kp;
	uint8_t *first, *second;

	if (hs->state != HANDSHAKE_CREATED_RESPONSE && hs->state != HANDSHAKE_CONSUMED_RESPONSE)
		return NULL;
	kp = calloc(1, sizeof(*kp));
	if (!kp)
		return NULL;
	kp->initiator = hs->state == HANDSHAKE_CONSUMED_RESPONSE;
	first = kp->initiator ? kp->send_key : kp->recv_key;
	second = kp->initiator ? kp->recv_key : kp->send_key;
	kdf(first, second, NULL, hs->chaining_key, NULL, 0);
	kp->birth_ns = mono_ns;
	kp->id = ++dev->last_keypair_id;
	kp->remote_index = hs->remote_index;
	kp->send_valid = true;
	kp->recv_valid = true;
	replay_init(&kp->replay);
	kp->entry.kind = INDEX_KEYPAIR;
	kp->entry.peer = peer;
	kp->entry.keypair = kp;
	index_table_replace(&dev->indices, &hs->entry, &kp->entry);
	noise_handshake_clear(dev, peer);
	peer_keypairs_add(dev, peer, kp);
	return kp;
}
