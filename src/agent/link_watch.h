/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Follows our interface over rtnetlink (RTNLGRP_LINK): RTM_DELLINK for its
 * ifindex means it was deleted (or moved to another namespace); RTM_NEWLINK
 * carries its MTU and name. If notifications were lost (ENOBUFS) the state
 * is read again with if_indextoname() and SIOCGIFMTU.
 */
#ifndef ALTUNTUN_LINK_WATCH_H
#define ALTUNTUN_LINK_WATCH_H

#include <net/if.h>
#include <stdbool.h>

struct link_watch {
	int fd;
	int ifindex;
	bool gone;         /* the interface no longer exists here */
	unsigned mtu;      /* its latest MTU */
	char name[IFNAMSIZ];
};

/* Opens the netlink socket (non-blocking) for `ifindex`, whose name and
 * current MTU are given. Returns 0 or a negative errno. */
int link_watch_open(struct link_watch *w, int ifindex, const char *name, unsigned mtu);
/* Reads the pending notifications (bounded) and updates *w. Returns 0 or a
 * negative errno when the socket failed. */
int link_watch_process(struct link_watch *w);
void link_watch_close(struct link_watch *w);

#endif
