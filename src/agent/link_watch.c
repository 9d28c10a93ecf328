// SPDX-License-Identifier: BSD-3-Clause
/* Follows our interface over rtnetlink (see link_watch.h). */
#include <errno.h>
#include <linux/if_link.h>
#include <linux/if_tun.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "link_watch.h"
#include "log.h"
#include "netns.h"
#include "nsid.h"
#include "platform.h"
#include "route_mtu.h"

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif

/* Datagrams read per call, so a storm of link changes cannot starve the
 * data path; the rest is read at the next call. */
#define LINK_WATCH_BATCH 32

int link_watch_open(struct link_watch *w, int ifindex, const char *name, unsigned mtu)
{
	struct sockaddr_nl sa = {
		.nl_family = AF_NETLINK,
		.nl_groups = RTMGRP_LINK | RTMGRP_IPV4_ROUTE | RTMGRP_IPV6_ROUTE,
	};
	int size = 1 << 20;

	memset(w, 0, sizeof(*w));
	w->ifindex = ifindex;
	w->mtu = mtu;
	w->nsid = -1;
	w->tun_fd = -1;
	w->home_nsid = -1;
	snprintf(w->name, sizeof(w->name), "%s", name);
	w->fd = socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (w->fd < 0)
		return -errno;
	/* A larger buffer makes lost notifications rarer; losing them is
	 * handled (resync), so failing to enlarge it is not an error. */
	if (setsockopt(w->fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0)
		(void)setsockopt(w->fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	if (bind(w->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int r = -errno;

		close(w->fd);
		w->fd = -1;
		return r;
	}
	return 0;
}

void link_watch_close(struct link_watch *w)
{
	if (w->fd >= 0)
		close(w->fd);
	w->fd = -1;
}

/* Hears the links of every namespace home has an nsid for. */
static int listen_all_nsid(struct link_watch *w)
{
	int on = 1, self;

	if (w->all_nsid)
		return 0;
	if (setsockopt(w->fd, SOL_NETLINK, NETLINK_LISTEN_ALL_NSID, &on, sizeof(on)) < 0)
		return -errno;
	w->all_nsid = true;
	/* Should home have an nsid for itself, its own notifications carry it. */
	self = netns_open_current();
	if (self >= 0) {
		int id = nsid_get(self);

		w->home_nsid = id >= 0 ? id : -1;
		close(self);
	}
	return 0;
}

int link_watch_follow(struct link_watch *w, int tun_fd, int nsid)
{
	w->tun_fd = tun_fd;
	w->nsid = nsid;
	return nsid >= 0 ? listen_all_nsid(w) : 0;
}

/* Notifications were lost, the link is at home and we know nothing else:
 * look at the interface directly. */
static void resync_home(struct link_watch *w)
{
	char name[IF_NAMESIZE];
	unsigned mtu;

	if (!if_indextoname((unsigned)w->ifindex, name)) {
		if (errno == ENXIO || errno == ENODEV)
			w->gone = true;
		return;
	}
	memcpy(w->name, name, sizeof(w->name));
	if (tun_get_mtu(name, &mtu) == 0)
		w->mtu = mtu;
}

/* Notifications were lost: the routes are read again where we can. */
static void resync_routes(struct link_watch *w)
{
	int r;

	if (!w->routes || w->gone)
		return;
	if (w->nsid != -1) {
		log_warn("interface %s: route notifications were lost; routes with an MTU are "
			 "followed again from the next change on", w->name);
		return;
	}
	r = route_mtu_load(w->routes, -1, w->ifindex);
	if (r < 0)
		log_warn("interface %s: cannot read the routes again: %s", w->name, strerror(-r));
}

int link_watch_locate(int tun_fd, struct link_location *out)
{
	struct nsid_link l;
	struct ifreq ifr;
	int nsfd, here, nsid, r;

	memset(&ifr, 0, sizeof(ifr));
	if (ioctl(tun_fd, TUNGETIFF, &ifr) < 0)
		return errno == EBADFD ? -ENODEV : -errno;
	ifr.ifr_name[IFNAMSIZ - 1] = '\0';
	nsfd = netns_open_of_tun(tun_fd);
	if (nsfd < 0)
		return nsfd;
	here = netns_is_current(nsfd);
	if (here < 0)
		nsid = here;
	else if (here)
		nsid = -1;
	else
		nsid = nsid_get_or_assign(nsfd);
	close(nsfd);
	if (nsid < -1)
		return nsid;
	r = nsid_link_get(nsid, 0, ifr.ifr_name, &l);
	if (r < 0)
		return r;
	out->nsid = nsid;
	out->ifindex = l.ifindex;
	out->mtu = l.mtu;
	memcpy(out->name, l.name, sizeof(out->name));
	return 0;
}

void link_watch_set_locator(struct link_watch *w, link_locate_fn fn, void *ctx)
{
	w->locate = fn;
	w->locate_ctx = ctx;
}

/*
 * Finds the link again from its TUN fd: after a move (`moved`), or when
 * notifications were lost.
 */
static void relocate(struct link_watch *w, bool moved)
{
	struct link_location loc;
	int r;

	if (w->locate)
		r = w->locate(w->locate_ctx, &loc);
	else
		r = link_watch_locate(w->tun_fd, &loc);
	if (r == -ENODEV) {
		w->gone = true;
		return;
	}
	if (r < 0 && !moved && w->nsid == -1) {
		/* Without CAP_NET_ADMIN (WG_TUN_FD as a plain user) the
		 * namespace cannot be asked for; at home we need not. */
		resync_home(w);
		return;
	}
	if (r < 0) {
		log_warn("interface %s: cannot find it again: %s; it keeps carrying traffic, but "
			 "its MTU changes and its deletion are no longer followed (the TUN "
			 "device closing still is)", w->name, strerror(-r));
		w->nsid = LINK_WATCH_LOST;
		return;
	}
	if (loc.nsid >= 0) {
		r = listen_all_nsid(w);
		if (r < 0) {
			log_warn("interface %s: cannot listen to other namespaces: %s; its MTU "
				 "changes and its deletion are no longer followed", w->name,
				 strerror(-r));
			w->nsid = LINK_WATCH_LOST;
			return;
		}
	}
	if (loc.nsid != w->nsid || loc.ifindex != w->ifindex) {
		w->moves++;
		/* Routes do not move with a link. */
		if (w->routes)
			route_mtu_clear(w->routes);
		if (loc.nsid < 0)
			log_info("interface %s is now in the home namespace, index %d", loc.name,
				 loc.ifindex);
		else
			log_info("interface %s is now in the namespace with nsid %d, index %d",
				 loc.name, loc.nsid, loc.ifindex);
	}
	w->nsid = loc.nsid;
	w->ifindex = loc.ifindex;
	if (loc.mtu > 0 && loc.mtu <= 65535)
		w->mtu = loc.mtu;
	memcpy(w->name, loc.name, sizeof(w->name));
}

static void parse_link(struct link_watch *w, const struct nlmsghdr *nh)
{
	const struct ifinfomsg *ifi;
	const struct rtattr *rta;
	bool moved = false;
	int len;

	if (nh->nlmsg_len < NLMSG_LENGTH(sizeof(*ifi)))
		return;
	ifi = NLMSG_DATA(nh);
	if (ifi->ifi_index != w->ifindex)
		return;
	/* Taking a link down removes its IPv4 routes without a word. */
	if (w->routes && nh->nlmsg_type == RTM_NEWLINK && !(ifi->ifi_flags & IFF_UP))
		route_mtu_clear(w->routes);
	len = (int)(nh->nlmsg_len - NLMSG_LENGTH(sizeof(*ifi)));
	for (rta = IFLA_RTA(ifi); RTA_OK(rta, len); rta = RTA_NEXT(rta, len)) {
		size_t plen = RTA_PAYLOAD(rta);

		if (rta->rta_type == IFLA_NEW_NETNSID) {
			moved = true;
		} else if (rta->rta_type == IFLA_MTU && plen >= sizeof(uint32_t)) {
			uint32_t mtu;

			memcpy(&mtu, RTA_DATA(rta), sizeof(mtu));
			if (mtu > 0 && mtu <= 65535 && nh->nlmsg_type == RTM_NEWLINK)
				w->mtu = mtu;
		} else if (rta->rta_type == IFLA_IFNAME && plen > 0 &&
			   nh->nlmsg_type == RTM_NEWLINK) {
			size_t n = strnlen(RTA_DATA(rta), plen);

			if (n > 0 && n < sizeof(w->name)) {
				memcpy(w->name, RTA_DATA(rta), n);
				w->name[n] = '\0';
			}
		}
	}
	if (nh->nlmsg_type != RTM_DELLINK)
		return;
	/* Moved to another namespace: deleted here, alive there. */
	if (moved && (w->tun_fd >= 0 || w->locate)) {
		log_debug("interface %s left its namespace, looking for it", w->name);
		relocate(w, true);
		return;
	}
	w->gone = true;
}

/* The namespace a notification comes from, as an nsid (-1: home). */
static int msg_nsid(const struct link_watch *w, struct msghdr *m)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(m); c; c = CMSG_NXTHDR(m, c)) {
		int id;

		if (c->cmsg_level != SOL_NETLINK || c->cmsg_type != NETLINK_LISTEN_ALL_NSID ||
		    c->cmsg_len < CMSG_LEN(sizeof(int)))
			continue;
		memcpy(&id, CMSG_DATA(c), sizeof(id));
		return id == w->home_nsid ? -1 : id;
	}
	return -1;
}

int link_watch_process(struct link_watch *w)
{
	/* Aligned for struct nlmsghdr. */
	union {
		struct nlmsghdr nh;
		char buf[32768];
	} u;
	union {
		struct cmsghdr c;
		char buf[CMSG_SPACE(sizeof(int)) * 2];
	} ctl;

	for (int i = 0; i < LINK_WATCH_BATCH && !w->gone; i++) {
		struct sockaddr_nl from;
		struct iovec iov = { .iov_base = u.buf, .iov_len = sizeof(u.buf) };
		struct msghdr m = {
			.msg_name = &from,
			.msg_namelen = sizeof(from),
			.msg_iov = &iov,
			.msg_iovlen = 1,
			.msg_control = ctl.buf,
			.msg_controllen = sizeof(ctl.buf),
		};
		ssize_t n = recvmsg(w->fd, &m, MSG_DONTWAIT);
		int len, nsid;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			if (errno == ENOBUFS) {
				log_debug("rtnetlink: notifications lost, reading the link state");
				if (w->tun_fd >= 0 || w->locate)
					relocate(w, false);
				else
					resync_home(w);
				resync_routes(w);
				continue;
			}
			return -errno;
		}
		/* Only the kernel speaks for links. */
		if (m.msg_namelen < sizeof(from) || from.nl_pid != 0)
			continue;
		nsid = msg_nsid(w, &m);
		len = (int)n;
		for (struct nlmsghdr *nh = &u.nh; NLMSG_OK(nh, len); nh = NLMSG_NEXT(nh, len)) {
			/* Only our link's namespace; re-checked as a move
			 * inside this datagram changes it. */
			if (nsid != w->nsid || w->gone)
				break;
			if (nh->nlmsg_type == RTM_NEWLINK || nh->nlmsg_type == RTM_DELLINK)
				parse_link(w, nh);
			else if (w->routes)
				(void)route_mtu_update(w->routes, nh, w->ifindex);
		}
	}
	return 0;
}
