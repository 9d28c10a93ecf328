// SPDX-License-Identifier: BSD-3-Clause
/*
 * The data path: packets read from the TUN device are encrypted and sent over
 * UDP, datagrams read from UDP are decrypted and written to the TUN device.
 * Also the UDP sockets' life (listen port, fwmark) as the UAPI changes it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "agent.h"
#include "log.h"
#include "privsep.h"

#define NSEC_PER_SEC 1000000000ull

struct altuntun_now agent_now(void)
{
	struct altuntun_now now;
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	now.mono_ns = (uint64_t)ts.tv_sec * NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
	clock_gettime(CLOCK_REALTIME, &ts);
	now.wall_ns = (uint64_t)ts.tv_sec * NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
	return now;
}

static const char *ep_str(const struct altuntun_endpoint *ep, char *out, size_t cap)
{
	char addr[INET6_ADDRSTRLEN] = "?";

	if (ep->addr.sa.sa_family == AF_INET) {
		inet_ntop(AF_INET, &ep->addr.in4.sin_addr, addr, sizeof(addr));
		snprintf(out, cap, "%s:%u", addr, ntohs(ep->addr.in4.sin_port));
	} else if (ep->addr.sa.sa_family == AF_INET6) {
		inet_ntop(AF_INET6, &ep->addr.in6.sin6_addr, addr, sizeof(addr));
		snprintf(out, cap, "[%s]:%u", addr, ntohs(ep->addr.in6.sin6_port));
	} else {
		snprintf(out, cap, "(family %u)", ep->addr.sa.sa_family);
	}
	return out;
}

/* Sends one datagram; tells the library when the source had to be cleared. */
static int send_datagram(struct agent *a, altuntun_peer *peer, struct altuntun_endpoint *ep,
			 const uint8_t *data, size_t len)
{
	bool had_source = ep->local_family != 0;
	char where[INET6_ADDRSTRLEN + 16];
	int r;

	r = udp_send(&a->udp, ep, data, len);
	if (r == -EMSGSIZE && outer_frag_allowed(&a->frag, &a->route, ep, a->udp.fwmark))
		r = udp_send_fragmented(&a->udp, ep, data, len);
	if (had_source && !ep->local_family) {
		log_debug("udp: source address for %s no longer usable, cleared",
			  ep_str(ep, where, sizeof(where)));
		if (peer)
			altuntun_peer_clear_local_address(peer);
	}
	if (r < 0) {
		a->stats.udp_tx_failed++;
		log_debug("udp: %zu bytes to %s not sent: %s", len, ep_str(ep, where, sizeof(where)),
			  strerror(-r));
		return r;
	}
	a->stats.udp_tx++;
	log_trace("udp: sent %zu bytes to %s", len, ep_str(ep, where, sizeof(where)));
	return 0;
}

void agent_recheck_sources(struct agent *a)
{
	char where[INET6_ADDRSTRLEN + 16];

	for (altuntun_peer *p = altuntun_peer_first(a->dev); p; p = altuntun_peer_next(p)) {
		struct altuntun_endpoint ep;
		int oif;

		if (!altuntun_peer_get_endpoint(p, &ep) || !ep.local_family || !ep.local_ifindex)
			continue;
		oif = route_watch_oif(&a->route, &ep, a->udp.fwmark);
		if (oif == (int)ep.local_ifindex || oif == -ENOENT)
			continue;
		if (oif < 0 && oif != -EINVAL && oif != -ENETUNREACH && oif != -EHOSTUNREACH) {
			log_debug("route to %s: %s", ep_str(&ep, where, sizeof(where)), strerror(-oif));
			continue;
		}
		if (log_enabled(LOG_LVL_DEBUG)) {
			char src[INET6_ADDRSTRLEN] = "?";

			inet_ntop(ep.local_family, &ep.local, src, sizeof(src));
			/* "no longer usable, cleared": as send_datagram() says it. */
			if (oif < 0)
				log_debug("udp: source address %s for %s no longer usable, cleared "
					  "(no route from it: %s)", src,
					  ep_str(&ep, where, sizeof(where)), strerror(-oif));
			else
				log_debug("udp: source address %s for %s no longer usable, cleared "
					  "(the route now leaves through interface %d, not %u)",
					  src, ep_str(&ep, where, sizeof(where)), oif,
					  ep.local_ifindex);
		}
		altuntun_peer_clear_local_address(p);
	}
}

int agent_send_cb(void *ctx, altuntun_peer *peer, const struct altuntun_endpoint *to,
		  const uint8_t *data, size_t len)
{
	struct altuntun_endpoint ep = *to;

	/* Under a handshake flood these are many: one system call a batch. */
	if (!peer && datapath_queue_reply(ctx, to, data, len))
		return 0;
	return send_datagram(ctx, peer, &ep, data, len);
}

void agent_tun_event(struct ev_source *src, uint32_t events)
{
	(void)events;
	datapath_tun_readable(ev_container_of(src, struct agent, tun_src));
}

/* `src` is a->udp4_src or a->udp6_src; its fd may change under us when the
 * UAPI moves the port (the source structure stays). */
static void udp_receive(struct agent *a, struct ev_source *src)
{
	datapath_udp_readable(a, src);
}

static void udp4_event(struct ev_source *src, uint32_t events)
{
	(void)events;
	udp_receive(ev_container_of(src, struct agent, udp4_src), src);
}

static void udp6_event(struct ev_source *src, uint32_t events)
{
	(void)events;
	udp_receive(ev_container_of(src, struct agent, udp6_src), src);
}

static int udp_watch(struct agent *a)
{
	int r = 0;

	a->udp4_src.fd = a->udp.fd4;
	a->udp4_src.handler = udp4_event;
	a->udp6_src.fd = a->udp.fd6;
	a->udp6_src.handler = udp6_event;
	if (a->udp4_src.fd >= 0)
		r = ev_add(&a->loop, &a->udp4_src, EPOLLIN);
	if (!r && a->udp6_src.fd >= 0)
		r = ev_add(&a->loop, &a->udp6_src, EPOLLIN);
	return r;
}

static void udp_unwatch(struct agent *a)
{
	ev_del(&a->loop, &a->udp4_src);
	ev_del(&a->loop, &a->udp6_src);
}

int agent_udp_adopt(struct agent *a, const struct udp_bind *b)
{
	int r;

	a->udp = *b;
	r = udp_watch(a);
	if (r < 0)
		udp_unwatch(a);
	return r;
}

int agent_udp_open(struct agent *a, uint16_t port)
{
	int r = udp_open(&a->udp, port, 0);

	if (r < 0)
		return r;
	r = udp_watch(a);
	if (r < 0) {
		udp_unwatch(a);
		udp_close(&a->udp);
	}
	return r;
}

void agent_udp_close(struct agent *a)
{
	udp_unwatch(a);
	udp_close(&a->udp);
}

static uint16_t op_get_listen_port(void *ctx)
{
	struct agent *a = ctx;

	return a->udp.port;
}

/* The new sockets are opened first and swapped in only once they work. */
static int op_set_listen_port(void *ctx, uint16_t port)
{
	struct agent *a = ctx;
	struct udp_bind old = a->udp, nb;
	int r;

	if (port && port == a->udp.port)
		return 0;
	/* Separated (privsep.h): the monitor opens them, below 1024 too. */
	r = a->opt->privsep_child ? privsep_bind_port(a, port, &nb)
				  : udp_open(&nb, port, a->udp.fwmark);
	if (r < 0) {
		log_warn("cannot listen on UDP port %u: %s", port, strerror(-r));
		return r;
	}
	udp_unwatch(a);
	a->udp = nb;
	r = udp_watch(a);
	if (r < 0) {
		log_error("cannot watch the sockets of UDP port %u: %s", nb.port, strerror(-r));
		udp_unwatch(a);
		udp_close(&a->udp);
		a->udp = old;
		if (udp_watch(a) < 0)
			agent_stop(a, 1, "the UDP sockets cannot be watched");
		return r;
	}
	udp_close(&old);
	log_info("listening on UDP port %u", a->udp.port);
	return 0;
}

static uint32_t op_get_fwmark(void *ctx)
{
	struct agent *a = ctx;

	return a->udp.fwmark;
}

static int op_set_fwmark(void *ctx, uint32_t mark)
{
	struct agent *a = ctx;
	int r;

	if (mark == a->udp.fwmark)
		return 0;
	r = a->opt->privsep_child ? privsep_set_fwmark(a, mark) : udp_set_fwmark(&a->udp, mark);
	if (r < 0) {
		log_warn("cannot set fwmark 0x%x on the UDP sockets: %s", mark, strerror(-r));
		return r;
	}
	log_info("fwmark is now 0x%x", mark);
	return 0;
}

static void op_changed(void *ctx)
{
	struct agent *a = ctx;

	log_debug("configuration of %s changed (%zu peers)", a->ifname,
		  altuntun_peer_count(a->dev));
	/* What a restarted protocol process will be given (privsep.h). */
	if (a->opt->privsep_child)
		privsep_config_changed(a);
}

void agent_init_ops(struct agent *a)
{
	a->ops.ctx = a;
	a->ops.get_listen_port = op_get_listen_port;
	a->ops.set_listen_port = op_set_listen_port;
	a->ops.get_fwmark = op_get_fwmark;
	a->ops.set_fwmark = op_set_fwmark;
	a->ops.changed = op_changed;
}
