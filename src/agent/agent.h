/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The altuntun-cli daemon: one protocol device, its TUN interface, its UDP
 * sockets and its UAPI socket, driven by one epoll loop (agent.c sets it up
 * and tears it down; datapath.c moves the packets).
 */
#ifndef ALTUNTUN_AGENT_H
#define ALTUNTUN_AGENT_H

#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>

#include "altuntun.h"
#include "event_loop.h"
#include "home_watch.h"
#include "link_watch.h"
#include "options.h"
#include "outer_frag.h"
#include "platform.h"
#include "route_mtu.h"
#include "route_watch.h"
#include "uapi.h"
#include "uapi_server.h"
#include "uapi_socket.h"

/* Packets moved per source per event, so none starves the others. */
#define AGENT_BATCH 64
#define AGENT_BUF_SIZE (ALTUNTUN_HEADROOM + ALTUNTUN_MAX_PACKET + ALTUNTUN_TAILROOM)

struct agent_stats {
	uint64_t tun_rx, tun_tx, udp_rx, udp_tx;
	uint64_t tun_rx_dropped, udp_rx_dropped, udp_tx_failed, tun_tx_failed;
};

struct agent {
	const struct agent_options *opt;
	struct event_loop loop;
	altuntun_device *dev;
	char ifname[IFNAMSIZ];
	int ifindex;
	unsigned mtu;

	struct ev_source tun_src;   /* fd: the TUN device */
	struct udp_bind udp;
	struct ev_source udp4_src, udp6_src;
	struct ev_source timer_src; /* timerfd armed to altuntun_tick()'s deadline */
	uint64_t armed_ns;
	struct ev_source signal_src;
	struct link_watch link;
	struct route_mtu *routes; /* route_mtu_shared(): routes through the link with an
				   * MTU, for padding; NULL: not followed */
	struct ev_source link_src;
	struct route_watch route;   /* home's routes: sticky sources (route_watch.h) */
	struct ev_source route_src;
	struct outer_frag frag;     /* too-large datagrams: fragment or drop (outer_frag.h) */
	struct ev_source pid_src;   /* pidfd of --netns pid:PID when rootless (rootless.h) */
	struct home_watch home;     /* the end of home (home_watch.h), one process only */
	struct ev_source home_src;
	int netns_fd;  /* --netns: the target namespace, open during start-up only */
	int link_nsid; /* home's nsid for the namespace of the link; -1: home */
	struct uapi_socket sock;
	struct ev_source sock_watch_src;
	struct uapi_server *uapi;
	struct uapi_iface_ops ops;

	bool stop;
	int exit_code;
	struct agent_stats stats;
	struct datapath *dp; /* batch.c: offloads and buffers */
	uint8_t buf[AGENT_BUF_SIZE];
};

/*
 * Runs the daemon until it is told to stop. When notify_fd is not -1 it is
 * a daemon_start() pipe: the start-up result is reported on it and, once
 * ready, stdio is detached. Returns the process exit status.
 */
int agent_run(const struct agent_options *opt, int notify_fd);
/* mem_release() of smaps_fd (from mem_release_open), or -1 to open it now;
 * logged. Once set-up is done, with no other thread changing mappings. */
void release_startup_memory(int smaps_fd);
/* Ends the loop after the current batch. */
void agent_stop(struct agent *a, int exit_code, const char *why);

/* ---- datapath.c ---- */
struct altuntun_now agent_now(void);
void agent_tun_event(struct ev_source *src, uint32_t events);
/* The library's `send` callback; ctx is the agent. */
int agent_send_cb(void *ctx, altuntun_peer *peer, const struct altuntun_endpoint *to,
		  const uint8_t *data, size_t len);
/* Opens the UDP sockets on `port` and watches them. */
int agent_udp_open(struct agent *a, uint16_t port);
/* Watches sockets opened elsewhere (the monitor's, privsep.h); *b is
 * taken, fds included. */
int agent_udp_adopt(struct agent *a, const struct udp_bind *b);
void agent_udp_close(struct agent *a);
/* Fills a->ops: listen port and fwmark for the UAPI. */
void agent_init_ops(struct agent *a);
/* Home's routes changed: gives up each peer's source address whose route
 * no longer leaves through the interface it was received on. */
void agent_recheck_sources(struct agent *a);

/* ---- batch.c: moving packets in batches, with offloads ---- */
struct datapath;
#define DP_OFFLOAD_TSO 0x1      /* TUN: virtio header, TSO/USO super-packets */
#define DP_OFFLOAD_UDP_GSO 0x2  /* UDP_SEGMENT */
#define DP_OFFLOAD_UDP_GRO 0x4  /* UDP_GRO */
#define DP_OFFLOAD_COALESCE 0x8 /* TCP segments to the TUN as one */
#define DP_OFFLOAD_ALL 0xf
/* The offloads to use: none with --no-offload; else all but those named in
 * ALTUNTUN_OFFLOAD_OFF (tso,gso,gro,coalesce: for measuring each one). */
unsigned datapath_offloads(const struct agent_options *o);
/* Once the TUN is open: its offloads and the buffers of the data path. */
int datapath_init(struct agent *a);
void datapath_free(struct agent *a);
/* Starts the encryption thread (--threads 2+) if datapath_init() did not:
 * a separated protocol process starts it only once its privileges are
 * dropped, since capabilities and the bounding set are per thread. */
int datapath_start_worker(struct agent *a);
void datapath_tun_readable(struct agent *a);
void datapath_udp_readable(struct agent *a, struct ev_source *src);
/* While a receive batch is handled, a datagram for no peer (a cookie reply)
 * waits to leave with the others of the batch in one sendmmsg: true if it
 * was queued, false if it must be sent now. */
bool datapath_queue_reply(struct agent *a, const struct altuntun_endpoint *to,
			  const uint8_t *data, size_t len);

#endif
