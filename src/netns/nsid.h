/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Seeing another network namespace from home, without entering it and
 * without keeping it alive.
 *
 * An nsid is the number the home namespace gives another namespace (what
 * `ip netns set NAME auto` assigns; `ip netns list-id` shows them). With one,
 * a rtnetlink socket of the home namespace can ask about links there
 * (IFLA_TARGET_NETNSID) and, with NETLINK_LISTEN_ALL_NSID, hear their
 * notifications (link_watch.c). An nsid does not hold the namespace: it is
 * dropped when the namespace dies.
 *
 * Everything here talks to the kernel over a short-lived rtnetlink socket of
 * the calling thread's namespace. Functions return a value >= 0 or a
 * negative errno.
 */
#ifndef ALTUNTUN_NSID_H
#define ALTUNTUN_NSID_H

#include <net/if.h>

/* The nsid of namespace nsfd, or -ENOENT if it has none. */
int nsid_get(int nsfd);
/* The nsid of namespace nsfd, assigning the next free one if it has none
 * (RTM_NEWNSID with NETNSA_NSID -1; needs CAP_NET_ADMIN at home). */
int nsid_get_or_assign(int nsfd);

struct nsid_link {
	int ifindex;
	unsigned mtu;
	unsigned flags; /* IFF_* */
	unsigned short type; /* ARPHRD_* (ARPHRD_NONE: a TUN or WireGuard device) */
	char name[IFNAMSIZ];
};

/*
 * Looks up a link in the namespace with this nsid (-1: the current one) by
 * ifindex (> 0) or else by name. -ENODEV if there is no such link.
 */
int nsid_link_get(int nsid, int ifindex, const char *name, struct nsid_link *out);

#endif
