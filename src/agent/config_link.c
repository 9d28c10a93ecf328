// SPDX-License-Identifier: BSD-3-Clause
/* Addresses, link state and routes of a JSON configuration (see config_link.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "config_link.h"
#include "link.h"
#include "log.h"

#define PREFIX_STRLEN (INET6_ADDRSTRLEN + 8)

static const char *prefix_str(const struct config_prefix *p, char out[PREFIX_STRLEN])
{
	char a[INET6_ADDRSTRLEN];

	inet_ntop(p->family, &p->addr, a, sizeof(a));
	snprintf(out, PREFIX_STRLEN, "%s/%u", a, p->cidr);
	return out;
}

int config_link_apply(const struct config_iface *ifc, int nsfd, int ifindex, const char *ifname)
{
	char s[PREFIX_STRLEN];
	int r;

	for (size_t i = 0; i < ifc->n_addresses; i++) {
		const struct config_prefix *p = &ifc->addresses[i];

		r = netns_link_add_address(nsfd, ifindex, p->family, &p->addr, p->cidr);
		if (r == -EEXIST) {
			log_info("address %s is on %s already", prefix_str(p, s), ifname);
			continue;
		}
		if (r < 0) {
			log_error("cannot add address %s to %s: %s", prefix_str(p, s), ifname,
				  strerror(-r));
			return r;
		}
		log_info("address %s added to %s", prefix_str(p, s), ifname);
	}
	if (!ifc->n_addresses && !ifc->n_routes)
		return 0;
	/* Up before the routes: the kernel refuses an IPv4 route through a
	 * link that is down. */
	r = netns_link_set_up(nsfd, ifindex);
	if (r < 0) {
		log_error("cannot bring %s up: %s", ifname, strerror(-r));
		return r;
	}
	for (size_t i = 0; i < ifc->n_routes; i++) {
		const struct config_route *rt = &ifc->routes[i];

		r = netns_link_add_route(nsfd, ifindex, rt->dst.family, &rt->dst.addr, rt->dst.cidr,
					 rt->mtu);
		if (r == -EEXIST) {
			log_warn("route %s exists already; left as it is", prefix_str(&rt->dst, s));
			continue;
		}
		if (r < 0) {
			log_error("cannot add route %s through %s: %s", prefix_str(&rt->dst, s), ifname,
				  strerror(-r));
			return r;
		}
		if (rt->mtu)
			log_info("route %s (mtu %u) through %s added", prefix_str(&rt->dst, s), rt->mtu,
				 ifname);
		else
			log_info("route %s through %s added", prefix_str(&rt->dst, s), ifname);
	}
	return 0;
}
