// SPDX-License-Identifier: BSD-3-Clause
/* The route MTU table for padding (src/agent/route_mtu.h), fed with
 * rtnetlink messages built here as the kernel sends them. */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/rtnetlink.h>
#include <netinet/in.h>

#include "route_mtu.h"
#include "test.h"

#define IFX 7

struct route_msg {
	struct nlmsghdr nh;
	struct rtmsg rtm;
	char attrs[256];
};

static void put_attr(struct route_msg *m, unsigned short type, const void *data, size_t len)
{
	struct rtattr *a = (struct rtattr *)((char *)m + NLMSG_ALIGN(m->nh.nlmsg_len));

	a->rta_type = type;
	a->rta_len = (unsigned short)RTA_LENGTH(len);
	memcpy(RTA_DATA(a), data, len);
	m->nh.nlmsg_len = NLMSG_ALIGN(m->nh.nlmsg_len) + RTA_ALIGN(a->rta_len);
}

/* A route `dst`/plen through oif with an MTU (0: none) in table, metric. */
static void build(struct route_msg *m, int type, int family, const char *dst, unsigned plen,
		  int oif, uint32_t mtu, uint32_t table, uint32_t priority)
{
	uint8_t addr[16];

	memset(m, 0, sizeof(*m));
	m->nh.nlmsg_len = NLMSG_LENGTH(sizeof(m->rtm));
	m->nh.nlmsg_type = (unsigned short)type;
	m->rtm.rtm_family = (unsigned char)family;
	m->rtm.rtm_dst_len = (unsigned char)plen;
	m->rtm.rtm_table = table < 256 ? (unsigned char)table : RT_TABLE_COMPAT;
	m->rtm.rtm_type = RTN_UNICAST;
	CHECK(inet_pton(family, dst, addr) == 1);
	if (plen)
		put_attr(m, RTA_DST, addr, family == AF_INET ? 4 : 16);
	put_attr(m, RTA_TABLE, &table, sizeof(table));
	put_attr(m, RTA_OIF, &oif, sizeof(oif));
	if (priority)
		put_attr(m, RTA_PRIORITY, &priority, sizeof(priority));
	if (mtu) {
		char nest[RTA_SPACE(sizeof(uint32_t))];
		struct rtattr *x = (struct rtattr *)nest;

		x->rta_type = RTAX_MTU;
		x->rta_len = (unsigned short)RTA_LENGTH(sizeof(mtu));
		memcpy(RTA_DATA(x), &mtu, sizeof(mtu));
		put_attr(m, RTA_METRICS, nest, sizeof(nest));
	}
}

static int feed(struct route_mtu *t, int type, int family, const char *dst, unsigned plen,
		int oif, uint32_t mtu, uint32_t table, uint32_t priority)
{
	struct route_msg m;

	build(&m, type, family, dst, plen, oif, mtu, table, priority);
	return route_mtu_update(t, &m.nh, IFX);
}

/* An IPv4 or IPv6 header to dst, nothing else needed. */
static unsigned mtu_to(const struct route_mtu *t, const char *dst, unsigned link_mtu)
{
	uint8_t pkt[40] = { 0 };

	if (strchr(dst, ':')) {
		pkt[0] = 0x60;
		CHECK(inet_pton(AF_INET6, dst, pkt + 24) == 1);
		return route_mtu_of_packet(t, pkt, 40, link_mtu);
	}
	pkt[0] = 0x45;
	CHECK(inet_pton(AF_INET, dst, pkt + 16) == 1);
	return route_mtu_of_packet(t, pkt, 20, link_mtu);
}

static struct route_mtu table;

TEST(route_mtu_longest_prefix_then_metric)
{
	route_mtu_clear(&table);
	CHECK_EQ(mtu_to(&table, "10.0.0.9", 1300), 1300);
	CHECK_EQ(feed(&table, RTM_NEWROUTE, AF_INET, "10.0.0.9", 32, IFX, 1299, RT_TABLE_MAIN, 0), 1);
	CHECK_EQ(feed(&table, RTM_NEWROUTE, AF_INET, "10.0.0.0", 16, IFX, 1200, RT_TABLE_MAIN, 0), 1);
	CHECK_EQ(mtu_to(&table, "10.0.0.9", 1300), 1299);
	CHECK_EQ(mtu_to(&table, "10.0.0.10", 1300), 1200);
	CHECK_EQ(mtu_to(&table, "10.1.0.9", 1300), 1300);
	/* Same prefix: the lowest metric; at the same metric in two tables (rules
	 * are not evaluated), the smaller MTU. */
	CHECK_EQ(feed(&table, RTM_NEWROUTE, AF_INET, "10.0.0.0", 16, IFX, 1100, 51820, 0), 1);
	CHECK_EQ(feed(&table, RTM_NEWROUTE, AF_INET, "10.0.0.0", 16, IFX, 1250, RT_TABLE_MAIN, 5), 1);
	CHECK_EQ(mtu_to(&table, "10.0.3.3", 1300), 1100);
	/* Never above the link's MTU. */
	CHECK_EQ(mtu_to(&table, "10.0.3.3", 1000), 1000);
	/* The same notification twice changes nothing. */
	CHECK_EQ(feed(&table, RTM_NEWROUTE, AF_INET, "10.0.0.9", 32, IFX, 1299, RT_TABLE_MAIN, 0), 0);
	CHECK_EQ(table.n, 4);
}

TEST(route_mtu_delete_replace_and_other_links)
{
	route_mtu_clear(&table);
	CHECK_EQ(feed(&table, RTM_NEWROUTE, AF_INET, "192.168.5.0", 24, IFX, 1280, RT_TABLE_MAIN, 0), 1);
	/* A route of another interface is not ours. */
	CHECK_EQ(feed(&table, RTM_NEWROUTE, AF_INET, "192.168.6.0", 24, IFX + 1, 1000, RT_TABLE_MAIN, 0),
		 0);
	CHECK_EQ(mtu_to(&table, "192.168.6.1", 1420), 1420);
	/* Replaced by one without an MTU: gone. */
	CHECK_EQ(feed(&table, RTM_NEWROUTE, AF_INET, "192.168.5.0", 24, IFX, 0, RT_TABLE_MAIN, 0), 1);
	CHECK_EQ(mtu_to(&table, "192.168.5.1", 1420), 1420);
	CHECK_EQ(feed(&table, RTM_NEWROUTE, AF_INET, "192.168.5.0", 24, IFX, 1280, RT_TABLE_MAIN, 0), 1);
	/* Moved to another interface by a replace: gone. */
	CHECK_EQ(feed(&table, RTM_NEWROUTE, AF_INET, "192.168.5.0", 24, IFX + 1, 1280, RT_TABLE_MAIN, 0),
		 1);
	CHECK_EQ(table.n, 0);
	CHECK_EQ(feed(&table, RTM_NEWROUTE, AF_INET, "192.168.5.0", 24, IFX, 1280, RT_TABLE_MAIN, 0), 1);
	/* Deleted (a DELROUTE carries no metrics). */
	CHECK_EQ(feed(&table, RTM_DELROUTE, AF_INET, "192.168.5.0", 24, IFX, 0, RT_TABLE_MAIN, 0), 1);
	CHECK_EQ(mtu_to(&table, "192.168.5.1", 1420), 1420);
	CHECK_EQ(table.n, 0);
}

TEST(route_mtu_ipv6_and_host_bits)
{
	route_mtu_clear(&table);
	CHECK_EQ(feed(&table, RTM_NEWROUTE, AF_INET6, "fd00:1::", 64, IFX, 1290, RT_TABLE_MAIN, 1024), 1);
	CHECK_EQ(feed(&table, RTM_NEWROUTE, AF_INET6, "fd00:1::7", 128, IFX, 1281, RT_TABLE_MAIN, 1024), 1);
	CHECK_EQ(mtu_to(&table, "fd00:1::7", 1420), 1281);
	CHECK_EQ(mtu_to(&table, "fd00:1::8", 1420), 1290);
	CHECK_EQ(mtu_to(&table, "fd00:2::8", 1420), 1420);
	/* An IPv4 destination never matches an IPv6 route. */
	CHECK_EQ(mtu_to(&table, "253.0.0.1", 1420), 1420);
	/* route_mtu_add masks host bits: 10.9.9.9/8 is 10.0.0.0/8. */
	route_mtu_clear(&table);
	{
		struct in_addr a;

		CHECK(inet_pton(AF_INET, "10.9.9.9", &a) == 1);
		route_mtu_add(&table, AF_INET, &a, 8, 1111);
	}
	CHECK_EQ(mtu_to(&table, "10.200.1.1", 1420), 1111);
	CHECK_EQ(feed(&table, RTM_DELROUTE, AF_INET, "10.0.0.0", 8, IFX, 0, RT_TABLE_MAIN, 0), 1);
	CHECK_EQ(table.n, 0);
}

TEST(route_mtu_bad_messages_and_packets)
{
	struct route_msg m;
	uint8_t junk[3] = { 0x45, 0, 0 };

	route_mtu_clear(&table);
	build(&m, RTM_NEWROUTE, AF_INET, "10.0.0.0", 8, IFX, 1300, RT_TABLE_MAIN, 0);
	m.rtm.rtm_dst_len = 33;
	CHECK_EQ(route_mtu_update(&table, &m.nh, IFX), -EINVAL);
	build(&m, RTM_NEWROUTE, AF_INET, "10.0.0.0", 8, IFX, 1300, RT_TABLE_MAIN, 0);
	m.nh.nlmsg_len = NLMSG_LENGTH(2);
	CHECK_EQ(route_mtu_update(&table, &m.nh, IFX), -EINVAL);
	/* Clones (cache entries, PMTU exceptions) and non-unicast routes. */
	build(&m, RTM_NEWROUTE, AF_INET, "10.0.0.0", 8, IFX, 1300, RT_TABLE_MAIN, 0);
	m.rtm.rtm_flags |= RTM_F_CLONED;
	CHECK_EQ(route_mtu_update(&table, &m.nh, IFX), 0);
	build(&m, RTM_NEWROUTE, AF_INET, "10.0.0.0", 8, IFX, 1300, RT_TABLE_MAIN, 0);
	m.rtm.rtm_type = RTN_LOCAL;
	CHECK_EQ(route_mtu_update(&table, &m.nh, IFX), 0);
	CHECK_EQ(table.n, 0);
	CHECK_EQ(feed(&table, RTM_NEWROUTE, AF_INET, "0.0.0.0", 0, IFX, 1400, RT_TABLE_MAIN, 0), 1);
	/* Too short to be IP, or not IP: the link's MTU. */
	CHECK_EQ(route_mtu_of_packet(&table, junk, sizeof(junk), 1420), 1420);
	junk[0] = 0x10;
	CHECK_EQ(route_mtu_of_packet(&table, junk, sizeof(junk), 1420), 1420);
	CHECK_EQ(mtu_to(&table, "8.8.8.8", 1420), 1400);
}

TEST(route_mtu_bounded)
{
	route_mtu_clear(&table);
	table.full_logged = true; /* quiet */
	for (unsigned i = 0; i < ROUTE_MTU_MAX + 10; i++) {
		char dst[32];

		snprintf(dst, sizeof(dst), "10.%u.%u.0", i / 256, i % 256);
		(void)feed(&table, RTM_NEWROUTE, AF_INET, dst, 24, IFX, 1300, RT_TABLE_MAIN, 0);
	}
	CHECK_EQ(table.n, ROUTE_MTU_MAX);
}
