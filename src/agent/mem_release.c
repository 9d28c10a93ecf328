// SPDX-License-Identifier: BSD-3-Clause
/* Giving back start-up's memory (see mem_release.h). */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <malloc.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "mem_release.h"

/* One mapping of /proc/self/smaps, as far as the decision needs it. */
struct mapping {
	uintptr_t start, end;
	bool candidate; /* file-backed, not writable */
	size_t rss_kib, anon_kib;
	bool locked;
};

/* Lines of a descriptor through read(2) alone: no stdio, which would
 * fstat() (not in the protocol process's seccomp filter) and malloc. */
struct line_reader {
	int fd;
	char buf[4096];
	size_t len, pos;
	bool eof;
};

/* The next line, cut to size - 1 characters (the rest is skipped) and
 * without its newline. False at the end or on a read error. */
static bool next_line(struct line_reader *r, char *out, size_t size)
{
	size_t n = 0;
	bool any = false;
	char c;

	for (;;) {
		if (r->pos == r->len) {
			ssize_t got;

			if (r->eof)
				break;
			do
				got = read(r->fd, r->buf, sizeof(r->buf));
			while (got < 0 && errno == EINTR);
			if (got <= 0) {
				r->eof = true;
				break;
			}
			r->len = (size_t)got;
			r->pos = 0;
		}
		any = true;
		c = r->buf[r->pos++];

		if (c == '\n')
			break;
		if (n + 1 < size)
			out[n++] = c;
	}
	out[n] = '\0';
	return any;
}

/* "start-end perms offset dev inode path": a mapping's first line. */
static bool parse_header(const char *line, struct mapping *m)
{
	uintptr_t start, end;
	char perms[8];
	int n = 0;

	if (!isxdigit((unsigned char)line[0]) || isupper((unsigned char)line[0]))
		return false; /* "Rss:", "Anonymous:", ...: a field */
	if (sscanf(line, "%" SCNxPTR "-%" SCNxPTR " %7s %*s %*s %*s %n", &start, &end, perms,
		   &n) != 3 || n == 0)
		return false;
	memset(m, 0, sizeof(*m));
	m->start = start;
	m->end = end;
	/* Only files: not [heap], [stack], [vdso] or anonymous memory. */
	m->candidate = line[n] == '/' && perms[1] != 'w' && end > start;
	return true;
}

/* Drops the mapping's pages if nothing in them differs from the file. */
static void release(const struct mapping *m, struct mem_release_stats *st)
{
	st->rss_kib += m->rss_kib;
	if (!m->candidate || m->locked || m->anon_kib || !m->rss_kib)
		return;
	if (madvise((void *)m->start, m->end - m->start, MADV_DONTNEED) < 0)
		return; /* nothing lost: the pages just stay mapped */
	st->file_kib += m->rss_kib;
	st->mappings++;
}

int mem_release_open(void)
{
	int fd = open("/proc/self/smaps", O_RDONLY | O_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

int mem_release(int smaps_fd, struct mem_release_stats *stats)
{
	struct mem_release_stats st = { 0 };
	struct line_reader r = { .fd = smaps_fd };
	struct mapping m = { 0 };
	bool have = false;
	char line[256];
	size_t kib;

	while (next_line(&r, line, sizeof(line))) {
		if (sscanf(line, "Rss: %zu kB", &kib) == 1) {
			m.rss_kib = kib;
		} else if (sscanf(line, "Anonymous: %zu kB", &kib) == 1) {
			m.anon_kib = kib;
		} else if (!strncmp(line, "VmFlags:", 8)) {
			/* The last line of a mapping. */
			m.locked = strstr(line, " lo ") || !strcmp(line + strlen(line) - 3, " lo");
			if (have)
				release(&m, &st);
			have = false;
		} else if (parse_header(line, &m)) {
			have = true;
		}
	}
	close(smaps_fd);
	(void)malloc_trim(0);
	if (stats)
		*stats = st;
	return 0;
}

int mem_release_startup(struct mem_release_stats *stats)
{
	int fd = mem_release_open();

	return fd < 0 ? fd : mem_release(fd, stats);
}
