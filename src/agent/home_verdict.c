// SPDX-License-Identifier: BSD-3-Clause
/* Is the home namespace dead? (see home_verdict.h) */
#include "home_verdict.h"

enum home_verdict home_verdict(const struct home_facts *f)
{
	if (f->initial)
		return HOME_ALIVE_INITIAL;
	if (f->names > 0)
		return HOME_ALIVE_NAMED;
	if (!f->had_name)
		return HOME_ALIVE_NEVER_NAMED;
	/* A process seen in it is enough, whatever else could not be read. */
	if (f->scanned && f->other_process)
		return HOME_ALIVE_IN_USE;
	if (!f->procs_visible || !f->scanned || f->unreadable)
		return HOME_ALIVE_UNSURE;
	return HOME_DEAD;
}

const char *home_verdict_str(enum home_verdict v)
{
	switch (v) {
	case HOME_ALIVE_INITIAL:
		return "it is the initial network namespace";
	case HOME_ALIVE_NEVER_NAMED:
		return "it never had a name";
	case HOME_ALIVE_NAMED:
		return "it has a name";
	case HOME_ALIVE_IN_USE:
		return "another process is in it";
	case HOME_ALIVE_UNSURE:
		return "it has no name, but we cannot tell whether another process is in it";
	case HOME_DEAD:
		return "it lost its last name and no other process is in it";
	}
	return "?";
}
