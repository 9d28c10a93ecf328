/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The MTU of the route an inner packet took into our interface, for padding.
 *
 * The Linux driver pads a packet up to a multiple of 16 but never past
 * dst_mtu(), the MTU of the route that sent it into wg0, which a route can
 * lower below the link's (`ip route add 10.0.0.9/32 dev wg0 mtu 1299`). A
 * TUN reader never sees that route, so the agent keeps its own table of the
 * routes through its interface that carry an MTU (RTAX_MTU), fed by the same
 * rtnetlink notifications the link watch hears (link_watch.h), and looks up
 * the destination of each packet: longest prefix, then lowest metric, then
 * smallest MTU, over every routing table (policy rules are not evaluated).
 *
 * Routes without an MTU are not kept, so a more specific route without one
 * under a broader route with one yields the broader route's (smaller) MTU:
 * padding may then be shorter than the kernel's, never longer. The MTU used
 * is never above the link's.
 */
#ifndef ALTUNTUN_ROUTE_MTU_H
#define ALTUNTUN_ROUTE_MTU_H

#include <linux/netlink.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Routes with an MTU kept at most; more are logged once and left out. */
#define ROUTE_MTU_MAX 256

struct route_mtu_entry {
	uint8_t family; /* AF_INET or AF_INET6 */
	uint8_t plen;
	uint8_t tos;
	uint8_t dst[16]; /* network byte order, host bits zero */
	uint32_t table;
	uint32_t priority;
	uint32_t mtu;
};

struct route_mtu {
	struct route_mtu_entry e[ROUTE_MTU_MAX];
	unsigned n;
	bool full_logged;
};

/*
 * The table of this process, made on the first call in memory shared with
 * every process forked after that: the privilege-separated protocol
 * process, and the one the monitor starts again after a crash, inherit
 * the routes the bootstrap read with its privileges and keep them up to
 * date. NULL (and a logged error) if the memory cannot be had.
 */
struct route_mtu *route_mtu_shared(void);
void route_mtu_clear(struct route_mtu *t);
/*
 * Takes one RTM_NEWROUTE or RTM_DELROUTE message (others are ignored): a
 * route through `ifindex` with an MTU is added or replaced; a route deleted,
 * or replaced by one without an MTU or through another interface, is
 * removed. Returns 1 when the table changed, 0 if not, -EINVAL for a
 * malformed message.
 */
int route_mtu_update(struct route_mtu *t, const struct nlmsghdr *nh, int ifindex);
/* Adds a route we configured ourselves (the kernel's notification, if it
 * comes, then replaces it with the same). */
void route_mtu_add(struct route_mtu *t, int family, const void *dst, unsigned plen,
		   uint32_t mtu);
/*
 * The MTU to pad the IPv4 or IPv6 packet `pkt` of `len` bytes to: the MTU
 * of the best route to its destination, capped at link_mtu; link_mtu when
 * no route with an MTU matches, the packet is not IP or t is NULL.
 */
unsigned route_mtu_of_packet(const struct route_mtu *t, const uint8_t *pkt, size_t len,
			     unsigned link_mtu);
/*
 * Reads every route of the namespace nsfd (-1: the current one) through a
 * netlink socket made there and closed before returning, and keeps those
 * through ifindex. Entering another namespace needs CAP_SYS_ADMIN.
 * Returns 0 or a negative errno.
 */
int route_mtu_load(struct route_mtu *t, int nsfd, int ifindex);

#endif
