/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Going to the background with a readiness pipe: the calling process forks
 * (twice, with setsid() between, so the daemon has no controlling terminal
 * and is not our child) and waits on a pipe until the daemon reports that it
 * is ready, or why it failed; only then does it exit, with 0 or 1.
 */
#ifndef ALTUNTUN_DAEMON_H
#define ALTUNTUN_DAEMON_H

/*
 * Returns 0 in the daemon, with *notify_fd the pipe to report on; 1 in the
 * original process once the daemon has reported, with *exit_status what the
 * process should exit with (a failure was printed to stderr, prefixed with
 * `prog`); or a negative errno when no daemon could be started.
 */
int daemon_start(const char *prog, int *notify_fd, int *exit_status);
/* Reports readiness and closes the pipe. */
void daemon_notify_ready(int notify_fd);
/* Reports a failure (one line) and closes the pipe. */
void daemon_notify_failure(int notify_fd, const char *reason);
/* Points stdin, stdout and stderr at /dev/null. 0 or a negative errno. */
int daemon_detach_stdio(void);

#endif
