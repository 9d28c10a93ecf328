/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The monitor: what the privileged bootstrap of altuntun-cli becomes once
 * everything is set up (privsep.h, docs/security.md). A small process that
 *   - keeps the TUN fd, the UDP sockets and the listening UAPI socket (the
 *     same open files the protocol process has), and the last configuration;
 *   - forks the protocol process and hands it those (SCM_RIGHTS);
 *   - answers its few requests (fwmark, a new UDP port, the configuration to
 *     keep), checking each one;
 *   - restarts it with the same descriptors and configuration when it dies
 *     in any other way than stopping by itself (at most MONITOR_RESTARTS
 *     times within MONITOR_RESTART_WINDOW_SEC, then gives up);
 *   - on SIGTERM/SIGINT stops it, waits for it, removes the UAPI socket file
 *     and exits; when the socket file is deleted, or when the home namespace
 *     is dead (home_watch.h), does the same; when the protocol process stops
 *     by itself (the interface was deleted), exits with its status;
 *   - keeps only the capabilities it needs for this.
 */
#ifndef ALTUNTUN_MONITOR_H
#define ALTUNTUN_MONITOR_H

struct agent;
struct agent_options;
struct monitor;

#define MONITOR_RESTARTS 5
#define MONITOR_RESTART_WINDOW_SEC 30
/* How long a stopping protocol process gets before SIGKILL. */
#define MONITOR_STOP_TIMEOUT_SEC 10

/* Before anything is created: decides who the protocol process will be
 * (--user). 0, or a negative errno with the reason logged. */
int monitor_new(struct monitor **out, const struct agent_options *opt);
void monitor_free(struct monitor *m);

/*
 * After agent_start() succeeded in the bootstrap: takes the TUN, UDP and
 * UAPI descriptors out of `a` (so that agent_cleanup() leaves them and the
 * socket file alone) and the device's configuration. 0 or a negative errno.
 */
int monitor_take(struct monitor *m, struct agent *a);

/*
 * Runs the monitor until the end; `take_result` is what monitor_take()
 * returned (a failure is reported and ends it). notify_fd: the daemon's
 * readiness pipe, told once the protocol process serves the UAPI. Frees m;
 * returns the exit status.
 */
int monitor_run(struct monitor *m, int take_result, int notify_fd);

#endif
