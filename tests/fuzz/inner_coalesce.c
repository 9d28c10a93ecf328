// SPDX-License-Identifier: BSD-3-Clause
/*
 * fuzz_inner's coalescing record: a batch of decrypted packets through
 * gro_init() / gro_add() / gro_group_iov() as rx_deliver() and rx_flush()
 * (batch.c) use them. What the TUN would be given is checked: every packet
 * is in exactly one group; a group of one is the packet unchanged, with a
 * header without GSO; a super-packet, split again by gso_begin() /
 * gso_next(), gives back the very packets that went in (their IPv4
 * identification aside when DF is set, and their checksums made right
 * where they were not), within its gso_size; and no packet of a flow
 * (addresses, protocol, ports) is written after a later one of the same
 * flow.
 */
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "fuzz_inner.h"
#include "offload.h"

struct pkt {
	uint8_t *buf, *orig;
	size_t len;
	int group, pos; /* where it was written: group, place in it */
};

static struct gro_batch batch;
static struct pkt pkts[INNER_BATCH_MAX];

/* The TCP header of a packet, by our own reading: IPv4 (any header
 * length) or IPv6 without extension headers. False if there is none. */
static bool tcp_header(const uint8_t *p, size_t len, size_t *l4, size_t *hdr)
{
	size_t doff;

	if (len >= 20 && p[0] >> 4 == 4 && p[9] == IPPROTO_TCP)
		*l4 = (size_t)(p[0] & 0xf) * 4;
	else if (len >= 40 && p[0] >> 4 == 6 && p[6] == IPPROTO_TCP)
		*l4 = 40;
	else
		return false;
	if (*l4 < 20 || *l4 + 20 > len)
		return false;
	doff = (size_t)(p[*l4 + 12] >> 4) * 4;
	if (doff < 20 || *l4 + doff > len)
		return false;
	*hdr = *l4 + doff;
	return true;
}

/* The segment after `base`: its headers, a pattern for payload. */
static uint8_t *follow_on(const struct pkt *base, uint8_t mode,
			  size_t payload, size_t *len)
{
	size_t l4, hdr;
	uint8_t *p;

	if (!tcp_header(base->orig, base->len, &l4, &hdr) || hdr + payload > 65535)
		return NULL;
	*len = hdr + payload;
	p = malloc(*len);
	FUZZ_CHECK(p);
	memcpy(p, base->orig, hdr);
	for (size_t i = hdr; i < *len; i++)
		p[i] = (uint8_t)(i * 7 + mode);
	inner_put32(p + l4 + 4, inner_be32(base->orig + l4 + 4) + (uint32_t)(base->len - hdr));
	p[l4 + 13] ^= mode & INNER_FOLLOW_FLAGS;
	if (p[0] >> 4 == 4) {
		inner_put16(p + 2, (uint16_t)*len);
		inner_put16(p + 4, (uint16_t)(inner_be16(base->orig + 4) + 1));
		inner_set_ipv4_csum(p);
	} else {
		inner_put16(p + 4, (uint16_t)(*len - 40));
	}
	inner_set_l4_csum(p, *len, l4, IPPROTO_TCP, 16);
	return p;
}

/* Reads the batch; returns the packet count. */
static size_t read_batch(struct fuzz_reader *r)
{
	size_t count = fuzz_take_u8(r), n = 0, bytes = 0;

	if (count > INNER_BATCH_MAX)
		count = INNER_BATCH_MAX;
	for (size_t i = 0; i < count && r->left; i++) {
		uint8_t mode = fuzz_take_u8(r);
		size_t len = fuzz_take_u16(r), back = INNER_FOLLOW_BACK(mode);
		uint8_t *p = NULL;

		if ((mode & INNER_FOLLOW) && back < n)
			p = follow_on(&pkts[n - 1 - back], mode, len, &len);
		if (!p)
			p = inner_take_packet(r, len);
		if (bytes + len > INNER_BATCH_BYTES) {
			free(p);
			break;
		}
		bytes += len;
		pkts[n].buf = p;
		pkts[n].len = len;
		pkts[n].orig = malloc(len ? len : 1);
		FUZZ_CHECK(pkts[n].orig);
		memcpy(pkts[n].orig, p, len);
		pkts[n].group = -1;
		n++;
	}
	return n;
}

/* The packet whose buffer holds ptr (len bytes from there to its end). */
static size_t owner(size_t n, const void *ptr, size_t len, bool whole)
{
	const uint8_t *q = ptr;

	for (size_t i = 0; i < n; i++) {
		const uint8_t *b = pkts[i].buf;

		if (q >= b && q <= b + pkts[i].len) {
			FUZZ_CHECK(!whole || q == b);
			FUZZ_CHECK((size_t)(q - b) + len == pkts[i].len);
			return i;
		}
	}
	FUZZ_CHECK(!"an iovec points outside the batch");
	return 0;
}

/* A segment split from a super-packet against the packet that went in. */
static void check_segment(const uint8_t *seg, size_t len, const struct pkt *in, size_t l4)
{
	const uint8_t *o = in->orig;
	bool v4 = o[0] >> 4 == 4;

	FUZZ_CHECK(len == in->len);
	for (size_t i = 0; i < len; i++) {
		if (seg[i] == o[i])
			continue;
		if (v4 && (i == 4 || i == 5) && (o[6] & 0x40))
			continue; /* DF: the identification means nothing */
		/* The header checksum: right below, whatever it was; the same
		 * unless the input's was wrong or the identification changed. */
		if (v4 && (i == 10 || i == 11) &&
		    (!inner_ipv4_header_ok(o, in->len) || memcmp(seg + 4, o + 4, 2)))
			continue;
		if ((i == l4 + 16 || i == l4 + 17) && !inner_l4_csum_ok(o, in->len, l4, IPPROTO_TCP))
			continue;
		fuzz_fail(__FILE__, __LINE__, "a resplit segment differs from the packet coalesced");
	}
	if (v4)
		FUZZ_CHECK(inner_ipv4_header_ok(seg, len));
	FUZZ_CHECK(inner_l4_csum_ok(seg, len, l4, IPPROTO_TCP));
}

/* The super-packet of group g (members idx[0..m)), flattened, split again. */
static void check_super(const struct virtio_net_hdr *h, const struct iovec *iov, size_t niov,
			const size_t *idx, size_t m)
{
	size_t total = 0, l4 = h->csum_start, off = 0;
	struct gso_iter it;
	uint8_t *super, *seg;
	size_t cap;

	FUZZ_CHECK(h->gso_type == VIRTIO_NET_HDR_GSO_TCPV4 || h->gso_type == VIRTIO_NET_HDR_GSO_TCPV6);
	FUZZ_CHECK(h->flags == VIRTIO_NET_HDR_F_NEEDS_CSUM && h->csum_offset == 16);
	FUZZ_CHECK(h->gso_size > 0 && h->hdr_len > l4);
	for (size_t i = 1; i < niov; i++)
		total += iov[i].iov_len;
	FUZZ_CHECK(total <= GRO_MAX_LEN);
	super = malloc(total);
	FUZZ_CHECK(super);
	for (size_t i = 1; i < niov; i++) {
		memcpy(super + off, iov[i].iov_base, iov[i].iov_len);
		off += iov[i].iov_len;
	}
	if (super[0] >> 4 == 4) {
		FUZZ_CHECK(h->gso_type == VIRTIO_NET_HDR_GSO_TCPV4 && l4 == 20);
		FUZZ_CHECK(inner_be16(super + 2) == total && inner_ipv4_header_ok(super, total));
	} else {
		FUZZ_CHECK(h->gso_type == VIRTIO_NET_HDR_GSO_TCPV6 && l4 == 40);
		FUZZ_CHECK(inner_be16(super + 4) + 40u == total);
	}
	FUZZ_CHECK(gso_begin(&it, h, super, total) == (int)m);
	cap = gso_max_packet(&it);
	FUZZ_CHECK(cap <= (size_t)h->hdr_len + h->gso_size);
	seg = malloc(cap);
	FUZZ_CHECK(seg);
	for (size_t k = 0; k < m; k++) {
		long n = gso_next(&it, seg, cap);

		FUZZ_CHECK(n > 0 && (size_t)n <= cap);
		check_segment(seg, (size_t)n, &pkts[idx[k]], l4);
	}
	FUZZ_CHECK(gso_next(&it, seg, cap) == 0);
	/* The partial checksum, completed as the kernel would, is right. */
	FUZZ_CHECK(vnet_complete_csum(h, super, total) == 0);
	FUZZ_CHECK(inner_l4_csum_ok(super, total, l4, IPPROTO_TCP));
	free(seg);
	free(super);
}

/* What a packet's flow is, by our own reading; false when its ports are
 * not known (a later fragment, too short). */
static bool flow_key(const struct pkt *p, uint8_t key[38])
{
	const uint8_t *b = p->orig;
	size_t l4;

	memset(key, 0, 38);
	if (p->len >= 20 && b[0] >> 4 == 4) {
		l4 = (size_t)(b[0] & 0xf) * 4;
		if (l4 < 20 || (inner_be16(b + 6) & 0x1fff))
			return false;
		key[0] = 4;
		key[1] = b[9];
		memcpy(key + 2, b + 12, 8);
	} else if (p->len >= 40 && b[0] >> 4 == 6) {
		l4 = 40;
		key[0] = 6;
		key[1] = b[6];
		memcpy(key + 2, b + 8, 32);
	} else {
		return false;
	}
	if (l4 + 4 > p->len)
		return false;
	memcpy(key + 34, b + l4, 4);
	return true;
}

static void check_order(size_t n)
{
	uint8_t ki[38], kj[38];

	for (size_t i = 0; i < n; i++) {
		if (!flow_key(&pkts[i], ki))
			continue;
		for (size_t j = i + 1; j < n; j++) {
			if (!flow_key(&pkts[j], kj) || memcmp(ki, kj, sizeof(ki)))
				continue;
			FUZZ_CHECK(pkts[i].group < pkts[j].group ||
				   (pkts[i].group == pkts[j].group && pkts[i].pos < pkts[j].pos));
		}
	}
}

static void write_groups(size_t n)
{
	static struct iovec iov[GRO_MAX_SEGS + 1];
	static size_t idx[GRO_MAX_SEGS];

	for (size_t g = 0; g < batch.ngroups; g++) {
		struct virtio_net_hdr h;
		size_t niov = gro_group_iov(&batch, g, &h, iov, GRO_MAX_SEGS + 1);

		FUZZ_CHECK(niov >= 2 && niov <= GRO_MAX_SEGS + 1);
		FUZZ_CHECK(iov[0].iov_base == &h && iov[0].iov_len == VNET_HDR_LEN);
		idx[0] = owner(n, iov[1].iov_base, iov[1].iov_len, true);
		for (size_t i = 2; i < niov; i++)
			idx[i - 1] = owner(n, iov[i].iov_base, iov[i].iov_len, false);
		for (size_t i = 0; i + 1 < niov; i++) {
			struct pkt *p = &pkts[idx[i]];

			FUZZ_CHECK(p->group < 0); /* written once */
			p->group = (int)g;
			p->pos = (int)i;
		}
		if (niov == 2) {
			static const struct virtio_net_hdr none;

			FUZZ_CHECK(!memcmp(&h, &none, sizeof(h)));
			FUZZ_CHECK(!memcmp(iov[1].iov_base, pkts[idx[0]].orig, pkts[idx[0]].len));
		} else {
			check_super(&h, iov, niov, idx, niov - 1);
		}
	}
	for (size_t i = 0; i < n; i++)
		FUZZ_CHECK(pkts[i].group >= 0);
	check_order(n);
}

void inner_coalesce(struct fuzz_reader *r)
{
	size_t n = read_batch(r);

	gro_init(&batch);
	for (size_t i = 0; i < n; i++)
		FUZZ_CHECK(gro_add(&batch, pkts[i].buf, pkts[i].len));
	FUZZ_CHECK(batch.ngroups <= n);
	write_groups(n);
	for (size_t i = 0; i < n; i++) {
		free(pkts[i].buf);
		free(pkts[i].orig);
	}
}
