/* SPDX-License-Identifier: BSD-3-Clause */
#include <endian.h>
#include <netinet/in.h>
#include <string.h>

#include "cookie.h"
#include "messages.h"

static void derive_key(uint8_t out[HASH_LEN], const char *label, const uint8_t *pub)
{
	hash2(out, label, strlen(label), pub, KEY_LEN);
}

void cookie_checker_set_key(struct cookie_checker *c, const uint8_t *our_public)
{
	if (!our_public) {
		crypto_wipe(c->mac1_key, sizeof(c->mac1_key));
		crypto_wipe(c->cookie_key, sizeof(c->cookie_key));
		return;
	}
	derive_key(c->mac1_key, LABEL_MAC1, our_public);
	derive_key(c->cookie_key, LABEL_COOKIE, our_public);
}

void cookie_checker_wipe(struct cookie_checker *c)
{
	crypto_wipe(c, sizeof(*c));
}

/* The cookie is a MAC of the source address and port under a secret that
 * changes every COOKIE_SECRET_MAX_AGE. */
static void make_cookie(struct cookie_checker *c, uint8_t cookie[MAC_LEN],
			const struct sockaddr *src, uint64_t now_ns)
{
	uint8_t buf[16 + 2];
	size_t n = 0;

	if (!c->has_secret || now_ns - c->secret_birth_ns > COOKIE_SECRET_MAX_AGE) {
		crypto_random(c->secret, sizeof(c->secret));
		c->secret_birth_ns = now_ns;
		c->has_secret = true;
	}
	if (src->sa_family == AF_INET) {
		const struct sockaddr_in *in4 = (const struct sockaddr_in *)src;
		memcpy(buf, &in4->sin_addr, 4);
		memcpy(buf + 4, &in4->sin_port, 2);
		n = 6;
	} else if (src->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)src;
		memcpy(buf, &in6->sin6_addr, 16);
		memcpy(buf + 16, &in6->sin6_port, 2);
		n = 18;
	}
	mac16(cookie, c->secret, sizeof(c->secret), buf, n);
}

bool cookie_has_mac2(const uint8_t *msg, size_t len)
{
	const struct message_macs *macs = (const void *)(msg + len - sizeof(*macs));

	return !crypto_is_zero(macs->mac2, MAC_LEN);
}

enum cookie_mac_state cookie_checker_validate(struct cookie_checker *c, const uint8_t *msg,
					      size_t len, const struct sockaddr *src,
					      bool check_mac2, uint64_t now_ns)
{
	const struct message_macs *macs = (const void *)(msg + len - sizeof(*macs));
	uint8_t computed[MAC_LEN], cookie[MAC_LEN];
	enum cookie_mac_state state = COOKIE_INVALID_MAC;

	mac16(computed, c->mac1_key, sizeof(c->mac1_key), msg, len - sizeof(*macs));
	if (!crypto_equal(computed, macs->mac1, MAC_LEN))
		goto out;
	state = COOKIE_VALID_MAC_NO_COOKIE;
	/* Under a flood, no MAC2 saves two BLAKE2s a message. */
	if (!check_mac2 || !cookie_has_mac2(msg, len))
		goto out;
	make_cookie(c, cookie, src, now_ns);
	mac16(computed, cookie, sizeof(cookie), msg, len - MAC_LEN);
	if (crypto_equal(computed, macs->mac2, MAC_LEN))
		state = COOKIE_VALID_MAC_WITH_COOKIE;
	crypto_wipe(cookie, sizeof(cookie));
out:
	return state;
}

void cookie_checker_create_reply(struct cookie_checker *c, struct message_cookie_reply *reply,
				 const uint8_t *msg, size_t len, uint32_t receiver_index,
				 const struct sockaddr *src, uint64_t now_ns)
{
	const struct message_macs *macs = (const void *)(msg + len - sizeof(*macs));
	uint8_t cookie[MAC_LEN];

	reply->type = htole32(MESSAGE_COOKIE_REPLY);
	reply->receiver_index = receiver_index;
	crypto_random(reply->nonce, sizeof(reply->nonce));
	make_cookie(c, cookie, src, now_ns);
	xaead_seal(reply->encrypted_cookie, cookie, sizeof(cookie), macs->mac1, MAC_LEN,
		   reply->nonce, c->cookie_key);
	crypto_wipe(cookie, sizeof(cookie));
}

void cookie_maker_init(struct cookie_maker *m, const uint8_t their_public[KEY_LEN])
{
	memset(m, 0, sizeof(*m));
	derive_key(m->mac1_key, LABEL_MAC1, their_public);
	derive_key(m->cookie_key, LABEL_COOKIE, their_public);
}

void cookie_maker_wipe(struct cookie_maker *m)
{
	crypto_wipe(m, sizeof(*m));
}

void cookie_maker_add_macs(struct cookie_maker *m, uint8_t *msg, size_t len, uint64_t now_ns)
{
	struct message_macs *macs = (void *)(msg + len - sizeof(*macs));

	mac16(macs->mac1, m->mac1_key, sizeof(m->mac1_key), msg, len - sizeof(*macs));
	memcpy(m->last_mac1_sent, macs->mac1, MAC_LEN);
	m->has_sent_mac1 = true;
	if (m->has_cookie &&
	    now_ns - m->cookie_birth_ns < COOKIE_SECRET_MAX_AGE - COOKIE_SECRET_LATENCY)
		mac16(macs->mac2, m->cookie, sizeof(m->cookie), msg, len - MAC_LEN);
	else
		memset(macs->mac2, 0, MAC_LEN);
}

bool cookie_maker_consume_reply(struct cookie_maker *m, const struct message_cookie_reply *reply,
				uint64_t now_ns)
{
	uint8_t cookie[MAC_LEN];

	if (!m->has_sent_mac1)
		return false;
	if (!xaead_open(cookie, reply->encrypted_cookie, sizeof(reply->encrypted_cookie),
			m->last_mac1_sent, MAC_LEN, reply->nonce, m->cookie_key))
		return false;
	memcpy(m->cookie, cookie, MAC_LEN);
	crypto_wipe(cookie, sizeof(cookie));
	m->cookie_birth_ns = now_ns;
	m->has_cookie = true;
	m->has_sent_mac1 = false;
	return true;
}
