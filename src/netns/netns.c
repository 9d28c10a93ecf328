// SPDX-License-Identifier: BSD-3-Clause
/* Network namespaces: naming, opening, stepping in and out (see netns.h). */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "netns.h"

#define THREAD_NETNS "/proc/thread-self/ns/net"

static int put_path(char *path, size_t cap, const char *a, const char *b, const char *c)
{
	int n = snprintf(path, cap, "%s%s%s", a, b, c);

	if (n < 0)
		return -EINVAL;
	if ((size_t)n >= cap)
		return -ENAMETOOLONG;
	return 0;
}

int netns_resolve(const char *spec, char *path, size_t cap)
{
	if (!spec || !spec[0] || !cap)
		return -EINVAL;
	if (!strncmp(spec, "pid:", 4)) {
		const char *p = spec + 4;
		unsigned long pid;
		char *end;

		if (!isdigit((unsigned char)p[0]))
			return -EINVAL;
		errno = 0;
		pid = strtoul(p, &end, 10);
		if (errno || *end || pid == 0 || pid > 0x3fffffff)
			return -EINVAL;
		return put_path(path, cap, "/proc/", p, "/ns/net");
	}
	if (strchr(spec, '/')) {
		char cwd[NETNS_PATH_MAX];

		if (spec[0] == '/')
			return put_path(path, cap, spec, "", "");
		if (!getcwd(cwd, sizeof(cwd)))
			return -errno;
		return put_path(path, cap, cwd, strcmp(cwd, "/") ? "/" : "", spec);
	}
	if (!strcmp(spec, ".") || !strcmp(spec, ".."))
		return -EINVAL;
	return put_path(path, cap, NETNS_RUN_DIR "/", spec, "");
}

int netns_open_path(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK), type;

	if (fd < 0)
		return -errno;
	type = ioctl(fd, NS_GET_NSTYPE);
	if (type != CLONE_NEWNET) {
		int r = type < 0 && errno != ENOTTY && errno != EINVAL ? -errno : -EINVAL;

		close(fd);
		return r;
	}
	return fd;
}

int netns_open_current(void)
{
	int fd = open(THREAD_NETNS, O_RDONLY | O_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

int netns_is_current(int fd)
{
	struct stat a, b;

	if (fstat(fd, &a) < 0 || stat(THREAD_NETNS, &b) < 0)
		return -errno;
	return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

int netns_open_of_tun(int tun_fd)
{
	int fd = ioctl(tun_fd, TUNGETDEVNETNS);

	if (fd < 0)
		return errno == EBADFD ? -ENODEV : -errno;
	return fd;
}

int netns_run_in(int nsfd, int (*fn)(void *ctx), void *ctx)
{
	int home, r;

	if (nsfd < 0)
		return fn(ctx);
	home = netns_open_current();
	if (home < 0)
		return home;
	if (setns(nsfd, CLONE_NEWNET) < 0) {
		r = -errno;
		close(home);
		return r;
	}
	r = fn(ctx);
	if (setns(home, CLONE_NEWNET) < 0) {
		/* Anything opened from now on would be made in, and keep
		 * alive, a namespace that is not ours. */
		log_error("cannot return to the home network namespace: %s", strerror(errno));
		abort();
	}
	close(home);
	return r;
}
