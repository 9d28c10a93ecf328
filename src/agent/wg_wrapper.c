// SPDX-License-Identifier: BSD-3-Clause
/* `altuntun-cli wg ARGS...` (see wg_wrapper.h). */
#include <cap-ng.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "wg_wrapper.h"

#define PROG "altuntun-cli wg"

static int write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, text, strlen(text));
	if (n < 0) {
		n = -errno;
		close(fd);
		return (int)n;
	}
	close(fd);
	return 0;
}

static void run_wg(char **argv)
{
	execvp("wg", argv);
	fprintf(stderr, "%s: cannot run wg: %s\n", PROG, strerror(errno));
}

int wg_wrapper_main(int argc, char **argv)
{
	char dir[PATH_MAX], run[PATH_MAX], target[PATH_MAX + 16], map[64];
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	uid_t uid = getuid();
	gid_t gid = getgid();
	struct stat st;
	int r;

	(void)argc;
	/* Nothing of a file capability goes further (wg is exec'd anyway). */
	capng_clear(CAPNG_SELECT_BOTH);
	capng_apply(CAPNG_SELECT_BOTH);
	if (setresgid(gid, gid, gid) < 0 || setresuid(uid, uid, uid) < 0) {
		fprintf(stderr, "%s: cannot drop privileges: %s\n", PROG, strerror(errno));
		return 1;
	}
	if (uid == 0 || !xdg || xdg[0] != '/') {
		run_wg(argv);
		return 1;
	}
	r = snprintf(dir, sizeof(dir), "%s/wireguard", xdg);
	if (r < 0 || (size_t)r >= sizeof(dir) || stat(dir, &st) < 0 || !S_ISDIR(st.st_mode) ||
	    st.st_uid != uid) {
		/* No sockets of ours: /var/run/wireguard as it is. */
		run_wg(argv);
		return 1;
	}
	/* /var/run is a symlink to /run on most systems: cover what it is. */
	if (!realpath("/var/run", run))
		snprintf(run, sizeof(run), "/var/run");
	/* A file capability made us non-dumpable, which makes the uid_map and gid_map files
	 * root's; we hold nothing secret here. */
	prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
	if (unshare(CLONE_NEWUSER | CLONE_NEWNS) < 0) {
		fprintf(stderr, "%s: cannot make a user and mount namespace (unshare): %s\n", PROG,
			strerror(errno));
		return 1;
	}
	snprintf(map, sizeof(map), "%u %u 1\n", (unsigned)uid, (unsigned)uid);
	r = write_file("/proc/self/setgroups", "deny");
	if (r == 0 || r == -ENOENT)
		r = write_file("/proc/self/uid_map", map);
	if (r == 0) {
		snprintf(map, sizeof(map), "%u %u 1\n", (unsigned)gid, (unsigned)gid);
		r = write_file("/proc/self/gid_map", map);
	}
	if (r < 0) {
		fprintf(stderr, "%s: cannot map uid %u in the user namespace: %s\n", PROG,
			(unsigned)uid, strerror(-r));
		return 1;
	}
	snprintf(target, sizeof(target), "%s/wireguard", run);
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
	    mount("altuntun-wg", run, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0755") < 0 ||
	    mkdir(target, 0700) < 0 || mount(dir, target, NULL, MS_BIND, NULL) < 0) {
		fprintf(stderr, "%s: cannot show %s as %s: %s\n", PROG, dir, target,
			strerror(errno));
		return 1;
	}
	run_wg(argv);
	return 1;
}
