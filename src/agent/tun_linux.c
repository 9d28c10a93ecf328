// SPDX-License-Identifier: BSD-3-Clause
/* TUN devices on Linux (see platform.h). */
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <linux/virtio_net.h>
#include <stdbool.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "platform.h"

#define TUN_CLONE_DEVICE "/dev/net/tun"

/* A zeroed ifreq naming `name`; -EINVAL for an empty or too long name. */
static int ifreq_for(struct ifreq *ifr, const char *name)
{
	size_t len = strnlen(name, IFNAMSIZ);

	memset(ifr, 0, sizeof(*ifr));
	if (len == 0 || len >= IFNAMSIZ)
		return -EINVAL;
	memcpy(ifr->ifr_name, name, len + 1);
	return 0;
}

/* Whether tun_open() asks for IFF_VNET_HDR (tun_open_vnet_hdr()). */
static bool want_vnet_hdr;

void tun_open_vnet_hdr(bool on)
{
	want_vnet_hdr = on;
}

int tun_open(const char *name, char actual[IFNAMSIZ])
{
	struct ifreq ifr;
	int fd, r;

	r = ifreq_for(&ifr, name);
	if (r < 0)
		return r;
	ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
	if (want_vnet_hdr)
		ifr.ifr_flags |= IFF_VNET_HDR;

	fd = open(TUN_CLONE_DEVICE, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	ifr.ifr_name[IFNAMSIZ - 1] = '\0';
	memcpy(actual, ifr.ifr_name, IFNAMSIZ);
	return fd;
}

int tun_name_of_fd(int fd, char name[IFNAMSIZ])
{
	struct ifreq ifr;
	int fl;

	memset(&ifr, 0, sizeof(ifr));
	if (ioctl(fd, TUNGETIFF, &ifr) < 0)
		return errno == EBADFD ? -ENODEV : -errno;
	/* The data path reads IP packets: no TAP, no packet information
	 * header. A virtio-net header is fine (tun_offload_enable()). */
	if ((ifr.ifr_flags & (IFF_TUN | IFF_TAP)) != IFF_TUN || !(ifr.ifr_flags & IFF_NO_PI))
		return -EPROTONOSUPPORT;
	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -errno;
	if (fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)
		return -errno;
	ifr.ifr_name[IFNAMSIZ - 1] = '\0';
	memcpy(name, ifr.ifr_name, IFNAMSIZ);
	return 0;
}

/* Runs an interface ioctl on a throw-away socket of the current namespace. */
static int if_ioctl(unsigned long req, struct ifreq *ifr)
{
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), r = 0;

	if (s < 0)
		return -errno;
	if (ioctl(s, req, ifr) < 0)
		r = -errno;
	close(s);
	return r;
}

int tun_set_mtu(const char *name, unsigned mtu)
{
	struct ifreq ifr;
	int r;

	if (mtu == 0 || mtu > 65535)
		return -EINVAL;
	r = ifreq_for(&ifr, name);
	if (r < 0)
		return r;
	ifr.ifr_mtu = (int)mtu;
	return if_ioctl(SIOCSIFMTU, &ifr);
}

int tun_get_mtu(const char *name, unsigned *mtu)
{
	struct ifreq ifr;
	int r;

	r = ifreq_for(&ifr, name);
	if (r < 0)
		return r;
	r = if_ioctl(SIOCGIFMTU, &ifr);
	if (r < 0)
		return r;
	if (ifr.ifr_mtu <= 0)
		return -EINVAL;
	*mtu = (unsigned)ifr.ifr_mtu;
	return 0;
}

int tun_set_up(const char *name)
{
	struct ifreq ifr;
	int r;

	r = ifreq_for(&ifr, name);
	if (r < 0)
		return r;
	r = if_ioctl(SIOCGIFFLAGS, &ifr);
	if (r < 0)
		return r;
	if (ifr.ifr_flags & IFF_UP)
		return 0;
	ifr.ifr_flags |= IFF_UP;
	return if_ioctl(SIOCSIFFLAGS, &ifr);
}

ssize_t tun_read(int fd, uint8_t *buf, size_t cap)
{
	ssize_t n;

	do
		n = read(fd, buf, cap);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	return n;
}

ssize_t tun_write(int fd, const uint8_t *buf, size_t len)
{
	ssize_t n;

	do
		n = write(fd, buf, len);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	return n;
}

/* Not in older userspace headers (Linux 6.2). */
#ifndef TUN_F_USO4
#define TUN_F_USO4 0x20
#endif
#ifndef TUN_F_USO6
#define TUN_F_USO6 0x40
#endif

int tun_offload_enable(int fd, bool want, unsigned *features)
{
	/* Most wanted first; the kernel refuses a set with a flag it does not
	 * know (USO before Linux 6.2). */
	static const unsigned sets[] = {
		TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN | TUN_F_USO4 | TUN_F_USO6,
		TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_USO4 | TUN_F_USO6,
		TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN,
		TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6,
		TUN_F_CSUM,
	};
	struct ifreq ifr;
	int hdr_sz = (int)sizeof(struct virtio_net_hdr);

	*features = 0;
	memset(&ifr, 0, sizeof(ifr));
	if (ioctl(fd, TUNGETIFF, &ifr) < 0)
		return -errno;
	if (!(ifr.ifr_flags & IFF_VNET_HDR))
		return 0;
	if (ioctl(fd, TUNSETVNETHDRSZ, &hdr_sz) < 0)
		return -errno;
	if (want) {
		for (size_t i = 0; i < sizeof(sets) / sizeof(sets[0]); i++) {
			if (ioctl(fd, TUNSETOFFLOAD, (unsigned long)sets[i]) == 0) {
				*features = sets[i];
				return 1;
			}
		}
	}
	/* Nothing offloaded: plain packets, each after a header all the same. */
	(void)ioctl(fd, TUNSETOFFLOAD, 0ul);
	return 1;
}

ssize_t tun_read_vnet(int fd, struct virtio_net_hdr *h, uint8_t *buf, size_t cap)
{
	struct iovec iov[2] = {
		{ .iov_base = h, .iov_len = sizeof(*h) },
		{ .iov_base = buf, .iov_len = cap },
	};
	ssize_t n;

	do
		n = readv(fd, iov, 2);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	if ((size_t)n < sizeof(*h))
		return -EPROTO;
	return n - (ssize_t)sizeof(*h);
}

ssize_t tun_writev(int fd, const struct iovec *iov, int iovcnt)
{
	ssize_t n;

	do
		n = writev(fd, iov, iovcnt);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	return n;
}
