// SPDX-License-Identifier: BSD-3-Clause
/* Userspace TSO/USO splitting and TCP coalescing for the TUN (offload.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include "offload.h"

#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_PSH 0x08
#define TCP_ACK 0x10
#define TCP_URG 0x20
#define TCP_ECE 0x40
#define TCP_CWR 0x80

#define IPV4_DF 0x40 /* in the first byte of the fragment field */

static inline uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline void wr16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void wr32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* A checksum value computed in native order is stored as it is. */
static inline void put_csum(uint8_t *p, uint16_t native)
{
	memcpy(p, &native, 2);
}

/* ---- checksums ---- */

uint64_t csum_add(uint64_t sum, const void *data, size_t len)
{
	const uint8_t *p = data;
	uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0, s;
	uint32_t w0, w1, w2, w3;

	/* 32-bit words into 64-bit sums: no carry is lost below 2^32 words,
	 * and since 2^16 = 1 (mod 0xffff) the result folds to the sum of
	 * 16-bit words. */
	while (len >= 16) {
		memcpy(&w0, p, 4);
		memcpy(&w1, p + 4, 4);
		memcpy(&w2, p + 8, 4);
		memcpy(&w3, p + 12, 4);
		s0 += w0;
		s1 += w1;
		s2 += w2;
		s3 += w3;
		p += 16;
		len -= 16;
	}
	while (len >= 4) {
		memcpy(&w0, p, 4);
		s0 += w0;
		p += 4;
		len -= 4;
	}
	if (len >= 2) {
		uint16_t h;

		memcpy(&h, p, 2);
		s1 += h;
		p += 2;
		len -= 2;
	}
	if (len) {
		uint8_t last[2] = { p[0], 0 };
		uint16_t h;

		memcpy(&h, last, 2);
		s2 += h;
	}
	s = s0 + s1 + s2 + s3;
	sum += s;
	if (sum < s)
		sum++; /* end-around carry: 2^64 = 1 (mod 0xffff) too */
	return sum;
}

uint16_t csum_fold(uint64_t s)
{
	s = (s & 0xffffffffu) + (s >> 32);
	s = (s & 0xffffffffu) + (s >> 32);
	s = (s & 0xffffu) + (s >> 16);
	s = (s & 0xffffu) + (s >> 16);
	s = (s & 0xffffu) + (s >> 16);
	return (uint16_t)s;
}

uint64_t csum_pseudo(int family, const uint8_t *src, const uint8_t *dst, uint8_t proto,
		     uint32_t l4_len)
{
	size_t alen = family == AF_INET6 ? 16 : 4;
	uint8_t tail[8] = { 0 };
	uint64_t sum;

	sum = csum_add(0, src, alen);
	sum = csum_add(sum, dst, alen);
	/* IPv4: zero, protocol, 16-bit length; IPv6: 32-bit length, three
	 * zeroes, next header. The same sum either way (lengths < 2^16 here
	 * or not, the words are the same up to order). */
	wr32(tail, l4_len);
	tail[7] = proto;
	return csum_add(sum, tail, sizeof(tail));
}

uint16_t csum_ipv4_header(const uint8_t *iph, size_t hlen)
{
	return (uint16_t)~csum_fold(csum_add(0, iph, hlen));
}

/* ---- reading ---- */

static const uint8_t *addr_src(int family, const uint8_t *pkt)
{
	return family == AF_INET ? pkt + 12 : pkt + 8;
}

static const uint8_t *addr_dst(int family, const uint8_t *pkt)
{
	return family == AF_INET ? pkt + 16 : pkt + 24;
}

int vnet_complete_csum(const struct virtio_net_hdr *h, uint8_t *pkt, size_t len)
{
	size_t start = h->csum_start, at = (size_t)h->csum_start + h->csum_offset;
	uint16_t c;

	if (start >= len || at + 2 > len)
		return -EINVAL;
	c = (uint16_t)~csum_fold(csum_add(0, pkt + start, len - start));
	/* 0 and 0xffff are the same sum; UDP reads 0 as "none" (as the
	 * kernel's skb_checksum_help). */
	put_csum(pkt + at, c ? c : 0xffff);
	return 0;
}

int gso_begin(struct gso_iter *it, const struct virtio_net_hdr *h, const uint8_t *pkt,
	      size_t len)
{
	unsigned type = h->gso_type & (unsigned)~VIRTIO_NET_HDR_GSO_ECN;
	size_t l3_len, payload;
	uint8_t ip_proto;

	memset(it, 0, sizeof(*it));
	it->pkt = pkt;
	it->len = len;
	if (type == VIRTIO_NET_HDR_GSO_NONE) {
		it->count = 1;
		if (h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
			if ((size_t)h->csum_start >= len ||
			    (size_t)h->csum_start + h->csum_offset + 2 > len)
				return -EINVAL;
			it->need_csum = true;
			it->csum_start = h->csum_start;
			it->csum_offset = h->csum_offset;
		}
		return 1;
	}
	if (len < 20)
		return -EINVAL;
	switch (pkt[0] >> 4) {
	case 4:
		l3_len = (size_t)(pkt[0] & 0xf) * 4;
		if (l3_len < 20 || l3_len > len)
			return -EINVAL;
		it->family = AF_INET;
		ip_proto = pkt[9];
		break;
	case 6:
		if (len < 40)
			return -EINVAL;
		l3_len = 40;
		it->family = AF_INET6;
		ip_proto = pkt[6];
		break;
	default:
		return -EINVAL;
	}
	switch (type) {
	case VIRTIO_NET_HDR_GSO_TCPV4:
	case VIRTIO_NET_HDR_GSO_TCPV6:
		if (it->family != (type == VIRTIO_NET_HDR_GSO_TCPV4 ? AF_INET : AF_INET6))
			return -EINVAL;
		it->proto = IPPROTO_TCP;
		break;
	case VIRTIO_NET_HDR_GSO_UDP_L4:
		it->proto = IPPROTO_UDP;
		break;
	default:
		return -EPROTONOSUPPORT;
	}
	/* The kernel says where the transport header is (csum_start); it is
	 * right after the IP header unless IPv6 extension headers come first.
	 * hdr_len is not trusted: it may cover the whole first segment. */
	if (h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
		it->l4_off = h->csum_start;
		if (it->l4_off < l3_len || (it->family == AF_INET && it->l4_off != l3_len))
			return -EINVAL;
	} else {
		it->l4_off = l3_len;
	}
	if (it->l4_off == l3_len && ip_proto != it->proto)
		return -EINVAL;
	if (it->proto == IPPROTO_TCP) {
		size_t doff;

		if (it->l4_off + 20 > len)
			return -EINVAL;
		doff = (size_t)(pkt[it->l4_off + 12] >> 4) * 4;
		if (doff < 20)
			return -EINVAL;
		it->hdr_len = it->l4_off + doff;
		it->seq = rd32(pkt + it->l4_off + 4);
	} else {
		it->hdr_len = it->l4_off + 8;
	}
	/* No header the kernel makes is anywhere near GSO_MAX_HEADER; a
	 * longer one would be copied into every segment (a 64 KiB read
	 * turning into a gigabyte of work with gso_size 1). */
	if (it->hdr_len > len || it->hdr_len > GSO_MAX_HEADER || h->gso_size == 0)
		return -EINVAL;
	if (it->family == AF_INET)
		it->ip_id = rd16(pkt + 4);
	it->gso_size = h->gso_size;
	payload = len - it->hdr_len;
	it->count = payload ? (unsigned)((payload + it->gso_size - 1) / it->gso_size) : 1;
	it->split = true;
	return (int)it->count;
}

size_t gso_max_packet(const struct gso_iter *it)
{
	size_t payload;

	if (!it->split)
		return it->len;
	payload = it->len - it->hdr_len;
	return it->hdr_len + (payload < it->gso_size ? payload : it->gso_size);
}

long gso_next(struct gso_iter *it, uint8_t *out, size_t cap)
{
	size_t payload, chunk, seglen, l4_len;
	uint8_t *l4;
	bool last;
	uint16_t c;
	uint64_t sum;

	if (it->index >= it->count)
		return 0;
	if (!it->split) {
		if (it->len > cap)
			return -ENOSPC;
		memcpy(out, it->pkt, it->len);
		if (it->need_csum) {
			struct virtio_net_hdr h = {
				.csum_start = it->csum_start,
				.csum_offset = it->csum_offset,
			};

			vnet_complete_csum(&h, out, it->len);
		}
		it->index++;
		return (long)it->len;
	}
	payload = it->len - it->hdr_len;
	chunk = payload - it->off < it->gso_size ? payload - it->off : it->gso_size;
	seglen = it->hdr_len + chunk;
	if (seglen > cap)
		return -ENOSPC;
	last = it->index + 1 == it->count;
	memcpy(out, it->pkt, it->hdr_len);
	memcpy(out + it->hdr_len, it->pkt + it->hdr_len + it->off, chunk);

	if (it->family == AF_INET) {
		size_t ihl = (size_t)(out[0] & 0xf) * 4;

		wr16(out + 2, (uint16_t)seglen);
		wr16(out + 4, (uint16_t)(it->ip_id + it->index));
		out[10] = out[11] = 0;
		put_csum(out + 10, csum_ipv4_header(out, ihl));
	} else {
		wr16(out + 4, (uint16_t)(seglen - 40));
	}

	l4 = out + it->l4_off;
	l4_len = seglen - it->l4_off;
	if (it->proto == IPPROTO_TCP) {
		wr32(l4 + 4, it->seq + (uint32_t)it->off);
		if (!last)
			l4[13] &= (uint8_t)~(TCP_FIN | TCP_PSH);
		if (it->index > 0)
			l4[13] &= (uint8_t)~TCP_CWR;
		l4[16] = l4[17] = 0;
	} else {
		wr16(l4 + 4, (uint16_t)l4_len);
		l4[6] = l4[7] = 0;
	}
	sum = csum_pseudo(it->family, addr_src(it->family, out), addr_dst(it->family, out),
			  it->proto, (uint32_t)l4_len);
	sum = csum_add(sum, l4, l4_len);
	c = (uint16_t)~csum_fold(sum);
	if (it->proto == IPPROTO_UDP && c == 0)
		c = 0xffff;
	put_csum(l4 + (it->proto == IPPROTO_TCP ? 16 : 6), c);

	it->off += chunk;
	it->index++;
	return (long)seglen;
}

/* ---- writing ---- */

void gro_init(struct gro_batch *b)
{
	b->n = 0;
	b->ngroups = 0;
	b->nopen = 0;
}

/* TCP packets that may be coalesced: plain IPv4 (no options, not a
 * fragment) or IPv6 without extension headers, carrying data. Sets l4_off
 * and hdr_len; l4_off stays 0 for anything else. Returns the TCP flags, or
 * -1 when it is not TCP at all. */
static int tcp_parse(struct gro_item *it)
{
	const uint8_t *p = it->pkt;
	size_t l4, doff;

	it->l4_off = 0;
	if (it->len >= 20 && p[0] >> 4 == 4) {
		if ((p[0] & 0xf) != 5 || p[9] != IPPROTO_TCP || rd16(p + 2) != it->len ||
		    (rd16(p + 6) & 0x3fff))
			return -1;
		l4 = 20;
	} else if (it->len >= 40 && p[0] >> 4 == 6) {
		if (p[6] != IPPROTO_TCP || rd16(p + 4) + 40u != it->len)
			return -1;
		l4 = 40;
	} else {
		return -1;
	}
	if (l4 + 20 > it->len)
		return -1;
	doff = (size_t)(p[l4 + 12] >> 4) * 4;
	if (doff < 20 || l4 + doff > it->len)
		return -1;
	it->l4_off = (uint16_t)l4;
	it->hdr_len = (uint16_t)(l4 + doff);
	return p[l4 + 13];
}

static bool same_flow(const struct gro_item *a, const struct gro_item *b)
{
	if (a->l4_off != b->l4_off)
		return false;
	if (a->l4_off == 20) {
		if (memcmp(a->pkt + 12, b->pkt + 12, 8))
			return false;
	} else if (memcmp(a->pkt + 8, b->pkt + 8, 32)) {
		return false;
	}
	return !memcmp(a->pkt + a->l4_off, b->pkt + b->l4_off, 4);
}

static void close_open(struct gro_batch *b, size_t k)
{
	b->groups[b->open[k]].open = false;
	memmove(&b->open[k], &b->open[k + 1], (b->nopen - k - 1) * sizeof(b->open[0]));
	b->nopen--;
}

/* May packet i follow group g's tail? */
static bool can_append(const struct gro_batch *b, const struct gro_group *g,
		       const struct gro_item *it, int flags)
{
	const struct gro_item *h = &b->items[g->head], *t = &b->items[g->tail];
	const uint8_t *hp = h->pkt, *p = it->pkt;
	size_t payload = it->len - it->hdr_len, l4 = it->l4_off;

	if (g->count >= GRO_MAX_SEGS || g->bytes + payload > GRO_MAX_LEN)
		return false;
	if (it->hdr_len != h->hdr_len || payload > g->gso_size)
		return false;
	if (rd32(p + l4 + 4) != g->next_seq)
		return false;
	/* Same ACK, header length, flags (but PSH), window, urgent pointer
	 * (meaningless without URG, but split again the segments would all
	 * get the first one's) and options. */
	if (memcmp(hp + l4 + 8, p + l4 + 8, 5) || (flags & ~TCP_PSH) != hp[l4 + 13] ||
	    memcmp(hp + l4 + 14, p + l4 + 14, 2) || memcmp(hp + l4 + 18, p + l4 + 18, 2) ||
	    memcmp(hp + l4 + 20, p + l4 + 20, it->hdr_len - l4 - 20))
		return false;
	if (l4 == 20) {
		/* TOS, fragment field (DF), TTL; the ID must follow on unless DF. */
		if (hp[1] != p[1] || hp[6] != p[6] || hp[7] != p[7] || hp[8] != p[8])
			return false;
		if (!(p[6] & IPV4_DF) && rd16(p + 4) != (uint16_t)(rd16(t->pkt + 4) + 1))
			return false;
	} else {
		/* Traffic class, flow label, hop limit. */
		if (memcmp(hp, p, 4) || hp[7] != p[7])
			return false;
	}
	return true;
}

/* TCP in a form never coalesced (IPv4 options or a fragment, a length
 * that does not match, IPv6 extension headers, a bad header): a packet of
 * an open group's flow, maybe, that later segments must not overtake. The
 * groups between the same addresses stop growing (the ports may not be
 * there to tell the flows apart). */
static void close_odd_tcp(struct gro_batch *b, const uint8_t *p, size_t len)
{
	size_t l4, off, alen, k = 0;

	if (len >= 20 && p[0] >> 4 == 4 && p[9] == IPPROTO_TCP) {
		l4 = 20, off = 12, alen = 8;
	} else if (len >= 40 && p[0] >> 4 == 6 &&
		   (p[6] == IPPROTO_TCP || p[6] == IPPROTO_HOPOPTS || p[6] == IPPROTO_ROUTING ||
		    p[6] == IPPROTO_FRAGMENT || p[6] == IPPROTO_DSTOPTS || p[6] == IPPROTO_AH)) {
		l4 = 40, off = 8, alen = 32;
	} else {
		return;
	}
	while (k < b->nopen) {
		const struct gro_item *h = &b->items[b->groups[b->open[k]].head];

		if (h->l4_off == l4 && !memcmp(h->pkt + off, p + off, alen))
			close_open(b, k);
		else
			k++;
	}
}

bool gro_add(struct gro_batch *b, uint8_t *pkt, size_t len)
{
	struct gro_item *it;
	struct gro_group *g;
	int32_t i;
	int flags;
	bool mergeable;

	if (b->n >= GRO_MAX_PACKETS || len > GRO_MAX_LEN)
		return false;
	i = (int32_t)b->n++;
	it = &b->items[i];
	it->pkt = pkt;
	it->len = (uint32_t)len;
	it->next = -1;
	it->hdr_len = 0;
	flags = tcp_parse(it);
	if (flags >= 0) {
		mergeable = !(flags & (TCP_SYN | TCP_FIN | TCP_RST | TCP_URG | TCP_CWR)) &&
			    it->len > it->hdr_len;
		for (size_t k = 0; k < b->nopen; k++) {
			g = &b->groups[b->open[k]];
			if (!same_flow(&b->items[g->head], it))
				continue;
			if (mergeable && can_append(b, g, it, flags)) {
				uint32_t payload = it->len - it->hdr_len;

				b->items[g->tail].next = i;
				g->tail = i;
				g->count++;
				g->bytes += payload;
				g->next_seq += payload;
				if (payload < g->gso_size || (flags & TCP_PSH))
					close_open(b, k);
				return true;
			}
			/* Out of order, or a packet of another kind: what
			 * follows must not overtake it. */
			close_open(b, k);
			break;
		}
	} else {
		mergeable = false;
		close_odd_tcp(b, pkt, len);
	}
	g = &b->groups[b->ngroups];
	g->head = g->tail = i;
	g->count = 1;
	g->bytes = it->len;
	g->open = false;
	if (mergeable && !(flags & TCP_PSH)) {
		g->gso_size = (uint16_t)(it->len - it->hdr_len);
		g->next_seq = rd32(pkt + it->l4_off + 4) + g->gso_size;
		g->open = true;
		if (b->nopen == GRO_MAX_FLOWS)
			b->nopen--; /* the least recent stops growing */
		memmove(&b->open[1], &b->open[0], b->nopen * sizeof(b->open[0]));
		b->open[0] = (int32_t)b->ngroups;
		b->nopen++;
	}
	b->ngroups++;
	return true;
}

size_t gro_group_iov(struct gro_batch *b, size_t gi, struct virtio_net_hdr *h, struct iovec *iov,
		     size_t max_iov)
{
	struct gro_group *g = &b->groups[gi];
	struct gro_item *head = &b->items[g->head];
	uint8_t *p = head->pkt, *l4;
	int family;
	size_t n;
	uint64_t sum;

	memset(h, 0, sizeof(*h));
	iov[0].iov_base = h;
	iov[0].iov_len = VNET_HDR_LEN;
	iov[1].iov_base = head->pkt;
	iov[1].iov_len = head->len;
	if (g->count == 1 || max_iov < g->count + 1)
		return 2;

	n = 2;
	for (int32_t j = head->next; j >= 0; j = b->items[j].next) {
		struct gro_item *it = &b->items[j];

		iov[n].iov_base = it->pkt + it->hdr_len;
		iov[n].iov_len = it->len - it->hdr_len;
		n++;
		if (b->items[j].next < 0 && (it->pkt[it->l4_off + 13] & TCP_PSH))
			p[head->l4_off + 13] |= TCP_PSH;
	}
	l4 = p + head->l4_off;
	if (head->l4_off == 20) {
		family = AF_INET;
		wr16(p + 2, (uint16_t)g->bytes);
		p[10] = p[11] = 0;
		put_csum(p + 10, csum_ipv4_header(p, 20));
		h->gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
	} else {
		family = AF_INET6;
		wr16(p + 4, (uint16_t)(g->bytes - 40));
		h->gso_type = VIRTIO_NET_HDR_GSO_TCPV6;
	}
	/* Partial checksum: the pseudo-header sum, not inverted; the kernel
	 * finishes it if the packet ever leaves on a link that needs it. */
	sum = csum_pseudo(family, addr_src(family, p), addr_dst(family, p), IPPROTO_TCP,
			  g->bytes - head->l4_off);
	put_csum(l4 + 16, csum_fold(sum));
	h->flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	h->hdr_len = head->hdr_len;
	h->gso_size = g->gso_size;
	h->csum_start = head->l4_off;
	h->csum_offset = 16;
	return n;
}
