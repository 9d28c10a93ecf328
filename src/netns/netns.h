/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Network namespaces for `altuntun-cli --netns NS`: naming one, opening it,
 * and doing something inside it for a moment.
 *
 * The agent never lives in the target namespace: it only steps in (setns in
 * the calling thread) to create a netlink socket there, and steps straight
 * back. Whatever is opened inside must be closed soon after, since any fd
 * of the namespace (its nsfs file, a socket made there) keeps it alive.
 * See docs/namespaces.md.
 *
 * Functions return 0 (or an fd) on success and a negative errno on failure.
 */
#ifndef ALTUNTUN_NETNS_H
#define ALTUNTUN_NETNS_H

#include <stdbool.h>
#include <stddef.h>

#define NETNS_RUN_DIR "/var/run/netns"
#define NETNS_PATH_MAX 4096

/*
 * The file of the namespace a --netns argument names:
 *   NAME     /var/run/netns/NAME, as ip-netns(8) creates them
 *   pid:PID  /proc/PID/ns/net
 *   PATH     anything containing '/': a namespace file (/proc/PID/ns/net,
 *            a bind mount); a relative path is taken from the current
 *            directory (the daemon changes to / later)
 * Returns 0, -EINVAL (empty, "." or "..", a bad pid) or -ENAMETOOLONG.
 */
int netns_resolve(const char *spec, char *path, size_t cap);

/* Opens a namespace file (O_RDONLY | O_CLOEXEC). -EINVAL if it is not a
 * network namespace (another namespace type, an ordinary file). */
int netns_open_path(const char *path);
/* Opens the calling thread's network namespace. */
int netns_open_current(void);
/* 1 when fd is the calling thread's network namespace, 0 if not. */
int netns_is_current(int fd);
/* Opens the namespace of the interface behind a TUN fd (TUNGETDEVNETNS;
 * needs CAP_NET_ADMIN there). -ENODEV when the device is gone. */
int netns_open_of_tun(int tun_fd);

/*
 * Runs fn(ctx) with the calling thread in namespace nsfd and brings it back
 * to where it was; returns what fn returned. nsfd -1 runs fn here. If the
 * thread cannot return home (which setns(2) gives no reason for once it
 * could enter), the process aborts rather than go on in the wrong place.
 */
int netns_run_in(int nsfd, int (*fn)(void *ctx), void *ctx);

#endif
