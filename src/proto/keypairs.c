/* SPDX-License-Identifier: BSD-3-Clause */
/* A peer's sessions: the current keypair, the previous one (still accepted
 * while packets in flight arrive), and the next one (a responder's new
 * session, unused for sending until the initiator's first packet confirms it). */
#include <stdlib.h>

#include "device_internal.h"

void keypair_free(altuntun_device *dev, struct keypair *kp)
{
	if (!kp)
		return;
	index_table_remove(&dev->indices, &kp->entry);
	aead_state_free(&kp->send_aead);
	aead_state_free(&kp->recv_aead);
	crypto_wipe(kp, sizeof(*kp));
	free(kp);
}

void peer_keypairs_clear(altuntun_device *dev, struct altuntun_peer *peer)
{
	keypair_free(dev, peer->kp_previous);
	keypair_free(dev, peer->kp_current);
	keypair_free(dev, peer->kp_next);
	peer->kp_previous = peer->kp_current = peer->kp_next = NULL;
}

void peer_keypairs_expire_current(struct altuntun_peer *peer)
{
	if (peer->kp_next)
		peer->kp_next->send_valid = false;
	if (peer->kp_current)
		peer->kp_current->send_valid = false;
}

void peer_keypairs_add(altuntun_device *dev, struct altuntun_peer *peer, struct keypair *kp)
{
	if (kp->initiator) {
		/* Our own handshake completed: use it at once. A pending next
		 * keypair was never confirmed and becomes the previous one. */
		if (peer->kp_next) {
			keypair_free(dev, peer->kp_previous);
			peer->kp_previous = peer->kp_next;
			peer->kp_next = NULL;
			keypair_free(dev, peer->kp_current);
		} else {
			keypair_free(dev, peer->kp_previous);
			peer->kp_previous = peer->kp_current;
		}
		peer->kp_current = kp;
	} else {
		/* As responder, wait for the initiator to use the new keys. */
		keypair_free(dev, peer->kp_next);
		peer->kp_next = kp;
		keypair_free(dev, peer->kp_previous);
		peer->kp_previous = NULL;
	}
}

bool peer_keypairs_received_with(altuntun_device *dev, struct altuntun_peer *peer,
				 struct keypair *kp)
{
	if (kp != peer->kp_next)
		return false;
	keypair_free(dev, peer->kp_previous);
	peer->kp_previous = peer->kp_current;
	peer->kp_current = kp;
	peer->kp_next = NULL;
	return true;
}
