// SPDX-License-Identifier: BSD-3-Clause
/* The daemon's log (see log.h). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

#define LOG_LINE_MAX 1024

enum log_dest { DEST_STDERR, DEST_FILE, DEST_SYSLOG };

static struct {
	enum log_dest dest;
	int level;
	int fd;
	char path[PATH_MAX];
	char program[32];
	char tag[32];
	char last_error[LOG_LINE_MAX];
} lg = {
	.dest = DEST_STDERR,
	.level = LOG_LVL_INFO,
	.fd = -1,
	.program = "altuntun",
};

static const char *const level_names[] = { "error", "warning", "info", "debug", "trace" };

void log_init(const char *program)
{
	snprintf(lg.program, sizeof(lg.program), "%s", program);
}

void log_set_tag(const char *tag)
{
	snprintf(lg.tag, sizeof(lg.tag), "%s", tag ? tag : "");
}

void log_set_level(int level)
{
	if (level < LOG_LVL_ERROR)
		level = LOG_LVL_ERROR;
	if (level > LOG_LVL_TRACE)
		level = LOG_LVL_TRACE;
	lg.level = level;
}

bool log_enabled(int level)
{
	return level <= lg.level;
}

static void close_file(void)
{
	if (lg.fd >= 0)
		close(lg.fd);
	lg.fd = -1;
}

void log_to_stderr(void)
{
	close_file();
	lg.dest = DEST_STDERR;
}

void log_to_syslog(void)
{
	close_file();
	openlog(lg.program, LOG_PID, LOG_DAEMON);
	lg.dest = DEST_SYSLOG;
}

static int open_file(const char *path)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0640);

	if (fd < 0)
		return -errno;
	return fd;
}

int log_to_file(const char *path)
{
	int fd;

	if (strlen(path) >= sizeof(lg.path))
		return -ENAMETOOLONG;
	fd = open_file(path);
	if (fd < 0)
		return fd;
	close_file();
	snprintf(lg.path, sizeof(lg.path), "%s", path);
	lg.fd = fd;
	lg.dest = DEST_FILE;
	return 0;
}

int log_reopen(void)
{
	int fd;

	if (lg.dest != DEST_FILE)
		return 0;
	fd = open_file(lg.path);
	if (fd < 0)
		return fd;
	close_file();
	lg.fd = fd;
	return 0;
}

int log_file_fd(void)
{
	return lg.dest == DEST_FILE ? lg.fd : -1;
}

bool log_is_stderr(void)
{
	return lg.dest == DEST_STDERR;
}

void log_close(void)
{
	if (lg.dest == DEST_SYSLOG)
		closelog();
	close_file();
	lg.dest = DEST_STDERR;
}

static int syslog_priority(int level)
{
	switch (level) {
	case LOG_LVL_ERROR:
		return LOG_ERR;
	case LOG_LVL_WARN:
		return LOG_WARNING;
	case LOG_LVL_INFO:
		return LOG_INFO;
	default:
		return LOG_DEBUG;
	}
}

/* Writes the whole line; a log that cannot be written is not reported. */
static void write_all(int fd, const char *s, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, s, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		s += n;
		len -= (size_t)n;
	}
}

static size_t timestamp(char *out, size_t cap)
{
	struct timespec ts;
	struct tm tm;
	size_t n;

	clock_gettime(CLOCK_REALTIME, &ts);
	localtime_r(&ts.tv_sec, &tm);
	n = strftime(out, cap, "%Y-%m-%d %H:%M:%S", &tm);
	if (n == 0)
		return 0;
	return n + (size_t)snprintf(out + n, cap - n, ".%03ld ", ts.tv_nsec / 1000000);
}

void log_msg(int level, const char *fmt, ...)
{
	char msg[LOG_LINE_MAX], line[LOG_LINE_MAX + 128];
	int saved_errno = errno;
	size_t n = 0;
	va_list ap;

	if (level < LOG_LVL_ERROR)
		level = LOG_LVL_ERROR;
	if (level > LOG_LVL_TRACE)
		level = LOG_LVL_TRACE;
	if (level == LOG_LVL_ERROR || log_enabled(level)) {
		va_start(ap, fmt);
		vsnprintf(msg, sizeof(msg), fmt, ap);
		va_end(ap);
		/* One line per message: a newline inside would forge a line. */
		for (char *p = msg; *p; p++)
			if (*p == '\n' || *p == '\r')
				*p = ' ';
		if (level == LOG_LVL_ERROR)
			memcpy(lg.last_error, msg, sizeof(msg));
	}
	if (!log_enabled(level)) {
		errno = saved_errno;
		return;
	}

	switch (lg.dest) {
	case DEST_SYSLOG:
		if (lg.tag[0])
			syslog(syslog_priority(level), "%s: %s", lg.tag, msg);
		else
			syslog(syslog_priority(level), "%s", msg);
		break;
	case DEST_FILE:
		n = timestamp(line, sizeof(line));
		/* fall through */
	case DEST_STDERR: {
		int len = snprintf(line + n, sizeof(line) - n, "%s%s%s%s%s: %s\n",
				   lg.dest == DEST_FILE ? "" : lg.program,
				   lg.dest == DEST_FILE ? "" : ": ",
				   lg.tag, lg.tag[0] ? ": " : "", level_names[level], msg);

		if (len > 0) {
			n += (size_t)len;
			if (n >= sizeof(line)) {
				n = sizeof(line) - 1;
				line[n - 1] = '\n';
			}
			write_all(lg.dest == DEST_FILE ? lg.fd : STDERR_FILENO, line, n);
		}
		break;
	}
	}
	errno = saved_errno;
}

const char *log_last_error(void)
{
	return lg.last_error;
}
