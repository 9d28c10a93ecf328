// SPDX-License-Identifier: BSD-3-Clause
/*
 * Recognises our own outer datagrams coming back out of the TUN (see
 * loop_guard.h). Only the first fragment of a datagram carries its ports;
 * our datagrams are never fragmented into a tunnel (outer_frag.h), so that
 * is all there is.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "loop_guard.h"

#define IP4_HDR_MIN 20
#define IP6_HDR_LEN 40
#define UDP_HDR_LEN 8

struct udp_dst {
	int family;
	const uint8_t *addr; /* 4 or 16 bytes inside the packet */
	uint16_t sport, dport;
};

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* Finds the UDP header of an IPv4 or IPv6 packet; false if it is not UDP
 * or not the datagram's first fragment. */
static bool parse_udp(const uint8_t *pkt, size_t len, struct udp_dst *u)
{
	const uint8_t *udp;

	if (len < IP4_HDR_MIN)
		return false;
	if (pkt[0] >> 4 == 4) {
		size_t ihl = (size_t)(pkt[0] & 0x0f) * 4;

		if (ihl < IP4_HDR_MIN || len < ihl + UDP_HDR_LEN || pkt[9] != IPPROTO_UDP ||
		    (get16(pkt + 6) & 0x1fff))
			return false;
		u->family = AF_INET;
		u->addr = pkt + 16;
		udp = pkt + ihl;
	} else if (pkt[0] >> 4 == 6) {
		if (len < IP6_HDR_LEN + UDP_HDR_LEN || pkt[6] != IPPROTO_UDP)
			return false;
		u->family = AF_INET6;
		u->addr = pkt + 24;
		udp = pkt + IP6_HDR_LEN;
	} else {
		return false;
	}
	u->sport = get16(udp);
	u->dport = get16(udp + 2);
	return true;
}

static bool is_endpoint(const struct altuntun_endpoint *ep, const struct udp_dst *u)
{
	if (ep->addr.sa.sa_family != u->family)
		return false;
	if (u->family == AF_INET)
		return ntohs(ep->addr.in4.sin_port) == u->dport &&
		       !memcmp(&ep->addr.in4.sin_addr, u->addr, 4);
	return ntohs(ep->addr.in6.sin6_port) == u->dport &&
	       !memcmp(&ep->addr.in6.sin6_addr, u->addr, 16);
}

bool loop_guard_own_datagram(const altuntun_device *dev, uint16_t listen_port, const uint8_t *pkt,
			     size_t len)
{
	struct altuntun_endpoint ep;
	const altuntun_peer *peer;
	struct udp_dst u;

	if (!listen_port || !parse_udp(pkt, len, &u) || u.sport != listen_port)
		return false;
	peer = altuntun_allowed_ip_lookup(dev, u.family, u.addr);
	return peer && altuntun_peer_get_endpoint(peer, &ep) && is_endpoint(&ep, &u);
}
