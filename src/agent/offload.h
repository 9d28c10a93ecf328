/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Segmentation and coalescing offloads done in userspace, for a TUN device
 * opened with IFF_VNET_HDR (docs/performance.md, "Levers"). No I/O here:
 * the functions work on packets in memory, so tests/unit can check them.
 *
 * Reading from the TUN, each packet comes after a struct virtio_net_hdr. A
 * TCP (TSO) or UDP (USO) super-packet of up to 64 KiB is split into packets
 * of at most gso_size payload bytes each (gso_begin / gso_next), with the IP
 * total length, IPv4 identification and header checksum, TCP sequence
 * number and flags and the TCP or UDP checksum of every packet made right.
 * A packet with VIRTIO_NET_HDR_F_NEEDS_CSUM and no GSO only needs its
 * transport checksum completed (vnet_complete_csum).
 *
 * Writing to the TUN, consecutive in-order TCP segments of one flow are
 * written as one super-packet with a GSO header (gro_*): the kernel's TCP
 * then sees one large packet instead of forty. Its checksum is left partial
 * (VIRTIO_NET_HDR_F_NEEDS_CSUM): like the kernel's WireGuard, which marks
 * decrypted packets CHECKSUM_UNNECESSARY, we do not re-verify the inner
 * checksums of packets the Poly1305 tag has authenticated.
 */
#ifndef ALTUNTUN_OFFLOAD_H
#define ALTUNTUN_OFFLOAD_H

#include <linux/virtio_net.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

/* Not in older userspace headers (Linux 6.2). */
#ifndef VIRTIO_NET_HDR_GSO_UDP_L4
#define VIRTIO_NET_HDR_GSO_UDP_L4 5
#endif

#define VNET_HDR_LEN ((size_t)sizeof(struct virtio_net_hdr))

/* ---- the Internet checksum (RFC 1071) ---- */

/* Adds `len` bytes to a running one's complement sum (native byte order).
 * Pieces must start at even offsets of the summed data, except that the
 * last piece may have any length. */
uint64_t csum_add(uint64_t sum, const void *data, size_t len);
/* Folds a running sum to 16 bits (not inverted). */
uint16_t csum_fold(uint64_t sum);
/* Sum of the TCP/UDP pseudo-header: addresses (4 or 16 bytes each), protocol
 * and the transport length. */
uint64_t csum_pseudo(int family, const uint8_t *src, const uint8_t *dst, uint8_t proto,
		     uint32_t l4_len);
/* The IPv4 header checksum over `hlen` bytes (its own field included as
 * it is: zero it first). Returns the value to store (network order). */
uint16_t csum_ipv4_header(const uint8_t *iph, size_t hlen);

/* ---- reading: splitting super-packets ---- */

/* The longest headers (IP, IPv6 extension headers, TCP or UDP) of a
 * super-packet gso_begin() splits: 40 + 256 of extension headers + 60. */
#define GSO_MAX_HEADER 356

struct gso_iter {
	const uint8_t *pkt;
	size_t len;
	int family;      /* AF_INET or AF_INET6 */
	uint8_t proto;   /* IPPROTO_TCP or IPPROTO_UDP */
	size_t l4_off;   /* start of the TCP/UDP header */
	size_t hdr_len;  /* all headers: l4_off + TCP/UDP header */
	size_t gso_size; /* payload bytes per packet */
	size_t off;      /* payload bytes of the super-packet already emitted */
	unsigned index;  /* packets emitted */
	unsigned count;  /* packets in all */
	uint32_t seq;    /* TCP: sequence number of the first byte */
	uint16_t ip_id;  /* IPv4: identification of the first packet (host order) */
	bool split;      /* false: the packet passes whole (no GSO) */
	bool need_csum;  /* whole packet: complete its partial checksum */
	uint16_t csum_start, csum_offset;
};

/*
 * Starts splitting the packet `pkt` (len bytes, the header removed) that the
 * TUN gave with header `h`. Every packet the iterator gives has complete
 * checksums. A header without GSO gives the packet itself once (its
 * checksum completed if it was partial). Returns the number of packets,
 * or a negative errno when the packet cannot be made sense of (-EINVAL) or
 * its kind is not supported (-EPROTONOSUPPORT).
 */
int gso_begin(struct gso_iter *it, const struct virtio_net_hdr *h, const uint8_t *pkt,
	      size_t len);
/* Length of the largest packet gso_next() will give. */
size_t gso_max_packet(const struct gso_iter *it);
/* Writes the next packet to out (cap bytes); returns its length, 0 when
 * there is none left, or -ENOSPC when out is too small. */
long gso_next(struct gso_iter *it, uint8_t *out, size_t cap);

/*
 * Completes the checksum of a packet the TUN gave with NEEDS_CSUM and no
 * GSO, in place: the one's complement sum from csum_start to the end is
 * stored at csum_start + csum_offset. Returns 0 or -EINVAL.
 */
int vnet_complete_csum(const struct virtio_net_hdr *h, uint8_t *pkt, size_t len);

/* ---- writing: coalescing TCP segments ---- */

#define GRO_MAX_PACKETS 1024 /* packets per batch */
#define GRO_MAX_SEGS 64      /* packets per super-packet */
#define GRO_MAX_FLOWS 8      /* flows followed at once */
#define GRO_MAX_LEN 65535    /* bytes in a super-packet (IP total length) */

struct gro_item {
	uint8_t *pkt;
	uint32_t len;
	int32_t next;      /* next packet of the same group, -1 */
	uint16_t l4_off;   /* TCP header (0: not coalescable) */
	uint16_t hdr_len;  /* all headers */
};

struct gro_group {
	int32_t head, tail;
	uint32_t count;
	uint32_t bytes;    /* total length of the super-packet */
	uint32_t next_seq; /* TCP sequence number the next segment must have */
	uint16_t gso_size; /* payload of the head packet */
	bool open;         /* may take more packets */
};

struct gro_batch {
	size_t n, ngroups;
	int32_t open[GRO_MAX_FLOWS]; /* groups that may grow, most recent first */
	size_t nopen;
	struct gro_item items[GRO_MAX_PACKETS];
	struct gro_group groups[GRO_MAX_PACKETS];
};

void gro_init(struct gro_batch *b);
/*
 * Adds a decrypted IP packet (kept in place: it must stay valid until the
 * batch is written). Returns false when the batch is full.
 */
bool gro_add(struct gro_batch *b, uint8_t *pkt, size_t len);
/*
 * Prepares group g (0 .. b->ngroups-1, in the order of their first packet)
 * for writing: fills *h and iov[0..] (iov[0] is h itself); returns the iov
 * count. A group of one packet gets a header without GSO and the packet
 * unchanged. Rewrites the headers of the group's first packet.
 */
size_t gro_group_iov(struct gro_batch *b, size_t g, struct virtio_net_hdr *h, struct iovec *iov,
		     size_t max_iov);

#endif
