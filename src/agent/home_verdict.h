/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Is the home namespace dead? The decision of the home watch
 * (home_watch.h), apart from how its facts are gathered, so that it can be
 * tested on its own.
 *
 * The Linux driver keeps its UDP sockets in the namespace the interface
 * was created in; those sockets do not hold that namespace, and when it
 * dies the driver closes them (wg_netns_pre_exit). Our processes and UDP
 * socket do hold home: without this decision a home whose last name was
 * deleted (`ip netns del`) would live as long as we do. So home counts as
 * dead, as Linux would see it, when
 *   - it is not the initial namespace (which never dies),
 *   - it had a name (an nsfs mount of it, such as /var/run/netns/NAME) at
 *     some time since we started, and has none now,
 *   - and no process but ours is in it, which we could tell for sure.
 * Anything we cannot tell keeps it alive.
 */
#ifndef ALTUNTUN_HOME_VERDICT_H
#define ALTUNTUN_HOME_VERDICT_H

#include <stdbool.h>

struct home_facts {
	bool initial;       /* home is the namespace of PID 1 */
	bool had_name;      /* a name was seen since we started */
	unsigned names;     /* nsfs mounts of home now */
	bool procs_visible; /* /proc shows every process (netns_tasks_all_visible) */
	bool scanned;       /* the process scan ran to its end */
	bool other_process; /* it found a process of someone else in home */
	unsigned unreadable; /* threads whose namespace it could not read */
};

enum home_verdict {
	HOME_ALIVE_INITIAL,     /* the initial namespace */
	HOME_ALIVE_NEVER_NAMED, /* never had a name: nothing was deleted */
	HOME_ALIVE_NAMED,       /* a name refers to it */
	HOME_ALIVE_IN_USE,      /* another process is in it */
	HOME_ALIVE_UNSURE,      /* no name, but we cannot tell who else is in it */
	HOME_DEAD,              /* no name, nobody else: as Linux, it is gone */
};

/* The verdict for these facts. Only HOME_DEAD ends the daemon. */
enum home_verdict home_verdict(const struct home_facts *f);
/* A few words for the log ("another process is in it", ...). */
const char *home_verdict_str(enum home_verdict v);

#endif
