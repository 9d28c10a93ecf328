/* SPDX-License-Identifier: BSD-3-Clause */
/* The state behind altuntun_device and altuntun_peer, shared by src/proto. */
#ifndef ALTUNTUN_DEVICE_INTERNAL_H
#define ALTUNTUN_DEVICE_INTERNAL_H

#include "allowedips.h"
#include "altuntun.h"
#include "cookie.h"
#include "crypto.h"
#include "index_table.h"
#include "messages.h"
#include "ratelimiter.h"
#include "replay.h"

#define TIMER_OFF UINT64_MAX

struct keypair {
	struct index_entry entry; /* our index: what the peer sends to */
	uint32_t remote_index;
	uint8_t send_key[KEY_LEN];
	uint8_t recv_key[KEY_LEN];
	struct aead_state send_aead, recv_aead; /* data-path contexts of the keys */
	uint64_t send_counter;
	struct replay_window replay;
	uint64_t birth_ns;
	uint64_t id; /* unique per device: tells sessions apart (altuntun_crypt) */
	bool initiator;
	bool send_valid;
	bool recv_valid;
};

enum handshake_state {
	HANDSHAKE_ZEROED,
	HANDSHAKE_CREATED_INITIATION,
	HANDSHAKE_CONSUMED_INITIATION,
	HANDSHAKE_CREATED_RESPONSE,
	HANDSHAKE_CONSUMED_RESPONSE,
};

struct handshake {
	enum handshake_state state;
	struct index_entry entry;
	uint32_t remote_index;
	uint8_t ephemeral_private[KEY_LEN];
	uint8_t remote_ephemeral[KEY_LEN];
	uint8_t hash[HASH_LEN];
	uint8_t chaining_key[HASH_LEN];
	/* Survive handshake_clear(): replay and flood protection. */
	uint8_t latest_timestamp[TAI64N_LEN];
	uint64_t last_initiation_consumption_ns;
	bool consumed_any_initiation;
};

struct staged_packet {
	uint8_t *buf; /* ALTUNTUN_HEADROOM + len + ALTUNTUN_TAILROOM */
	size_t len;
	size_t mtu;
};

struct peer_timers {
	uint64_t retransmit_handshake;
	uint64_t send_keepalive;
	uint64_t new_handshake;
	uint64_t zero_key_material;
	uint64_t persistent_keepalive;
	bool need_another_keepalive;
	bool sent_lastminute_handshake;
	uint32_t handshake_attempts;
	bool has_sent_handshake;
	uint64_t last_sent_handshake_ns;
};

struct altuntun_peer {
	altuntun_device *dev;
	struct altuntun_peer *next, *prev; /* device order */
	struct altuntun_peer *hash_next;   /* public key table chain */
	uint8_t public_key[KEY_LEN];
	uint8_t preshared_key[KEY_LEN];
	bool has_preshared_key;
	/* DH(our static, their static), precomputed; invalid when we have no
	 * private key or their key is a low-order point. */
	uint8_t static_static[KEY_LEN];
	bool static_static_valid;

	struct handshake hs;
	struct cookie_maker cookie;
	struct keypair *kp_current, *kp_previous, *kp_next;

	struct altuntun_endpoint endpoint;
	bool has_endpoint;
	uint16_t persistent_keepalive;

	struct allowedips_owner allowed;

	/* Ring of ALTUNTUN_MAX_STAGED_PACKETS, allocated on first use. */
	struct staged_packet *staged;
	unsigned staged_head, staged_count;

	struct peer_timers timers;
	struct altuntun_peer_stats stats;
	void *userdata;
};

struct altuntun_device {
	struct altuntun_callbacks cb;
	bool has_identity;
	uint8_t static_private[KEY_LEN];
	uint8_t static_public[KEY_LEN];

	struct altuntun_peer *peers_head, *peers_tail;
	size_t peer_count;
	struct altuntun_peer **peer_buckets;
	size_t peer_bucket_count;
	uint8_t peer_hash_key[16];

	struct index_table indices;
	struct allowedips allowed;
	struct cookie_checker cookie;
	/* Token buckets of the sources whose handshakes we process under load. */
	struct ratelimiter *ratelimiter;
	/* Rates of every source of handshake messages with a valid MAC1. */
	struct ratelimiter *talkers;

	/* Handshake load (load.c): messages in this second and the last. */
	uint32_t load_threshold;
	uint64_t load_window_start_ns;
	uint32_t load_count_current, load_count_previous;
	uint64_t last_under_load_ns;
	bool was_under_load;
	/* Under load: each source's fair share of the threshold, and since when. */
	uint32_t fair_share;
	uint64_t fair_share_ns;
	bool has_fair_share;
	/* Under load: the least time between two cookie replies to one source
	 * (load.c: the sources share COOKIE_REPLIES_PER_SECOND). */
	uint64_t cookie_gap_ns;
	/* Under load: messages processed without MAC2, within the threshold. */
	uint64_t direct_tokens_ns, direct_last_ns;
	bool direct_started;

	uint64_t next_deadline_ns; /* lower bound of every peer timer */
	uint64_t last_keypair_id;
};

/* device.c */
struct altuntun_peer *device_peer_by_key(const altuntun_device *dev, const uint8_t pub[KEY_LEN]);
void device_note_deadline(altuntun_device *dev, uint64_t when);

/* keypairs.c: session bookkeeping of a peer */
void keypair_free(altuntun_device *dev, struct keypair *kp);
void peer_keypairs_clear(altuntun_device *dev, struct altuntun_peer *peer);
/* Marks the current sending keypair unusable, so the next packet handshakes. */
void peer_keypairs_expire_current(struct altuntun_peer *peer);
/* After a handshake: the new keypair takes its place (noise_begin_session). */
void peer_keypairs_add(altuntun_device *dev, struct altuntun_peer *peer, struct keypair *kp);
/* Data arrived on kp: confirms a pending responder session. True if kp was
 * the next keypair and is now current. */
bool peer_keypairs_received_with(altuntun_device *dev, struct altuntun_peer *peer,
				 struct keypair *kp);

/* send.c */
void peer_send_handshake_initiation(altuntun_device *dev, struct altuntun_peer *peer,
				    struct altuntun_now now, bool is_retry);
void peer_send_keepalive(altuntun_device *dev, struct altuntun_peer *peer, struct altuntun_now now);
void peer_send_staged(altuntun_device *dev, struct altuntun_peer *peer, struct altuntun_now now);
void peer_staged_purge(struct altuntun_peer *peer);
/* Hands one datagram to the send callback, counting it; 0 or negative errno. */
int peer_transmit(altuntun_device *dev, struct altuntun_peer *peer, const uint8_t *data, size_t len);

/* timers.c: one function per event of the whitepaper's timer section */
void timers_init(struct altuntun_peer *peer);
void timers_handshake_initiated(altuntun_device *dev, struct altuntun_peer *peer, struct altuntun_now now);
void timers_data_sent(altuntun_device *dev, struct altuntun_peer *peer, struct altuntun_now now);
void timers_data_received(altuntun_device *dev, struct altuntun_peer *peer, struct altuntun_now now);
void timers_any_authenticated_packet_sent(struct altuntun_peer *peer);
void timers_any_authenticated_packet_received(struct altuntun_peer *peer);
void timers_any_authenticated_packet_traversal(altuntun_device *dev, struct altuntun_peer *peer,
					       struct altuntun_now now);
void timers_handshake_complete(struct altuntun_peer *peer, struct altuntun_now now);
void timers_session_derived(altuntun_device *dev, struct altuntun_peer *peer, struct altuntun_now now);
void timers_persistent_keepalive_changed(altuntun_device *dev, struct altuntun_peer *peer,
					 struct altuntun_now now);
/* Fires the peer's due timers; returns its next deadline. */
uint64_t timers_run(altuntun_device *dev, struct altuntun_peer *peer, struct altuntun_now now);

/* load.c: who must prove its address (MAC2) when handshakes flood in */
/* Counts this handshake message and tells whether the device is under load:
 * above the threshold of messages per second, and for a second after. */
bool device_under_load(altuntun_device *dev, uint64_t now_ns);
/* Counts a message with a valid MAC1 from `src` (*tracked: it has a place
 * in the table); under load, true if the source sends below its fair share
 * (true whenever not under load). */
bool device_source_is_light(altuntun_device *dev, uint64_t now_ns, const struct sockaddr *src,
			    bool under_load, bool *tracked);
/* Under load, before MAC1, for a message without MAC2: true if `src` is
 * over its (current) fair share and not due a cookie reply, so the message
 * is refused anyway; it is then counted as a MAC1-valid one would be. */
bool device_source_held(altuntun_device *dev, uint64_t now_ns, const struct sockaddr *src);
/* May `src` get a cookie reply now? A tracked source: 20/s, burst 5, and
 * no two closer than the share of the cookie budget allows (load.c). */
bool device_cookie_reply_allowed(altuntun_device *dev, uint64_t now_ns, const struct sockaddr *src,
				 bool tracked);
/* Cookie replies a second to all tracked sources together, at most (with
 * few sources, their buckets alone keep within it). */
#define COOKIE_REPLIES_PER_SECOND 2000
/* The least time between two cookie replies to one of `sources` tracked
 * sources: 0 while their buckets keep within the budget. */
uint64_t device_cookie_gap(size_t sources);
/* The budget of messages processed without MAC2 under load (the threshold
 * per second, a tenth of a second's worth at once). */
bool device_direct_budget_left(altuntun_device *dev, uint64_t now_ns);
void device_direct_budget_take(altuntun_device *dev, uint64_t now_ns);

#endif
