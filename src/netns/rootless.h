/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * --netns into a namespace of a user namespace the caller owns, without
 * privilege at home (docs/namespaces.md, "Rootless"): the bootstrap cannot
 * make a TUN at home and move it, nor setns() into NS from its own user
 * namespace. A short-lived child joins the user namespace and NS, opens
 * what must be made there (the TUN, rtnetlink sockets), passes it back over
 * a socket pair (SCM_RIGHTS) and exits. The UDP sockets stay at home, as
 * slirp4netns and pasta do. The TUN, opened in NS, pins it: the daemon
 * watches the process of --netns pid:PID through a pidfd instead.
 */
#ifndef ALTUNTUN_ROOTLESS_H
#define ALTUNTUN_ROOTLESS_H

#include <sys/types.h>

/*
 * Is NS (nsfd) in a user namespace other than ours that our euid owns, and
 * are we without CAP_SYS_ADMIN here? 1 yes, 0 no, < 0 a negative errno.
 */
int rootless_needed(int nsfd);
/* From now on, sockets "in" a namespace (netns_link_*) are made by a child
 * that joins its user namespace first. */
void rootless_enable(int nsfd);
int rootless_enabled(void);
/* Closes the user namespace's fd at the end of start-up (the pid to watch
 * stays). */
void rootless_release(void);
/* The child: joins NS's user namespace and NS, makes a rtnetlink socket
 * there (bound), returns its fd here or a negative errno. */
int rootless_netlink_socket_in(int nsfd);
/* The same for TUN interface `ifname` (tun_open()): its fd. */
int rootless_tun_open_in(int nsfd, const char *ifname);
/* The process whose end ends the daemon (pid:PID with a pinned NS), 0 if none. */
void rootless_set_watch_pid(pid_t pid);
pid_t rootless_watch_pid(void);

#endif
