/* SPDX-License-Identifier: BSD-3-Clause */
/* WireGuard's four messages on the wire, and the protocol's constants. */
#ifndef ALTUNTUN_MESSAGES_H
#define ALTUNTUN_MESSAGES_H

#include <stdint.h>

#include "crypto.h"

#define NS_PER_SEC 1000000000ULL
#define NS_PER_MS 1000000ULL

#define REKEY_AFTER_MESSAGES (1ULL << 60)
#define REJECT_AFTER_MESSAGES (UINT64_MAX - (1ULL << 13))
#define REKEY_TIMEOUT (5 * NS_PER_SEC)
#define REKEY_TIMEOUT_JITTER_MAX (NS_PER_SEC / 3)
#define REKEY_AFTER_TIME (120 * NS_PER_SEC)
#define REKEY_ATTEMPT_TIME (90 * NS_PER_SEC)
#define REJECT_AFTER_TIME (180 * NS_PER_SEC)
#define KEEPALIVE_TIMEOUT (10 * NS_PER_SEC)
#define MAX_TIMER_HANDSHAKES (REKEY_ATTEMPT_TIME / REKEY_TIMEOUT)
#define INITIATIONS_PER_SECOND 50
#define COOKIE_SECRET_MAX_AGE (120 * NS_PER_SEC)
#define COOKIE_SECRET_LATENCY (5 * NS_PER_SEC)
#define UNDER_LOAD_AFTER_TIME NS_PER_SEC

#define MESSAGE_INITIATION 1
#define MESSAGE_RESPONSE 2
#define MESSAGE_COOKIE_REPLY 3
#define MESSAGE_DATA 4
#define MESSAGE_PADDING_MULTIPLE 16

/* Noise protocol name, WireGuard identifier and MAC/cookie labels. */
#define NOISE_CONSTRUCTION "Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s"
#define NOISE_IDENTIFIER "WireGuard v1 zx2c4 Jason@zx2c4.com"
#define LABEL_MAC1 "mac1----"
#define LABEL_COOKIE "cookie--"

struct message_macs {
	uint8_t mac1[MAC_LEN];
	uint8_t mac2[MAC_LEN];
} __attribute__((packed));

struct message_initiation {
	uint32_t type; /* little endian: type byte then three zero bytes */
	uint32_t sender_index;
	uint8_t ephemeral[KEY_LEN];
	uint8_t encrypted_static[KEY_LEN + AEAD_TAG_LEN];
	uint8_t encrypted_timestamp[TAI64N_LEN + AEAD_TAG_LEN];
	struct message_macs macs;
} __attribute__((packed));

struct message_response {
	uint32_t type;
	uint32_t sender_index;
	uint32_t receiver_index;
	uint8_t ephemeral[KEY_LEN];
	uint8_t encrypted_nothing[AEAD_TAG_LEN];
	struct message_macs macs;
} __attribute__((packed));

struct message_cookie_reply {
	uint32_t type;
	uint32_t receiver_index;
	uint8_t nonce[XAEAD_NONCE_LEN];
	uint8_t encrypted_cookie[MAC_LEN + AEAD_TAG_LEN];
} __attribute__((packed));

struct message_data {
	uint32_t type;
	uint32_t receiver_index;
	uint64_t counter;
	uint8_t encrypted_data[];
} __attribute__((packed));

_Static_assert(sizeof(struct message_initiation) == 148, "initiation size");
_Static_assert(sizeof(struct message_response) == 92, "response size");
_Static_assert(sizeof(struct message_cookie_reply) == 64, "cookie reply size");
_Static_assert(sizeof(struct message_data) == 16, "data header size");

#endif
