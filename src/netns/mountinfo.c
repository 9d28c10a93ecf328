// SPDX-License-Identifier: BSD-3-Clause
/* /proc/self/mountinfo: namespace names and proc's options (see mountinfo.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mountinfo.h"

/* Fields before the optional ones: id, parent, major:minor, root, mount
 * point, mount options. */
#define FIXED_FIELDS 6

static bool is_octal(char c)
{
	return c >= '0' && c <= '7';
}

/* The kernel escapes ' ', '\t', '\n' and '\\' as \ooo (seq_escape). */
static void unescape(char *s)
{
	char *out = s;

	while (*s) {
		if (s[0] == '\\' && is_octal(s[1]) && is_octal(s[2]) && is_octal(s[3])) {
			*out++ = (char)((s[1] - '0') << 6 | (s[2] - '0') << 3 | (s[3] - '0'));
			s += 4;
		} else {
			*out++ = *s++;
		}
	}
	*out = '\0';
}

/* The next space-separated token of *p (NUL-terminated in place), or NULL. */
static char *token(char **p)
{
	char *s = *p, *t;

	if (!s || !*s)
		return NULL;
	t = strchr(s, ' ');
	if (t) {
		*t = '\0';
		*p = t + 1;
	} else {
		*p = s + strlen(s);
	}
	return s;
}

int mountinfo_parse_line(char *line, struct mountinfo_entry *e)
{
	char *p = line, *f[FIXED_FIELDS], *t;

	memset(e, 0, sizeof(*e));
	for (int i = 0; i < FIXED_FIELDS; i++) {
		f[i] = token(&p);
		if (!f[i] || !*f[i])
			return -EINVAL;
	}
	/* Optional fields ("shared:2", "master:3", ...) up to "-". */
	for (;;) {
		t = token(&p);
		if (!t || !*t)
			return -EINVAL;
		if (!strcmp(t, "-"))
			break;
	}
	e->fstype = token(&p);
	e->source = token(&p);
	/* The rest: super options never contain a space (escaped). */
	e->super_opts = token(&p);
	if (!e->fstype || !*e->fstype || !e->source || !e->super_opts || *p)
		return -EINVAL;
	unescape(f[3]);
	unescape(f[4]);
	e->root = f[3];
	e->mount_point = f[4];
	return 0;
}

int mountinfo_netns_of(const struct mountinfo_entry *e, uint64_t *ino)
{
	static const char prefix[] = "net:[";
	const char *s;
	uint64_t v = 0;
	size_t n = 0;

	if (!e->fstype || strcmp(e->fstype, "nsfs") || !e->root ||
	    strncmp(e->root, prefix, sizeof(prefix) - 1))
		return 0;
	for (s = e->root + sizeof(prefix) - 1; *s >= '0' && *s <= '9'; s++, n++) {
		unsigned d = (unsigned)(*s - '0');

		if (v > (UINT64_MAX - d) / 10)
			return 0;
		v = v * 10 + d;
	}
	if (n == 0 || s[0] != ']' || s[1] != '\0')
		return 0;
	*ino = v;
	return 1;
}

/* Lines up to this long are split in a buffer on the stack; a longer one
 * (a mount point of several escaped PATH_MAX components) is copied to the
 * heap. A daemon re-reads the table at every mount change: no allocation
 * then in the usual case. */
#define LINE_ON_STACK 4096

/*
 * Calls fn(entry, ctx) for each well-formed line of text; a line is copied
 * before it is split, so text stays as it was. Returns 0 or -ENOMEM.
 */
static int each_entry(const char *text, void (*fn)(const struct mountinfo_entry *, void *),
		      void *ctx)
{
	char stack_line[LINE_ON_STACK];
	const char *p = text;

	while (p && *p) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		struct mountinfo_entry e;
		char *line = stack_line;

		if (len >= sizeof(stack_line)) {
			line = strndup(p, len);
			if (!line)
				return -ENOMEM;
		} else {
			memcpy(line, p, len);
			line[len] = '\0';
		}
		if (mountinfo_parse_line(line, &e) == 0)
			fn(&e, ctx);
		if (line != stack_line)
			free(line);
		p = nl ? nl + 1 : NULL;
	}
	return 0;
}

struct names_ctx {
	uint64_t ino;
	unsigned n;
	char *first;
	size_t cap;
};

static void count_name(const struct mountinfo_entry *e, void *ctx)
{
	struct names_ctx *c = ctx;
	uint64_t ino;

	if (!mountinfo_netns_of(e, &ino) || ino != c->ino)
		return;
	if (c->n++ == 0 && c->first && c->cap) {
		strncpy(c->first, e->mount_point, c->cap - 1);
		c->first[c->cap - 1] = '\0';
	}
}

unsigned mountinfo_netns_names(const char *text, uint64_t ino, char *first, size_t cap)
{
	struct names_ctx c = { .ino = ino, .first = first, .cap = cap };

	if (first && cap)
		first[0] = '\0';
	/* Out of memory: counted as a name, so nothing is decided from it. */
	if (each_entry(text, count_name, &c) < 0)
		return c.n + 1;
	return c.n;
}

/* True when one comma-separated option of opts is hidepid=V, V not 0/off. */
static bool opts_hide(const char *opts)
{
	static const char key[] = "hidepid=";
	const char *p = opts;

	while (p && *p) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);

		if (len > sizeof(key) - 1 && !strncmp(p, key, sizeof(key) - 1)) {
			const char *v = p + sizeof(key) - 1;
			size_t vlen = len - (sizeof(key) - 1);

			if (!(vlen == 1 && v[0] == '0') && !(vlen == 3 && !strncmp(v, "off", 3)))
				return true;
		}
		p = end ? end + 1 : NULL;
	}
	return false;
}

static void check_proc(const struct mountinfo_entry *e, void *ctx)
{
	bool *hides = ctx;

	if (!strcmp(e->fstype, "proc") && !strcmp(e->mount_point, "/proc") &&
	    opts_hide(e->super_opts))
		*hides = true;
}

bool mountinfo_proc_hides_pids(const char *text)
{
	bool hides = false;

	/* Out of memory: cannot tell, so say it hides. */
	if (each_entry(text, check_proc, &hides) < 0)
		return true;
	return hides;
}

int mountinfo_read(const char *path, char **buf, size_t *cap, size_t *len)
{
	size_t n = 0;
	int fd, r = 0;

	*len = 0;
	if (!*buf || *cap < 2) {
		char *nb = realloc(*buf, MOUNTINFO_FIRST_CAP);

		if (!nb)
			return -ENOMEM;
		*buf = nb;
		*cap = MOUNTINFO_FIRST_CAP;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	for (;;) {
		ssize_t got;

		if (*cap - n < 2) {
			char *nb;

			if (*cap >= MOUNTINFO_MAX) {
				r = -EFBIG;
				break;
			}
			nb = realloc(*buf, *cap * 2);
			if (!nb) {
				r = -ENOMEM;
				break;
			}
			*buf = nb;
			*cap *= 2;
		}
		got = read(fd, *buf + n, *cap - n - 1);
		if (got < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			break;
		}
		if (got == 0)
			break;
		n += (size_t)got;
	}
	close(fd);
	if (r < 0)
		return r;
	(*buf)[n] = '\0';
	*len = n;
	return 0;
}
