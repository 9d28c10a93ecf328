/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The protocol process's system call filter (libseccomp), loaded once it has
 * dropped its privileges (privsep.c): what the event loop, the data path,
 * the UAPI server, libsodium, logging and malloc need, and nothing else.
 *
 * Three outcomes:
 *   - allowed: the list in seccomp_filter.c, some with argument checks
 *     (no executable memory, socket() only for syslog's AF_UNIX datagram
 *     socket and NETLINK_ROUTE, tgkill only to ourselves);
 *   - refused with an errno: acquiring a new resource the code already
 *     handles failing (open/openat: EACCES; ioctl and other socket()
 *     families: EPERM), e.g. reopening the log on SIGHUP or the link watch
 *     looking at an interface after lost notifications;
 *   - anything else kills the process (SIGSYS); the monitor logs it and
 *     starts a new one. execve, ptrace, clone/fork, setns, unshare, mount,
 *     bpf, keyctl, io_uring and the like are all in this last group, as is
 *     every system call of another architecture (x32, i386 on x86_64).
 */
#ifndef ALTUNTUN_SECCOMP_FILTER_H
#define ALTUNTUN_SECCOMP_FILTER_H

#include <stdbool.h>

/*
 * Loads the filter into the calling process, which must have set
 * no_new_privs (PR_SET_NO_NEW_PRIVS) or hold CAP_SYS_ADMIN. With log_only
 * the default action is to log (SCMP_ACT_LOG: audit lines "type=1326" in
 * the kernel log) instead of killing: for finding what a new code path
 * needs. *n_allowed (if not NULL) receives the number of system calls the
 * filter allows. Returns 0 or a negative errno.
 */
int seccomp_filter_apply(bool log_only, unsigned *n_allowed);

#endif
