/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Watching the home network namespace (where our UDP sockets are) for its
 * end, as the Linux driver sees the end of an interface's birth namespace
 * (home_verdict.h has the rule; docs/namespaces.md, "When home goes away").
 *
 * Who watches: the process that stays in charge, i.e. the monitor of a
 * separated daemon (monitor.c) or the one process of
 * --disable-drop-privileges (agent.c). Nothing it needs asks for a
 * privilege: the mount table (/proc/self/mountinfo) is readable by anyone,
 * and processes are placed through /proc/PID/task/TID/net/dev, not through
 * /proc/PID/ns/net, which needs ptrace access: the monitor keeps only a few
 * capabilities and could read it for almost no process (netns_tasks.h).
 * Where /proc
 * does not show every process (hidepid, a PID namespace of our own) the
 * answer is "cannot tell", and home is kept.
 *
 * When: names are mounts, so a change of the mount table (polling
 * /proc/self/mountinfo gives EPOLLPRI; `ip netns add`, `attach` and `del`
 * all mount or unmount) makes it look again. While home has no name but
 * another process is in it (or we cannot read one), it looks again on a
 * timer (HOME_WATCH_RECHECK_MIN_SEC, doubling up to _MAX_SEC), so home
 * counts as dead soon after that process leaves.
 */
#ifndef ALTUNTUN_HOME_WATCH_H
#define ALTUNTUN_HOME_WATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "home_verdict.h"
#include "netns_tasks.h"

#define HOME_WATCH_RECHECK_MIN_SEC 1u
#define HOME_WATCH_RECHECK_MAX_SEC 16u
#define HOME_WATCH_NAME_MAX 256

struct home_watch {
	/* An epoll fd over the two below, for the caller's loop (EPOLLIN);
	 * -1: not watching (home is the initial namespace, or it failed). */
	int fd;
	int mounts_fd; /* /proc/self/mountinfo, polled for EPOLLPRI */
	int timer_fd;  /* the recheck timer */
	uint64_t ns_ino;          /* home's nsfs inode (net:[INO]) */
	struct netns_proc_id id;  /* home as /proc/PID/net/dev shows it */
	bool had_name;
	char name[HOME_WATCH_NAME_MAX]; /* the last name seen */
	enum home_verdict last;
	unsigned recheck_sec;
	bool cannot_tell; /* /proc does not show every process: never scans */
	char *text;       /* the mount table as last read (mountinfo_read) */
	size_t text_cap;
};

/* A watch that watches nothing (descriptors -1): safe to close. */
void home_watch_init(struct home_watch *w);
/*
 * Starts watching the calling process's network namespace. Returns 0
 * (w->fd -1 when there is nothing to watch: the initial namespace), or a
 * negative errno with the reason logged as a warning (the daemon runs on;
 * the end of home then does not end it).
 */
int home_watch_open(struct home_watch *w);
/* Closes its descriptors (also in a child after fork). */
void home_watch_close(struct home_watch *w);

/*
 * After w->fd became readable: looks again. Returns true when home is dead
 * (why[cap] says so in one line, for the caller's "stopping: ..."), false
 * otherwise (what changed is logged once). ours[n_ours]: the daemon's own
 * processes, which do not count.
 */
bool home_watch_event(struct home_watch *w, const pid_t *ours, size_t n_ours, char *why,
		      size_t cap);

#endif
