// SPDX-License-Identifier: BSD-3-Clause
/* --netns into a user namespace we own, without privilege (rootless.h). */
#include <errno.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <linux/nsfs.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cap-ng.h>

#include "log.h"
#include "platform.h"
#include "rootless.h"

static int userns_fd = -1;
static pid_t watch_pid;

int rootless_needed(int nsfd)
{
	struct stat ours, theirs;
	uid_t owner;
	int ufd, r;

	if (capng_get_caps_process() == 0 &&
	    capng_have_capability(CAPNG_EFFECTIVE, CAP_SYS_ADMIN))
		return 0;
	ufd = ioctl(nsfd, NS_GET_USERNS);
	if (ufd < 0)
		return errno == EPERM ? 0 : -errno;
	r = 0;
	if (fstat(ufd, &theirs) == 0 && stat("/proc/self/ns/user", &ours) == 0 &&
	    (theirs.st_dev != ours.st_dev || theirs.st_ino != ours.st_ino) &&
	    ioctl(ufd, NS_GET_OWNER_UID, &owner) == 0 && owner == geteuid())
		r = 1;
	close(ufd);
	return r;
}

void rootless_enable(int nsfd)
{
	if (userns_fd >= 0)
		close(userns_fd);
	userns_fd = ioctl(nsfd, NS_GET_USERNS);
	if (userns_fd >= 0)
		(void)fcntl(userns_fd, F_SETFD, FD_CLOEXEC);
}

int rootless_enabled(void)
{
	return userns_fd >= 0;
}

void rootless_release(void)
{
	if (userns_fd >= 0)
		close(userns_fd);
	userns_fd = -1;
}

void rootless_set_watch_pid(pid_t pid)
{
	watch_pid = pid;
}

pid_t rootless_watch_pid(void)
{
	return watch_pid;
}

static int send_result(int sock, int fd, int err)
{
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { .iov_base = &err, .iov_len = sizeof(err) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *cm;

	if (fd >= 0) {
		memset(cbuf, 0, sizeof(cbuf));
		msg.msg_control = cbuf;
		msg.msg_controllen = sizeof(cbuf);
		cm = CMSG_FIRSTHDR(&msg);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	}
	return sendmsg(sock, &msg, MSG_NOSIGNAL) < 0 ? -errno : 0;
}

static int recv_result(int sock)
{
	char cbuf[CMSG_SPACE(sizeof(int))];
	int err = -EIO, fd = -1;
	struct iovec iov = { .iov_base = &err, .iov_len = sizeof(err) };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf)
	};
	struct cmsghdr *cm;
	ssize_t n;

	do
		n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	if (n != sizeof(err))
		return -EIO;
	for (cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm))
		if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS)
			memcpy(&fd, CMSG_DATA(cm), sizeof(int));
	if (err < 0) {
		if (fd >= 0)
			close(fd);
		return err;
	}
	return fd >= 0 ? fd : -EIO;
}

/* Runs make(ctx) in a child inside NS's user namespace and NS; returns the
 * fd it made. */
static int make_in(int nsfd, int (*make)(const void *ctx), const void *ctx)
{
	int sp[2], r, st;
	pid_t pid;

	if (userns_fd < 0)
		return -EINVAL;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0)
		return -errno;
	pid = fork();
	if (pid < 0) {
		r = -errno;
		close(sp[0]);
		close(sp[1]);
		return r;
	}
	if (pid == 0) {
		close(sp[0]);
		(void)prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
		if (setns(userns_fd, CLONE_NEWUSER) < 0 || setns(nsfd, CLONE_NEWNET) < 0)
			r = -errno;
		else
			r = make(ctx);
		send_result(sp[1], r, r < 0 ? r : 0);
		_exit(0);
	}
	close(sp[1]);
	r = recv_result(sp[0]);
	close(sp[0]);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	return r;
}

static int make_netlink(const void *ctx)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);

	(void)ctx;
	if (fd < 0)
		return -errno;
	/* Bound here (port chosen by the kernel), so that libnl learns it. */
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int r = -errno;

		close(fd);
		return r;
	}
	return fd;
}

int rootless_netlink_socket_in(int nsfd)
{
	return make_in(nsfd, make_netlink, NULL);
}

static int make_tun(const void *ctx)
{
	char actual[IFNAMSIZ];

	return tun_open(ctx, actual);
}

int rootless_tun_open_in(int nsfd, const char *ifname)
{
	return make_in(nsfd, make_tun, ifname);
}
