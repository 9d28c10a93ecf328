/* SPDX-License-Identifier: BSD-3-Clause */
/* The device: our static identity, the peers (a list in insertion order and a
 * hash table by public key), and their allowed IPs. */
#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "device_internal.h"
#include "noise.h"
#include "ratelimiter.h"

#define PEER_MIN_BUCKETS 64
#define DEFAULT_LOAD_THRESHOLD 1000
/* Without timers, callers still come back within an hour. */
#define IDLE_TICK_NS (3600 * NS_PER_SEC)

static size_t peer_bucket(const altuntun_device *dev, const uint8_t pub[KEY_LEN])
{
	uint64_t h;

	crypto_shorthash((unsigned char *)&h, pub, KEY_LEN, dev->peer_hash_key);
	return h & (dev->peer_bucket_count - 1);
}

static void peer_table_grow(altuntun_device *dev)
{
	size_t old_count = dev->peer_bucket_count;
	struct altuntun_peer **old = dev->peer_buckets;
	struct altuntun_peer **b = calloc(old_count * 2, sizeof(*b));

	if (!b)
		return; /* longer chains, still correct */
	dev->peer_buckets = b;
	dev->peer_bucket_count = old_count * 2;
	for (size_t i = 0; i < old_count; i++) {
		struct altuntun_peer *p = old[i], *next;
		for (; p; p = next) {
			size_t k = peer_bucket(dev, p->public_key);
			next = p->hash_next;
			p->hash_next = b[k];
			b[k] = p;
		}
	}
	free(old);
}

struct altuntun_peer *device_peer_by_key(const altuntun_device *dev, const uint8_t pub[KEY_LEN])
{
	struct altuntun_peer *p = dev->peer_buckets[peer_bucket(dev, pub)];

	for (; p; p = p->hash_next)
		if (!memcmp(p->public_key, pub, KEY_LEN))
			return p;
	return NULL;
}

void device_note_deadline(altuntun_device *dev, uint64_t when)
{
	if (when < dev->next_deadline_ns)
		dev->next_deadline_ns = when;
}

altuntun_device *altuntun_device_new(const struct altuntun_callbacks *cb)
{
	altuntun_device *dev;

	if (!cb || !cb->send)
		return NULL;
	dev = calloc(1, sizeof(*dev));
	if (!dev)
		return NULL;
	dev->cb = *cb;
	dev->peer_bucket_count = PEER_MIN_BUCKETS;
	dev->peer_buckets = calloc(dev->peer_bucket_count, sizeof(*dev->peer_buckets));
	dev->ratelimiter = ratelimiter_new();
	dev->talkers = ratelimiter_new();
	if (!dev->peer_buckets || !dev->ratelimiter || !dev->talkers ||
	    index_table_init(&dev->indices) != 0) {
		altuntun_device_free(dev);
		return NULL;
	}
	crypto_random(dev->peer_hash_key, sizeof(dev->peer_hash_key));
	allowedips_init(&dev->allowed);
	dev->load_threshold = DEFAULT_LOAD_THRESHOLD;
	dev->next_deadline_ns = TIMER_OFF;
	return dev;
}

void altuntun_device_free(altuntun_device *dev)
{
	if (!dev)
		return;
	while (dev->peers_head)
		altuntun_peer_remove(dev, dev->peers_head);
	allowedips_free(&dev->allowed);
	index_table_free(&dev->indices);
	ratelimiter_free(dev->ratelimiter);
	ratelimiter_free(dev->talkers);
	free(dev->peer_buckets);
	cookie_checker_wipe(&dev->cookie);
	crypto_wipe(dev, sizeof(*dev));
	free(dev);
}

/* Our key changed: old sessions cannot continue, and the next packet may
 * handshake at once with the new key. */
static void peer_identity_changed(altuntun_device *dev, struct altuntun_peer *peer)
{
	noise_precompute_static_static(dev, peer);
	noise_handshake_clear(dev, peer);
	peer->timers.has_sent_handshake = false;
	peer->timers.retransmit_handshake = TIMER_OFF;
	peer_keypairs_expire_current(peer);
}

int altuntun_device_set_private_key(altuntun_device *dev, const uint8_t key[ALTUNTUN_KEY_LEN])
{
	uint8_t clamped[KEY_LEN], pub[KEY_LEN];
	struct altuntun_peer *self;

	if (!key || altuntun_key_is_zero(key)) {
		if (!dev->has_identity)
			return ALTUNTUN_OK;
		dev->has_identity = false;
		crypto_wipe(dev->static_private, KEY_LEN);
		memset(dev->static_public, 0, KEY_LEN);
		cookie_checker_set_key(&dev->cookie, NULL);
		goto peers;
	}
	memcpy(clamped, key, KEY_LEN);
	x25519_clamp(clamped);
	if (dev->has_identity && crypto_equal(clamped, dev->static_private, KEY_LEN)) {
		crypto_wipe(clamped, sizeof(clamped));
		return ALTUNTUN_OK;
	}
	x25519_public(pub, clamped);
	self = device_peer_by_key(dev, pub);
	if (self)
		altuntun_peer_remove(dev, self);
	memcpy(dev->static_private, clamped, KEY_LEN);
	memcpy(dev->static_public, pub, KEY_LEN);
	dev->has_identity = true;
	cookie_checker_set_key(&dev->cookie, pub);
	crypto_wipe(clamped, sizeof(clamped));
peers:
	for (struct altuntun_peer *p = dev->peers_head; p; p = p->next)
		peer_identity_changed(dev, p);
	return ALTUNTUN_OK;
}

bool altuntun_device_get_private_key(const altuntun_device *dev, uint8_t key[ALTUNTUN_KEY_LEN])
{
	if (!dev->has_identity)
		return false;
	memcpy(key, dev->static_private, KEY_LEN);
	return true;
}

bool altuntun_device_get_public_key(const altuntun_device *dev, uint8_t key[ALTUNTUN_KEY_LEN])
{
	if (!dev->has_identity)
		return false;
	memcpy(key, dev->static_public, KEY_LEN);
	return true;
}

void altuntun_device_set_load_threshold(altuntun_device *dev, uint32_t per_second)
{
	dev->load_threshold = per_second;
}

uint64_t altuntun_tick(altuntun_device *dev, struct altuntun_now now)
{
	uint64_t next = TIMER_OFF;

	if (now.mono_ns < dev->next_deadline_ns)
		return dev->next_deadline_ns == TIMER_OFF ? now.mono_ns + IDLE_TICK_NS
							  : dev->next_deadline_ns;
	for (struct altuntun_peer *p = dev->peers_head; p; p = p->next) {
		uint64_t d = timers_run(dev, p, now);
		if (d < next)
			next = d;
	}
	dev->next_deadline_ns = next;
	return next == TIMER_OFF ? now.mono_ns + IDLE_TICK_NS : next;
}

/* ---- peers ---- */

altuntun_peer *altuntun_peer_add(altuntun_device *dev, const uint8_t pub[ALTUNTUN_KEY_LEN],
				 int *err)
{
	struct altuntun_peer *peer;
	size_t b;
	int dummy;

	if (!err)
		err = &dummy;
	*err = ALTUNTUN_OK;
	if (dev->has_identity && !memcmp(pub, dev->static_public, KEY_LEN)) {
		*err = ALTUNTUN_ERR_PEER_IS_SELF;
		return NULL;
	}
	peer = device_peer_by_key(dev, pub);
	if (peer)
		return peer;
	peer = calloc(1, sizeof(*peer));
	if (!peer) {
		*err = ALTUNTUN_ERR_NOMEM;
		return NULL;
	}
	peer->dev = dev;
	memcpy(peer->public_key, pub, KEY_LEN);
	cookie_maker_init(&peer->cookie, pub);
	timers_init(peer);
	noise_precompute_static_static(dev, peer);

	if (dev->peer_count >= dev->peer_bucket_count)
		peer_table_grow(dev);
	b = peer_bucket(dev, pub);
	peer->hash_next = dev->peer_buckets[b];
	dev->peer_buckets[b] = peer;
	peer->prev = dev->peers_tail;
	if (dev->peers_tail)
		dev->peers_tail->next = peer;
	else
		dev->peers_head = peer;
	dev->peers_tail = peer;
	dev->peer_count++;
	return peer;
}

altuntun_peer *altuntun_peer_lookup(const altuntun_device *dev, const uint8_t pub[ALTUNTUN_KEY_LEN])
{
	return device_peer_by_key(dev, pub);
}

void altuntun_peer_remove(altuntun_device *dev, altuntun_peer *peer)
{
	struct altuntun_peer **p;

	peer_staged_purge(peer);
	peer_keypairs_clear(dev, peer);
	noise_handshake_clear(dev, peer);
	allowedips_remove_owner(&dev->allowed, &peer->allowed);
	for (p = &dev->peer_buckets[peer_bucket(dev, peer->public_key)]; *p; p = &(*p)->hash_next) {
		if (*p == peer) {
			*p = peer->hash_next;
			break;
		}
	}
	if (peer->prev)
		peer->prev->next = peer->next;
	else
		dev->peers_head = peer->next;
	if (peer->next)
		peer->next->prev = peer->prev;
	else
		dev->peers_tail = peer->prev;
	dev->peer_count--;
	crypto_wipe(peer, sizeof(*peer));
	free(peer);
}

altuntun_peer *altuntun_peer_first(const altuntun_device *dev)
{
	return dev->peers_head;
}

altuntun_peer *altuntun_peer_next(const altuntun_peer *peer)
{
	return peer->next;
}

size_t altuntun_peer_count(const altuntun_device *dev)
{
	return dev->peer_count;
}

void altuntun_peer_get_public_key(const altuntun_peer *peer, uint8_t pub[ALTUNTUN_KEY_LEN])
{
	memcpy(pub, peer->public_key, KEY_LEN);
}

void altuntun_peer_set_preshared_key(altuntun_peer *peer, const uint8_t psk[ALTUNTUN_KEY_LEN])
{
	if (!psk || altuntun_key_is_zero(psk)) {
		crypto_wipe(peer->preshared_key, KEY_LEN);
		peer->has_preshared_key = false;
		return;
	}
	memcpy(peer->preshared_key, psk, KEY_LEN);
	peer->has_preshared_key = true;
}

bool altuntun_peer_get_preshared_key(const altuntun_peer *peer, uint8_t psk[ALTUNTUN_KEY_LEN])
{
	if (!peer->has_preshared_key)
		return false;
	memcpy(psk, peer->preshared_key, KEY_LEN);
	return true;
}

int altuntun_peer_set_endpoint(altuntun_peer *peer, const struct sockaddr *sa, socklen_t len)
{
	if (!sa)
		return ALTUNTUN_ERR_BAD_ADDRESS;
	if (!(sa->sa_family == AF_INET && len >= sizeof(struct sockaddr_in)) &&
	    !(sa->sa_family == AF_INET6 && len >= sizeof(struct sockaddr_in6)))
		return ALTUNTUN_ERR_BAD_ADDRESS;
	memset(&peer->endpoint, 0, sizeof(peer->endpoint));
	memcpy(&peer->endpoint.addr, sa,
	       sa->sa_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6));
	peer->has_endpoint = true;
	return ALTUNTUN_OK;
}

bool altuntun_peer_get_endpoint(const altuntun_peer *peer, struct altuntun_endpoint *ep)
{
	if (!peer->has_endpoint)
		return false;
	*ep = peer->endpoint;
	return true;
}

void altuntun_peer_clear_local_address(altuntun_peer *peer)
{
	peer->endpoint.local_family = 0;
	memset(&peer->endpoint.local, 0, sizeof(peer->endpoint.local));
	peer->endpoint.local_ifindex = 0;
}

void altuntun_peer_set_persistent_keepalive(altuntun_device *dev, altuntun_peer *peer,
					    uint16_t seconds, struct altuntun_now now)
{
	bool was_off = !peer->persistent_keepalive;

	peer->persistent_keepalive = seconds;
	timers_persistent_keepalive_changed(dev, peer, now);
	if (was_off && seconds && peer->has_endpoint)
		peer_send_keepalive(dev, peer, now);
}

uint16_t altuntun_peer_get_persistent_keepalive(const altuntun_peer *peer)
{
	return peer->persistent_keepalive;
}

void *altuntun_peer_get_userdata(const altuntun_peer *peer)
{
	return peer->userdata;
}

void altuntun_peer_set_userdata(altuntun_peer *peer, void *userdata)
{
	peer->userdata = userdata;
}

void altuntun_peer_get_stats(const altuntun_peer *peer, struct altuntun_peer_stats *st)
{
	*st = peer->stats;
}

/* ---- allowed IPs ---- */

static int map_allowedips_error(int ret)
{
	switch (ret) {
	case 0:
		return ALTUNTUN_OK;
	case -EINVAL:
		return ALTUNTUN_ERR_BAD_ADDRESS;
	case -ENOENT:
		return ALTUNTUN_ERR_NOT_FOUND;
	default:
		return ALTUNTUN_ERR_NOMEM;
	}
}

int altuntun_peer_add_allowed_ip(altuntun_device *dev, altuntun_peer *peer, int family,
				 const void *addr, uint8_t cidr)
{
	return map_allowedips_error(allowedips_insert(&dev->allowed, family, addr, cidr,
						      &peer->allowed));
}

int altuntun_peer_remove_allowed_ip(altuntun_device *dev, altuntun_peer *peer, int family,
				    const void *addr, uint8_t cidr)
{
	return map_allowedips_error(allowedips_remove(&dev->allowed, family, addr, cidr,
						      &peer->allowed));
}

void altuntun_peer_clear_allowed_ips(altuntun_device *dev, altuntun_peer *peer)
{
	allowedips_remove_owner(&dev->allowed, &peer->allowed);
}

size_t altuntun_peer_allowed_ip_count(const altuntun_peer *peer)
{
	return peer->allowed.count;
}

int altuntun_peer_foreach_allowed_ip(const altuntun_peer *peer,
				     int (*fn)(void *ctx, int family, const void *addr, uint8_t cidr),
				     void *ctx)
{
	return allowedips_foreach(&peer->allowed, fn, ctx);
}

altuntun_peer *altuntun_allowed_ip_lookup(const altuntun_device *dev, int family, const void *addr)
{
	struct allowedips_owner *o = allowedips_lookup(&dev->allowed, family, addr);

	if (!o)
		return NULL;
	return (altuntun_peer *)((char *)o - offsetof(struct altuntun_peer, allowed));
}
