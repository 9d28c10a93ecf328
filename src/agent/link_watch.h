/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Follows our interface over rtnetlink (RTNLGRP_LINK), from a socket of the
 * home namespace: RTM_DELLINK for its ifindex means it was deleted;
 * RTM_NEWLINK carries its MTU and name. If notifications were lost (ENOBUFS)
 * the state is read again. Route notifications of the link's namespace feed
 * `routes` (route_mtu.h) when it is set; it is emptied when the link goes
 * down or moves, as the kernel then drops its routes.
 *
 * The link may live in another namespace (altuntun-cli --netns): then the
 * home namespace has an nsid for it (nsid.h) and the socket listens to all
 * namespaces with an nsid (NETLINK_LISTEN_ALL_NSID, which needs
 * CAP_NET_BROADCAST when the socket is made); each notification says which
 * namespace it comes from, and only those of the link's own count.
 *
 * With the TUN fd given (link_watch_follow) a link moved to yet another
 * namespace (RTM_DELLINK with IFLA_NEW_NETNSID) is followed there: the TUN
 * says where it now is (TUNGETDEVNETNS), that namespace gets an nsid if it
 * has none, and the watch goes on with the link's new index. If it cannot
 * be found again the watch stops (the data path keeps working; the TUN's
 * fd failing still ends the daemon). No fd of any other namespace is kept.
 */
#ifndef ALTUNTUN_LINK_WATCH_H
#define ALTUNTUN_LINK_WATCH_H

#include <net/if.h>
#include <stdbool.h>

struct route_mtu;

/* link_watch.nsid when the link could not be found again after a move. */
#define LINK_WATCH_LOST (-2)

/* Where a link is: home's nsid for its namespace (-1: home), its index,
 * MTU and name there. */
struct link_location {
	int nsid;
	int ifindex;
	unsigned mtu;
	char name[IFNAMSIZ];
};

/*
 * Finds the link behind a TUN fd (link_watch_locate), or asks someone who
 * can: 0, -ENODEV when the TUN has no device any more, or a negative errno.
 */
typedef int (*link_locate_fn)(void *ctx, struct link_location *out);

struct link_watch {
	int fd;
	int ifindex;
	bool gone;         /* the interface no longer exists */
	unsigned mtu;      /* its latest MTU */
	char name[IFNAMSIZ];
	int nsid;          /* where it is: home's nsid for its namespace, -1: home,
			    * LINK_WATCH_LOST: not known any more */
	int tun_fd;        /* the TUN device behind it, or -1 (moves end the watch) */
	int home_nsid;     /* home's nsid for itself, if it has one, else -1 */
	bool all_nsid;     /* NETLINK_LISTEN_ALL_NSID is on */
	unsigned moves;    /* namespace changes followed so far */
	link_locate_fn locate; /* NULL: link_watch_locate(tun_fd) */
	struct route_mtu *routes; /* routes through the link with an MTU, or NULL */
	void *locate_ctx;
};

/* Opens the netlink socket (non-blocking) for `ifindex` of the home
 * namespace, whose name and current MTU are given. Returns 0 or a negative
 * errno. */
int link_watch_open(struct link_watch *w, int ifindex, const char *name, unsigned mtu);
/*
 * Tells the watch the TUN fd behind the link (-1: none) and where the link
 * is: `nsid` is home's nsid for its namespace, or -1 for home itself.
 * Returns 0 or a negative errno (NETLINK_LISTEN_ALL_NSID refused).
 */
int link_watch_follow(struct link_watch *w, int tun_fd, int nsid);
/*
 * Finds the link behind tun_fd: its name (TUNGETIFF), its namespace
 * (TUNGETDEVNETNS; the fd is closed at once), home's nsid for that namespace
 * (assigned if it has none) and its index and MTU there (RTM_GETLINK with
 * IFLA_TARGET_NETNSID). Needs CAP_NET_ADMIN; no setns.
 */
int link_watch_locate(int tun_fd, struct link_location *out);
/*
 * Makes the watch find the link through fn(ctx) instead of
 * link_watch_locate(): a process without CAP_NET_ADMIN (the protocol
 * process of a privilege-separated daemon) asks one that has it.
 */
void link_watch_set_locator(struct link_watch *w, link_locate_fn fn, void *ctx);
/* Reads the pending notifications (bounded) and updates *w. Returns 0 or a
 * negative errno when the socket failed. */
int link_watch_process(struct link_watch *w);
void link_watch_close(struct link_watch *w);

#endif
