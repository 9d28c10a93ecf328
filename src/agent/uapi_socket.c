// SPDX-License-Identifier: BSD-3-Clause
/* The UAPI socket file (see uapi_socket.h). */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "uapi_socket.h"

#define UAPI_BACKLOG 128

int uapi_socket_path(char out[UAPI_SOCKET_PATH_MAX], const char *name)
{
	return uapi_socket_path_in(out, UAPI_SOCKET_DIR, name);
}

int uapi_socket_path_in(char out[UAPI_SOCKET_PATH_MAX], const char *dir, const char *name)
{
	int n = snprintf(out, UAPI_SOCKET_PATH_MAX, "%s/%s.sock", dir, name);

	if (n < 0 || (size_t)n >= UAPI_SOCKET_PATH_MAX)
		return -ENAMETOOLONG;
	return 0;
}

static int fill_addr(struct sockaddr_un *sun, const char *path)
{
	size_t len = strlen(path);

	if (len == 0 || len >= sizeof(sun->sun_path))
		return -ENAMETOOLONG;
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	memcpy(sun->sun_path, path, len);
	return 0;
}

/* The directory of `path`: created 0700 if missing, else used as it is. */
static int ensure_dir(const char *path)
{
	char copy[UAPI_SOCKET_PATH_MAX];
	const char *dir;
	struct stat st;

	snprintf(copy, sizeof(copy), "%s", path);
	dir = dirname(copy);
	if (mkdir(dir, 0700) == 0) {
		log_debug("created %s", dir);
		return 0;
	}
	if (errno != EEXIST)
		return -errno;
	if (stat(dir, &st) < 0)
		return -errno;
	if (!S_ISDIR(st.st_mode))
		return -ENOTDIR;
	return 0;
}

/* Does a process accept connections on `path`? 1 yes, 0 no, < 0 error. */
static int is_live(const char *path)
{
	struct sockaddr_un sun;
	int fd, r;

	r = fill_addr(&sun, path);
	if (r < 0)
		return r;
	/* Non-blocking: a live server with a full backlog answers EAGAIN
	 * instead of making us wait. */
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0)
		r = 1;
	else if (errno == EAGAIN || errno == EINPROGRESS)
		r = 1;
	else if (errno == ECONNREFUSED || errno == ENOENT)
		r = 0;
	else
		r = -errno;
	close(fd);
	return r;
}

int uapi_socket_check(const char *path)
{
	struct stat st;
	int r;

	r = ensure_dir(path);
	if (r < 0)
		return r;
	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode))
		return -EEXIST;
	r = is_live(path);
	if (r < 0)
		return r;
	if (r > 0)
		return -EADDRINUSE;
	/* Stale: its process died without removing it. */
	if (unlink(path) < 0 && errno != ENOENT)
		return -errno;
	log_info("removed the stale socket %s", path);
	return 0;
}

int uapi_socket_listen(struct uapi_socket *s, const char *path)
{
	struct sockaddr_un sun;
	mode_t old_mask;
	int r;

	s->fd = s->watch_fd = -1;
	s->have_file = false;
	r = fill_addr(&sun, path);
	if (r < 0)
		return r;
	s->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->fd < 0)
		return -errno;
	/* Created 0600 from the start: no window where others may connect. */
	old_mask = umask(0077);
	r = bind(s->fd, (struct sockaddr *)&sun, sizeof(sun));
	umask(old_mask);
	if (r < 0) {
		r = -errno;
		goto fail;
	}
	snprintf(s->path, sizeof(s->path), "%s", path);
	if (lstat(path, &s->st) < 0) {
		r = -errno;
		goto fail;
	}
	s->have_file = true;
	if (chmod(path, 0600) < 0 || listen(s->fd, UAPI_BACKLOG) < 0) {
		r = -errno;
		goto fail;
	}
	return 0;
fail:
	uapi_socket_close(s);
	return r;
}

int uapi_socket_adopt(struct uapi_socket *s, int fd, const char *fallback_path)
{
	struct sockaddr_un sun;
	socklen_t len = sizeof(int);
	int val, fl;

	s->fd = s->watch_fd = -1;
	s->have_file = false;
	if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &val, &len) < 0)
		return -errno;
	if (val != AF_UNIX)
		return -EAFNOSUPPORT;
	len = sizeof(int);
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &val, &len) < 0)
		return -errno;
	if (val != SOCK_STREAM)
		return -EPROTOTYPE;
	len = sizeof(int);
	if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &val, &len) < 0)
		return -errno;
	if (!val)
		return -EINVAL;
	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0 ||
	    fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)
		return -errno;
	s->fd = fd;

	len = sizeof(sun);
	memset(&sun, 0, sizeof(sun));
	if (getsockname(fd, (struct sockaddr *)&sun, &len) == 0 &&
	    len > offsetof(struct sockaddr_un, sun_path) && sun.sun_path[0] == '/') {
		sun.sun_path[sizeof(sun.sun_path) - 1] = '\0';
		snprintf(s->path, sizeof(s->path), "%s", sun.sun_path);
	} else if (fallback_path) {
		snprintf(s->path, sizeof(s->path), "%s", fallback_path);
	} else {
		return 0;
	}
	if (lstat(s->path, &s->st) == 0 && S_ISSOCK(s->st.st_mode))
		s->have_file = true;
	return 0;
}

int uapi_socket_watch(struct uapi_socket *s)
{
	char copy[UAPI_SOCKET_PATH_MAX];

	if (!s->have_file)
		return 0;
	snprintf(copy, sizeof(copy), "%s", s->path);
	s->watch_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (s->watch_fd < 0)
		return -errno;
	/* The bound socket keeps the inode alive, so the file itself never
	 * reports IN_DELETE_SELF: watch the directory entry instead. */
	if (inotify_add_watch(s->watch_fd, dirname(copy),
			      IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_CREATE | IN_DELETE_SELF |
				      IN_MOVE_SELF | IN_ONLYDIR) < 0) {
		int r = -errno;

		close(s->watch_fd);
		s->watch_fd = -1;
		return r;
	}
	return 0;
}

static bool is_ours(const struct uapi_socket *s)
{
	struct stat st;

	return s->have_file && lstat(s->path, &st) == 0 && st.st_dev == s->st.st_dev &&
	       st.st_ino == s->st.st_ino;
}

bool uapi_socket_still_there(struct uapi_socket *s)
{
	union {
		struct inotify_event ev;
		char buf[4096];
	} u;

	/* Drain the queue; what happened is read from the file system. */
	for (int i = 0; i < 64; i++) {
		ssize_t n = read(s->watch_fd, u.buf, sizeof(u.buf));

		if (n > 0 || (n < 0 && errno == EINTR))
			continue;
		break;
	}
	return is_ours(s);
}

void uapi_socket_close(struct uapi_socket *s)
{
	if (s->watch_fd >= 0)
		close(s->watch_fd);
	s->watch_fd = -1;
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
	if (is_ours(s) && unlink(s->path) < 0 && errno != ENOENT)
		log_warn("cannot remove %s: %s", s->path, strerror(errno));
	s->have_file = false;
}
