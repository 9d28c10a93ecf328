// SPDX-License-Identifier: BSD-3-Clause
/* The routes through our interface that carry an MTU (see route_mtu.h). */
#include <errno.h>
#include <linux/rtnetlink.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>

#include "log.h"
#include "netns.h"
#include "route_mtu.h"
#include "rtnl.h"

struct route_mtu *route_mtu_shared(void)
{
	static struct route_mtu *shared;

	if (!shared) {
		void *p = mmap(NULL, sizeof(*shared), PROT_READ | PROT_WRITE,
			       MAP_SHARED | MAP_ANONYMOUS, -1, 0);

		if (p == MAP_FAILED) {
			log_error("cannot map the route table: %s", strerror(errno));
			return NULL;
		}
		shared = p;
	}
	return shared;
}

void route_mtu_clear(struct route_mtu *t)
{
	t->n = 0;
}

static unsigned addr_len(int family)
{
	return family == AF_INET ? 4 : 16;
}

static void mask_host_bits(uint8_t *a, unsigned alen, unsigned plen)
{
	for (unsigned i = 0; i < alen; i++) {
		unsigned bits = i * 8 >= plen ? 0 : plen - i * 8;

		if (bits < 8)
			a[i] &= (uint8_t)(0xff00u >> bits);
	}
}

static bool same_route(const struct route_mtu_entry *a, const struct route_mtu_entry *b)
{
	return a->family == b->family && a->plen == b->plen && a->tos == b->tos &&
	       a->table == b->table && a->priority == b->priority &&
	       !memcmp(a->dst, b->dst, addr_len(a->family));
}

static struct route_mtu_entry *find(struct route_mtu *t, const struct route_mtu_entry *k)
{
	for (unsigned i = 0; i < t->n; i++)
		if (same_route(&t->e[i], k))
			return &t->e[i];
	return NULL;
}

static int remove_route(struct route_mtu *t, const struct route_mtu_entry *k)
{
	struct route_mtu_entry *e = find(t, k);

	if (!e)
		return 0;
	*e = t->e[--t->n];
	return 1;
}

static int put_route(struct route_mtu *t, const struct route_mtu_entry *k)
{
	struct route_mtu_entry *e = find(t, k);

	if (e) {
		if (e->mtu == k->mtu)
			return 0;
		e->mtu = k->mtu;
		return 1;
	}
	if (t->n == ROUTE_MTU_MAX) {
		if (!t->full_logged)
			log_warn("more than %d routes with an MTU through the interface: the rest "
				 "do not limit padding", ROUTE_MTU_MAX);
		t->full_logged = true;
		return 0;
	}
	t->e[t->n++] = *k;
	return 1;
}

void route_mtu_add(struct route_mtu *t, int family, const void *dst, unsigned plen,
		   uint32_t mtu)
{
	struct route_mtu_entry k = {
		.family = (uint8_t)family,
		.plen = (uint8_t)plen,
		.table = RT_TABLE_MAIN,
		.mtu = mtu,
	};

	if ((family != AF_INET && family != AF_INET6) || plen > addr_len(family) * 8 || !mtu)
		return;
	memcpy(k.dst, dst, addr_len(family));
	mask_host_bits(k.dst, addr_len(family), plen);
	/* The kernel's default metric for a route added without one. */
	k.priority = family == AF_INET6 ? 1024 : 0;
	(void)put_route(t, &k);
}

/* RTAX_MTU inside RTA_METRICS, 0 if absent. */
static uint32_t metrics_mtu(const struct rtattr *metrics)
{
	int len = (int)RTA_PAYLOAD(metrics);

	for (const struct rtattr *a = RTA_DATA(metrics); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
		uint32_t v;

		if (a->rta_type != RTAX_MTU || RTA_PAYLOAD(a) < sizeof(v))
			continue;
		memcpy(&v, RTA_DATA(a), sizeof(v));
		return v;
	}
	return 0;
}

int route_mtu_update(struct route_mtu *t, const struct nlmsghdr *nh, int ifindex)
{
	const struct rtmsg *rtm;
	struct route_mtu_entry k = { 0 };
	int len, oif = 0;

	if (nh->nlmsg_type != RTM_NEWROUTE && nh->nlmsg_type != RTM_DELROUTE)
		return 0;
	if (nh->nlmsg_len < NLMSG_LENGTH(sizeof(*rtm)))
		return -EINVAL;
	rtm = NLMSG_DATA(nh);
	if (rtm->rtm_family != AF_INET && rtm->rtm_family != AF_INET6)
		return 0;
	/* Cached clones and PMTU exceptions are not routes a user made. */
	if (rtm->rtm_flags & RTM_F_CLONED)
		return 0;
	if (rtm->rtm_dst_len > addr_len(rtm->rtm_family) * 8)
		return -EINVAL;
	k.family = rtm->rtm_family;
	k.plen = rtm->rtm_dst_len;
	k.tos = rtm->rtm_tos;
	k.table = rtm->rtm_table;
	len = (int)(nh->nlmsg_len - NLMSG_LENGTH(sizeof(*rtm)));
	for (const struct rtattr *a = RTM_RTA(rtm); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
		size_t plen = RTA_PAYLOAD(a);

		switch (a->rta_type) {
		case RTA_DST:
			if (plen != addr_len(k.family))
				return -EINVAL;
			memcpy(k.dst, RTA_DATA(a), plen);
			break;
		case RTA_OIF:
			if (plen >= sizeof(int))
				memcpy(&oif, RTA_DATA(a), sizeof(int));
			break;
		case RTA_PRIORITY:
			if (plen >= sizeof(uint32_t))
				memcpy(&k.priority, RTA_DATA(a), sizeof(uint32_t));
			break;
		case RTA_TABLE:
			if (plen >= sizeof(uint32_t))
				memcpy(&k.table, RTA_DATA(a), sizeof(uint32_t));
			break;
		case RTA_METRICS:
			k.mtu = metrics_mtu(a);
			break;
		default:
			break;
		}
	}
	mask_host_bits(k.dst, addr_len(k.family), k.plen);
	if (nh->nlmsg_type == RTM_DELROUTE || oif != ifindex || !k.mtu ||
	    rtm->rtm_type != RTN_UNICAST)
		return remove_route(t, &k);
	return put_route(t, &k);
}

static bool prefix_matches(const struct route_mtu_entry *e, const uint8_t *addr)
{
	unsigned full = e->plen / 8, rest = e->plen % 8;

	if (memcmp(e->dst, addr, full))
		return false;
	return !rest || !((e->dst[full] ^ addr[full]) & (uint8_t)(0xff00u >> rest));
}

unsigned route_mtu_of_packet(const struct route_mtu *t, const uint8_t *pkt, size_t len,
			     unsigned link_mtu)
{
	const struct route_mtu_entry *best = NULL;
	const uint8_t *dst;
	int family;

	if (!t || !t->n || len < 1)
		return link_mtu;
	if (pkt[0] >> 4 == 4 && len >= 20) {
		family = AF_INET;
		dst = pkt + 16;
	} else if (pkt[0] >> 4 == 6 && len >= 40) {
		family = AF_INET6;
		dst = pkt + 24;
	} else {
		return link_mtu;
	}
	for (unsigned i = 0; i < t->n; i++) {
		const struct route_mtu_entry *e = &t->e[i];

		if (e->family != family || !prefix_matches(e, dst))
			continue;
		if (!best || e->plen > best->plen ||
		    (e->plen == best->plen && e->priority < best->priority) ||
		    (e->plen == best->plen && e->priority == best->priority && e->mtu < best->mtu))
			best = e;
	}
	if (!best || best->mtu >= link_mtu)
		return link_mtu;
	return best->mtu;
}

struct load_ctx {
	struct route_mtu *t;
	int ifindex;
};

static int take_route(const struct nlmsghdr *nh, void *arg)
{
	struct load_ctx *c = arg;

	(void)route_mtu_update(c->t, nh, c->ifindex);
	return 0;
}

static int dump_routes(void *arg)
{
	struct {
		struct nlmsghdr nh;
		struct rtmsg rtm;
	} req = {
		.nh = {
			.nlmsg_len = sizeof(req),
			.nlmsg_type = RTM_GETROUTE,
			.nlmsg_flags = NLM_F_DUMP,
		},
		.rtm = { .rtm_family = AF_UNSPEC },
	};
	struct load_ctx *c = arg;

	route_mtu_clear(c->t);
	return rtnl_talk(&req.nh, take_route, c);
}

int route_mtu_load(struct route_mtu *t, int nsfd, int ifindex)
{
	struct load_ctx c = { .t = t, .ifindex = ifindex };

	return netns_run_in(nsfd, dump_routes, &c);
}
