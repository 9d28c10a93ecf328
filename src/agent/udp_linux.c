// SPDX-License-Identifier: BSD-3-Clause
/*
 * UDP sockets on Linux (see platform.h): one IPv4 and one IPv6-only socket on
 * the same port, reporting the local address of each datagram (IP_PKTINFO,
 * IPV6_RECVPKTINFO) and choosing the source address of each datagram sent.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "platform.h"

/* Socket buffers wanted (the kernel doubles and caps them). */
#define UDP_BUFFER_SIZE (7 << 20)
/* Tries to find a port free for both families when any port will do. */
#define UDP_PORT_ATTEMPTS 10

union udp_cmsg {
	struct cmsghdr align;
	char buf[CMSG_SPACE(sizeof(struct in6_pktinfo)) + CMSG_SPACE(sizeof(struct in_pktinfo))];
};

static void set_buffer(int fd, int force_opt, int opt)
{
	int size = UDP_BUFFER_SIZE;

	/* SO_*BUFFORCE needs CAP_NET_ADMIN; otherwise take what rmem_max /
	 * wmem_max allow. A small buffer only costs throughput. */
	if (setsockopt(fd, SOL_SOCKET, force_opt, &size, sizeof(size)) == 0)
		return;
	(void)setsockopt(fd, SOL_SOCKET, opt, &size, sizeof(size));
}

static int set_int(int fd, int level, int opt, int value)
{
	if (setsockopt(fd, level, opt, &value, sizeof(value)) < 0)
		return -errno;
	return 0;
}

/* Whether udp_open() asks for UDP_GRO (udp_open_gro()). */
static bool want_gro;

void udp_open_gro(bool on)
{
	want_gro = on;
}

/* Opens and binds one socket; returns the fd and the port bound. */
static int open_one(int family, uint16_t port, uint32_t fwmark, uint16_t *bound)
{
	union {
		struct sockaddr sa;
		struct sockaddr_in in4;
		struct sockaddr_in6 in6;
	} addr;
	socklen_t alen;
	int fd, r;

	fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_UDP);
	if (fd < 0)
		return -errno;

	memset(&addr, 0, sizeof(addr));
	if (family == AF_INET6) {
		r = set_int(fd, IPPROTO_IPV6, IPV6_V6ONLY, 1);
		if (!r)
			r = set_int(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, 1);
		/* See IP_PMTUDISC_INTERFACE below; IPv6 fragments at the
		 * source unless told not to (IPV6_DONTFRAG). */
		if (!r)
			r = set_int(fd, IPPROTO_IPV6, IPV6_MTU_DISCOVER, IPV6_PMTUDISC_INTERFACE);
		if (!r)
			r = set_int(fd, IPPROTO_IPV6, IPV6_DONTFRAG, 1);
		addr.in6.sin6_family = AF_INET6;
		addr.in6.sin6_addr = in6addr_any;
		addr.in6.sin6_port = htons(port);
		alen = sizeof(addr.in6);
	} else {
		r = set_int(fd, IPPROTO_IP, IP_PKTINFO, 1);
		/* No DF bit, as the WireGuard kernel module sends (routers on
		 * the path may fragment), but not fragmented here by default:
		 * a datagram larger than the outgoing interface's MTU fails with
		 * EMSGSIZE, and the data path decides (udp_send_fragmented,
		 * outer_frag.h): fragmenting into another tunnel would let a
		 * routing loop double its packets every ~22 passes
		 * (docs/security.md, "Routing loops"). ICMP "fragmentation
		 * needed" is ignored. */
		if (!r)
			r = set_int(fd, IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_INTERFACE);
		addr.in4.sin_family = AF_INET;
		addr.in4.sin_addr.s_addr = htonl(INADDR_ANY);
		addr.in4.sin_port = htons(port);
		alen = sizeof(addr.in4);
	}
	if (!r && fwmark)
		r = set_int(fd, SOL_SOCKET, SO_MARK, (int)fwmark);
	if (r)
		goto fail;
	set_buffer(fd, SO_RCVBUFFORCE, SO_RCVBUF);
	set_buffer(fd, SO_SNDBUFFORCE, SO_SNDBUF);
	/* Coalesced datagrams (Linux 5.0); without it, one per datagram. */
	if (want_gro)
		(void)set_int(fd, IPPROTO_UDP, UDP_GRO, 1);

	if (bind(fd, &addr.sa, alen) < 0)
		goto fail_errno;
	alen = sizeof(addr);
	if (getsockname(fd, &addr.sa, &alen) < 0)
		goto fail_errno;
	*bound = ntohs(family == AF_INET6 ? addr.in6.sin6_port : addr.in4.sin_port);
	return fd;

fail_errno:
	r = -errno;
fail:
	close(fd);
	return r;
}

/* Errors meaning "this address family is not available here". */
static bool family_unavailable(int err)
{
	return err == -EAFNOSUPPORT || err == -EPROTONOSUPPORT || err == -EADDRNOTAVAIL;
}

int udp_open(struct udp_bind *b, uint16_t port, uint32_t fwmark)
{
	int attempts = port ? 1 : UDP_PORT_ATTEMPTS;
	int r = -EADDRINUSE;

	b->fd4 = b->fd6 = -1;
	b->port = 0;
	b->fwmark = fwmark;
	for (int i = 0; i < attempts; i++) {
		uint16_t p6 = port, p4 = 0;
		int fd6, fd4;

		/* IPv6 first: with port 0 it picks the port both will use. */
		fd6 = open_one(AF_INET6, port, fwmark, &p6);
		if (fd6 < 0 && !family_unavailable(fd6))
			return fd6;
		fd4 = open_one(AF_INET, fd6 >= 0 ? p6 : port, fwmark, &p4);
		if (fd4 < 0) {
			r = fd4;
			if (fd6 >= 0 && family_unavailable(fd4)) {
				b->fd6 = fd6;
				b->port = p6;
				return 0;
			}
			if (fd6 >= 0)
				close(fd6);
			/* Port 0: the port IPv6 got is taken for IPv4; retry. */
			if (fd4 == -EADDRINUSE && fd6 >= 0 && !port)
				continue;
			return r;
		}
		b->fd4 = fd4;
		b->fd6 = fd6;
		b->port = p4;
		return 0;
	}
	return r;
}

void udp_close(struct udp_bind *b)
{
	if (b->fd4 >= 0)
		close(b->fd4);
	if (b->fd6 >= 0)
		close(b->fd6);
	b->fd4 = b->fd6 = -1;
}

int udp_set_fwmark(struct udp_bind *b, uint32_t fwmark)
{
	int r;

	if (b->fd6 >= 0) {
		r = set_int(b->fd6, SOL_SOCKET, SO_MARK, (int)fwmark);
		if (r)
			return r;
	}
	if (b->fd4 >= 0) {
		r = set_int(b->fd4, SOL_SOCKET, SO_MARK, (int)fwmark);
		if (r) {
			/* Keep both sockets on the same mark. */
			if (b->fd6 >= 0)
				(void)set_int(b->fd6, SOL_SOCKET, SO_MARK, (int)b->fwmark);
			return r;
		}
	}
	b->fwmark = fwmark;
	return 0;
}

/* Adds the source-address control message for ep->local, if any. */
static void put_source(struct msghdr *msg, union udp_cmsg *ctl, const struct altuntun_endpoint *ep)
{
	struct cmsghdr *c;

	memset(ctl, 0, sizeof(*ctl));
	msg->msg_control = ctl->buf;
	if (ep->local_family == AF_INET && ep->addr.sa.sa_family == AF_INET) {
		struct in_pktinfo pi = { .ipi_spec_dst = ep->local.v4, .ipi_ifindex = 0 };

		msg->msg_controllen = CMSG_SPACE(sizeof(pi));
		c = CMSG_FIRSTHDR(msg);
		c->cmsg_level = IPPROTO_IP;
		c->cmsg_type = IP_PKTINFO;
		c->cmsg_len = CMSG_LEN(sizeof(pi));
		memcpy(CMSG_DATA(c), &pi, sizeof(pi));
	} else if (ep->local_family == AF_INET6 && ep->addr.sa.sa_family == AF_INET6) {
		struct in6_pktinfo pi = { .ipi6_addr = ep->local.v6 };

		/* The interface only matters (and only stays valid) for a
		 * link-local source; otherwise routing picks it. */
		if (IN6_IS_ADDR_LINKLOCAL(&ep->local.v6))
			pi.ipi6_ifindex = ep->local_ifindex;
		msg->msg_controllen = CMSG_SPACE(sizeof(pi));
		c = CMSG_FIRSTHDR(msg);
		c->cmsg_level = IPPROTO_IPV6;
		c->cmsg_type = IPV6_PKTINFO;
		c->cmsg_len = CMSG_LEN(sizeof(pi));
		memcpy(CMSG_DATA(c), &pi, sizeof(pi));
	} else {
		msg->msg_control = NULL;
		msg->msg_controllen = 0;
	}
}

static int send_once(int fd, const struct altuntun_endpoint *ep, const uint8_t *data, size_t len)
{
	struct iovec iov = { .iov_base = (void *)data, .iov_len = len };
	struct msghdr msg = {
		.msg_name = (void *)&ep->addr,
		.msg_namelen = ep->addr.sa.sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
								 : sizeof(struct sockaddr_in),
		.msg_iov = &iov,
		.msg_iovlen = 1,
	};
	union udp_cmsg ctl;
	ssize_t n;

	put_source(&msg, &ctl, ep);
	do
		n = sendmsg(fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	return 0;
}

/*
 * Errors meaning the kernel will not send from the source we asked for: the
 * address is no longer ours (IPv4: the route lookup with that source fails
 * with ENETUNREACH; IPv6: EINVAL), or the interface of a link-local source
 * is gone (ENODEV). Retrying with the kernel's choice is right in every case:
 * if the network really is unreachable the retry fails the same way.
 */
static bool source_refused(int err)
{
	return err == -EINVAL || err == -ENETUNREACH || err == -EADDRNOTAVAIL || err == -ENODEV;
}

int udp_send(const struct udp_bind *b, struct altuntun_endpoint *ep, const uint8_t *data,
	     size_t len)
{
	int fd, r;

	switch (ep->addr.sa.sa_family) {
	case AF_INET:
		fd = b->fd4;
		break;
	case AF_INET6:
		fd = b->fd6;
		break;
	default:
		return -EAFNOSUPPORT;
	}
	if (fd < 0)
		return -EAFNOSUPPORT;
	r = send_once(fd, ep, data, len);
	if (ep->local_family && source_refused(r)) {
		ep->local_family = 0;
		ep->local_ifindex = 0;
		memset(&ep->local, 0, sizeof(ep->local));
		r = send_once(fd, ep, data, len);
		if (r == 0)
			r = UDP_SENT_SOURCE_CLEARED;
	}
	return r;
}

bool udp_endpoint_same(const struct altuntun_endpoint *x, const struct altuntun_endpoint *y)
{
	if (x->addr.sa.sa_family != y->addr.sa.sa_family || x->local_family != y->local_family)
		return false;
	if (x->addr.sa.sa_family == AF_INET) {
		if (x->addr.in4.sin_port != y->addr.in4.sin_port ||
		    x->addr.in4.sin_addr.s_addr != y->addr.in4.sin_addr.s_addr)
			return false;
	} else if (x->addr.in6.sin6_port != y->addr.in6.sin6_port ||
		   memcmp(&x->addr.in6.sin6_addr, &y->addr.in6.sin6_addr, 16) ||
		   x->addr.in6.sin6_scope_id != y->addr.in6.sin6_scope_id) {
		return false;
	}
	if (x->local_family == AF_INET)
		return x->local.v4.s_addr == y->local.v4.s_addr;
	if (x->local_family == AF_INET6)
		return !memcmp(&x->local.v6, &y->local.v6, 16) &&
		       x->local_ifindex == y->local_ifindex;
	return true;
}

int udp_send_fragmented(const struct udp_bind *b, struct altuntun_endpoint *ep,
			const uint8_t *data, size_t len)
{
	bool v6 = ep->addr.sa.sa_family == AF_INET6;
	int fd = v6 ? b->fd6 : b->fd4;
	int level = v6 ? IPPROTO_IPV6 : IPPROTO_IP;
	int opt = v6 ? IPV6_DONTFRAG : IP_MTU_DISCOVER;
	int r, restore;

	if (fd < 0)
		return -EAFNOSUPPORT;
	r = set_int(fd, level, opt, v6 ? 0 : IP_PMTUDISC_DONT);
	if (r)
		return r;
	r = udp_send(b, ep, data, len);
	/* Not being able to go back would leave every datagram fragmentable:
	 * reported as the send's failure (it is not expected to happen). */
	restore = set_int(fd, level, opt, v6 ? 1 : IP_PMTUDISC_INTERFACE);
	return r < 0 ? r : restore;
}

static void get_local(struct msghdr *msg, struct altuntun_endpoint *from)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(msg); c; c = CMSG_NXTHDR(msg, c)) {
		if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO &&
		    c->cmsg_len >= CMSG_LEN(sizeof(struct in_pktinfo))) {
			struct in_pktinfo pi;

			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			from->local_family = AF_INET;
			from->local.v4 = pi.ipi_addr;
			from->local_ifindex = pi.ipi_ifindex > 0 ? (uint32_t)pi.ipi_ifindex : 0;
		} else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO &&
			   c->cmsg_len >= CMSG_LEN(sizeof(struct in6_pktinfo))) {
			struct in6_pktinfo pi;

			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			from->local_family = AF_INET6;
			from->local.v6 = pi.ipi6_addr;
			from->local_ifindex = pi.ipi6_ifindex;
		}
	}
}

ssize_t udp_recv(int fd, uint8_t *buf, size_t cap, struct altuntun_endpoint *from)
{
	struct iovec iov = { .iov_base = buf, .iov_len = cap };
	union udp_cmsg ctl;
	struct msghdr msg;
	ssize_t n;

	memset(from, 0, sizeof(*from));
	memset(&msg, 0, sizeof(msg));
	msg.msg_name = &from->addr;
	msg.msg_namelen = sizeof(from->addr);
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = ctl.buf;
	msg.msg_controllen = sizeof(ctl.buf);
	do
		n = recvmsg(fd, &msg, MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	/* A datagram larger than the buffer cannot be a WireGuard message. */
	if (msg.msg_flags & MSG_TRUNC)
		return -EMSGSIZE;
	switch (from->addr.sa.sa_family) {
	case AF_INET:
		if (msg.msg_namelen < sizeof(struct sockaddr_in))
			return -EPROTO;
		break;
	case AF_INET6:
		if (msg.msg_namelen < sizeof(struct sockaddr_in6))
			return -EPROTO;
		break;
	default:
		return -EPROTO;
	}
	if (!(msg.msg_flags & MSG_CTRUNC))
		get_local(&msg, from);
	return n;
}

/* ---- batches: UDP GSO (UDP_SEGMENT) and GRO (UDP_GRO) ---- */

union udp_cmsg_many {
	struct cmsghdr align;
	char buf[CMSG_SPACE(sizeof(struct in6_pktinfo)) + CMSG_SPACE(sizeof(uint16_t))];
};

/* Source address (as put_source) and, for gso_size, UDP_SEGMENT. */
static void put_cmsgs(struct msghdr *msg, union udp_cmsg_many *ctl,
		      const struct altuntun_endpoint *ep, uint16_t gso_size)
{
	union udp_cmsg src;
	size_t used;

	put_source(msg, &src, ep);
	used = msg->msg_controllen;
	memset(ctl, 0, sizeof(*ctl));
	if (used)
		memcpy(ctl->buf, src.buf, used);
	msg->msg_control = ctl->buf;
	if (gso_size) {
		struct cmsghdr *c = (struct cmsghdr *)(void *)(ctl->buf + used);

		c->cmsg_level = IPPROTO_UDP;
		c->cmsg_type = UDP_SEGMENT;
		c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
		memcpy(CMSG_DATA(c), &gso_size, sizeof(gso_size));
		used += CMSG_SPACE(sizeof(uint16_t));
	}
	msg->msg_controllen = used;
	if (!used)
		msg->msg_control = NULL;
}

static int fd_for(const struct udp_bind *b, const struct altuntun_endpoint *ep)
{
	switch (ep->addr.sa.sa_family) {
	case AF_INET:
		return b->fd4 >= 0 ? b->fd4 : -EAFNOSUPPORT;
	case AF_INET6:
		return b->fd6 >= 0 ? b->fd6 : -EAFNOSUPPORT;
	default:
		return -EAFNOSUPPORT;
	}
}

/* One message alone: what udp_send() does for a datagram, with iovecs and
 * GSO. */
static int send_one_tx(const struct udp_bind *b, struct udp_tx *t)
{
	union udp_cmsg_many ctl;
	struct msghdr msg;
	int fd = fd_for(b, t->ep), r = 0;
	ssize_t n;

	if (fd < 0)
		return fd;
	for (int attempt = 0; attempt < 2; attempt++) {
		memset(&msg, 0, sizeof(msg));
		msg.msg_name = (void *)&t->ep->addr;
		msg.msg_namelen = t->ep->addr.sa.sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
								       : sizeof(struct sockaddr_in);
		msg.msg_iov = t->iov;
		msg.msg_iovlen = t->iovlen;
		put_cmsgs(&msg, &ctl, t->ep, t->gso_size);
		do
			n = sendmsg(fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
		while (n < 0 && errno == EINTR);
		r = n < 0 ? (errno == EWOULDBLOCK ? -EAGAIN : -errno) : 0;
		if (!r || !t->ep->local_family || !source_refused(r))
			break;
		t->ep->local_family = 0;
		t->ep->local_ifindex = 0;
		memset(&t->ep->local, 0, sizeof(t->ep->local));
		t->source_cleared = true;
	}
	return r;
}

#define UDP_MMSG_MAX 64

size_t udp_send_many(const struct udp_bind *b, struct udp_tx *tx, size_t n)
{
	struct mmsghdr mm[UDP_MMSG_MAX];
	union udp_cmsg_many ctl[UDP_MMSG_MAX];
	size_t i = 0, ok = 0;

	for (size_t k = 0; k < n; k++) {
		tx[k].result = 0;
		tx[k].source_cleared = false;
	}
	while (i < n) {
		int fd = fd_for(b, tx[i].ep);
		size_t m = 0;
		int sent;

		if (fd < 0) {
			tx[i++].result = fd;
			continue;
		}
		/* Consecutive messages on the same socket go in one call. */
		while (i + m < n && m < UDP_MMSG_MAX && fd_for(b, tx[i + m].ep) == fd) {
			struct udp_tx *t = &tx[i + m];
			struct msghdr *msg = &mm[m].msg_hdr;

			memset(&mm[m], 0, sizeof(mm[m]));
			msg->msg_name = (void *)&t->ep->addr;
			msg->msg_namelen = t->ep->addr.sa.sa_family == AF_INET6
						   ? sizeof(struct sockaddr_in6)
						   : sizeof(struct sockaddr_in);
			msg->msg_iov = t->iov;
			msg->msg_iovlen = t->iovlen;
			put_cmsgs(msg, &ctl[m], t->ep, t->gso_size);
			m++;
		}
		do
			sent = sendmmsg(fd, mm, (unsigned)m, MSG_DONTWAIT | MSG_NOSIGNAL);
		while (sent < 0 && errno == EINTR);
		if (sent > 0) {
			ok += (size_t)sent;
			i += (size_t)sent;
			continue;
		}
		/* The first message failed: once more alone, which also tells
		 * why and gets a refused source address cleared. */
		tx[i].result = send_one_tx(b, &tx[i]);
		if (!tx[i].result)
			ok++;
		i++;
	}
	return ok;
}

ssize_t udp_recv_many(int fd, struct udp_rx *rx, size_t n)
{
	struct mmsghdr mm[UDP_MMSG_MAX];
	struct iovec iov[UDP_MMSG_MAX];
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(struct in6_pktinfo)) + CMSG_SPACE(sizeof(struct in_pktinfo)) +
			 CMSG_SPACE(sizeof(int))];
	} ctl[UDP_MMSG_MAX];
	int got;

	if (n > UDP_MMSG_MAX)
		n = UDP_MMSG_MAX;
	for (size_t i = 0; i < n; i++) {
		memset(&rx[i].from, 0, sizeof(rx[i].from));
		iov[i].iov_base = rx[i].buf;
		iov[i].iov_len = rx[i].cap;
		memset(&mm[i], 0, sizeof(mm[i]));
		mm[i].msg_hdr.msg_name = &rx[i].from.addr;
		mm[i].msg_hdr.msg_namelen = sizeof(rx[i].from.addr);
		mm[i].msg_hdr.msg_iov = &iov[i];
		mm[i].msg_hdr.msg_iovlen = 1;
		mm[i].msg_hdr.msg_control = ctl[i].buf;
		mm[i].msg_hdr.msg_controllen = sizeof(ctl[i].buf);
	}
	do
		got = recvmmsg(fd, mm, (unsigned)n, MSG_DONTWAIT, NULL);
	while (got < 0 && errno == EINTR);
	if (got < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	for (int i = 0; i < got; i++) {
		struct msghdr *msg = &mm[i].msg_hdr;
		struct udp_rx *r = &rx[i];

		r->len = mm[i].msg_len;
		r->gso_size = 0;
		r->error = 0;
		if (msg->msg_flags & MSG_TRUNC) {
			r->error = -EMSGSIZE;
			continue;
		}
		if ((r->from.addr.sa.sa_family == AF_INET &&
		     msg->msg_namelen < sizeof(struct sockaddr_in)) ||
		    (r->from.addr.sa.sa_family == AF_INET6 &&
		     msg->msg_namelen < sizeof(struct sockaddr_in6)) ||
		    (r->from.addr.sa.sa_family != AF_INET &&
		     r->from.addr.sa.sa_family != AF_INET6)) {
			r->error = -EPROTO;
			continue;
		}
		if (msg->msg_flags & MSG_CTRUNC)
			continue;
		get_local(msg, &r->from);
		for (struct cmsghdr *c = CMSG_FIRSTHDR(msg); c; c = CMSG_NXTHDR(msg, c)) {
			if (c->cmsg_level == IPPROTO_UDP && c->cmsg_type == UDP_GRO &&
			    c->cmsg_len >= CMSG_LEN(sizeof(int))) {
				int sz;

				memcpy(&sz, CMSG_DATA(c), sizeof(sz));
				r->gso_size = sz > 0 ? (size_t)sz : 0;
			}
		}
	}
	return got;
}
