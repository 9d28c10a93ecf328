// SPDX-License-Identifier: BSD-3-Clause
/*
 * Finding the line and column of a value in a JSON text (see
 * json_position.h): a scanner that follows one path and skips everything
 * else, trusting that jansson has already accepted the text.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "json_position.h"

/* Nesting deeper than this is not followed (jansson's own limit is 2048). */
#define MAX_NESTING 4096

struct scan {
	const char *p, *end;
	unsigned line, col; /* of *p */
	unsigned nesting;
};

static void adv(struct scan *s)
{
	unsigned char c = (unsigned char)*s->p++;

	if (c == '\n') {
		s->line++;
		s->col = 1;
	} else if ((c & 0xc0) != 0x80) {
		/* A lead byte: the next character is one column on. */
		s->col++;
	}
}

static bool at(const struct scan *s, char c)
{
	return s->p < s->end && *s->p == c;
}

static void skip_ws(struct scan *s)
{
	while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
		adv(s);
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Reads \uXXXX's four digits at q (q + 4 <= end checked by the caller). */
static long hex4(const char *q)
{
	long v = 0;

	for (int i = 0; i < 4; i++) {
		int d = hexval(q[i]);

		if (d < 0)
			return -1;
		v = v << 4 | d;
	}
	return v;
}

static size_t put_utf8(char *out, uint32_t cp)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xc0 | cp >> 6);
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xe0 | cp >> 12);
		out[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | cp >> 18);
	out[1] = (char)(0x80 | (cp >> 12 & 0x3f));
	out[2] = (char)(0x80 | (cp >> 6 & 0x3f));
	out[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/*
 * Consumes the string at s->p (which is '"'). With `out` (room for as many
 * bytes as the raw string has), stores its decoded UTF-8 form, NUL
 * terminated, and its length in *outlen.
 */
static bool scan_string(struct scan *s, char *out, size_t *outlen)
{
	size_t n = 0;

	if (!at(s, '"'))
		return false;
	adv(s);
	while (s->p < s->end) {
		char c = *s->p;

		if (c == '"') {
			adv(s);
			if (out) {
				out[n] = '\0';
				*outlen = n;
			}
			return true;
		}
		if (c != '\\') {
			if (out)
				out[n++] = c;
			adv(s);
			continue;
		}
		adv(s);
		if (s->p >= s->end)
			return false;
		c = *s->p;
		if (c == 'u') {
			long cp;

			if (s->end - s->p < 5 || (cp = hex4(s->p + 1)) < 0)
				return false;
			for (int i = 0; i < 5; i++)
				adv(s);
			/* A high surrogate followed by \uDC00..\uDFFF is one code point. */
			if (cp >= 0xd800 && cp <= 0xdbff && s->end - s->p >= 6 && s->p[0] == '\\' &&
			    s->p[1] == 'u') {
				long lo = hex4(s->p + 2);

				if (lo >= 0xdc00 && lo <= 0xdfff) {
					cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
					for (int i = 0; i < 6; i++)
						adv(s);
				}
			}
			if (out)
				n += put_utf8(out + n, (uint32_t)cp);
			continue;
		}
		if (out) {
			switch (c) {
			case 'b': out[n++] = '\b'; break;
			case 'f': out[n++] = '\f'; break;
			case 'n': out[n++] = '\n'; break;
			case 'r': out[n++] = '\r'; break;
			case 't': out[n++] = '\t'; break;
			default: out[n++] = c; break; /* " \ / */
			}
		}
		adv(s);
	}
	return false;
}

/* Consumes a member name and tells whether it is `key`. */
static bool scan_key(struct scan *s, const char *key, bool *match)
{
	const char *start = s->p;
	const char *q = s->p + 1;
	char *buf;
	size_t n = 0;
	bool ok;

	/* Most names have no escape: compare in place. */
	while (q < s->end && *q != '"' && *q != '\\')
		q++;
	if (q < s->end && *q == '"') {
		size_t klen = strlen(key);

		*match = (size_t)(q - start - 1) == klen && !memcmp(start + 1, key, klen);
		return scan_string(s, NULL, NULL);
	}
	buf = malloc((size_t)(s->end - s->p) + 1);
	if (!buf)
		return false;
	ok = scan_string(s, buf, &n);
	*match = ok && n == strlen(key) && !memcmp(buf, key, n);
	free(buf);
	return ok;
}

static bool skip_value(struct scan *s);

static bool skip_container(struct scan *s, char close)
{
	bool object = close == '}';

	if (++s->nesting > MAX_NESTING)
		return false;
	adv(s);
	skip_ws(s);
	if (at(s, close)) {
		adv(s);
		s->nesting--;
		return true;
	}
	for (;;) {
		if (object) {
			skip_ws(s);
			if (!scan_string(s, NULL, NULL))
				return false;
			skip_ws(s);
			if (!at(s, ':'))
				return false;
			adv(s);
		}
		if (!skip_value(s))
			return false;
		skip_ws(s);
		if (at(s, ',')) {
			adv(s);
			continue;
		}
		if (!at(s, close))
			return false;
		adv(s);
		s->nesting--;
		return true;
	}
}

static bool skip_value(struct scan *s)
{
	const char *start;

	skip_ws(s);
	if (s->p >= s->end)
		return false;
	switch (*s->p) {
	case '"':
		return scan_string(s, NULL, NULL);
	case '{':
		return skip_container(s, '}');
	case '[':
		return skip_container(s, ']');
	default:
		/* A number, true, false or null. */
		start = s->p;
		while (s->p < s->end && !strchr(",]} \t\r\n", *s->p))
			adv(s);
		return s->p != start;
	}
}

static bool find(struct scan *s, const struct json_path_elem *path, size_t n, bool at_key,
		 struct json_position *pos)
{
	skip_ws(s);
	if (s->p >= s->end)
		return false;
	if (n == 0) {
		pos->line = s->line;
		pos->column = s->col;
		return true;
	}
	if (path->key) {
		if (!at(s, '{'))
			return false;
		adv(s);
		skip_ws(s);
		if (at(s, '}'))
			return false;
		for (;;) {
			struct json_position kpos;
			bool match = false;

			skip_ws(s);
			kpos.line = s->line;
			kpos.column = s->col;
			if (!at(s, '"') || !scan_key(s, path->key, &match))
				return false;
			skip_ws(s);
			if (!at(s, ':'))
				return false;
			adv(s);
			if (match) {
				if (n == 1 && at_key) {
					*pos = kpos;
					return true;
				}
				return find(s, path + 1, n - 1, at_key, pos);
			}
			if (!skip_value(s))
				return false;
			skip_ws(s);
			if (!at(s, ','))
				return false; /* '}': not there */
			adv(s);
		}
	}
	if (!at(s, '['))
		return false;
	adv(s);
	skip_ws(s);
	if (at(s, ']'))
		return false;
	for (size_t i = 0;; i++) {
		if (i == path->index)
			return find(s, path + 1, n - 1, at_key, pos);
		if (!skip_value(s))
			return false;
		skip_ws(s);
		if (!at(s, ','))
			return false; /* ']': not there */
		adv(s);
	}
}

bool json_position_find(const char *text, size_t len, const struct json_path_elem *path,
			size_t depth, bool at_key, struct json_position *pos)
{
	struct scan s = { .p = text, .end = text + len, .line = 1, .col = 1 };

	if (at_key && (!depth || !path[depth - 1].key))
		return false;
	return find(&s, path, depth, at_key, pos);
}
