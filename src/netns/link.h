/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Our interface in another network namespace, configured with libnl-route-3.
 *
 * Every function that takes `nsfd` works on the namespace that fd is open
 * on (-1: the calling thread's own): it makes a rtnetlink socket inside it
 * (netns_run_in), uses it and closes it before returning, so nothing of the
 * namespace stays open. The fd itself is the caller's to close.
 *
 * All return 0 (or what is documented) or a negative errno.
 */
#ifndef ALTUNTUN_NETNS_LINK_H
#define ALTUNTUN_NETNS_LINK_H

#include <net/if.h>
#include <stddef.h>

struct netns_tun {
	int fd;       /* the TUN device, non-blocking, opened at home */
	int ifindex;  /* its index in the target namespace */
	unsigned mtu; /* its MTU there */
};

/*
 * Creates TUN interface `ifname` (IFF_TUN | IFF_NO_PI) in namespace nsfd
 * with this MTU, so that nothing of nsfd stays open:
 *   - the TUN is created here under a unique temporary name ("att" and 8
 *     hex digits), so its file (and the socket behind it) belongs to home;
 *   - it is moved into nsfd and renamed to `ifname` in one RTM_NEWLINK
 *     (IFLA_NET_NS_FD + IFLA_IFNAME);
 *   - its index there is looked up and the MTU set through a rtnetlink
 *     socket made inside nsfd and closed again.
 * -EEXIST when `ifname` already exists in nsfd (checked first, and again by
 * the kernel during the move). On any failure the temporary interface is
 * gone (closing the last fd of a TUN deletes it, wherever it is) and err
 * says what went wrong.
 */
int netns_tun_create(int nsfd, const char *ifname, unsigned mtu, struct netns_tun *out, char *err,
		     size_t errlen);

/* The index (and MTU, if mtu is not NULL) of link `name`; -ENODEV if none. */
int netns_link_find(int nsfd, const char *name, int *ifindex, unsigned *mtu);
int netns_link_set_mtu(int nsfd, int ifindex, unsigned mtu);
/* Sets IFF_UP. */
int netns_link_set_up(int nsfd, int ifindex);
/*
 * Adds address `addr` (struct in_addr or struct in6_addr by family, AF_INET
 * or AF_INET6) with its prefix length, as `ip address add ADDR/LEN dev IF`
 * does (the prefix route comes with it). -EEXIST if it is already there.
 */
int netns_link_add_address(int nsfd, int ifindex, int family, const void *addr,
			   unsigned prefixlen);
/*
 * Adds a route to dst/prefixlen through the link (main table, scope link,
 * no gateway), as `ip route add DST/LEN dev IF [mtu MTU]` does; mtu 0 sets
 * no route MTU. -EEXIST if that route exists.
 */
int netns_link_add_route(int nsfd, int ifindex, int family, const void *dst,
			 unsigned prefixlen, unsigned mtu);

#endif
