// SPDX-License-Identifier: BSD-3-Clause
/* nsids and links of other namespaces, seen from home (see nsid.h). */
#include <errno.h>
#include <linux/if_link.h>
#include <linux/net_namespace.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "nsid.h"
#include "rtnl.h"

struct request {
	union {
		struct nlmsghdr nh;
		char buf[512];
	} u;
};

static void *msg_tail(struct nlmsghdr *nh)
{
	return (char *)nh + NLMSG_ALIGN(nh->nlmsg_len);
}

static void add_attr(struct nlmsghdr *nh, unsigned short type, const void *data, size_t len)
{
	struct rtattr *rta = msg_tail(nh);

	rta->rta_type = type;
	rta->rta_len = (unsigned short)RTA_LENGTH(len);
	if (len)
		memcpy(RTA_DATA(rta), data, len);
	nh->nlmsg_len = NLMSG_ALIGN(nh->nlmsg_len) + RTA_ALIGN(rta->rta_len);
}

static int parse_nsid(const struct nlmsghdr *nh, void *ctx)
{
	const struct rtgenmsg *g = NLMSG_DATA(nh);
	const struct rtattr *rta;
	int *nsid = ctx, len;

	if (nh->nlmsg_type != RTM_NEWNSID || nh->nlmsg_len < NLMSG_LENGTH(NLMSG_ALIGN(sizeof(*g))))
		return 0;
	len = (int)(nh->nlmsg_len - NLMSG_LENGTH(NLMSG_ALIGN(sizeof(*g))));
	rta = (const struct rtattr *)((const char *)g + NLMSG_ALIGN(sizeof(*g)));
	for (; RTA_OK(rta, len); rta = RTA_NEXT(rta, len)) {
		if (rta->rta_type == NETNSA_NSID && RTA_PAYLOAD(rta) >= sizeof(int32_t)) {
			int32_t v;

			memcpy(&v, RTA_DATA(rta), sizeof(v));
			*nsid = v;
		}
	}
	return 0;
}

static void nsid_request(struct request *q, uint16_t type, int nsfd)
{
	struct rtgenmsg *g;
	uint32_t fd = (uint32_t)nsfd;

	memset(q, 0, sizeof(*q));
	q->u.nh.nlmsg_len = NLMSG_LENGTH(sizeof(*g));
	q->u.nh.nlmsg_type = type;
	g = NLMSG_DATA(&q->u.nh);
	g->rtgen_family = AF_UNSPEC;
	add_attr(&q->u.nh, NETNSA_FD, &fd, sizeof(fd));
}

int nsid_get(int nsfd)
{
	struct request q;
	int nsid = NETNSA_NSID_NOT_ASSIGNED, r;

	nsid_request(&q, RTM_GETNSID, nsfd);
	r = rtnl_talk(&q.u.nh, parse_nsid, &nsid);
	if (r < 0)
		return r;
	return nsid >= 0 ? nsid : -ENOENT;
}

int nsid_get_or_assign(int nsfd)
{
	struct request q;
	int32_t any = NETNSA_NSID_NOT_ASSIGNED;
	int r = nsid_get(nsfd);

	if (r != -ENOENT)
		return r;
	nsid_request(&q, RTM_NEWNSID, nsfd);
	add_attr(&q.u.nh, NETNSA_NSID, &any, sizeof(any));
	r = rtnl_talk(&q.u.nh, NULL, NULL);
	/* -EEXIST: someone else assigned one in between; fine. */
	if (r < 0 && r != -EEXIST)
		return r;
	return nsid_get(nsfd);
}

static int parse_link(const struct nlmsghdr *nh, void *ctx)
{
	struct nsid_link *out = ctx;
	const struct ifinfomsg *ifi = NLMSG_DATA(nh);
	const struct rtattr *rta;
	int len;

	if (nh->nlmsg_type != RTM_NEWLINK || nh->nlmsg_len < NLMSG_LENGTH(sizeof(*ifi)))
		return 0;
	out->ifindex = ifi->ifi_index;
	out->flags = ifi->ifi_flags;
	out->type = ifi->ifi_type;
	len = (int)(nh->nlmsg_len - NLMSG_LENGTH(sizeof(*ifi)));
	for (rta = IFLA_RTA(ifi); RTA_OK(rta, len); rta = RTA_NEXT(rta, len)) {
		size_t plen = RTA_PAYLOAD(rta);

		if (rta->rta_type == IFLA_MTU && plen >= sizeof(uint32_t)) {
			uint32_t mtu;

			memcpy(&mtu, RTA_DATA(rta), sizeof(mtu));
			out->mtu = mtu;
		} else if (rta->rta_type == IFLA_IFNAME && plen > 0) {
			size_t n = strnlen(RTA_DATA(rta), plen);

			if (n < sizeof(out->name)) {
				memcpy(out->name, RTA_DATA(rta), n);
				out->name[n] = '\0';
			}
		}
	}
	return 0;
}

int nsid_link_get(int nsid, int ifindex, const char *name, struct nsid_link *out)
{
	struct request q;
	struct ifinfomsg *ifi;
	uint32_t mask = RTEXT_FILTER_SKIP_STATS;
	int r;

	memset(&q, 0, sizeof(q));
	memset(out, 0, sizeof(*out));
	q.u.nh.nlmsg_len = NLMSG_LENGTH(sizeof(*ifi));
	q.u.nh.nlmsg_type = RTM_GETLINK;
	ifi = NLMSG_DATA(&q.u.nh);
	ifi->ifi_family = AF_UNSPEC;
	if (ifindex > 0) {
		ifi->ifi_index = ifindex;
	} else {
		size_t n = name ? strlen(name) : 0;

		if (n == 0 || n >= IFNAMSIZ)
			return -EINVAL;
		add_attr(&q.u.nh, IFLA_IFNAME, name, n + 1);
	}
	if (nsid >= 0) {
		int32_t id = nsid;

		add_attr(&q.u.nh, IFLA_TARGET_NETNSID, &id, sizeof(id));
	}
	add_attr(&q.u.nh, IFLA_EXT_MASK, &mask, sizeof(mask));
	r = rtnl_talk(&q.u.nh, parse_link, out);
	if (r == 0 && out->ifindex <= 0)
		r = -ENODEV;
	return r;
}
