// SPDX-License-Identifier: BSD-3-Clause
/* Route changes and route lookups over rtnetlink (see route_watch.h). */
#include <errno.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "route_watch.h"
#include "rtnl.h"

/* Datagrams read per call: a storm of route changes cannot starve the
 * data path; the rest is read at the next call. */
#define ROUTE_WATCH_BATCH 32

int route_watch_open(struct route_watch *w)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK,
				  .nl_groups = RTMGRP_IPV4_ROUTE | RTMGRP_IPV6_ROUTE };
	int r;

	w->seq = 0;
	w->fd = socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_ROUTE);
	w->query_fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (w->fd < 0 || w->query_fd < 0 || bind(w->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		r = -errno;
		route_watch_close(w);
		return r;
	}
	return 0;
}

void route_watch_close(struct route_watch *w)
{
	if (w->fd >= 0)
		close(w->fd);
	if (w->query_fd >= 0)
		close(w->query_fd);
	w->fd = w->query_fd = -1;
}

int route_watch_drain(struct route_watch *w)
{
	char buf[8192] __attribute__((aligned(NLMSG_ALIGNTO)));
	int changed = 0;

	for (int i = 0; i < ROUTE_WATCH_BATCH; i++) {
		ssize_t n = recv(w->fd, buf, sizeof(buf), MSG_DONTWAIT);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				break;
			if (errno == ENOBUFS)
				return 1; /* lost some: assume a change */
			return -errno;
		}
		for (struct nlmsghdr *nh = (struct nlmsghdr *)buf; NLMSG_OK(nh, (size_t)n);
		     nh = NLMSG_NEXT(nh, n))
			if (nh->nlmsg_type == RTM_NEWROUTE || nh->nlmsg_type == RTM_DELROUTE)
				changed = 1;
	}
	return changed;
}

static void put_attr(struct nlmsghdr *nh, unsigned short type, const void *data, size_t len)
{
	struct rtattr *rta = (struct rtattr *)((char *)nh + NLMSG_ALIGN(nh->nlmsg_len));

	rta->rta_type = type;
	rta->rta_len = (unsigned short)RTA_LENGTH(len);
	memcpy(RTA_DATA(rta), data, len);
	nh->nlmsg_len = NLMSG_ALIGN(nh->nlmsg_len) + RTA_ALIGN(rta->rta_len);
}

/* The RTA_OIF of the route the kernel answered with. */
static int oif_of_reply(const struct nlmsghdr *nh, void *ctx)
{
	const struct rtmsg *rtm = NLMSG_DATA(nh);
	int *oif = ctx, len;

	if (nh->nlmsg_type != RTM_NEWROUTE || nh->nlmsg_len < NLMSG_LENGTH(sizeof(*rtm)))
		return 0;
	len = (int)RTM_PAYLOAD(nh);
	for (const struct rtattr *rta = RTM_RTA(rtm); RTA_OK(rta, len); rta = RTA_NEXT(rta, len))
		if (rta->rta_type == RTA_OIF && RTA_PAYLOAD(rta) >= sizeof(uint32_t)) {
			uint32_t v;

			memcpy(&v, RTA_DATA(rta), sizeof(v));
			*oif = (int)v;
		}
	return 0;
}

int route_watch_oif(struct route_watch *w, const struct altuntun_endpoint *ep, uint32_t fwmark)
{
	union {
		struct nlmsghdr nh;
		char buf[256];
	} m;
	struct rtmsg *rtm;
	bool v6 = ep->addr.sa.sa_family == AF_INET6;
	size_t alen = v6 ? 16 : 4;
	int oif = -ENOENT, r;

	if ((ep->local_family && ep->local_family != ep->addr.sa.sa_family) ||
	    (ep->addr.sa.sa_family != AF_INET && !v6))
		return -EINVAL;
	memset(&m, 0, sizeof(m));
	m.nh.nlmsg_len = NLMSG_LENGTH(sizeof(*rtm));
	m.nh.nlmsg_type = RTM_GETROUTE;
	m.nh.nlmsg_seq = ++w->seq;
	rtm = NLMSG_DATA(&m.nh);
	rtm->rtm_family = (unsigned char)ep->addr.sa.sa_family;
	rtm->rtm_dst_len = rtm->rtm_src_len = (unsigned char)(alen * 8);
	put_attr(&m.nh, RTA_DST,
		 v6 ? (const void *)&ep->addr.in6.sin6_addr : (const void *)&ep->addr.in4.sin_addr,
		 alen);
	/* An endpoint just set (UAPI, roaming) has no source yet: the route
	 * the kernel would pick for it, as for any unbound send. */
	if (ep->local_family)
		put_attr(&m.nh, RTA_SRC, &ep->local, alen);
	if (v6 && ep->addr.in6.sin6_scope_id) {
		uint32_t scope = ep->addr.in6.sin6_scope_id;

		put_attr(&m.nh, RTA_OIF, &scope, sizeof(scope));
	}
	if (fwmark)
		put_attr(&m.nh, RTA_MARK, &fwmark, sizeof(fwmark));
	r = rtnl_talk_on(w->query_fd, &m.nh, oif_of_reply, &oif);
	return r < 0 ? r : oif;
}
