/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The timers of the whitepaper's section 6, as deadlines on the monotonic
 * clock the caller passes in. Each event of the protocol has its function
 * here; altuntun_tick() fires whatever is due.
 */
#include "device_internal.h"
#include "noise.h"

static uint64_t jitter(void)
{
	return crypto_random_uniform((uint32_t)REKEY_TIMEOUT_JITTER_MAX);
}

static void arm(altuntun_device *dev, uint64_t *timer, uint64_t when)
{
	*timer = when;
	device_note_deadline(dev, when);
}

void timers_init(struct altuntun_peer *peer)
{
	struct peer_timers *t = &peer->timers;

	t->retransmit_handshake = TIMER_OFF;
	t->send_keepalive = TIMER_OFF;
	t->new_handshake = TIMER_OFF;
	t->zero_key_material = TIMER_OFF;
	t->persistent_keepalive = TIMER_OFF;
}

/* An initiation was sent: retransmit if no response within REKEY_TIMEOUT. */
void timers_handshake_initiated(altuntun_device *dev, struct altuntun_peer *peer,
				struct altuntun_now now)
{
	arm(dev, &peer->timers.retransmit_handshake, now.mono_ns + REKEY_TIMEOUT + jitter());
}

/*
 * A data packet was sent: if nothing authenticated comes back within
 * KEEPALIVE + REKEY_TIMEOUT of the first such packet, handshake. Only the
 * first unanswered packet arms it: later ones must not push it back.
 */
void timers_data_sent(altuntun_device *dev, struct altuntun_peer *peer, struct altuntun_now now)
{
	if (peer->timers.new_handshake == TIMER_OFF)
		arm(dev, &peer->timers.new_handshake,
		    now.mono_ns + KEEPALIVE_TIMEOUT + REKEY_TIMEOUT + jitter());
}

/* Data came in: answer with a keepalive if we have nothing to send. */
void timers_data_received(altuntun_device *dev, struct altuntun_peer *peer,
			  struct altuntun_now now)
{
	if (peer->timers.send_keepalive == TIMER_OFF)
		arm(dev, &peer->timers.send_keepalive, now.mono_ns + KEEPALIVE_TIMEOUT);
	else
		peer->timers.need_another_keepalive = true;
}

void timers_any_authenticated_packet_sent(struct altuntun_peer *peer)
{
	peer->timers.send_keepalive = TIMER_OFF;
}

void timers_any_authenticated_packet_received(struct altuntun_peer *peer)
{
	peer->timers.new_handshake = TIMER_OFF;
}

void timers_any_authenticated_packet_traversal(altuntun_device *dev, struct altuntun_peer *peer,
					       struct altuntun_now now)
{
	if (peer->persistent_keepalive)
		arm(dev, &peer->timers.persistent_keepalive,
		    now.mono_ns + (uint64_t)peer->persistent_keepalive * NS_PER_SEC);
}

void timers_handshake_complete(struct altuntun_peer *peer, struct altuntun_now now)
{
	peer->timers.retransmit_handshake = TIMER_OFF;
	peer->timers.handshake_attempts = 0;
	peer->timers.sent_lastminute_handshake = false;
	peer->stats.last_handshake_wall_ns = now.wall_ns;
	peer->stats.handshakes_completed++;
}

/* Keys not renewed within 3 x REJECT_AFTER_TIME are wiped. */
void timers_session_derived(altuntun_device *dev, struct altuntun_peer *peer,
			    struct altuntun_now now)
{
	arm(dev, &peer->timers.zero_key_material, now.mono_ns + 3 * REJECT_AFTER_TIME);
}

void timers_persistent_keepalive_changed(altuntun_device *dev, struct altuntun_peer *peer,
					 struct altuntun_now now)
{
	if (!peer->persistent_keepalive)
		peer->timers.persistent_keepalive = TIMER_OFF;
	else
		timers_any_authenticated_packet_traversal(dev, peer, now);
}

static void expired_retransmit_handshake(altuntun_device *dev, struct altuntun_peer *peer,
					 struct altuntun_now now)
{
	struct peer_timers *t = &peer->timers;

	if (t->handshake_attempts > MAX_TIMER_HANDSHAKES) {
		/* REKEY_ATTEMPT_TIME of failures: give up, drop what waited. */
		t->send_keepalive = TIMER_OFF;
		peer_staged_purge(peer);
		if (t->zero_key_material == TIMER_OFF)
			arm(dev, &t->zero_key_material, now.mono_ns + 3 * REJECT_AFTER_TIME);
		return;
	}
	t->handshake_attempts++;
	/* The source address may be what fails: let routing choose again. */
	altuntun_peer_clear_local_address(peer);
	peer_send_handshake_initiation(dev, peer, now, true);
}

static void expired_send_keepalive(altuntun_device *dev, struct altuntun_peer *peer,
				   struct altuntun_now now)
{
	peer_send_keepalive(dev, peer, now);
	if (peer->timers.need_another_keepalive) {
		peer->timers.need_another_keepalive = false;
		arm(dev, &peer->timers.send_keepalive, now.mono_ns + KEEPALIVE_TIMEOUT);
	}
}

static void expired_new_handshake(altuntun_device *dev, struct altuntun_peer *peer,
				  struct altuntun_now now)
{
	altuntun_peer_clear_local_address(peer);
	peer_send_handshake_initiation(dev, peer, now, false);
}

static void expired_zero_key_material(altuntun_device *dev, struct altuntun_peer *peer)
{
	peer_keypairs_clear(dev, peer);
	noise_handshake_clear(dev, peer);
}

static void expired_persistent_keepalive(altuntun_device *dev, struct altuntun_peer *peer,
					 struct altuntun_now now)
{
	if (peer->persistent_keepalive)
		peer_send_keepalive(dev, peer, now);
}

static bool due(uint64_t *timer, uint64_t now)
{
	if (*timer > now)
		return false;
	*timer = TIMER_OFF;
	return true;
}

static uint64_t min_deadline(const struct peer_timers *t)
{
	uint64_t m = t->retransmit_handshake;

	if (t->send_keepalive < m)
		m = t->send_keepalive;
	if (t->new_handshake < m)
		m = t->new_handshake;
	if (t->zero_key_material < m)
		m = t->zero_key_material;
	if (t->persistent_keepalive < m)
		m = t->persistent_keepalive;
	return m;
}

uint64_t timers_run(altuntun_device *dev, struct altuntun_peer *peer, struct altuntun_now now)
{
	struct peer_timers *t = &peer->timers;

	if (due(&t->zero_key_material, now.mono_ns))
		expired_zero_key_material(dev, peer);
	if (due(&t->retransmit_handshake, now.mono_ns))
		expired_retransmit_handshake(dev, peer, now);
	if (due(&t->new_handshake, now.mono_ns))
		expired_new_handshake(dev, peer, now);
	if (due(&t->send_keepalive, now.mono_ns))
		expired_send_keepalive(dev, peer, now);
	if (due(&t->persistent_keepalive, now.mono_ns))
		expired_persistent_keepalive(dev, peer, now);
	return min_deadline(t);
}
