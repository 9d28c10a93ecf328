// SPDX-License-Identifier: BSD-3-Clause
/*
 * fuzz_inner's splitting record: a packet read from the TUN with the
 * virtio-net header the kernel gave, through gso_begin() / gso_next() as
 * tx_add_vnet() (batch.c) uses them, into buffers of exactly
 * gso_max_packet() bytes. Checked against our own reading of the header
 * and the packet: the number of packets; each within the buffer, with at
 * most gso_size payload bytes, the headers of the super-packet (lengths,
 * IPv4 identification, TCP sequence number and flags, checksums made
 * right), and its payload in order, all of it; a packet without GSO comes
 * back unchanged, its partial checksum completed if it had one.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_inner.h"
#include "offload.h"
#include "ref_csum.h"

#define TCP_FIN 0x01
#define TCP_PSH 0x08
#define TCP_CWR 0x80

/* Where the transport header is, and all headers end, as the header and
 * the packet say (offload.h's contract); false: not splittable. */
struct layout {
	size_t l4, hdr;
	uint8_t proto;
	bool v4;
};

static bool layout_of(const struct virtio_net_hdr *h, const uint8_t *p, size_t len,
		      struct layout *lo)
{
	unsigned type = h->gso_type & (unsigned)~VIRTIO_NET_HDR_GSO_ECN;
	size_t l3;

	if (len < 20)
		return false;
	lo->v4 = p[0] >> 4 == 4;
	if (lo->v4)
		l3 = (size_t)(p[0] & 0xf) * 4;
	else if (p[0] >> 4 == 6 && len >= 40)
		l3 = 40;
	else
		return false;
	lo->proto = type == VIRTIO_NET_HDR_GSO_UDP_L4 ? IPPROTO_UDP : IPPROTO_TCP;
	lo->l4 = (h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) ? h->csum_start : l3;
	if (lo->l4 < 20 || lo->l4 + (lo->proto == IPPROTO_TCP ? 20 : 8) > len)
		return false;
	lo->hdr = lo->l4 + (lo->proto == IPPROTO_TCP ? (size_t)(p[lo->l4 + 12] >> 4) * 4 : 8);
	return lo->hdr <= len && h->gso_size > 0;
}

/* A packet passed whole. */
static void check_whole(const struct virtio_net_hdr *h, const uint8_t *pkt, size_t len,
			struct gso_iter *it)
{
	size_t at = (size_t)h->csum_start + h->csum_offset;
	bool csum = h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM;
	uint8_t *out = malloc(len ? len : 1), *copy = malloc(len ? len : 1);
	long n;

	FUZZ_CHECK(out && copy);
	n = gso_next(it, out, len);
	FUZZ_CHECK(n == (long)len);
	for (size_t i = 0; i < len; i++)
		FUZZ_CHECK(out[i] == pkt[i] || (csum && (i == at || i == at + 1)));
	if (csum) {
		/* The field held the sum of the pseudo-header (the kernel's
		 * partial checksum): with it, the sum from csum_start is
		 * complete. (An odd csum_offset, which no TCP or UDP packet has,
		 * places the result across two words: as the kernel does.) */
		if (!(h->csum_offset & 1))
			FUZZ_CHECK(ref_fold(ref_sum(inner_be16(pkt + at), out + h->csum_start,
						    len - h->csum_start)) == 0xffff);
		/* The same, in place. */
		if (len)
			memcpy(copy, pkt, len);
		FUZZ_CHECK(vnet_complete_csum(h, copy, len) == 0);
		FUZZ_CHECK(!memcmp(copy, out, len));
	}
	FUZZ_CHECK(gso_next(it, out, len) == 0);
	free(out);
	free(copy);
}

static void check_segment(const struct layout *lo, const uint8_t *pkt, const uint8_t *seg,
			  size_t seglen, size_t off, unsigned index, bool last)
{
	const uint8_t *l4 = seg + lo->l4, *o4 = pkt + lo->l4;
	uint8_t flags = lo->proto == IPPROTO_TCP ? o4[13] : 0;

	for (size_t i = 0; i < lo->hdr; i++) {
		bool ip_len = lo->v4 ? (i >= 2 && i < 6) || i == 10 || i == 11 : i == 4 || i == 5;
		size_t t = i - lo->l4;
		bool l4_var = i >= lo->l4 &&
			      (lo->proto == IPPROTO_TCP ? (t >= 4 && t < 8) || t == 13 || t == 16 ||
							   t == 17
							: t >= 4);

		if (!ip_len && !l4_var)
			FUZZ_CHECK(seg[i] == pkt[i]);
	}
	FUZZ_CHECK(!memcmp(seg + lo->hdr, pkt + lo->hdr + off, seglen - lo->hdr));
	if (lo->v4) {
		FUZZ_CHECK(inner_be16(seg + 2) == seglen);
		FUZZ_CHECK(inner_be16(seg + 4) == (uint16_t)(inner_be16(pkt + 4) + index));
		FUZZ_CHECK(inner_ipv4_header_ok(seg, seglen));
	} else {
		FUZZ_CHECK(inner_be16(seg + 4) + 40u == seglen);
	}
	if (lo->proto == IPPROTO_TCP) {
		FUZZ_CHECK(inner_be32(l4 + 4) == inner_be32(o4 + 4) + (uint32_t)off);
		if (!last)
			flags &= (uint8_t)~(TCP_FIN | TCP_PSH);
		if (index)
			flags &= (uint8_t)~TCP_CWR;
		FUZZ_CHECK(l4[13] == flags);
	} else {
		FUZZ_CHECK(inner_be16(l4 + 4) == seglen - lo->l4);
	}
	FUZZ_CHECK(inner_l4_csum_ok(seg, seglen, lo->l4, lo->proto));
}

static void check_split(const struct virtio_net_hdr *h, const uint8_t *pkt, size_t len, int count,
			struct gso_iter *it, bool short_first)
{
	struct layout lo;
	size_t max = gso_max_packet(it), payload, off = 0, expect;
	uint8_t *seg;

	FUZZ_CHECK(layout_of(h, pkt, len, &lo));
	FUZZ_CHECK(lo.hdr == it->hdr_len && lo.l4 == it->l4_off);
	payload = len - lo.hdr;
	expect = payload ? (payload + h->gso_size - 1) / h->gso_size : 1;
	FUZZ_CHECK((size_t)count == expect);
	FUZZ_CHECK(max <= len && max <= lo.hdr + h->gso_size);
	if (max > ALTUNTUN_MAX_PACKET)
		return; /* dropped by tx_add_vnet() */
	seg = malloc(max);
	FUZZ_CHECK(seg);
	if (short_first)
		FUZZ_CHECK(gso_next(it, seg, max - 1) == -ENOSPC);
	for (int i = 0; i < count; i++) {
		long n = gso_next(it, seg, max);

		FUZZ_CHECK(n >= (long)lo.hdr && (size_t)n <= max);
		FUZZ_CHECK((size_t)n - lo.hdr <= h->gso_size);
		FUZZ_CHECK(i + 1 == count || (size_t)n - lo.hdr == h->gso_size);
		check_segment(&lo, pkt, seg, (size_t)n, off, (unsigned)i, i + 1 == count);
		off += (size_t)n - lo.hdr;
	}
	FUZZ_CHECK(off == payload);
	FUZZ_CHECK(gso_next(it, seg, max) == 0);
	free(seg);
}

void inner_split(struct fuzz_reader *r)
{
	struct virtio_net_hdr h = { 0 };
	struct gso_iter it;
	uint8_t opt, *pkt;
	size_t len;
	int count;

	h.flags = fuzz_take_u8(r);
	h.gso_type = fuzz_take_u8(r);
	h.hdr_len = fuzz_take_u16(r);
	h.gso_size = fuzz_take_u16(r);
	h.csum_start = fuzz_take_u16(r);
	h.csum_offset = fuzz_take_u16(r);
	opt = fuzz_take_u8(r);
	len = fuzz_take_u16(r) + (size_t)(opt & INNER_SPLIT_EXTRA);
	pkt = inner_take_packet(r, len);
	count = gso_begin(&it, &h, pkt, len);
	if (count < 0) {
		FUZZ_CHECK(count == -EINVAL || count == -EPROTONOSUPPORT);
	} else if ((h.gso_type & (unsigned)~VIRTIO_NET_HDR_GSO_ECN) == VIRTIO_NET_HDR_GSO_NONE) {
		FUZZ_CHECK(count == 1);
		check_whole(&h, pkt, len, &it);
	} else {
		check_split(&h, pkt, len, count, &it, opt & INNER_SPLIT_SHORT);
	}
	free(pkt);
}
