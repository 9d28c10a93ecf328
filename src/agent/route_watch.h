/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Route changes of the home namespace (where the UDP sockets are), so that
 * a peer's sticky source address is given up when the route to the peer no
 * longer leaves through the interface its packets came in on: a better
 * route with another `src` is then followed, as in the Linux driver
 * (socket.c send4/send6: the cached source is dropped when the route's
 * device is not the one it was received on) and wireguard-go's route
 * listener (conn/sticky_linux.go). The check runs per route notification
 * (RTNLGRP_IPV4_ROUTE, RTNLGRP_IPV6_ROUTE), one RTM_GETROUTE per peer that
 * has a source, never per packet. Unlike Linux, which checks at every send,
 * a source taken from a packet that came in on another interface than the
 * route back uses is kept until the next route change.
 */
#ifndef ALTUNTUN_ROUTE_WATCH_H
#define ALTUNTUN_ROUTE_WATCH_H

#include <stdint.h>

#include "altuntun.h"

struct route_watch {
	int fd;       /* notifications */
	int query_fd; /* RTM_GETROUTE: kept open, as every route change asks
		       * once per peer with a source */
	uint32_t seq;
};

/* Opens both sockets in the current namespace; 0 or -errno. */
int route_watch_open(struct route_watch *w);
void route_watch_close(struct route_watch *w);

/* Reads the pending notifications: 1 if a route changed (or notifications
 * were lost), 0 if none did, -errno on failure. */
int route_watch_drain(struct route_watch *w);

/* The interface index the kernel would send a datagram to ep from ep's
 * local address (or, with none yet, from whichever it would pick) through
 * (with fwmark), asked with RTM_GETROUTE (rtnl.h); or -errno (-EINVAL: a
 * local address of the other family, -ENETUNREACH: no route from that
 * source). */
int route_watch_oif(struct route_watch *w, const struct altuntun_endpoint *ep, uint32_t fwmark);

#endif
