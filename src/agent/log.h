/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The daemon's log: stderr (foreground), a file opened in append mode
 * (--log FILE) or syslog. Each message is one line written at once. The last
 * error logged is kept so a daemon that fails during start-up can hand the
 * reason to the parent waiting for it.
 */
#ifndef ALTUNTUN_LOG_H
#define ALTUNTUN_LOG_H

#include <stdbool.h>

enum log_level {
	LOG_LVL_ERROR = 0,
	LOG_LVL_WARN = 1,
	LOG_LVL_INFO = 2,  /* default: start, stop, configuration changes */
	LOG_LVL_DEBUG = 3, /* -v: dropped packets and why, UAPI clients */
	LOG_LVL_TRACE = 4, /* -vv: every packet */
};

/* Default destination: stderr. `program` prefixes stderr lines and names the
 * syslog identity. */
void log_init(const char *program);
/* Also tag every message with the interface name (NULL: none). */
void log_set_tag(const char *tag);
void log_set_level(int level);
bool log_enabled(int level);

void log_to_stderr(void);
void log_to_syslog(void);
/* Opens `path` for appending (created 0640 if missing) and logs there.
 * Returns 0 or a negative errno; the destination is unchanged on failure. */
int log_to_file(const char *path);
/* Reopens the log file (after rotation); 0 or a negative errno. */
int log_reopen(void);
/* The log file's descriptor (-1 when not logging to a file): a process that
 * cannot open the file itself is handed a copy (privsep.h). */
int log_file_fd(void);
/* True when messages go to stderr. */
bool log_is_stderr(void);
void log_close(void);

void log_msg(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The text of the last error logged ("" if none). */
const char *log_last_error(void);

#define log_error(...) log_msg(LOG_LVL_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define log_debug(...)                                   \
	do {                                             \
		if (log_enabled(LOG_LVL_DEBUG))          \
			log_msg(LOG_LVL_DEBUG, __VA_ARGS__); \
	} while (0)
#define log_trace(...)                                   \
	do {                                             \
		if (log_enabled(LOG_LVL_TRACE))          \
			log_msg(LOG_LVL_TRACE, __VA_ARGS__); \
	} while (0)

#endif
