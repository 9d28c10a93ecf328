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
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "altuntun.h"

/* ---- TUN ---- */

/* Creates (or attaches to) TUN `name` (IFF_TUN | IFF_NO_PI, and
 * IFF_VNET_HDR after tun_open_vnet_hdr(true)), non-blocking.
 * `actual` receives the kernel's name (IFNAMSIZ). Returns the fd. */
int tun_open(const char *name, char actual[IFNAMSIZ]);
/* Whether later tun_open() calls ask for IFF_VNET_HDR (default: no). One
 * setting for the process: it has one TUN, opened here or in a namespace. */
void tun_open_vnet_hdr(bool on);
/* Name of the device behind a TUN fd (for WG_TUN_FD; the ifindex follows
 * from the name). The fd must be a TUN (not TAP) with IFF_NO_PI
 * (-EPROTONOSUPPORT otherwise); it is made non-blocking. */
int tun_name_of_fd(int fd, char name[IFNAMSIZ]);
/*
 * Offloads of a TUN fd. Returns 0 when the fd has no IFF_VNET_HDR (bare IP
 * packets), 1 when it has: every packet read or written then comes after a
 * struct virtio_net_hdr of 10 bytes (TUNSETVNETHDRSZ). With `want`, asks
 * the kernel for checksum, TSO4/6 (with ECN) and USO4/6 offloads, dropping
 * what it refuses; *features gets the TUN_F_* flags granted (0: none, and
 * headers then say GSO_NONE). Negative errno on failure.
 */
int tun_offload_enable(int fd, bool want, unsigned *features);
struct virtio_net_hdr;
struct iovec;
/* With IFF_VNET_HDR: the header into *h, the packet into buf; returns the
 * packet's length (without the header), -EAGAIN when none. */
ssize_t tun_read_vnet(int fd, struct virtio_net_hdr *h, uint8_t *buf, size_t cap);
ssize_t tun_writev(int fd, const struct iovec *iov, int iovcnt);
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
/* The same peer address and the same source (address, family). */
bool udp_endpoint_same(const struct altuntun_endpoint *x, const struct altuntun_endpoint *y);
/* udp_send() for a datagram larger than the MTU of the interface it leaves
 * through (which udp_send() refuses with -EMSGSIZE): the kernel fragments
 * it. */
int udp_send_fragmented(const struct udp_bind *b, struct altuntun_endpoint *ep,
			const uint8_t *data, size_t len);
/* Receives one datagram from fd; fills `from` including the local address it
 * arrived at. Returns its length or -EAGAIN. */
ssize_t udp_recv(int fd, uint8_t *buf, size_t cap, struct altuntun_endpoint *from);

/* ---- UDP batches ---- */

/* Whether later udp_open() calls set UDP_GRO on their sockets, so that a
 * burst of datagrams of one size from one source arrives in one buffer
 * (udp_recv_many() gives the size). Default: no. Set before any process
 * that opens sockets (a privileged helper too) is started. */
void udp_open_gro(bool on);

/*
 * One message of udp_send_many(): the datagram is the concatenation of
 * iov[0..iovlen), or, with gso_size, the kernel cuts it into datagrams of
 * gso_size bytes (the last may be shorter; at most 64 KiB in all). `ep` is
 * where to and from; as with udp_send(), a refused source address is
 * cleared in *ep (source_cleared set) and the message sent again.
 */
struct udp_tx {
	struct altuntun_endpoint *ep;
	struct iovec *iov;
	size_t iovlen;
	uint16_t gso_size;
	int result;          /* 0, or why it was not sent */
	bool source_cleared;
};
/* Sends the messages with as few sendmmsg calls as it can; returns how
 * many were sent. A message with gso_size that fails with -EIO means the
 * path cannot segment (the caller should stop using GSO). */
size_t udp_send_many(const struct udp_bind *b, struct udp_tx *tx, size_t n);

/* One buffer of udp_recv_many(). */
struct udp_rx {
	uint8_t *buf;
	size_t cap;
	size_t len;      /* bytes received */
	size_t gso_size; /* UDP_GRO: datagrams of this size, the last may be shorter; 0: one */
	int error;       /* -EMSGSIZE (truncated) or -EPROTO: skip it */
	struct altuntun_endpoint from;
};
/* Receives up to n (at most 64) messages; returns how many, or -EAGAIN. */
ssize_t udp_recv_many(int fd, struct udp_rx *rx, size_t n);

#endif
