// SPDX-License-Identifier: BSD-3-Clause
/* Our interface in another namespace, over libnl-route-3 (see link.h). */
#include <errno.h>
#include <linux/rtnetlink.h>
#include <netlink/errno.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/route.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "link.h"
#include "log.h"
#include "netns.h"
#include "platform.h"
#include "rootless.h"

/* libnl's error codes as errno values. */
static int nl_errno(int nlerr)
{
	switch (nlerr < 0 ? -nlerr : nlerr) {
	case 0:
		return 0;
	case NLE_EXIST:
		return -EEXIST;
	case NLE_NODEV:
	case NLE_OBJ_NOTFOUND:
		return -ENODEV;
	case NLE_PERM:
		return -EPERM;
	case NLE_NOACCESS:
		return -EACCES;
	case NLE_INVAL:
		return -EINVAL;
	case NLE_NOMEM:
		return -ENOMEM;
	case NLE_BUSY:
		return -EBUSY;
	case NLE_RANGE:
		return -ERANGE;
	case NLE_NOADDR:
		return -EADDRNOTAVAIL;
	case NLE_OPNOTSUPP:
		return -EOPNOTSUPP;
	case NLE_AF_NOSUPPORT:
		return -EAFNOSUPPORT;
	case NLE_AGAIN:
		return -EAGAIN;
	case NLE_INTR:
		return -EINTR;
	case NLE_BAD_SOCK:
		return -EBADF;
	default:
		return -EIO;
	}
}

static int connect_here(void *ctx)
{
	return nl_errno(nl_connect(ctx, NETLINK_ROUTE));
}

/* A rtnetlink socket living in namespace nsfd (-1: here). */
static int sock_in(int nsfd, struct nl_sock **out)
{
	struct nl_sock *sk = nl_socket_alloc();
	int r;

	*out = NULL;
	if (!sk)
		return -ENOMEM;
	if (nsfd >= 0 && rootless_enabled()) {
		/* A user namespace we own (rootless.h): a child makes it there. */
		r = rootless_netlink_socket_in(nsfd);
		if (r >= 0) {
			int fd = r;

			r = nl_errno(nl_socket_set_fd(sk, NETLINK_ROUTE, fd));
			if (r < 0)
				close(fd);
		}
	} else {
		r = netns_run_in(nsfd, connect_here, sk);
	}
	if (r < 0) {
		nl_socket_free(sk);
		return r;
	}
	*out = sk;
	return 0;
}

static int find_with(struct nl_sock *sk, const char *name, int *ifindex, unsigned *mtu)
{
	struct rtnl_link *l = NULL;
	int r = nl_errno(rtnl_link_get_kernel(sk, 0, name, &l));

	if (r < 0)
		return r;
	if (!l)
		return -ENODEV;
	*ifindex = rtnl_link_get_ifindex(l);
	if (mtu)
		*mtu = rtnl_link_get_mtu(l);
	rtnl_link_put(l);
	return 0;
}

/* Applies `changes` to link ifindex over sk. */
static int change_with(struct nl_sock *sk, int ifindex, struct rtnl_link *changes)
{
	struct rtnl_link *orig = rtnl_link_alloc();
	int r;

	if (!orig)
		return -ENOMEM;
	rtnl_link_set_ifindex(orig, ifindex);
	r = nl_errno(rtnl_link_change(sk, orig, changes, 0));
	rtnl_link_put(orig);
	return r;
}

static int set_mtu_with(struct nl_sock *sk, int ifindex, unsigned mtu)
{
	struct rtnl_link *ch = rtnl_link_alloc();
	int r;

	if (!ch)
		return -ENOMEM;
	rtnl_link_set_mtu(ch, mtu);
	r = change_with(sk, ifindex, ch);
	rtnl_link_put(ch);
	return r;
}

static int fail(char *err, size_t errlen, int r, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int fail(char *err, size_t errlen, int r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (errlen)
		vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return r;
}

/* Creates a TUN at home under a name nobody uses. */
static int tun_temporary(char name[IFNAMSIZ])
{
	for (int i = 0; i < 8; i++) {
		uint32_t rnd;
		int fd;

		if (getrandom(&rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
			return -EIO;
		snprintf(name, IFNAMSIZ, "att%08x", rnd);
		/* TUNSETIFF would attach to an existing TUN of that name. */
		if (if_nametoindex(name))
			continue;
		fd = tun_open(name, name);
		if (fd != -EBUSY && fd != -EEXIST && fd != -EINVAL)
			return fd;
	}
	return -EEXIST;
}

int netns_tun_create(int nsfd, const char *ifname, unsigned mtu, struct netns_tun *out, char *err,
		     size_t errlen)
{
	struct nl_sock *home = NULL, *there = NULL;
	struct rtnl_link *ch = NULL;
	char tmp[IFNAMSIZ];
	int r, fd = -1, ifindex;

	out->fd = -1;
	if (errlen)
		err[0] = '\0';
	r = sock_in(nsfd, &there);
	if (r < 0)
		return fail(err, errlen, r, "cannot open a rtnetlink socket in the namespace: %s",
			    strerror(-r));
	r = find_with(there, ifname, &ifindex, NULL);
	if (r == 0) {
		r = fail(err, errlen, -EEXIST,
			 "an interface named %s already exists in the namespace", ifname);
		goto out;
	}
	if (r != -ENODEV) {
		fail(err, errlen, r, "cannot look for %s in the namespace: %s", ifname,
		     strerror(-r));
		goto out;
	}

	fd = tun_temporary(tmp);
	if (fd < 0) {
		r = fail(err, errlen, fd, "cannot create a TUN device: %s", strerror(-fd));
		goto out;
	}
	ifindex = (int)if_nametoindex(tmp);
	if (ifindex <= 0) {
		r = fail(err, errlen, -errno, "cannot find the new TUN device %s: %s", tmp,
			 strerror(errno));
		goto out;
	}
	log_debug("created TUN %s (index %d) here, moving it to the namespace as %s", tmp,
		  ifindex, ifname);

	/* Move and rename at once, asked from home. */
	r = sock_in(-1, &home);
	if (r < 0) {
		fail(err, errlen, r, "rtnetlink: %s", strerror(-r));
		goto out;
	}
	ch = rtnl_link_alloc();
	if (!ch) {
		r = fail(err, errlen, -ENOMEM, "out of memory");
		goto out;
	}
	rtnl_link_set_ns_fd(ch, nsfd);
	rtnl_link_set_name(ch, ifname);
	r = change_with(home, ifindex, ch);
	if (r == -EEXIST) {
		/* Created there since we looked. The device may be in the
		 * namespace under its temporary name: closing fd deletes it. */
		fail(err, errlen, r, "an interface named %s already exists in the namespace",
		     ifname);
		goto out;
	}
	if (r < 0) {
		fail(err, errlen, r, "cannot move %s into the namespace as %s: %s", tmp, ifname,
		     strerror(-r));
		goto out;
	}

	/* Its index may have changed on the way. */
	r = find_with(there, ifname, &ifindex, NULL);
	if (r < 0) {
		fail(err, errlen, r, "%s is not in the namespace after the move: %s", ifname,
		     strerror(-r));
		goto out;
	}
	r = set_mtu_with(there, ifindex, mtu);
	if (r < 0) {
		fail(err, errlen, r, "cannot set the MTU of %s to %u: %s", ifname, mtu,
		     strerror(-r));
		goto out;
	}
	r = find_with(there, ifname, &ifindex, &out->mtu);
	if (r < 0) {
		fail(err, errlen, r, "cannot read back %s: %s", ifname, strerror(-r));
		goto out;
	}
	out->fd = fd;
	out->ifindex = ifindex;
	fd = -1;
	r = 0;
out:
	if (ch)
		rtnl_link_put(ch);
	if (home)
		nl_socket_free(home);
	if (there)
		nl_socket_free(there);
	if (fd >= 0)
		close(fd);
	return r;
}

int netns_link_find(int nsfd, const char *name, int *ifindex, unsigned *mtu)
{
	struct nl_sock *sk;
	int r = sock_in(nsfd, &sk);

	if (r < 0)
		return r;
	r = find_with(sk, name, ifindex, mtu);
	nl_socket_free(sk);
	return r;
}

int netns_link_set_mtu(int nsfd, int ifindex, unsigned mtu)
{
	struct nl_sock *sk;
	int r;

	if (ifindex <= 0 || mtu == 0)
		return -EINVAL;
	r = sock_in(nsfd, &sk);
	if (r < 0)
		return r;
	r = set_mtu_with(sk, ifindex, mtu);
	nl_socket_free(sk);
	return r;
}

int netns_link_set_up(int nsfd, int ifindex)
{
	struct rtnl_link *ch;
	struct nl_sock *sk;
	int r;

	if (ifindex <= 0)
		return -EINVAL;
	ch = rtnl_link_alloc();
	if (!ch)
		return -ENOMEM;
	rtnl_link_set_flags(ch, IFF_UP);
	r = sock_in(nsfd, &sk);
	if (r == 0) {
		r = change_with(sk, ifindex, ch);
		nl_socket_free(sk);
	}
	rtnl_link_put(ch);
	return r;
}

/* A libnl address of the family's length with a prefix length. */
static int build_addr(int family, const void *addr, unsigned prefixlen, struct nl_addr **out)
{
	size_t len = family == AF_INET ? sizeof(struct in_addr)
		     : family == AF_INET6 ? sizeof(struct in6_addr)
					  : 0;

	*out = NULL;
	if (!len || !addr || prefixlen > len * 8)
		return -EINVAL;
	*out = nl_addr_build(family, addr, len);
	if (!*out)
		return -ENOMEM;
	nl_addr_set_prefixlen(*out, (int)prefixlen);
	return 0;
}

int netns_link_add_address(int nsfd, int ifindex, int family, const void *addr,
			   unsigned prefixlen)
{
	struct rtnl_addr *a = NULL;
	struct nl_addr *local;
	struct nl_sock *sk;
	int r;

	if (ifindex <= 0)
		return -EINVAL;
	r = build_addr(family, addr, prefixlen, &local);
	if (r < 0)
		return r;
	a = rtnl_addr_alloc();
	if (!a) {
		nl_addr_put(local);
		return -ENOMEM;
	}
	rtnl_addr_set_ifindex(a, ifindex);
	rtnl_addr_set_family(a, family);
	r = nl_errno(rtnl_addr_set_local(a, local));
	nl_addr_put(local);
	if (r == 0)
		rtnl_addr_set_prefixlen(a, (int)prefixlen);
	if (r == 0)
		r = sock_in(nsfd, &sk);
	if (r == 0) {
		r = nl_errno(rtnl_addr_add(sk, a, NLM_F_EXCL));
		nl_socket_free(sk);
	}
	rtnl_addr_put(a);
	return r;
}

int netns_link_add_route(int nsfd, int ifindex, int family, const void *dst,
			 unsigned prefixlen, unsigned mtu)
{
	struct rtnl_route *rt;
	struct rtnl_nexthop *nh;
	struct nl_addr *d;
	struct nl_sock *sk;
	int r;

	if (ifindex <= 0)
		return -EINVAL;
	r = build_addr(family, dst, prefixlen, &d);
	if (r < 0)
		return r;
	rt = rtnl_route_alloc();
	nh = rtnl_route_nh_alloc();
	if (!rt || !nh) {
		if (rt)
			rtnl_route_put(rt);
		if (nh)
			rtnl_route_nh_free(nh);
		nl_addr_put(d);
		return -ENOMEM;
	}
	rtnl_route_set_family(rt, (uint8_t)family);
	r = nl_errno(rtnl_route_set_dst(rt, d));
	nl_addr_put(d);
	rtnl_route_set_table(rt, RT_TABLE_MAIN);
	rtnl_route_set_protocol(rt, RTPROT_BOOT);
	rtnl_route_set_scope(rt, RT_SCOPE_LINK);
	rtnl_route_set_type(rt, RTN_UNICAST);
	rtnl_route_nh_set_ifindex(nh, ifindex);
	rtnl_route_add_nexthop(rt, nh); /* the route owns nh now */
	if (r == 0 && mtu)
		r = nl_errno(rtnl_route_set_metric(rt, RTAX_MTU, mtu));
	if (r == 0)
		r = sock_in(nsfd, &sk);
	if (r == 0) {
		r = nl_errno(rtnl_route_add(sk, rt, NLM_F_EXCL));
		nl_socket_free(sk);
	}
	rtnl_route_put(rt);
	return r;
}
