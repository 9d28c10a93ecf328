// SPDX-License-Identifier: BSD-3-Clause
/* Watching the home namespace for its end (see home_watch.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "home_watch.h"
#include "log.h"
#include "mountinfo.h"
#include "privsep.h"

#define OWN_NETNS NETNS_PROC_ROOT "/self/ns/net"

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

void home_watch_init(struct home_watch *w)
{
	memset(w, 0, sizeof(*w));
	w->fd = w->mounts_fd = w->timer_fd = -1;
	w->last = HOME_ALIVE_NEVER_NAMED;
}

void home_watch_close(struct home_watch *w)
{
	close_fd(&w->fd);
	close_fd(&w->mounts_fd);
	close_fd(&w->timer_fd);
	free(w->text);
	w->text = NULL;
	w->text_cap = 0;
}

/*
 * Other AltunTun agents born in the same home (two `ip netns exec N
 * altuntun-cli ...`) do not keep it alive: their own home watch follows the
 * same rule, so when the last name goes they all end, as the Linux driver
 * closes the sockets of every interface born in a dead namespace. They are
 * known by their processes' comm; a process that takes one of these names
 * only lets our agent end with a nameless home it shares with it.
 */
static const char *const other_agents[] = { "altuntun-cli", PRIVSEP_PROTO_COMM, NULL };

/* Current names of home: their number, the first one in w->name; the
 * table stays in w->text. -errno when the mount table cannot be read
 * (logged by the caller). */
static int count_names(struct home_watch *w)
{
	char first[HOME_WATCH_NAME_MAX];
	unsigned n;
	size_t len;
	int r = mountinfo_read(MOUNTINFO_PATH, &w->text, &w->text_cap, &len);

	if (r < 0)
		return r;
	n = mountinfo_netns_names(w->text, w->ns_ino, first, sizeof(first));
	if (n > 0)
		memcpy(w->name, first, sizeof(w->name));
	return (int)(n > 0x7fffffff ? 0x7fffffff : n);
}

static void arm(struct home_watch *w, unsigned sec)
{
	struct itimerspec its = { .it_value.tv_sec = sec };

	if (timerfd_settime(w->timer_fd, 0, &its, NULL) < 0)
		log_warn("home namespace watch: timerfd: %s", strerror(errno));
}

int home_watch_open(struct home_watch *w)
{
	struct netns_proc_id init_id;
	struct epoll_event ev = { 0 };
	struct stat st;
	int r, n;

	home_watch_init(w);
	if (stat(OWN_NETNS, &st) < 0) {
		r = -errno;
		goto fail_why;
	}
	w->ns_ino = (uint64_t)st.st_ino;
	r = netns_proc_id_of(NETNS_PROC_ROOT, "self", &w->id);
	if (r < 0)
		goto fail_why;
	/* The initial namespace never goes away: nothing to watch. */
	if (netns_proc_id_of(NETNS_PROC_ROOT, "1", &init_id) == 0 && init_id.dev == w->id.dev &&
	    init_id.ino == w->id.ino) {
		log_debug("home is the initial network namespace: its end is not watched");
		return 0;
	}
	w->mounts_fd = open(MOUNTINFO_PATH, O_RDONLY | O_CLOEXEC);
	w->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	w->fd = epoll_create1(EPOLL_CLOEXEC);
	if (w->mounts_fd < 0 || w->timer_fd < 0 || w->fd < 0) {
		r = -errno;
		goto fail_why;
	}
	ev.events = EPOLLPRI;
	ev.data.fd = w->mounts_fd;
	if (epoll_ctl(w->fd, EPOLL_CTL_ADD, w->mounts_fd, &ev) < 0) {
		r = -errno;
		goto fail_why;
	}
	ev.events = EPOLLIN;
	ev.data.fd = w->timer_fd;
	if (epoll_ctl(w->fd, EPOLL_CTL_ADD, w->timer_fd, &ev) < 0) {
		r = -errno;
		goto fail_why;
	}
	n = count_names(w);
	if (n < 0) {
		r = n;
		goto fail_why;
	}
	w->had_name = n > 0;
	w->last = n > 0 ? HOME_ALIVE_NAMED : HOME_ALIVE_NEVER_NAMED;
	w->recheck_sec = HOME_WATCH_RECHECK_MIN_SEC;
	if (n > 0)
		log_debug("home network namespace net:[%llu] is named %s%s: when it loses its "
			  "last name and holds no other process, we stop",
			  (unsigned long long)w->ns_ino, w->name, n > 1 ? " (and more)" : "");
	else
		log_debug("home network namespace net:[%llu] has no name now",
			  (unsigned long long)w->ns_ino);
	return 0;
fail_why:
	log_warn("cannot watch the home network namespace: %s; its deletion (ip netns del) "
		 "will not stop the daemon", strerror(-r));
	home_watch_close(w);
	return r;
}

/* Logs a verdict that keeps home alive, once per change. */
static void note(struct home_watch *w, enum home_verdict v, const char *detail)
{
	if (v == w->last)
		return;
	w->last = v;
	if (v == HOME_ALIVE_NAMED) {
		log_debug("home network namespace net:[%llu] is named %s",
			  (unsigned long long)w->ns_ino, w->name);
		return;
	}
	log_info("home network namespace net:[%llu] lost its last name (%s) but stays: %s%s; "
		 "going on", (unsigned long long)w->ns_ino, w->name, home_verdict_str(v), detail);
}

bool home_watch_event(struct home_watch *w, const pid_t *ours, size_t n_ours, char *why,
		      size_t cap)
{
	struct home_facts f = { 0 };
	struct epoll_event evs[2];
	struct netns_tasks t = { 0 };
	char detail[192] = "", hidden[160] = "";
	enum home_verdict v;
	bool hides;
	uint64_t x;
	int n, r;

	if (w->fd < 0)
		return false;
	(void)epoll_wait(w->fd, evs, 2, 0);
	if (read(w->timer_fd, &x, sizeof(x)) < 0 && errno != EAGAIN)
		log_debug("home namespace watch: timerfd: %s", strerror(errno));
	n = count_names(w);
	if (n < 0) {
		log_warn("home namespace watch: cannot read %s: %s; looking again later",
			 MOUNTINFO_PATH, strerror(-n));
		arm(w, HOME_WATCH_RECHECK_MAX_SEC);
		return false;
	}
	f.names = (unsigned)n;
	f.had_name = w->had_name || n > 0;
	w->had_name = f.had_name;
	if (n > 0 || !f.had_name) {
		w->recheck_sec = HOME_WATCH_RECHECK_MIN_SEC;
		arm(w, 0);
		note(w, home_verdict(&f), "");
		return false;
	}
	/* No name any more: who else is in it? */
	if (!w->cannot_tell) {
		hides = mountinfo_proc_hides_pids(w->text);
		r = hides ? -EACCES : netns_tasks_all_visible(hidden, sizeof(hidden));
		if (hides)
			snprintf(hidden, sizeof(hidden), "/proc hides processes (hidepid)");
		w->cannot_tell = r < 0;
	}
	f.procs_visible = !w->cannot_tell;
	if (f.procs_visible) {
		r = netns_tasks_scan(NETNS_PROC_ROOT, &w->id, ours, n_ours, other_agents, &t);
		f.scanned = r == 0;
		f.other_process = r == 0 && t.found > 0;
		f.unreadable = r == 0 ? t.unreadable : 0;
		if (r < 0) {
			snprintf(detail, sizeof(detail), " (cannot read %s: %s)", NETNS_PROC_ROOT,
				 strerror(-r));
		} else if (t.found > 0) {
			char comm[32];

			if (netns_proc_comm(NETNS_PROC_ROOT, t.found, comm, sizeof(comm)) < 0)
				snprintf(comm, sizeof(comm), "?");
			snprintf(detail, sizeof(detail), " (process %d, %s)", (int)t.found, comm);
		} else if (t.unreadable) {
			snprintf(detail, sizeof(detail), " (%u threads unreadable: %s)", t.unreadable,
				 strerror(-t.first_error));
		}
	} else {
		snprintf(detail, sizeof(detail), " (%s)", hidden);
	}
	v = home_verdict(&f);
	if (v == HOME_DEAD) {
		snprintf(why, cap, "the home network namespace net:[%llu] (our UDP sockets' "
			 "namespace) lost its last name (%s) and no other process is in it%s: it "
			 "is gone, as the Linux driver would see it", (unsigned long long)w->ns_ino,
			 w->name, t.by_comm ? " (but other AltunTun agents, which end too)" : "");
		w->last = v;
		return true;
	}
	note(w, v, detail);
	/* Look again later unless nothing can change what we can see. */
	if (!w->cannot_tell) {
		arm(w, w->recheck_sec);
		if (w->recheck_sec < HOME_WATCH_RECHECK_MAX_SEC)
			w->recheck_sec *= 2;
	}
	return false;
}
