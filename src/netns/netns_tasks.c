// SPDX-License-Identifier: BSD-3-Clause
/* Processes in a network namespace, from /proc (see netns_tasks.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "netns_tasks.h"

/* The inode number of the initial PID namespace, fixed by the kernel
 * (PROC_PID_INIT_INO, include/linux/proc_ns.h). */
#define PID_NS_INIT_INO 0xEFFFFFFCu

int netns_proc_id_of(const char *proc_root, const char *who, struct netns_proc_id *id)
{
	char path[512];
	struct stat st;
	int n = snprintf(path, sizeof(path), "%s/%s/net/dev", proc_root, who);

	if (n < 0 || (size_t)n >= sizeof(path))
		return -ENAMETOOLONG;
	if (stat(path, &st) < 0)
		return -errno;
	id->dev = (uint64_t)st.st_dev;
	id->ino = (uint64_t)st.st_ino;
	return 0;
}

/* A directory entry's name as a pid: all digits, > 0. */
static pid_t entry_pid(const char *name)
{
	unsigned long v = 0;

	if (!*name)
		return 0;
	for (const char *s = name; *s; s++) {
		if (*s < '0' || *s > '9')
			return 0;
		v = v * 10 + (unsigned long)(*s - '0');
		if (v > 0x3fffffff)
			return 0;
	}
	return (pid_t)v;
}

static bool skipped(pid_t pid, const pid_t *skip, size_t n_skip)
{
	for (size_t i = 0; i < n_skip; i++)
		if (skip[i] == pid)
			return true;
	return false;
}

int netns_proc_comm(const char *proc_root, pid_t pid, char *out, size_t cap)
{
	char path[512];
	ssize_t n;
	int fd;

	if (cap < 2)
		return -EINVAL;
	snprintf(path, sizeof(path), "%s/%d/comm", proc_root, (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, out, cap - 1);
	if (n < 0)
		n = -errno;
	close(fd);
	if (n <= 0)
		return n < 0 ? (int)n : -ENODATA;
	out[n] = '\0';
	out[strcspn(out, "\n")] = '\0';
	return 0;
}

/* Is pid's comm one of names[]? A comm that cannot be read is not. */
static bool comm_is(const char *proc_root, pid_t pid, const char *const *names)
{
	char comm[32];

	if (!names || netns_proc_comm(proc_root, pid, comm, sizeof(comm)) < 0)
		return false;
	for (; *names; names++)
		if (!strcmp(comm, *names))
			return true;
	return false;
}

/* Something could not be read: remembered, so no decision rests on it.
 * ENOENT and ESRCH mean the process or thread ended: not counted. */
static void unreadable(struct netns_tasks *out, int err)
{
	if (err == -ENOENT || err == -ESRCH)
		return;
	out->unreadable++;
	if (!out->first_error)
		out->first_error = err;
}

/* The threads of one process: 1 when one is in namespace id. */
static int scan_process(const char *proc_root, pid_t pid, const struct netns_proc_id *id,
			struct netns_tasks *out)
{
	char path[512], who[64];
	struct dirent *de;
	int hit = 0;
	DIR *d;

	snprintf(path, sizeof(path), "%s/%d/task", proc_root, (int)pid);
	d = opendir(path);
	if (!d) {
		unreadable(out, -errno);
		return 0;
	}
	while (!hit && (de = readdir(d))) {
		struct netns_proc_id t;
		pid_t tid = entry_pid(de->d_name);
		int r;

		if (!tid)
			continue;
		out->scanned++;
		snprintf(who, sizeof(who), "%d/task/%d", (int)pid, (int)tid);
		r = netns_proc_id_of(proc_root, who, &t);
		if (r < 0)
			unreadable(out, r);
		else if (t.dev == id->dev && t.ino == id->ino)
			hit = 1;
	}
	closedir(d);
	return hit;
}

int netns_tasks_scan(const char *proc_root, const struct netns_proc_id *id, const pid_t *skip,
		     size_t n_skip, const char *const *skip_comm, struct netns_tasks *out)
{
	struct dirent *de;
	DIR *d;

	memset(out, 0, sizeof(*out));
	d = opendir(proc_root);
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		pid_t pid = entry_pid(de->d_name);

		if (!pid || skipped(pid, skip, n_skip) || !scan_process(proc_root, pid, id, out))
			continue;
		/* Only a process in the namespace has its comm read. */
		if (comm_is(proc_root, pid, skip_comm)) {
			out->by_comm++;
			continue;
		}
		out->found = pid;
		break;
	}
	closedir(d);
	return 0;
}

int netns_tasks_all_visible(char *why, size_t cap)
{
	char self[32];
	struct stat st;
	ssize_t n;

	n = readlink(NETNS_PROC_ROOT "/self", self, sizeof(self) - 1);
	if (n < 0) {
		snprintf(why, cap, "cannot read %s/self: %s", NETNS_PROC_ROOT, strerror(errno));
		return -errno;
	}
	self[n] = '\0';
	if (entry_pid(self) != getpid()) {
		snprintf(why, cap, "%s belongs to another PID namespace than ours", NETNS_PROC_ROOT);
		return -EXDEV;
	}
	if (stat(NETNS_PROC_ROOT "/self/ns/pid", &st) < 0) {
		snprintf(why, cap, "cannot read our PID namespace: %s", strerror(errno));
		return -errno;
	}
	if ((uint64_t)st.st_ino != PID_NS_INIT_INO) {
		snprintf(why, cap, "we run in a PID namespace of our own, which does not show "
			 "every process");
		return -EXDEV;
	}
	return 0;
}
