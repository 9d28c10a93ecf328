/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Whether an outer datagram larger than the MTU of the interface it leaves
 * through may be fragmented here.
 *
 * The Linux driver and wireguard-go let the kernel fragment such a datagram
 * (a tunnel MTU above the path's, a jumbo MTU over a 1500-byte link). Into
 * another tunnel, though, fragmenting is what turns a routing loop between
 * stacked tunnels into an amplifier: each pass adds 60 bytes, and at the
 * MTU every packet becomes two. So a too-large datagram is fragmented when
 * the route to its endpoint leaves through an ordinary link, and dropped
 * when it leaves through a tunnel (ARPHRD_NONE: a TUN or WireGuard
 * interface), where a tunnel-in-tunnel set-up needs an inner MTU that fits
 * (the outer MTU minus 80). The answer is kept per endpoint until routes
 * change.
 */
#ifndef ALTUNTUN_OUTER_FRAG_H
#define ALTUNTUN_OUTER_FRAG_H

#include <stdbool.h>
#include <stdint.h>

#include "altuntun.h"

struct route_watch;

#define OUTER_FRAG_CACHE 8

struct outer_frag {
	struct {
		struct altuntun_endpoint ep;
		bool valid, allowed;
	} cache[OUTER_FRAG_CACHE];
	unsigned next;
	bool warned;
};

/* May a datagram to ep that is too large for its interface be fragmented?
 * Asks the kernel (routes, link type) at most once per endpoint. */
bool outer_frag_allowed(struct outer_frag *f, struct route_watch *rw,
			const struct altuntun_endpoint *ep, uint32_t fwmark);
/* Routes changed: every answer is asked again. */
void outer_frag_forget(struct outer_frag *f);

#endif
