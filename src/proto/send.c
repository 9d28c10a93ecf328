/* SPDX-License-Identifier: BSD-3-Clause */
/* Outgoing: data packets encrypted in place, packets staged during a
 * handshake, keepalives and handshake initiations. */
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "device_internal.h"
#include "noise.h"

int peer_transmit(altuntun_device *dev, struct altuntun_peer *peer, const uint8_t *data, size_t len)
{
	int ret;

	if (!peer->has_endpoint)
		return -EDESTADDRREQ;
	ret = dev->cb.send(dev->cb.ctx, peer, &peer->endpoint, data, len);
	if (ret == 0)
		peer->stats.tx_bytes += len;
	return ret;
}

void peer_send_handshake_initiation(altuntun_device *dev, struct altuntun_peer *peer,
				    struct altuntun_now now, bool is_retry)
{
	struct peer_timers *t = &peer->timers;
	struct message_initiation msg;

	if (!is_retry) {
		/*
		 * An initiation is already waiting for its answer: its jittered
		 * retransmission timer decides when to try again. Were data to
		 * trigger it instead, two peers whose traffic started together
		 * would cross initiations forever, each one on the same beat.
		 */
		if (t->retransmit_handshake != TIMER_OFF)
			return;
		t->handshake_attempts = 0;
	}
	/* At most one initiation per REKEY_TIMEOUT. */
	if (t->has_sent_handshake && now.mono_ns - t->last_sent_handshake_ns < REKEY_TIMEOUT)
		return;
	if (!peer->has_endpoint || !peer->static_static_valid || !dev->has_identity)
		return;
	if (noise_create_initiation(dev, peer, &msg, now.wall_ns) != ALTUNTUN_OK)
		return;
	cookie_maker_add_macs(&peer->cookie, (uint8_t *)&msg, sizeof(msg), now.mono_ns);
	timers_any_authenticated_packet_traversal(dev, peer, now);
	timers_any_authenticated_packet_sent(peer);
	t->has_sent_handshake = true;
	t->last_sent_handshake_ns = now.mono_ns;
	peer_transmit(dev, peer, (const uint8_t *)&msg, sizeof(msg));
	peer->stats.handshakes_initiated++;
	timers_handshake_initiated(dev, peer, now);
	crypto_wipe(&msg, sizeof(msg));
}

/* The keypair to send with, or NULL when a handshake is needed. */
static struct keypair *sending_keypair(struct altuntun_peer *peer, struct altuntun_now now)
{
	struct keypair *kp = peer->kp_current;

	if (!kp || !kp->send_valid)
		return NULL;
	if (now.mono_ns - kp->birth_ns >= REJECT_AFTER_TIME ||
	    kp->send_counter >= REJECT_AFTER_MESSAGES) {
		kp->send_valid = false;
		return NULL;
	}
	return kp;
}

/* Rekey before the session gets old: the initiator after REKEY_AFTER_TIME,
 * either side after REKEY_AFTER_MESSAGES. */
static void keep_key_fresh(altuntun_device *dev, struct altuntun_peer *peer,
			   struct altuntun_now now)
{
	struct keypair *kp = peer->kp_current;

	if (kp && kp->send_valid &&
	    (kp->send_counter > REKEY_AFTER_MESSAGES ||
	     (kp->initiator && now.mono_ns - kp->birth_ns > REKEY_AFTER_TIME)))
		peer_send_handshake_initiation(dev, peer, now, false);
}

static size_t padded_length(size_t len, size_t mtu)
{
	size_t padded = (len + MESSAGE_PADDING_MULTIPLE - 1) & ~(size_t)(MESSAGE_PADDING_MULTIPLE - 1);

	if (mtu && padded > mtu)
		padded = mtu > len ? mtu : len;
	return padded;
}

/* Writes the header and the padding of buf[HEADROOM .. HEADROOM+len);
 * returns the padded plaintext length. */
static size_t frame_data(struct keypair *kp, uint64_t counter, uint8_t *buf, size_t len, size_t mtu)
{
	struct message_data *hdr = (struct message_data *)buf;
	size_t padded = padded_length(len, mtu);

	memset(buf + ALTUNTUN_HEADROOM + len, 0, padded - len);
	hdr->type = htole32(MESSAGE_DATA);
	hdr->receiver_index = kp->remote_index;
	hdr->counter = htole64(counter);
	return padded;
}

/* Encrypts buf[HEADROOM .. HEADROOM+len) in place; returns the datagram length. */
static size_t seal_data(struct keypair *kp, uint64_t counter, uint8_t *buf, size_t len, size_t mtu)
{
	size_t padded = frame_data(kp, counter, buf, len, mtu);

	aead_seal_data(&kp->send_aead, buf + ALTUNTUN_HEADROOM, buf + ALTUNTUN_HEADROOM, padded,
		       counter, kp->send_key);
	return sizeof(struct message_data) + padded + AEAD_TAG_LEN;
}

static void note_sent(altuntun_device *dev, struct altuntun_peer *peer, size_t plain_len,
		      struct altuntun_now now)
{
	timers_any_authenticated_packet_traversal(dev, peer, now);
	timers_any_authenticated_packet_sent(peer);
	if (plain_len)
		timers_data_sent(dev, peer, now);
}

static int stage(struct altuntun_peer *peer, const uint8_t *pkt, size_t len, size_t mtu)
{
	struct staged_packet *slot;
	uint8_t *copy;

	if (!peer->staged) {
		peer->staged = calloc(ALTUNTUN_MAX_STAGED_PACKETS, sizeof(*peer->staged));
		if (!peer->staged)
			return ALTUNTUN_ERR_NOMEM;
	}
	copy = malloc(ALTUNTUN_HEADROOM + len + ALTUNTUN_TAILROOM);
	if (!copy)
		return ALTUNTUN_ERR_NOMEM;
	if (peer->staged_count == ALTUNTUN_MAX_STAGED_PACKETS) {
		/* Full: the oldest packet makes room, as in the Linux driver. */
		slot = &peer->staged[peer->staged_head];
		free(slot->buf);
		peer->staged_head = (peer->staged_head + 1) % ALTUNTUN_MAX_STAGED_PACKETS;
		peer->staged_count--;
	}
	slot = &peer->staged[(peer->staged_head + peer->staged_count) % ALTUNTUN_MAX_STAGED_PACKETS];
	if (len)
		memcpy(copy + ALTUNTUN_HEADROOM, pkt, len);
	slot->buf = copy;
	slot->len = len;
	slot->mtu = mtu;
	peer->staged_count++;
	return ALTUNTUN_OK;
}

void peer_staged_purge(struct altuntun_peer *peer)
{
	while (peer->staged_count) {
		struct staged_packet *p = &peer->staged[peer->staged_head];
		crypto_wipe(p->buf, ALTUNTUN_HEADROOM + p->len);
		free(p->buf);
		p->buf = NULL;
		peer->staged_head = (peer->staged_head + 1) % ALTUNTUN_MAX_STAGED_PACKETS;
		peer->staged_count--;
	}
	free(peer->staged);
	peer->staged = NULL;
	peer->staged_head = 0;
}

void peer_send_staged(altuntun_device *dev, struct altuntun_peer *peer, struct altuntun_now now)
{
	struct keypair *kp;

	if (!peer->staged_count)
		return;
	kp = sending_keypair(peer, now);
	if (!kp) {
		peer_send_handshake_initiation(dev, peer, now, false);
		return;
	}
	while (peer->staged_count) {
		struct staged_packet *p = &peer->staged[peer->staged_head];
		size_t dlen;

		if (kp->send_counter >= REJECT_AFTER_MESSAGES) {
			kp->send_valid = false;
			peer_send_handshake_initiation(dev, peer, now, false);
			return;
		}
		dlen = seal_data(kp, kp->send_counter++, p->buf, p->len, p->mtu);
		peer_transmit(dev, peer, p->buf, dlen);
		note_sent(dev, peer, p->len, now);
		free(p->buf);
		p->buf = NULL;
		peer->staged_head = (peer->staged_head + 1) % ALTUNTUN_MAX_STAGED_PACKETS;
		peer->staged_count--;
	}
	keep_key_fresh(dev, peer, now);
}

void peer_send_keepalive(altuntun_device *dev, struct altuntun_peer *peer, struct altuntun_now now)
{
	if (!peer->staged_count && stage(peer, NULL, 0, 0) != ALTUNTUN_OK)
		return;
	peer_send_staged(dev, peer, now);
}

/* Destination of an IP packet; false if it is not a plausible one. */
static bool inner_destination(const uint8_t *pkt, size_t len, int *family, const uint8_t **dst)
{
	if (len >= 20 && pkt[0] >> 4 == 4) {
		*family = AF_INET;
		*dst = pkt + 16;
		return true;
	}
	if (len >= 40 && pkt[0] >> 4 == 6) {
		*family = AF_INET6;
		*dst = pkt + 24;
		return true;
	}
	return false;
}

/*
 * altuntun_send() up to the encryption: with `crypt`, the packet is framed
 * and its AEAD left to the caller (altuntun_send_prepare); without, it is
 * sealed here.
 */
static int send_packet(altuntun_device *dev, struct altuntun_now now, uint8_t *buf, size_t len,
		       size_t cap, size_t mtu, struct altuntun_out *out,
		       struct altuntun_crypt *crypt)
{
	uint8_t *pkt = buf + ALTUNTUN_HEADROOM;
	struct altuntun_peer *peer;
	struct keypair *kp;
	const uint8_t *dst;
	uint64_t counter;
	int family, ret;

	memset(out, 0, sizeof(*out));
	if (!buf || len > ALTUNTUN_MAX_PACKET)
		return ALTUNTUN_ERR_INVALID_ARGUMENT;
	if (cap < ALTUNTUN_HEADROOM + len + ALTUNTUN_TAILROOM)
		return ALTUNTUN_ERR_BUFFER_TOO_SMALL;
	if (!inner_destination(pkt, len, &family, &dst))
		return ALTUNTUN_ERR_BAD_INNER_PACKET;
	peer = altuntun_allowed_ip_lookup(dev, family, dst);
	if (!peer)
		return ALTUNTUN_ERR_NO_ROUTE;
	out->peer = peer;
	if (!peer->has_endpoint)
		return ALTUNTUN_ERR_NO_ENDPOINT;
	if (!dev->has_identity)
		return ALTUNTUN_ERR_NO_PRIVATE_KEY;
	if (!peer->static_static_valid)
		return ALTUNTUN_ERR_LOW_ORDER_KEY;

	kp = sending_keypair(peer, now);
	if (!kp || peer->staged_count) {
		/* Keep order: anything already waiting goes first. */
		ret = stage(peer, pkt, len, mtu);
		if (ret != ALTUNTUN_OK)
			return ret;
		peer_send_staged(dev, peer, now);
		return ALTUNTUN_QUEUED;
	}
	counter = kp->send_counter++;
	if (crypt) {
		size_t padded = frame_data(kp, counter, buf, len, mtu);

		memcpy(crypt->key, kp->send_key, sizeof(crypt->key));
		crypt->counter = counter;
		crypt->data = pkt;
		crypt->len = padded;
		crypt->index = 0;
		crypt->ok = false;
		out->len = sizeof(struct message_data) + padded + AEAD_TAG_LEN;
	} else {
		out->len = seal_data(kp, counter, buf, len, mtu);
	}
	out->data = buf;
	out->endpoint = peer->endpoint;
	peer->stats.tx_bytes += out->len;
	note_sent(dev, peer, len, now);
	keep_key_fresh(dev, peer, now);
	return ALTUNTUN_OK;
}

int altuntun_send(altuntun_device *dev, struct altuntun_now now, uint8_t *buf, size_t len,
		  size_t cap, size_t mtu, struct altuntun_out *out)
{
	return send_packet(dev, now, buf, len, cap, mtu, out, NULL);
}

int altuntun_send_prepare(altuntun_device *dev, struct altuntun_now now, uint8_t *buf, size_t len,
			  size_t cap, size_t mtu, struct altuntun_out *out,
			  struct altuntun_crypt *crypt)
{
	if (!crypt)
		return ALTUNTUN_ERR_INVALID_ARGUMENT;
	return send_packet(dev, now, buf, len, cap, mtu, out, crypt);
}

void altuntun_send_batch(altuntun_device *dev, struct altuntun_now now,
			 struct altuntun_packet *pkts, size_t n)
{
	for (size_t i = 0; i < n; i++)
		pkts[i].result = altuntun_send(dev, now, pkts[i].buf, pkts[i].len, pkts[i].cap,
					       pkts[i].mtu, &pkts[i].out);
}
