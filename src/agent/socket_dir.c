// SPDX-License-Identifier: BSD-3-Clause
/* The UAPI socket's directory (see socket_dir.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "socket_dir.h"
#include "uapi_socket.h"

/* Writable and searchable by us (effective ids and capabilities). */
static bool writable(const char *dir)
{
	return faccessat(AT_FDCWD, dir, W_OK | X_OK, AT_EACCESS) == 0;
}

static bool system_dir_usable(void)
{
	struct stat st;

	if (stat(UAPI_SOCKET_DIR, &st) == 0)
		return S_ISDIR(st.st_mode) && writable(UAPI_SOCKET_DIR);
	if (errno != ENOENT)
		return false;
	/* Missing: can we create it? (/var/run itself.) */
	return writable("/var/run");
}

int socket_dir_pick(char *out, size_t size, bool *is_user, char *why, size_t why_size)
{
	const char *xdg;
	struct stat st;
	int n;

	*is_user = false;
	why[0] = 0;
	if (system_dir_usable()) {
		n = snprintf(out, size, "%s", UAPI_SOCKET_DIR);
		return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
	}
	/* Not secure_getenv: with a file capability (AT_SECURE) the caller's
	 * own runtime directory is exactly what we want; we create nothing
	 * the caller could not create (no CAP_DAC_OVERRIDE), and the
	 * directory must be the caller's. */
	xdg = getenv("XDG_RUNTIME_DIR");
	if (!xdg || xdg[0] != '/') {
		snprintf(why, why_size,
			 "%s is not writable by uid %u and XDG_RUNTIME_DIR is %s: set "
			 "XDG_RUNTIME_DIR to a directory of yours (mode 0700), or run as root",
			 UAPI_SOCKET_DIR, (unsigned)geteuid(), xdg ? "not an absolute path" : "not set");
		return -EACCES;
	}
	if (stat(xdg, &st) < 0 || !S_ISDIR(st.st_mode)) {
		snprintf(why, why_size, "%s is not writable by uid %u and XDG_RUNTIME_DIR=%s is not a directory",
			 UAPI_SOCKET_DIR, (unsigned)geteuid(), xdg);
		return -ENOTDIR;
	}
	if (st.st_uid != geteuid() || (st.st_mode & 0077)) {
		snprintf(why, why_size,
			 "%s is not writable by uid %u and XDG_RUNTIME_DIR=%s is not ours with "
			 "mode 0700 (owner %u, mode %04o)",
			 UAPI_SOCKET_DIR, (unsigned)geteuid(), xdg, (unsigned)st.st_uid,
			 (unsigned)(st.st_mode & 07777));
		return -EPERM;
	}
	n = snprintf(out, size, "%s/wireguard", xdg);
	if (n < 0 || (size_t)n >= size)
		return -ENAMETOOLONG;
	if (mkdir(out, 0700) < 0 && errno != EEXIST) {
		n = -errno;
		snprintf(why, why_size, "cannot create %s: %s", out, strerror(-n));
		return n;
	}
	if (lstat(out, &st) < 0 || !S_ISDIR(st.st_mode) || st.st_uid != geteuid()) {
		snprintf(why, why_size, "%s is not a directory of uid %u", out, (unsigned)geteuid());
		return -EPERM;
	}
	*is_user = true;
	return 0;
}
