// SPDX-License-Identifier: BSD-3-Clause
/* Follows our interface over rtnetlink (see link_watch.h). */
#include <errno.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "link_watch.h"
#include "log.h"
#include "platform.h"

/* Datagrams read per call, so a storm of link changes cannot starve the
 * data path; the rest is read at the next call. */
#define LINK_WATCH_BATCH 32

int link_watch_open(struct link_watch *w, int ifindex, const char *name, unsigned mtu)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK, .nl_groups = RTMGRP_LINK };
	int size = 1 << 20;

	memset(w, 0, sizeof(*w));
	w->ifindex = ifindex;
	w->mtu = mtu;
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

/* Notifications were lost: look at the interface directly. */
static void resync(struct link_watch *w)
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

static void parse_link(struct link_watch *w, const struct nlmsghdr *nh)
{
	const struct ifinfomsg *ifi;
	const struct rtattr *rta;
	int len;

	if (nh->nlmsg_len < NLMSG_LENGTH(sizeof(*ifi)))
		return;
	ifi = NLMSG_DATA(nh);
	if (ifi->ifi_index != w->ifindex)
		return;
	if (nh->nlmsg_type == RTM_DELLINK) {
		w->gone = true;
		return;
	}
	len = (int)(nh->nlmsg_len - NLMSG_LENGTH(sizeof(*ifi)));
	for (rta = IFLA_RTA(ifi); RTA_OK(rta, len); rta = RTA_NEXT(rta, len)) {
		size_t plen = RTA_PAYLOAD(rta);

		if (rta->rta_type == IFLA_MTU && plen >= sizeof(uint32_t)) {
			uint32_t mtu;

			memcpy(&mtu, RTA_DATA(rta), sizeof(mtu));
			if (mtu > 0 && mtu <= 65535)
				w->mtu = mtu;
		} else if (rta->rta_type == IFLA_IFNAME && plen > 0) {
			size_t n = strnlen(RTA_DATA(rta), plen);

			if (n > 0 && n < sizeof(w->name)) {
				memcpy(w->name, RTA_DATA(rta), n);
				w->name[n] = '\0';
			}
		}
	}
}

int link_watch_process(struct link_watch *w)
{
	/* Aligned for struct nlmsghdr. */
	union {
		struct nlmsghdr nh;
		char buf[32768];
	} u;

	for (int i = 0; i < LINK_WATCH_BATCH; i++) {
		struct sockaddr_nl from;
		socklen_t flen = sizeof(from);
		ssize_t n = recvfrom(w->fd, u.buf, sizeof(u.buf), MSG_DONTWAIT,
				     (struct sockaddr *)&from, &flen);
		int len;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			if (errno == ENOBUFS) {
				log_debug("rtnetlink: notifications lost, reading the link state");
				resync(w);
				continue;
			}
			return -errno;
		}
		/* Only the kernel speaks for links. */
		if (flen < sizeof(from) || from.nl_pid != 0)
			continue;
		len = (int)n;
		for (struct nlmsghdr *nh = &u.nh; NLMSG_OK(nh, len); nh = NLMSG_NEXT(nh, len)) {
			if (nh->nlmsg_type == RTM_NEWLINK || nh->nlmsg_type == RTM_DELLINK)
				parse_link(w, nh);
		}
	}
	return 0;
}
