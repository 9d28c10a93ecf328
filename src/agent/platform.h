/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * What the daemon needs from the operating system for its data path: a TUN
 * device and UDP sockets that report and choose the local address of each
 * datagram. Only Linux is implemented (tun_linux.c, udp_linux.c); a macOS
 * utun backend would implement the same functions.
 * All functions return 0 (or a fd) on success and a negative errno on failure.
 */
#ifndef ALTUNTUN_PLATFORM_H
#define ALTUNTUN_PLATFORM_H

#include <net/if.h>
#include <stddef.h>
#include <stdint.h>

#include "altuntun.h"

/* ---- TUN ---- */

/* Creates (or attaches to) TUN `name` (IFF_TUN | IFF_NO_PI), non-blocking.
 * `actual` receives the kernel's name (IFNAMSIZ). Returns the fd. */
int tun_open(const char *name, char actual[IFNAMSIZ]);
/* Name of the device behind a TUN fd (for WG_TUN_FD; the ifindex follows
 * from the name). The fd must be a TUN (not TAP) with IFF_NO_PI and without
 * IFF_VNET_HDR (-EPROTONOSUPPORT otherwise); it is made non-blocking. */
int tun_name_of_fd(int fd, char name[IFNAMSIZ]);
int tun_set_mtu(const char *name, unsigned mtu);
int tun_get_mtu(const char *name, unsigned *mtu);
int tun_set_up(const char *name);
/* Read one packet; returns its length, -EAGAIN when none. */
ssize_t tun_read(int fd, uint8_t *buf, size_t cap);
ssize_t tun_write(int fd, const uint8_t *buf, size_t len);

/* ---- UDP ---- */

struct udp_bind {
	int fd4;        /* -1 if IPv4 is unavailable */
	int fd6;        /* -1 if IPv6 is unavailable; IPV6_V6ONLY set */
	uint16_t port;  /* the port actually bound (both sockets share it) */
	uint32_t fwmark;
};

/*
 * Opens UDP sockets on `port` (0: any, the same one for v4 and v6) on all
 * addresses, non-blocking, with IP_PKTINFO / IPV6_RECVPKTINFO so the local
 * address of each datagram is known, and large socket buffers.
 * At least one family must succeed.
 */
int udp_open(struct udp_bind *b, uint16_t port, uint32_t fwmark);
void udp_close(struct udp_bind *b);
int udp_set_fwmark(struct udp_bind *b, uint32_t fwmark);

/*
 * Sends to ep->addr, from ep->local (when local_family is set). If the kernel
 * refuses that source address (the address went away: ENETUNREACH for IPv4,
 * EINVAL for IPv6; ENODEV: the interface of a link-local source went away;
 * EADDRNOTAVAIL), the source is cleared in *ep
 * (local_family = 0) and the send retried once with the kernel's choice, so
 * a host whose address changed keeps working.
 * Returns 0 when sent, UDP_SENT_SOURCE_CLEARED when sent after clearing the
 * source, or a negative errno. Either way, a caller that passed a copy of a
 * peer's endpoint learns that the source was cleared from ep->local_family
 * having become 0, and should call altuntun_peer_clear_local_address().
 */
#define UDP_SENT_SOURCE_CLEARED 1
int udp_send(const struct udp_bind *b, struct altuntun_endpoint *ep, const uint8_t *data,
	     size_t len);
/* Receives one datagram from fd; fills `from` including the local address it
 * arrived at. Returns its length or -EAGAIN. */
ssize_t udp_recv(int fd, uint8_t *buf, size_t cap, struct altuntun_endpoint *from);

#endif
