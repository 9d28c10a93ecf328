/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The interface settings of a JSON configuration that live in the kernel:
 * addresses, the link's state and routes, set over rtnetlink with
 * libnl-route-3 (src/netns/link.h) on the interface of that index, in the
 * namespace nsfd is open on (-1: the current one). The MTU is set when the
 * TUN is made (agent.c).
 */
#ifndef ALTUNTUN_CONFIG_LINK_H
#define ALTUNTUN_CONFIG_LINK_H

#include "config_json.h"

/*
 * Adds the addresses, brings the link up when there are addresses or
 * routes, then adds the routes (table main, through the link). An address
 * or a route that is there already is left as it is (logged). Logs what it
 * does and what failed; returns 0 or a negative errno.
 */
int config_link_apply(const struct config_iface *ifc, int nsfd, int ifindex, const char *ifname);

#endif
