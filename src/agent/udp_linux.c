// SPDX-License-Identifier: BSD-3-Clause
/*
 * UDP sockets on Linux (see platform.h): one IPv4 and one IPv6-only socket on
 * the same port, reporting the local address of each datagram (IP_PKTINFO,
 * IPV6_RECVPKTINFO) and choosing the source address of each datagram sent.
 */
#include <errno.h>
#include <netinet/in.h>
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
		/* Let the kernel fragment what exceeds the path MTU, as the
		 * WireGuard kernel module does, rather than fail the send. */
		if (!r)
			r = set_int(fd, IPPROTO_IPV6, IPV6_MTU_DISCOVER, IPV6_PMTUDISC_DONT);
		addr.in6.sin6_family = AF_INET6;
		addr.in6.sin6_addr = in6addr_any;
		addr.in6.sin6_port = htons(port);
		alen = sizeof(addr.in6);
	} else {
		r = set_int(fd, IPPROTO_IP, IP_PKTINFO, 1);
		if (!r)
			r = set_int(fd, IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_DONT);
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
