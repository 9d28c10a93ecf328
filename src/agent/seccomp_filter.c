// SPDX-License-Identifier: BSD-3-Clause
/*
 * The protocol process's seccomp allowlist (see seccomp_filter.h).
 *
 * How the list was found: the netns tests were run with the filter in log
 * mode (ALTUNTUN_SECCOMP=log) and under `strace -f -c`, and every system
 * call the protocol process made after the filter was loaded is below, with
 * the reason. Adding a system call to the data path (sendmmsg batches, UDP
 * GSO, worker threads) means adding it here; tests/netns/privsep.sh runs
 * traffic, wg set/show and restarts under the filter.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <netinet/in.h>
#include <seccomp.h>
#include <stddef.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "seccomp_filter.h"

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif

/* Allowed whatever the arguments. */
static const char *const allowed[] = {
	/* The event loop: epoll, timerfd, signalfd reads, the TUN. */
	"epoll_wait", "epoll_pwait", "epoll_pwait2", "epoll_ctl",
	"read", "write", "readv", "writev", "close",
	"timerfd_settime", "timerfd_gettime",
	/* UDP datagrams, UAPI clients, the monitor's socket (SCM_RIGHTS),
	 * syslog, rtnetlink. */
	"recvmsg", "sendmsg", "recvfrom", "sendto", "recvmmsg", "sendmmsg", "accept4",
	"poll", "ppoll", "getsockname",
	/* syslog reconnecting to /dev/log; a short-lived rtnetlink socket
	 * (link watch after lost notifications or a move). */
	"connect", "bind",
	/* Flags of descriptors received from the monitor. */
	"fcntl",
	/* Clocks (normally the vDSO; these are its fallbacks). */
	"clock_gettime", "clock_getres", "gettimeofday", "time", "clock_nanosleep", "nanosleep",
	/* malloc; mmap and mprotect are below, without PROT_EXEC. */
	"brk", "munmap", "mremap", "madvise",
	/* libsodium's randombytes. */
	"getrandom",
	/* libc internals: locks, signal masks, restarts, exit. */
	"futex", "rt_sigprocmask", "rt_sigreturn", "restart_syscall", "exit", "exit_group",
	/* The encryption thread's own start (it may run only once the filter
	 * is on): restartable sequences, robust futexes. */
	"rseq", "set_robust_list",
	"getpid", "gettid", "getppid", "sched_yield",
	/* Our own ids (logged once the privileges are dropped). */
	"getuid", "geteuid", "getgid", "getegid", "getresuid", "getresgid",
	/* The log file handed over by the monitor after SIGHUP. */
	"dup2", "dup3",
};

/* Refused with an errno: resource acquisitions the code handles failing. */
static const struct {
	const char *name;
	int err;
} refused[] = {
	{ "open", EACCES },
	{ "openat", EACCES },
	{ "openat2", EACCES },
	{ "ioctl", EPERM },
};

static int add(scmp_filter_ctx ctx, uint32_t action, const char *name, unsigned n,
	       const struct scmp_arg_cmp *args)
{
	int nr = seccomp_syscall_resolve_name(name);

	/* Not a system call on this architecture (epoll_wait on arm64...). */
	if (nr == __NR_SCMP_ERROR)
		return 0;
	return seccomp_rule_add_array(ctx, action, nr, n, args);
}

/*
 * Any other socket() is refused, not fatal: EPERM. The rules must not
 * overlap the allowed ones: libseccomp lets a rule without conditions win
 * over conditional rules of the same system call, so an unconditional EPERM
 * would refuse rtnetlink and syslog too. The kernel's domains run from
 * AF_UNSPEC (0) to AF_MAX - 1; AF_UNIX is 1, AF_NETLINK 16.
 */
static int refuse_other_sockets(scmp_filter_ctx ctx)
{
	const uint32_t refuse = SCMP_ACT_ERRNO(EPERM);
	static const int unix_types[] = { SOCK_STREAM, SOCK_RAW, SOCK_RDM, SOCK_SEQPACKET };
	struct scmp_arg_cmp a[2];
	int r = 0;

	a[0] = SCMP_A0(SCMP_CMP_EQ, AF_UNSPEC);
	r = add(ctx, refuse, "socket", 1, a);
	for (int domain = AF_UNIX + 1; domain < AF_NETLINK && !r; domain++) {
		a[0] = SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)domain);
		r = add(ctx, refuse, "socket", 1, a);
	}
	a[0] = SCMP_A0(SCMP_CMP_GT, AF_NETLINK);
	if (!r)
		r = add(ctx, refuse, "socket", 1, a);
	a[0] = SCMP_A0(SCMP_CMP_EQ, AF_UNIX);
	for (size_t i = 0; i < sizeof(unix_types) / sizeof(unix_types[0]) && !r; i++) {
		a[1] = SCMP_A1(SCMP_CMP_MASKED_EQ, 0xf, (scmp_datum_t)unix_types[i]);
		r = add(ctx, refuse, "socket", 2, a);
	}
	a[0] = SCMP_A0(SCMP_CMP_EQ, AF_NETLINK);
	a[1] = SCMP_A2(SCMP_CMP_NE, NETLINK_ROUTE);
	if (!r)
		r = add(ctx, refuse, "socket", 2, a);
	return r;
}

static int add_conditional(scmp_filter_ctx ctx, unsigned *n_allowed)
{
	const uint32_t allow = SCMP_ACT_ALLOW;
	const scmp_datum_t self = (scmp_datum_t)getpid();
	struct scmp_arg_cmp a[2];
	int r;

	/* Memory, never executable: no code can be mapped or made runnable. */
	a[0] = SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0);
	r = add(ctx, allow, "mmap", 1, a);
	if (!r)
		r = add(ctx, allow, "mprotect", 1, a);
	/* Sockets: syslog's AF_UNIX datagram socket and rtnetlink only. */
	a[0] = SCMP_A0(SCMP_CMP_EQ, AF_UNIX);
	a[1] = SCMP_A1(SCMP_CMP_MASKED_EQ, 0xf, SOCK_DGRAM);
	if (!r)
		r = add(ctx, allow, "socket", 2, a);
	a[0] = SCMP_A0(SCMP_CMP_EQ, AF_NETLINK);
	a[1] = SCMP_A2(SCMP_CMP_EQ, NETLINK_ROUTE);
	if (!r)
		r = add(ctx, allow, "socket", 2, a);
	/* Socket options of the socket and netlink levels (buffer sizes,
	 * NETLINK_LISTEN_ALL_NSID) and path MTU discovery; no other IP,
	 * netfilter or packet options. */
	a[0] = SCMP_A1(SCMP_CMP_EQ, SOL_SOCKET);
	if (!r)
		r = add(ctx, allow, "setsockopt", 1, a);
	a[0] = SCMP_A1(SCMP_CMP_EQ, SOL_NETLINK);
	if (!r)
		r = add(ctx, allow, "setsockopt", 1, a);
	/* Fragmenting one datagram toward a link, then not again
	 * (udp_send_fragmented: IP_MTU_DISCOVER, IPV6_DONTFRAG). */
	a[0] = SCMP_A1(SCMP_CMP_EQ, IPPROTO_IP);
	a[1] = SCMP_A2(SCMP_CMP_EQ, IP_MTU_DISCOVER);
	if (!r)
		r = add(ctx, allow, "setsockopt", 2, a);
	a[0] = SCMP_A1(SCMP_CMP_EQ, IPPROTO_IPV6);
	a[1] = SCMP_A2(SCMP_CMP_EQ, IPV6_DONTFRAG);
	if (!r)
		r = add(ctx, allow, "setsockopt", 2, a);
	/* abort() signals its own process (so a failed assertion is reported
	 * as SIGABRT, not as SIGSYS). */
	a[0] = SCMP_A0(SCMP_CMP_EQ, self);
	if (!r)
		r = add(ctx, allow, "tgkill", 1, a);
	if (!r)
		r = refuse_other_sockets(ctx);
	/* mmap, mprotect, socket, setsockopt, tgkill */
	*n_allowed += 5;
	return r;
}

int seccomp_filter_apply(bool log_only, unsigned *n_allowed)
{
	scmp_filter_ctx ctx;
	unsigned n = 0;
	int r = 0;

	ctx = seccomp_init(log_only ? SCMP_ACT_LOG : SCMP_ACT_KILL_PROCESS);
	if (!ctx)
		return -ENOMEM;
	/* no_new_privs is the caller's job (and already set). */
	r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
	/* Every thread of the process, not only the caller. */
	if (!r)
		r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
	for (size_t i = 0; !r && i < sizeof(allowed) / sizeof(allowed[0]); i++) {
		r = add(ctx, SCMP_ACT_ALLOW, allowed[i], 0, NULL);
		n++;
	}
	if (!r)
		r = add_conditional(ctx, &n);
	for (size_t i = 0; !r && i < sizeof(refused) / sizeof(refused[0]); i++)
		r = add(ctx, SCMP_ACT_ERRNO((uint32_t)refused[i].err), refused[i].name, 0, NULL);
	if (!r)
		r = seccomp_load(ctx);
	seccomp_release(ctx);
	if (r < 0)
		return r;
	if (n_allowed)
		*n_allowed = n;
	return 0;
}
