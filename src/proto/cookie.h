/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Cookies (whitepaper section 5.4.7): the responder's checker validates MAC1
 * on every handshake message and, under load, MAC2 against a cookie bound to
 * the sender's address, answering a missing one with a cookie reply. The
 * initiator's maker adds both MACs and consumes cookie replies.
 */
#ifndef ALTUNTUN_COOKIE_H
#define ALTUNTUN_COOKIE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "crypto.h"

struct message_cookie_reply;

struct cookie_checker {
	uint8_t secret[HASH_LEN];
	uint64_t secret_birth_ns;
	bool has_secret;
	uint8_t mac1_key[HASH_LEN];   /* HASH(LABEL_MAC1 || our public key) */
	uint8_t cookie_key[HASH_LEN]; /* HASH(LABEL_COOKIE || our public key) */
};

struct cookie_maker {
	uint8_t mac1_key[HASH_LEN];   /* HASH(LABEL_MAC1 || their public key) */
	uint8_t cookie_key[HASH_LEN]; /* HASH(LABEL_COOKIE || their public key) */
	uint8_t cookie[MAC_LEN];
	uint64_t cookie_birth_ns;
	bool has_cookie;
	uint8_t last_mac1_sent[MAC_LEN];
	bool has_sent_mac1;
};

enum cookie_mac_state {
	COOKIE_INVALID_MAC,
	COOKIE_VALID_MAC_NO_COOKIE,
	COOKIE_VALID_MAC_WITH_COOKIE,
};

/* Derives the checker's keys from our public key (none: zeroes). */
void cookie_checker_set_key(struct cookie_checker *c, const uint8_t *our_public);
void cookie_checker_wipe(struct cookie_checker *c);
/*
 * Checks MAC1 of a handshake message (len bytes, the MACs at its end) and,
 * when check_mac2, MAC2 against the cookie for `src`.
 */
enum cookie_mac_state cookie_checker_validate(struct cookie_checker *c, const uint8_t *msg,
					      size_t len, const struct sockaddr *src,
					      bool check_mac2, uint64_t now_ns);
/* Whether a handshake message carries a MAC2 at all: a sender without a
 * cookie leaves it zero (a real one is zero with probability 2^-128). */
bool cookie_has_mac2(const uint8_t *msg, size_t len);
/* Builds the reply to a message that needs a cookie. */
void cookie_checker_create_reply(struct cookie_checker *c, struct message_cookie_reply *reply,
				 const uint8_t *msg, size_t len, uint32_t receiver_index,
				 const struct sockaddr *src, uint64_t now_ns);

void cookie_maker_init(struct cookie_maker *m, const uint8_t their_public[KEY_LEN]);
void cookie_maker_wipe(struct cookie_maker *m);
/* Fills the MACs at the end of an outgoing handshake message. */
void cookie_maker_add_macs(struct cookie_maker *m, uint8_t *msg, size_t len, uint64_t now_ns);
/* Takes the cookie of a reply; false if it does not decrypt. */
bool cookie_maker_consume_reply(struct cookie_maker *m, const struct message_cookie_reply *reply,
				uint64_t now_ns);

#endif
