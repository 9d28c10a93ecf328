/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Which processes are in a network namespace, seen from /proc without any
 * privilege (home_watch.h uses it to tell whether anything but the daemon
 * lives in its home namespace).
 *
 * /proc/PID/ns/net names a process's namespace, but reading it needs
 * ptrace access to PID (PTRACE_MODE_READ): the daemon's monitor, which has
 * given up most capabilities, or a rootless daemon, may read it for almost
 * no process. /proc/PID/net/ is readable by anyone and shows the files of
 * PID's namespace, and each namespace has its own proc entries, so the
 * inode of /proc/PID/net/dev is the same for every process of one
 * namespace and differs between namespaces (while they live). That inode
 * (with the device) is the identity used here: struct netns_proc_id.
 *
 * Every thread is looked at (/proc/PID/task/TID/net/dev): a thread may
 * have entered another namespace (setns) than its process's.
 */
#ifndef ALTUNTUN_NETNS_TASKS_H
#define ALTUNTUN_NETNS_TASKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define NETNS_PROC_ROOT "/proc"

struct netns_proc_id {
	uint64_t dev, ino;
};

/* The identity of the namespace of proc_root/WHO (a pid, "self",
 * "thread-self", "PID/task/TID"). 0 or a negative errno. */
int netns_proc_id_of(const char *proc_root, const char *who, struct netns_proc_id *id);

struct netns_tasks {
	pid_t found;          /* a process (not skipped) with a thread in the namespace; 0: none */
	unsigned by_comm;     /* processes in the namespace passed over for their comm */
	unsigned unreadable;  /* threads whose namespace could not be read */
	int first_error;      /* the first such error (negative errno), 0 if none */
	unsigned scanned;     /* threads looked at */
};

/*
 * Looks for a thread of any process under proc_root, other than the pids
 * in skip[n_skip] and the processes whose comm (proc_root/PID/comm) is one
 * of skip_comm[] (NULL-terminated; NULL: none), whose namespace is id.
 * Stops at the first one (out->found). Processes and threads that end
 * during the scan are not counted; one whose namespace cannot be read is
 * (out->unreadable). 0, or a negative errno when proc_root itself cannot
 * be read.
 */
int netns_tasks_scan(const char *proc_root, const struct netns_proc_id *id, const pid_t *skip,
		     size_t n_skip, const char *const *skip_comm, struct netns_tasks *out);

/* The comm of proc_root/PID (its newline removed) in out[cap]: 0 or a
 * negative errno. */
int netns_proc_comm(const char *proc_root, pid_t pid, char *out, size_t cap);

/*
 * 0 when /proc shows every process of the system: it is mounted for our
 * PID namespace (/proc/self is us), that is the initial PID namespace, and
 * it hides no process (hidepid, checked by the caller in mountinfo).
 * Otherwise a negative errno with the reason in why[cap].
 */
int netns_tasks_all_visible(char *why, size_t cap);

#endif
