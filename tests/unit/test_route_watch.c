// SPDX-License-Identifier: BSD-3-Clause
/*
 * Route lookups for sticky sources (src/agent/route_watch.c), against the
 * kernel of the namespace the tests run in: loopback is always there.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <string.h>

#include "route_watch.h"
#include "test.h"

static void ep4(struct altuntun_endpoint *ep, const char *dst, const char *src)
{
	memset(ep, 0, sizeof(*ep));
	ep->addr.in4.sin_family = AF_INET;
	ep->addr.in4.sin_port = htons(51820);
	CHECK(inet_pton(AF_INET, dst, &ep->addr.in4.sin_addr) == 1);
	ep->local_family = AF_INET;
	CHECK(inet_pton(AF_INET, src, &ep->local.v4) == 1);
}

TEST(route_watch_oif_of_loopback)
{
	struct route_watch w;
	struct altuntun_endpoint ep;
	int lo = (int)if_nametoindex("lo");

	CHECK(lo > 0);
	CHECK_EQ(route_watch_open(&w), 0);
	ep4(&ep, "127.0.0.1", "127.0.0.1");
	CHECK_EQ(route_watch_oif(&w, &ep, 0), lo);
	CHECK_EQ(route_watch_oif(&w, &ep, 0x1234), lo);
	memset(&ep.addr, 0, sizeof(ep.addr));
	ep.addr.in6.sin6_family = AF_INET6;
	ep.addr.in6.sin6_addr = in6addr_loopback;
	ep.local_family = AF_INET6;
	ep.local.v6 = in6addr_loopback;
	/* IPv6 may be off in the test's namespace; when on, lo again. */
	{
		int r = route_watch_oif(&w, &ep, 0);

		CHECK(r == lo || r < 0);
	}
	/* A family mismatch is refused before asking the kernel. */
	ep.local_family = AF_INET;
	CHECK_EQ(route_watch_oif(&w, &ep, 0), -EINVAL);
	/* No source yet (an endpoint just set): the kernel's own choice. */
	ep4(&ep, "127.0.0.1", "127.0.0.1");
	ep.local_family = 0;
	memset(&ep.local, 0, sizeof(ep.local));
	CHECK_EQ(route_watch_oif(&w, &ep, 0), lo);
	/* Nothing changed meanwhile: nothing to drain. */
	CHECK_EQ(route_watch_drain(&w), 0);
	route_watch_close(&w);
	CHECK_EQ(w.fd, -1);
}

TEST(route_watch_refuses_a_source_not_ours)
{
	struct route_watch w;
	struct altuntun_endpoint ep;

	CHECK_EQ(route_watch_open(&w), 0);
	/* 192.0.2.1 (TEST-NET-1) is nobody's address here. */
	ep4(&ep, "127.0.0.1", "192.0.2.1");
	CHECK(route_watch_oif(&w, &ep, 0) < 0);
	/* The socket kept open still answers after a refusal. */
	ep4(&ep, "127.0.0.1", "127.0.0.1");
	CHECK(route_watch_oif(&w, &ep, 0) > 0);
	route_watch_close(&w);
}
