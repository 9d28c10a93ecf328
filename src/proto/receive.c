/* SPDX-License-Identifier: BSD-3-Clause */
/* Incoming datagrams: handshake messages (behind MAC1, and under load behind
 * the per-source policy of load.c, cookies and the rate limiter), cookie
 * replies and data messages. */
#include <arpa/inet.h>
#include <endian.h>
#include <string.h>

#include "device_internal.h"
#include "noise.h"
#include "ratelimiter.h"

static void update_endpoint(struct altuntun_peer *peer, const struct altuntun_endpoint *from)
{
	peer->endpoint = *from;
	peer->has_endpoint = true;
}

static void send_response(altuntun_device *dev, struct altuntun_peer *peer, struct altuntun_now now)
{
	struct message_response msg;
	struct keypair *kp;

	if (noise_create_response(dev, peer, &msg) != ALTUNTUN_OK)
		return;
	cookie_maker_add_macs(&peer->cookie, (uint8_t *)&msg, sizeof(msg), now.mono_ns);
	kp = noise_begin_session(dev, peer, now.mono_ns);
	if (!kp)
		goto out;
	timers_session_derived(dev, peer, now);
	timers_any_authenticated_packet_traversal(dev, peer, now);
	timers_any_authenticated_packet_sent(peer);
	peer->timers.has_sent_handshake = true;
	peer->timers.last_sent_handshake_ns = now.mono_ns;
	peer_transmit(dev, peer, (const uint8_t *)&msg, sizeof(msg));
out:
	crypto_wipe(&msg, sizeof(msg));
}

static int receive_initiation(altuntun_device *dev, struct altuntun_now now,
			      const struct altuntun_endpoint *from, const uint8_t *buf, size_t len,
			      struct altuntun_out *out)
{
	struct altuntun_peer *peer;
	int err;

	peer = noise_consume_initiation(dev, (const struct message_initiation *)buf, now.mono_ns,
					&err);
	if (!peer)
		return err;
	out->peer = peer;
	peer->stats.rx_bytes += len;
	timers_any_authenticated_packet_received(peer);
	timers_any_authenticated_packet_traversal(dev, peer, now);
	update_endpoint(peer, from);
	send_response(dev, peer, now);
	return ALTUNTUN_OK;
}

static int receive_response(altuntun_device *dev, struct altuntun_now now,
			    const struct altuntun_endpoint *from, const uint8_t *buf, size_t len,
			    struct altuntun_out *out)
{
	struct altuntun_peer *peer;
	int err;

	peer = noise_consume_response(dev, (const struct message_response *)buf, &err);
	if (!peer)
		return err;
	out->peer = peer;
	peer->stats.rx_bytes += len;
	timers_any_authenticated_packet_received(peer);
	timers_any_authenticated_packet_traversal(dev, peer, now);
	update_endpoint(peer, from);
	if (noise_begin_session(dev, peer, now.mono_ns)) {
		timers_session_derived(dev, peer, now);
		timers_handshake_complete(peer, now);
		/* Confirms the session to the responder, with data if any waits. */
		peer_send_keepalive(dev, peer, now);
	}
	return ALTUNTUN_OK;
}

static int send_cookie_reply(altuntun_device *dev, struct altuntun_now now,
			     const struct altuntun_endpoint *from, const uint8_t *buf, size_t len)
{
	struct message_cookie_reply reply;
	/* Both messages carry the sender index right after the type. */
	uint32_t sender;

	memcpy(&sender, buf + 4, sizeof(sender));
	cookie_checker_create_reply(&dev->cookie, &reply, buf, len, sender, &from->addr.sa,
				    now.mono_ns);
	dev->cb.send(dev->cb.ctx, NULL, from, (const uint8_t *)&reply, sizeof(reply));
	return ALTUNTUN_ERR_COOKIE_REQUIRED;
}

static int receive_handshake(altuntun_device *dev, struct altuntun_now now,
			     const struct altuntun_endpoint *from, const uint8_t *buf, size_t len,
			     uint32_t type, struct altuntun_out *out)
{
	enum cookie_mac_state mac;
	bool under_load, light, direct, tracked;

	if (!dev->has_identity)
		return ALTUNTUN_ERR_NO_PRIVATE_KEY;
	under_load = device_under_load(dev, now.mono_ns);
	if (under_load && !cookie_has_mac2(buf, len) &&
	    device_source_held(dev, now.mono_ns, &from->addr.sa))
		return ALTUNTUN_ERR_RATE_LIMITED;
	mac = cookie_checker_validate(&dev->cookie, buf, len, &from->addr.sa, under_load,
				      now.mono_ns);
	if (mac == COOKIE_INVALID_MAC)
		return ALTUNTUN_ERR_BAD_MAC1;
	light = device_source_is_light(dev, now.mono_ns, &from->addr.sa, under_load, &tracked);
	if (under_load) {
		/* Without MAC2: only a light source, within the direct budget. */
		direct = mac != COOKIE_VALID_MAC_WITH_COOKIE;
		if (direct && !(light && device_direct_budget_left(dev, now.mono_ns))) {
			if (!device_cookie_reply_allowed(dev, now.mono_ns, &from->addr.sa, tracked))
				return ALTUNTUN_ERR_RATE_LIMITED;
			return send_cookie_reply(dev, now, from, buf, len);
		}
		if (!ratelimiter_allow(dev->ratelimiter, now.mono_ns, &from->addr.sa))
			return ALTUNTUN_ERR_RATE_LIMITED;
		if (direct)
			device_direct_budget_take(dev, now.mono_ns);
	}
	if (type == MESSAGE_INITIATION)
		return receive_initiation(dev, now, from, buf, len, out);
	return receive_response(dev, now, from, buf, len, out);
}

static int receive_cookie_reply(altuntun_device *dev, struct altuntun_now now, const uint8_t *buf,
				struct altuntun_out *out)
{
	const struct message_cookie_reply *reply = (const void *)buf;
	struct index_entry *e;

	e = index_table_lookup(&dev->indices, reply->receiver_index,
			       INDEX_HANDSHAKE | INDEX_KEYPAIR);
	if (!e)
		return ALTUNTUN_ERR_UNKNOWN_INDEX;
	out->peer = e->peer;
	if (!cookie_maker_consume_reply(&e->peer->cookie, reply, now.mono_ns))
		return ALTUNTUN_ERR_DECRYPT;
	return ALTUNTUN_OK;
}

/* Length of the IP packet at the start of a padded plaintext, or 0. */
static size_t inner_length(const uint8_t *pkt, size_t len, int *family, const uint8_t **src)
{
	size_t total;

	if (len >= 20 && pkt[0] >> 4 == 4) {
		total = (size_t)pkt[2] << 8 | pkt[3];
		if (total < (size_t)(pkt[0] & 0xf) * 4 || (pkt[0] & 0xf) < 5)
			return 0;
		*family = AF_INET;
		*src = pkt + 12;
	} else if (len >= 40 && pkt[0] >> 4 == 6) {
		total = 40 + ((size_t)pkt[4] << 8 | pkt[5]);
		*family = AF_INET6;
		*src = pkt + 8;
	} else {
		return 0;
	}
	return total <= len ? total : 0;
}

/* The initiator refreshes a session that is about to expire when it hears
 * from the peer on it, once, so the responder is not cut off. */
static void keep_key_fresh_on_receive(altuntun_device *dev, struct altuntun_peer *peer,
				      struct altuntun_now now)
{
	struct keypair *kp = peer->kp_current;

	if (kp && kp->send_valid && kp->initiator && !peer->timers.sent_lastminute_handshake &&
	    now.mono_ns - kp->birth_ns > REJECT_AFTER_TIME - KEEPALIVE_TIMEOUT - REKEY_TIMEOUT) {
		peer->timers.sent_lastminute_handshake = true;
		peer_send_handshake_initiation(dev, peer, now, false);
	}
}

/* A data message up to its decryption: the keypair it is for, if usable. */
static int data_keypair(altuntun_device *dev, struct altuntun_now now, uint32_t index,
			uint64_t counter, struct altuntun_out *out, struct keypair **kpo)
{
	struct index_entry *e;
	struct keypair *kp;

	e = index_table_lookup(&dev->indices, index, INDEX_KEYPAIR);
	if (!e)
		return ALTUNTUN_ERR_UNKNOWN_INDEX;
	kp = e->keypair;
	out->peer = e->peer;
	if (!kp->recv_valid || now.mono_ns - kp->birth_ns >= REJECT_AFTER_TIME ||
	    counter >= REJECT_AFTER_MESSAGES)
		return ALTUNTUN_ERR_KEY_EXPIRED;
	*kpo = kp;
	return ALTUNTUN_OK;
}

/* A data message whose tag verified: replay window, session and timers,
 * then the inner packet. */
static int data_accept(altuntun_device *dev, struct altuntun_now now,
		       const struct altuntun_endpoint *from, uint8_t *buf, size_t len,
		       struct keypair *kp, uint64_t counter, struct altuntun_out *out)
{
	struct altuntun_peer *peer = kp->entry.peer;
	size_t plain_len, inner;
	const uint8_t *src;
	int family;

	if (!replay_check(&kp->replay, counter, REJECT_AFTER_MESSAGES))
		return ALTUNTUN_ERR_REPLAY;
	plain_len = len - ALTUNTUN_HEADROOM - AEAD_TAG_LEN;

	if (peer_keypairs_received_with(dev, peer, kp)) {
		timers_handshake_complete(peer, now);
		peer_send_staged(dev, peer, now);
	}
	keep_key_fresh_on_receive(dev, peer, now);
	update_endpoint(peer, from);
	timers_any_authenticated_packet_received(peer);
	timers_any_authenticated_packet_traversal(dev, peer, now);
	if (plain_len == 0) {
		peer->stats.rx_bytes += len;
		return ALTUNTUN_OK; /* keepalive */
	}
	timers_data_received(dev, peer, now);

	/* As the Linux driver: a packet that is dropped here (malformed, or
	 * from a source this peer may not use) is not in the peer's rx. */
	inner = inner_length(buf + ALTUNTUN_HEADROOM, plain_len, &family, &src);
	if (!inner)
		return ALTUNTUN_ERR_BAD_INNER_PACKET;
	if (altuntun_allowed_ip_lookup(dev, family, src) != peer)
		return ALTUNTUN_ERR_SOURCE_NOT_ALLOWED;
	peer->stats.rx_bytes += len;
	out->data = buf + ALTUNTUN_HEADROOM;
	out->len = inner;
	return ALTUNTUN_DELIVER;
}

static int receive_data(altuntun_device *dev, struct altuntun_now now,
			const struct altuntun_endpoint *from, uint8_t *buf, size_t len,
			struct altuntun_out *out)
{
	const struct message_data *hdr = (const void *)buf;
	uint64_t counter = le64toh(hdr->counter);
	struct keypair *kp;
	int r;

	r = data_keypair(dev, now, hdr->receiver_index, counter, out, &kp);
	if (r != ALTUNTUN_OK)
		return r;
	if (!aead_open_data(&kp->recv_aead, buf + ALTUNTUN_HEADROOM, buf + ALTUNTUN_HEADROOM,
			    len - ALTUNTUN_HEADROOM, counter, kp->recv_key))
		return ALTUNTUN_ERR_DECRYPT;
	return data_accept(dev, now, from, buf, len, kp, counter, out);
}

static bool valid_source(const struct altuntun_endpoint *from)
{
	return from && (from->addr.sa.sa_family == AF_INET || from->addr.sa.sa_family == AF_INET6);
}

int altuntun_receive_prepare(altuntun_device *dev, struct altuntun_now now,
			     const struct altuntun_endpoint *from, uint8_t *buf, size_t len,
			     struct altuntun_out *out, struct altuntun_crypt *crypt)
{
	const struct message_data *hdr = (const void *)buf;
	struct keypair *kp;
	uint32_t type;
	uint64_t counter;
	int r;

	if (!crypt)
		return ALTUNTUN_ERR_INVALID_ARGUMENT;
	if (!buf || !valid_source(from) || len < sizeof(struct message_data) + AEAD_TAG_LEN)
		return altuntun_receive(dev, now, from, buf, len, out);
	memcpy(&type, buf, sizeof(type));
	if (le32toh(type) != MESSAGE_DATA)
		return altuntun_receive(dev, now, from, buf, len, out);
	memset(out, 0, sizeof(*out));
	counter = le64toh(hdr->counter);
	r = data_keypair(dev, now, hdr->receiver_index, counter, out, &kp);
	if (r != ALTUNTUN_OK)
		return r;
	memcpy(crypt->key, kp->recv_key, sizeof(crypt->key));
	crypt->counter = counter;
	crypt->data = buf + ALTUNTUN_HEADROOM;
	crypt->len = len - ALTUNTUN_HEADROOM;
	crypt->index = hdr->receiver_index;
	crypt->session = kp->id;
	crypt->ok = false;
	return ALTUNTUN_DECRYPT;
}

int altuntun_receive_finish(altuntun_device *dev, struct altuntun_now now,
			    const struct altuntun_endpoint *from, uint8_t *buf, size_t len,
			    struct altuntun_out *out, struct altuntun_crypt *crypt)
{
	struct keypair *kp;
	int r;

	memset(out, 0, sizeof(*out));
	if (!crypt || !buf || !valid_source(from) || crypt->data != buf + ALTUNTUN_HEADROOM ||
	    crypt->len + ALTUNTUN_HEADROOM != len)
		return ALTUNTUN_ERR_INVALID_ARGUMENT;
	/* The session may have ended or been replaced since the prepare. */
	r = data_keypair(dev, now, crypt->index, crypt->counter, out, &kp);
	if (r != ALTUNTUN_OK)
		return r;
	if (kp->id != crypt->session)
		return ALTUNTUN_ERR_KEY_EXPIRED;
	if (!crypt->ok)
		return ALTUNTUN_ERR_DECRYPT;
	return data_accept(dev, now, from, buf, len, kp, crypt->counter, out);
}

int altuntun_receive(altuntun_device *dev, struct altuntun_now now,
		     const struct altuntun_endpoint *from, uint8_t *buf, size_t len,
		     struct altuntun_out *out)
{
	uint32_t type;

	memset(out, 0, sizeof(*out));
	if (!buf || !valid_source(from))
		return ALTUNTUN_ERR_INVALID_ARGUMENT;
	if (len < 4)
		return ALTUNTUN_ERR_PACKET_TOO_SHORT;
	memcpy(&type, buf, sizeof(type));
	type = le32toh(type); /* the three reserved bytes must be zero too */
	switch (type) {
	case MESSAGE_INITIATION:
		if (len != sizeof(struct message_initiation))
			return ALTUNTUN_ERR_PACKET_BAD_LENGTH;
		return receive_handshake(dev, now, from, buf, len, type, out);
	case MESSAGE_RESPONSE:
		if (len != sizeof(struct message_response))
			return ALTUNTUN_ERR_PACKET_BAD_LENGTH;
		return receive_handshake(dev, now, from, buf, len, type, out);
	case MESSAGE_COOKIE_REPLY:
		if (len != sizeof(struct message_cookie_reply))
			return ALTUNTUN_ERR_PACKET_BAD_LENGTH;
		return receive_cookie_reply(dev, now, buf, out);
	case MESSAGE_DATA:
		if (len < sizeof(struct message_data) + AEAD_TAG_LEN)
			return ALTUNTUN_ERR_PACKET_BAD_LENGTH;
		return receive_data(dev, now, from, buf, len, out);
	default:
		return ALTUNTUN_ERR_PACKET_UNKNOWN_TYPE;
	}
}

void altuntun_receive_batch(altuntun_device *dev, struct altuntun_now now,
			    struct altuntun_packet *pkts, size_t n)
{
	for (size_t i = 0; i < n; i++)
		pkts[i].result = altuntun_receive(dev, now, &pkts[i].from, pkts[i].buf,
						  pkts[i].len, &pkts[i].out);
}
