// SPDX-License-Identifier: BSD-3-Clause
/* The home watch's pieces: mountinfo, the process scan, the verdict. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "home_verdict.h"
#include "mountinfo.h"
#include "netns_tasks.h"
#include "test.h"

TEST(mountinfo_parse_fields)
{
	char line[] = "46 45 0:4 net:[4026532174] /run/netns/blue rw shared:2 master:7 - nsfs "
		      "nsfs rw";
	char esc[] = "30 27 254:0 /a\\040b /mnt/with\\040space\\134x rw,relatime - ext4 "
		     "/dev/vda rw,discard";
	struct mountinfo_entry e;

	CHECK_EQ(mountinfo_parse_line(line, &e), 0);
	CHECK(!strcmp(e.root, "net:[4026532174]"));
	CHECK(!strcmp(e.mount_point, "/run/netns/blue"));
	CHECK(!strcmp(e.fstype, "nsfs"));
	CHECK(!strcmp(e.source, "nsfs"));
	CHECK(!strcmp(e.super_opts, "rw"));
	/* No optional fields, and the kernel's octal escapes. */
	CHECK_EQ(mountinfo_parse_line(esc, &e), 0);
	CHECK(!strcmp(e.root, "/a b"));
	CHECK(!strcmp(e.mount_point, "/mnt/with space\\x"));
	CHECK(!strcmp(e.super_opts, "rw,discard"));
}

TEST(mountinfo_parse_refuses)
{
	const char *bad[] = {
		"",
		"46 45 0:4 net:[1] /run/netns/a rw nsfs nsfs rw", /* no " - " */
		"46 45 0:4 net:[1] /run/netns/a rw -",             /* nothing after it */
		"46 45 0:4 net:[1] /run/netns/a rw - nsfs nsfs",   /* no super options */
		"46 45 0:4 net:[1] /run/netns/a rw - nsfs nsfs rw extra",
		"46 45 0:4 net:[1]  /run/netns/a rw - nsfs nsfs rw", /* empty field */
		"46 45",
	};
	struct mountinfo_entry e;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *line = strdup(bad[i]);

		CHECK(line != NULL);
		CHECK_EQ(mountinfo_parse_line(line, &e), -EINVAL);
		free(line);
	}
}

TEST(mountinfo_netns_inode)
{
	struct mountinfo_entry e = { .fstype = "nsfs", .root = "net:[4026532174]" };
	uint64_t ino = 0;

	CHECK_EQ(mountinfo_netns_of(&e, &ino), 1);
	CHECK_EQ(ino, 4026532174ull);
	e.root = "mnt:[4026532174]"; /* another namespace type */
	CHECK_EQ(mountinfo_netns_of(&e, &ino), 0);
	e.root = "net:[]";
	CHECK_EQ(mountinfo_netns_of(&e, &ino), 0);
	e.root = "net:[12a]";
	CHECK_EQ(mountinfo_netns_of(&e, &ino), 0);
	e.root = "net:[12]x";
	CHECK_EQ(mountinfo_netns_of(&e, &ino), 0);
	e.root = "net:[99999999999999999999999]"; /* over 64 bits */
	CHECK_EQ(mountinfo_netns_of(&e, &ino), 0);
	e.root = "net:[4026532174]";
	e.fstype = "tmpfs";
	CHECK_EQ(mountinfo_netns_of(&e, &ino), 0);
}

static const char sample[] =
	"22 27 0:21 / /proc rw,relatime - proc proc rw\n"
	"27 1 254:0 / / rw,relatime - ext4 /dev/vda rw\n"
	"46 45 0:4 net:[4026532174] /run/netns/blue rw shared:2 - nsfs nsfs rw\n"
	"47 45 0:4 net:[4026532239] /run/netns/red rw shared:3 - nsfs nsfs rw\n"
	"garbage line\n"
	"48 45 0:4 net:[4026532174] /tmp/other\\040name rw - nsfs nsfs rw\n"
	"49 45 0:4 mnt:[4026532174] /run/mntns rw - nsfs nsfs rw\n"
	"50 45 0:4 net:[4026532174] /run/netns/nofields rw -";

TEST(mountinfo_counts_names)
{
	char first[64];

	CHECK_EQ(mountinfo_netns_names(sample, 4026532174ull, first, sizeof(first)), 2);
	CHECK(!strcmp(first, "/run/netns/blue"));
	CHECK_EQ(mountinfo_netns_names(sample, 4026532239ull, first, sizeof(first)), 1);
	CHECK(!strcmp(first, "/run/netns/red"));
	CHECK_EQ(mountinfo_netns_names(sample, 1, first, sizeof(first)), 0);
	CHECK(!strcmp(first, ""));
	CHECK_EQ(mountinfo_netns_names("", 4026532174ull, NULL, 0), 0);
	/* A name too long for the buffer is cut, not overrun. */
	CHECK_EQ(mountinfo_netns_names(sample, 4026532174ull, first, 6), 2);
	CHECK(!strcmp(first, "/run/"));
}

TEST(mountinfo_hidepid)
{
	CHECK(!mountinfo_proc_hides_pids(sample));
	CHECK(mountinfo_proc_hides_pids("22 27 0:21 / /proc rw - proc proc rw,hidepid=2\n"));
	CHECK(mountinfo_proc_hides_pids("22 27 0:21 / /proc rw - proc proc rw,hidepid=invisible,gid=5"));
	CHECK(mountinfo_proc_hides_pids("22 27 0:21 / /proc rw - proc proc hidepid=1"));
	CHECK(!mountinfo_proc_hides_pids("22 27 0:21 / /proc rw - proc proc rw,hidepid=0"));
	CHECK(!mountinfo_proc_hides_pids("22 27 0:21 / /proc rw - proc proc rw,hidepid=off"));
	CHECK(!mountinfo_proc_hides_pids("22 27 0:21 / /proc rw - proc proc rw,hidepid="));
	/* Another proc mount than /proc does not matter. */
	CHECK(!mountinfo_proc_hides_pids("23 27 0:21 / /srv/proc rw - proc proc hidepid=2"));
	CHECK(!mountinfo_proc_hides_pids("24 27 0:21 / /proc rw - tmpfs tmpfs hidepid=2"));
}

TEST(home_verdict_rules)
{
	struct home_facts dead = { .had_name = true, .procs_visible = true, .scanned = true };
	struct home_facts f;

	CHECK_EQ(home_verdict(&dead), HOME_DEAD);
	f = dead;
	f.initial = true;
	CHECK_EQ(home_verdict(&f), HOME_ALIVE_INITIAL);
	f = dead;
	f.names = 1;
	CHECK_EQ(home_verdict(&f), HOME_ALIVE_NAMED);
	f = dead;
	f.had_name = false;
	CHECK_EQ(home_verdict(&f), HOME_ALIVE_NEVER_NAMED);
	f = dead;
	f.other_process = true;
	CHECK_EQ(home_verdict(&f), HOME_ALIVE_IN_USE);
	/* A process seen is enough even when others could not be read. */
	f.unreadable = 3;
	CHECK_EQ(home_verdict(&f), HOME_ALIVE_IN_USE);
	/* Whatever we cannot tell keeps home. */
	f = dead;
	f.unreadable = 1;
	CHECK_EQ(home_verdict(&f), HOME_ALIVE_UNSURE);
	f = dead;
	f.procs_visible = false;
	CHECK_EQ(home_verdict(&f), HOME_ALIVE_UNSURE);
	f = dead;
	f.scanned = false;
	CHECK_EQ(home_verdict(&f), HOME_ALIVE_UNSURE);
	for (int v = HOME_ALIVE_INITIAL; v <= HOME_DEAD; v++)
		CHECK(strcmp(home_verdict_str((enum home_verdict)v), "?"));
}

/* A fake /proc: DIR/PID/task/TID/net/dev hard links to one of two files,
 * so that their inodes play the namespaces'. */
static void fake_task(const char *root, int pid, int tid, const char *ns_file)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%d", root, pid);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/%d/task", root, pid);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/%d/task/%d", root, pid, tid);
	CHECK_EQ(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/%d/task/%d/net", root, pid, tid);
	if (!ns_file) { /* net is not a directory: unreadable */
		int fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);

		CHECK(fd >= 0);
		close(fd);
		return;
	}
	CHECK_EQ(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/%d/task/%d/net/dev", root, pid, tid);
	CHECK_EQ(link(ns_file, path), 0);
}

/* Writes root/PID/comm. */
static void fake_comm(const char *root, int pid, const char *comm)
{
	char path[600];
	int fd;

	snprintf(path, sizeof(path), "%s/%d/comm", root, pid);
	fd = open(path, O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0644);
	CHECK(fd >= 0);
	CHECK_EQ(write(fd, comm, strlen(comm)), (ssize_t)strlen(comm));
	close(fd);
}

TEST(netns_tasks_scan_fake_proc)
{
	char root[] = "/tmp/altuntun-unit-proc.XXXXXX", home[600], other[600], cmd[700];
	struct netns_proc_id id;
	struct netns_tasks t;
	pid_t skip[2] = { 100, 200 };
	int fd;

	CHECK(mkdtemp(root) != NULL);
	snprintf(home, sizeof(home), "%s/home", root);
	snprintf(other, sizeof(other), "%s/other", root);
	fd = open(home, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
	CHECK(fd >= 0);
	close(fd);
	fd = open(other, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
	CHECK(fd >= 0);
	close(fd);
	fake_task(root, 100, 100, home);   /* ours */
	fake_task(root, 200, 200, other);  /* elsewhere ... */
	fake_task(root, 200, 201, home);   /* ... but one thread at home */
	fake_task(root, 300, 300, other);
	snprintf(cmd, sizeof(cmd), "%s/self", root); /* not a pid: ignored */
	CHECK_EQ(mkdir(cmd, 0755), 0);
	CHECK_EQ(netns_proc_id_of(root, "100/task/100", &id), 0);

	CHECK_EQ(netns_tasks_scan(root, &id, skip, 1, NULL, &t), 0);
	CHECK_EQ(t.found, 200);
	CHECK_EQ(t.unreadable, 0);
	CHECK_EQ(netns_tasks_scan(root, &id, skip, 2, NULL, &t), 0);
	CHECK_EQ(t.found, 0);
	CHECK_EQ(t.unreadable, 0);
	CHECK_EQ(t.scanned, 1); /* 300's one thread */
	/* A thread whose namespace cannot be read is counted as such. */
	fake_task(root, 400, 400, NULL);
	CHECK_EQ(netns_tasks_scan(root, &id, skip, 2, NULL, &t), 0);
	CHECK_EQ(t.found, 0);
	CHECK_EQ(t.unreadable, 1);
	CHECK_EQ(t.first_error, -ENOTDIR);
	/* A process without a task directory ended meanwhile: not counted. */
	snprintf(cmd, sizeof(cmd), "%s/500", root);
	CHECK_EQ(mkdir(cmd, 0755), 0);
	CHECK_EQ(netns_tasks_scan(root, &id, skip, 2, NULL, &t), 0);
	CHECK_EQ(t.unreadable, 1);
	CHECK_EQ(netns_tasks_scan("/nonexistent-proc", &id, skip, 2, NULL, &t), -ENOENT);

	/* Another agent at home (known by its comm) does not count; another
	 * program does, whatever it is called. */
	{
		static const char *const agents[] = { "altuntun-cli", "altuntun-proto", NULL };
		pid_t ours[1] = { 100 };

		fake_comm(root, 200, "altuntun-proto\n");
		CHECK_EQ(netns_tasks_scan(root, &id, ours, 1, agents, &t), 0);
		CHECK_EQ(t.found, 0);
		CHECK_EQ(t.by_comm, 1);
		CHECK_EQ(netns_tasks_scan(root, &id, ours, 1, NULL, &t), 0);
		CHECK_EQ(t.found, 200);
		fake_comm(root, 200, "altuntun-proto-x\n");
		CHECK_EQ(netns_tasks_scan(root, &id, ours, 1, agents, &t), 0);
		CHECK_EQ(t.found, 200);
		CHECK_EQ(t.by_comm, 0);
	}

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	CHECK_EQ(system(cmd), 0);
}

TEST(netns_tasks_real_proc)
{
	struct netns_proc_id self, mine;
	char who[32];

	/* /proc/self and /proc/PID are the same namespace. */
	CHECK_EQ(netns_proc_id_of(NETNS_PROC_ROOT, "self", &self), 0);
	snprintf(who, sizeof(who), "%d", (int)getpid());
	CHECK_EQ(netns_proc_id_of(NETNS_PROC_ROOT, who, &mine), 0);
	CHECK_EQ(self.ino, mine.ino);
	CHECK_EQ(self.dev, mine.dev);
}
