/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Two in-process WireGuard peers, A (10.0.0.1, 192.0.2.1:51820) and
 * B (10.0.0.2, 192.0.2.2:51820), joined by an in-memory "network" that
 * queues each side's datagrams, and a fake clock.
 */
#ifndef ALTUNTUN_TEST_PAIR_H
#define ALTUNTUN_TEST_PAIR_H

#include "altuntun.h"

#define PAIR_QUEUE_MAX 512
#define PAIR_DGRAM_MAX 2048

struct wire {
	uint8_t data[PAIR_QUEUE_MAX][PAIR_DGRAM_MAX];
	size_t len[PAIR_QUEUE_MAX];
	size_t count;
	uint64_t total_sent;     /* datagrams ever queued */
	uint64_t initiations;    /* of which handshake initiations */
	uint64_t responses;
	uint64_t cookie_replies;
	uint64_t keepalives;     /* data messages of 32 bytes */
	/* Datagrams to anyone but the other side (a flooder): counted, the
	 * last one kept, never queued. */
	const struct altuntun_endpoint *dest; /* the other side */
	uint64_t stray, stray_responses, stray_cookie_replies;
	uint8_t stray_last[PAIR_DGRAM_MAX];
	size_t stray_last_len;
};

struct side {
	altuntun_device *dev;
	altuntun_peer *peer; /* the other side as seen from here */
	uint8_t priv[32], pub[32];
	struct altuntun_endpoint addr; /* this side's own address */
	struct wire out;               /* datagrams this side sent */
	uint64_t delivered;            /* inner packets decrypted */
};

struct pair {
	struct side a, b;
	struct altuntun_now now;
	bool drop_a_to_b, drop_b_to_a;
};

/* Sets up both devices with keys, each other as peers, endpoints, allowed IPs. */
void pair_init(struct pair *p);
void pair_free(struct pair *p);
/* Advances the clock (and the wall clock) by ns. */
void pair_advance(struct pair *p, uint64_t ns);
/* Runs both sides' timers. */
void pair_tick(struct pair *p);
/* Delivers every queued datagram both ways until nothing moves; returns how
 * many were delivered. */
size_t pair_flush(struct pair *p);
/* Builds an ICMP-ish IPv4 packet from `from` side to the other, of `len`
 * bytes, into buf + ALTUNTUN_HEADROOM, and sends it through the library,
 * transmitting a returned datagram on the wire. Returns the send result. */
int pair_send_ip(struct pair *p, struct side *from, size_t len);
/* Advances the clock in steps of `step` for `total` ns, ticking and
 * flushing after each step; `traffic` calls pair_send_ip on each step from
 * A (1), B (2), both (3) or none (0). */
void pair_run(struct pair *p, uint64_t total, uint64_t step, int traffic);
void build_ipv4(uint8_t *pkt, size_t len, const uint8_t src[4], const uint8_t dst[4]);

#endif
