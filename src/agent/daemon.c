// SPDX-License-Identifier: BSD-3-Clause
/* Going to the background with a readiness pipe (see daemon.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon.h"
#include "log.h"

#define MSG_READY 'R'
#define MSG_FAILED 'E'
#define MSG_MAX 1024

static void write_msg(int fd, char kind, const char *text)
{
	char buf[MSG_MAX];
	size_t len, off = 0;

	buf[0] = kind;
	snprintf(buf + 1, sizeof(buf) - 1, "%s", text ? text : "");
	len = 1 + strlen(buf + 1);
	while (off < len) {
		ssize_t n = write(fd, buf + off, len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		off += (size_t)n;
	}
}

void daemon_notify_ready(int notify_fd)
{
	if (notify_fd < 0)
		return;
	write_msg(notify_fd, MSG_READY, NULL);
	close(notify_fd);
}

void daemon_notify_failure(int notify_fd, const char *reason)
{
	if (notify_fd < 0)
		return;
	write_msg(notify_fd, MSG_FAILED, reason && *reason ? reason : "start-up failed");
	close(notify_fd);
}

int daemon_detach_stdio(void)
{
	int fd = open("/dev/null", O_RDWR | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	for (int i = 0; i <= 2; i++) {
		if (dup2(fd, i) < 0) {
			int e = errno;

			close(fd);
			return -e;
		}
	}
	if (fd > 2)
		close(fd);
	return 0;
}

/* The original process: reads the daemon's report (until EOF, bounded). */
static int wait_for_report(const char *prog, int fd)
{
	char buf[MSG_MAX + 1];
	size_t len = 0;

	for (;;) {
		ssize_t n = read(fd, buf + len, sizeof(buf) - 1 - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
		if (len == sizeof(buf) - 1)
			break;
	}
	close(fd);
	buf[len] = '\0';
	if (len >= 1 && buf[0] == MSG_READY)
		return 0;
	if (len >= 1 && buf[0] == MSG_FAILED)
		fprintf(stderr, "%s: %s\n", prog, buf + 1);
	else
		fprintf(stderr, "%s: the daemon exited during start-up without a reason\n", prog);
	return 1;
}

int daemon_start(const char *prog, int *notify_fd, int *exit_status)
{
	int p[2], status;
	pid_t pid;

	fflush(NULL);
	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	pid = fork();
	if (pid < 0) {
		int e = errno;

		close(p[0]);
		close(p[1]);
		return -e;
	}
	if (pid > 0) {
		close(p[1]);
		/* The intermediate child exits as soon as it has forked. */
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
		*exit_status = wait_for_report(prog, p[0]);
		return 1;
	}

	/* Intermediate child: new session, then fork the daemon itself. */
	close(p[0]);
	if (setsid() < 0) {
		char why[128];

		snprintf(why, sizeof(why), "setsid: %s", strerror(errno));
		daemon_notify_failure(p[1], why);
		_exit(1);
	}
	pid = fork();
	if (pid < 0) {
		char why[128];

		snprintf(why, sizeof(why), "fork: %s", strerror(errno));
		daemon_notify_failure(p[1], why);
		_exit(1);
	}
	if (pid > 0)
		_exit(0);

	/* Not fatal: staying in the directory only keeps it busy. */
	if (chdir("/") < 0)
		log_warn("chdir /: %s", strerror(errno));
	*notify_fd = p[1];
	return 0;
}
