// SPDX-License-Identifier: BSD-3-Clause
/* Fragmenting outer datagrams toward links, never into tunnels (outer_frag.h). */
#include <errno.h>
#include <net/if_arp.h>
#include <string.h>

#include "log.h"
#include "nsid.h"
#include "outer_frag.h"
#include "platform.h"
#include "route_watch.h"

/* The kernel's answer: fragment unless the route leaves through a tunnel.
 * Without one (no route watch, the lookup failing), as Linux: fragment. */
static bool ask(struct route_watch *rw, const struct altuntun_endpoint *ep, uint32_t fwmark)
{
	struct nsid_link l;
	int oif, r;

	oif = route_watch_oif(rw, ep, fwmark);
	if (oif <= 0) {
		log_debug("udp: no route lookup for a datagram too large for its link (%s): "
			  "fragmenting it", strerror(oif < 0 ? -oif : ENOENT));
		return true;
	}
	memset(&l, 0, sizeof(l));
	r = nsid_link_get(-1, oif, NULL, &l);
	if (r < 0) {
		log_debug("udp: interface %d: %s; fragmenting", oif, strerror(-r));
		return true;
	}
	return l.type != ARPHRD_NONE;
}

bool outer_frag_allowed(struct outer_frag *f, struct route_watch *rw,
			const struct altuntun_endpoint *ep, uint32_t fwmark)
{
	bool allowed;

	for (unsigned i = 0; i < OUTER_FRAG_CACHE; i++)
		if (f->cache[i].valid && udp_endpoint_same(&f->cache[i].ep, ep))
			return f->cache[i].allowed;
	allowed = ask(rw, ep, fwmark);
	f->cache[f->next].ep = *ep;
	f->cache[f->next].valid = true;
	f->cache[f->next].allowed = allowed;
	f->next = (f->next + 1) % OUTER_FRAG_CACHE;
	if (!allowed && !f->warned) {
		f->warned = true;
		log_warn("udp: a datagram too large for the tunnel its endpoint is routed through "
			 "was dropped, not fragmented (a loop guard): give this interface an MTU "
			 "at least 80 below that tunnel's");
	}
	return allowed;
}

void outer_frag_forget(struct outer_frag *f)
{
	for (unsigned i = 0; i < OUTER_FRAG_CACHE; i++)
		f->cache[i].valid = false;
}
