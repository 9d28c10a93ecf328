/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s as WireGuard uses it (whitepaper
 * section 5.4): the initiation and response messages, and the transport
 * keypair derived from a completed handshake. MACs are added by the caller
 * (cookie.h) after create and checked before consume.
 */
#ifndef ALTUNTUN_NOISE_H
#define ALTUNTUN_NOISE_H

#include "device_internal.h"

/* Recomputes DH(static, static) for the peer after a key change. */
void noise_precompute_static_static(altuntun_device *dev, struct altuntun_peer *peer);
/* Forgets the pending handshake (keeps the replay/flood state). */
void noise_handshake_clear(altuntun_device *dev, struct altuntun_peer *peer);

int noise_create_initiation(altuntun_device *dev, struct altuntun_peer *peer,
			    struct message_initiation *msg, uint64_t wall_ns);
/* Returns the initiating peer, or NULL with *err set. */
struct altuntun_peer *noise_consume_initiation(altuntun_device *dev,
					       const struct message_initiation *msg,
					       uint64_t mono_ns, int *err);
int noise_create_response(altuntun_device *dev, struct altuntun_peer *peer,
			  struct message_response *msg);
struct altuntun_peer *noise_consume_response(altuntun_device *dev,
					     const struct message_response *msg, int *err);
/* Derives the transport keypair from a finished handshake; NULL on failure. */
struct keypair *noise_begin_session(altuntun_device *dev, struct altuntun_peer *peer,
				    uint64_t mono_ns);

#endif
