// SPDX-License-Identifier: BSD-3-Clause
/*
 * JSON configuration files (see config_json.h and docs/config.md): jansson
 * reads the text, this file checks every member strictly and builds a
 * struct uapi_set (applied with the UAPI's own code) and a struct
 * config_iface. A semantic error is placed with json_position.c, which finds
 * the offending value in the text again.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <malloc.h>
#include <netdb.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config_json.h"
#include "json_position.h"

/* Deepest path a message may name: peers[i].allowedIPs[j] is 4. */
#define MAX_PATH 8
/* A key file: 44 characters, a newline, perhaps a carriage return. */
#define KEY_FILE_MAX 256
/* Strings quoted back in messages are cut to this many bytes. */
#define QUOTE_MAX 80

struct ctx {
	struct config *cfg;
	const char *text;
	size_t len;
	const char *name;
	const char *base_dir;
	enum config_mode mode;
	struct json_path_elem path[MAX_PATH];
	size_t depth;
	bool inline_secret; /* privateKey or presharedKey written in the file */
	char *err;
	size_t errlen;
};

/* ---- memory: jansson's blocks are wiped when freed ---- */

/*
 * jansson copies every string it reads (keys among them) into blocks of its
 * own, and its lexer keeps the text of the last token in a buffer it frees
 * without wiping. With this free function nothing jansson frees keeps a
 * secret. It needs no header, so blocks allocated before it was installed
 * are freed correctly too, and it can be installed at any time.
 */
static void wiping_free(void *p)
{
	if (!p)
		return;
	sodium_memzero(p, malloc_usable_size(p));
	free(p);
}

static void *plain_malloc(size_t n)
{
	return malloc(n);
}

/* ---- messages ---- */

/* Writes s to out as a JSON string, cut after `max` bytes. */
static void quote_max(char *out, size_t cap, const char *s, size_t max)
{
	size_t n = 0;

	if (cap < 8) {
		if (cap)
			out[0] = '\0';
		return;
	}
	out[n++] = '"';
	for (size_t i = 0; s[i] && n + 8 < cap; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (i == max) {
			n += (size_t)snprintf(out + n, cap - n, "...");
			break;
		}
		if (ch == '"' || ch == '\\') {
			out[n++] = '\\';
			out[n++] = (char)ch;
		} else if (ch < 0x20 || ch == 0x7f) {
			n += (size_t)snprintf(out + n, cap - n, "\\u%04x", ch);
		} else {
			out[n++] = (char)ch;
		}
	}
	out[n++] = '"';
	out[n] = '\0';
}

/* s with its control characters written as \u00XX, so that a message
 * stays one line (jansson quotes the input near a syntax error as it is). */
static void one_line(char *out, size_t cap, const char *s)
{
	size_t n = 0;

	for (; *s && n + 7 < cap; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch < 0x20 || ch == 0x7f)
			n += (size_t)snprintf(out + n, cap - n, "\\u%04x", ch);
		else
			out[n++] = (char)ch;
	}
	if (cap)
		out[n] = '\0';
}

/* A value quoted back in a message, cut after QUOTE_MAX bytes. */
static void quote(char *out, size_t cap, const char *s)
{
	quote_max(out, cap, s, QUOTE_MAX);
}

/* "peers[1].allowedIPs[3]" */
static void format_path(const struct ctx *c, char *out, size_t cap)
{
	size_t n = 0;

	out[0] = '\0';
	for (size_t i = 0; i < c->depth; i++) {
		const struct json_path_elem *e = &c->path[i];
		const char *s;
		char index[32];

		if (e->key) {
			if (i && n + 1 < cap)
				out[n++] = '.';
			s = e->key;
		} else {
			snprintf(index, sizeof(index), "[%zu]", e->index);
			s = index;
		}
		for (; *s && n + 1 < cap; s++)
			out[n++] = (unsigned char)*s < 0x20 ? '?' : *s;
		out[n] = '\0';
	}
}

/* "FILE:LINE:COLUMN" of the current path (or just FILE). */
static void format_where(const struct ctx *c, bool at_key, char *out, size_t cap)
{
	struct json_position pos;

	if (json_position_find(c->text, c->len, c->path, c->depth, at_key, &pos))
		snprintf(out, cap, "%s:%u:%u", c->name, pos.line, pos.column);
	else
		snprintf(out, cap, "%s", c->name);
}

static void vformat(const struct ctx *c, bool at_key, char *out, size_t cap, const char *fmt,
		    va_list ap) __attribute__((format(printf, 5, 0)));

static void vformat(const struct ctx *c, bool at_key, char *out, size_t cap, const char *fmt,
		    va_list ap)
{
	char where[PATH_MAX + 32], path[256], msg[768];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	format_where(c, at_key, where, sizeof(where));
	format_path(c, path, sizeof(path));
	if (path[0])
		snprintf(out, cap, "%s: %s: %s", where, path, msg);
	else
		snprintf(out, cap, "%s: %s", where, msg);
}

/* An error about the value at the current path (at_key: about its name). */
static int fail(struct ctx *c, bool at_key, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(struct ctx *c, bool at_key, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (c->errlen)
		vformat(c, at_key, c->err, c->errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static int add_warning_text(struct config *cfg, const char *text)
{
	char **n = realloc(cfg->warnings, (cfg->n_warnings + 1) * sizeof(*n));

	if (!n)
		return -ENOMEM;
	cfg->warnings = n;
	n[cfg->n_warnings] = strdup(text);
	if (!n[cfg->n_warnings])
		return -ENOMEM;
	cfg->n_warnings++;
	return 0;
}

static int warn(struct ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int warn(struct ctx *c, const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	va_start(ap, fmt);
	vformat(c, false, line, sizeof(line), fmt, ap);
	va_end(ap);
	return add_warning_text(c->cfg, line);
}

static int oom(struct ctx *c)
{
	snprintf(c->err, c->errlen, "%s: out of memory", c->name);
	return -ENOMEM;
}

static void push_key(struct ctx *c, const char *key)
{
	c->path[c->depth].key = key;
	c->path[c->depth].index = 0;
	c->depth++;
}

static void push_index(struct ctx *c, size_t index)
{
	c->path[c->depth].key = NULL;
	c->path[c->depth].index = index;
	c->depth++;
}

static void pop(struct ctx *c)
{
	c->depth--;
}

static const char *type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "an object";
	case JSON_ARRAY:
		return "an array";
	case JSON_STRING:
		return "a string";
	case JSON_INTEGER:
		return "an integer";
	case JSON_REAL:
		return "a number with a fraction or exponent";
	case JSON_TRUE:
		return "true";
	case JSON_FALSE:
		return "false";
	case JSON_NULL:
		return "null";
	}
	return "something else";
}

/* ---- values ---- */

static int want_string(struct ctx *c, const json_t *v, const char **out)
{
	*out = "";
	if (!json_is_string(v))
		return fail(c, false, "expected a string, got %s", type_name(v));
	*out = json_string_value(v);
	return 0;
}

static int want_nonempty_string(struct ctx *c, const json_t *v, const char **out)
{
	int r = want_string(c, v, out);

	if (!r && !**out)
		return fail(c, false, "expected a non-empty string");
	return r;
}

static int want_uint(struct ctx *c, const json_t *v, uint64_t min, uint64_t max, uint64_t *out)
{
	json_int_t i;

	*out = 0;
	if (!json_is_integer(v))
		return fail(c, false, "expected an integer from %llu to %llu, got %s",
			    (unsigned long long)min, (unsigned long long)max, type_name(v));
	i = json_integer_value(v);
	if (i < 0 || (uint64_t)i < min || (uint64_t)i > max)
		return fail(c, false, "%lld is out of range (%llu to %llu)", (long long)i,
			    (unsigned long long)min, (unsigned long long)max);
	*out = (uint64_t)i;
	return 0;
}

static int want_kind(struct ctx *c, const json_t *v, json_type type, const char *what)
{
	if (json_typeof(v) != type)
		return fail(c, false, "expected %s, got %s", what, type_name(v));
	return 0;
}

/* Case, '_' and '-' ignored: "listen_port" is near "listenPort". */
static bool loosely_equal(const char *a, const char *b)
{
	for (;;) {
		while (*a == '_' || *a == '-')
			a++;
		while (*b == '_' || *b == '-')
			b++;
		if (!*a || !*b)
			return !*a && !*b;
		if (tolower((unsigned char)*a) != tolower((unsigned char)*b))
			return false;
		a++, b++;
	}
}

/* The current path ends with an unknown member name. */
static int unknown_key(struct ctx *c, const char *key, const char *const *known)
{
	for (size_t i = 0; known[i]; i++) {
		if (loosely_equal(key, known[i]))
			return fail(c, true, "unknown key (did you mean \"%s\"?)", known[i]);
	}
	return fail(c, true, "unknown key");
}

/*
 * "address/bits" as Go's netip.ParsePrefix reads it (no zone, bits decimal
 * without sign or leading zero); the address is kept as written.
 */
static int parse_prefix(struct config_prefix *p, const char *s)
{
	char host[INET6_ADDRSTRLEN];
	const char *slash = strrchr(s, '/');
	uint64_t bits;
	size_t n;

	memset(p, 0, sizeof(*p));
	if (!slash)
		return -EINVAL;
	n = (size_t)(slash - s);
	if (n == 0 || n >= sizeof(host))
		return -EINVAL;
	memcpy(host, s, n);
	host[n] = '\0';
	p->family = strchr(host, ':') ? AF_INET6 : AF_INET;
	if (inet_pton(p->family, host, &p->addr) != 1)
		return -EINVAL;
	if ((slash[1] == '0' && slash[2]) ||
	    uapi_parse_uint(&bits, slash + 1, p->family == AF_INET ? 32 : 128))
		return -EINVAL;
	p->cidr = (uint8_t)bits;
	return 0;
}

static bool host_bits_clear(const struct config_prefix *p)
{
	const uint8_t *b = (const uint8_t *)&p->addr;
	size_t len = p->family == AF_INET ? 4 : 16;

	for (size_t i = 0; i < len; i++) {
		unsigned bits = p->cidr > 8 * i ? p->cidr - 8 * (unsigned)i : 0;
		uint8_t mask = bits >= 8 ? 0xff : (uint8_t)(0xff00u >> bits);

		if (b[i] & ~mask)
			return false;
	}
	return true;
}

static void masked(struct config_prefix *out, const struct config_prefix *p)
{
	uint8_t *b = (uint8_t *)&out->addr;
	size_t len = p->family == AF_INET ? 4 : 16;

	*out = *p;
	for (size_t i = 0; i < len; i++) {
		unsigned bits = p->cidr > 8 * i ? p->cidr - 8 * (unsigned)i : 0;

		b[i] &= bits >= 8 ? 0xff : (uint8_t)(0xff00u >> bits);
	}
}

static const char *prefix_str(const struct config_prefix *p, char *out, size_t cap)
{
	char a[INET6_ADDRSTRLEN];

	inet_ntop(p->family, &p->addr, a, sizeof(a));
	snprintf(out, cap, "%s/%u", a, p->cidr);
	return out;
}

static int want_prefix(struct ctx *c, const json_t *v, struct config_prefix *p)
{
	char q[QUOTE_MAX + 16];
	const char *s;
	int r = want_string(c, v, &s);

	if (r)
		return r;
	if (parse_prefix(p, s)) {
		quote(q, sizeof(q), s);
		return fail(c, false, "%s is not an IP prefix", q);
	}
	return 0;
}

/* ---- keys ---- */

static int want_key(struct ctx *c, const json_t *v, uint8_t key[ALTUNTUN_KEY_LEN], bool secret)
{
	char q[QUOTE_MAX + 16];
	const char *s;
	int r = want_string(c, v, &s);

	if (r)
		return r;
	if (altuntun_key_from_base64(key, s) == ALTUNTUN_OK)
		return 0;
	if (secret)
		return fail(c, false, "not a valid key: expected 44 characters of base64, as "
			    "`wg genkey` prints (the value is not shown)");
	quote(q, sizeof(q), s);
	return fail(c, false, "%s is not a valid key: expected 44 characters of base64, as "
		    "`wg pubkey` prints", q);
}

static int join_path(struct ctx *c, const char *file, char *out, size_t cap)
{
	int n;

	if (file[0] == '/' || !c->base_dir)
		n = snprintf(out, cap, "%s", file);
	else
		n = snprintf(out, cap, "%s/%s", c->base_dir, file);
	if (n < 0 || (size_t)n >= cap)
		return fail(c, false, "the path is too long");
	return 0;
}

/*
 * A file holding a key in base64, as wg(8)'s private-key files: 44
 * characters, then perhaps a newline (and white space). Warns when the file
 * is accessible by group or others.
 */
static int read_key_file(struct ctx *c, const json_t *v, uint8_t key[ALTUNTUN_KEY_LEN])
{
	char path[PATH_MAX], q[PATH_MAX + 16], buf[KEY_FILE_MAX];
	const char *file;
	struct stat st;
	size_t n = 0;
	int fd, r;

	r = want_nonempty_string(c, v, &file);
	if (r)
		return r;
	r = join_path(c, file, path, sizeof(path));
	if (r)
		return r;
	quote_max(q, sizeof(q), path, PATH_MAX);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return fail(c, false, "cannot open %s: %s", q, strerror(errno));
	if (fstat(fd, &st) < 0) {
		r = errno;
		close(fd);
		return fail(c, false, "cannot read %s: %s", q, strerror(r));
	}
	if (S_ISDIR(st.st_mode)) {
		close(fd);
		return fail(c, false, "cannot read %s: it is a directory", q);
	}
	for (;;) {
		ssize_t got = read(fd, buf + n, sizeof(buf) - 1 - n);

		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			r = errno;
			close(fd);
			sodium_memzero(buf, sizeof(buf));
			return fail(c, false, "cannot read %s: %s", q, strerror(r));
		}
		if (got == 0 || (n += (size_t)got) == sizeof(buf) - 1)
			break;
	}
	close(fd);
	while (n && isspace((unsigned char)buf[n - 1]))
		n--;
	buf[n] = '\0';
	r = altuntun_key_from_base64(key, buf);
	sodium_memzero(buf, sizeof(buf));
	if (r != ALTUNTUN_OK)
		return fail(c, false, "%s does not hold a key: expected 44 characters of base64 and "
			    "a newline, as `wg genkey > FILE` writes", q);
	if (S_ISREG(st.st_mode) && (st.st_mode & 077)) {
		r = warn(c, "%s is accessible by group or others (mode %04o); it should be 0600", q,
			 (unsigned)(st.st_mode & 07777));
		if (r)
			return oom(c);
	}
	return 0;
}

/* ---- endpoints ---- */

static bool looks_like_ipv4(const char *s)
{
	for (; *s; s++) {
		if (!isdigit((unsigned char)*s) && *s != '.')
			return false;
	}
	return true;
}

/* Letters, digits, '-', '_' and '.', at most 253 of them. */
static bool valid_host_name(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 253)
		return false;
	for (; *s; s++) {
		if (!isalnum((unsigned char)*s) && *s != '-' && *s != '_' && *s != '.')
			return false;
	}
	return true;
}

/* Host names are resolved now, as wg(8) resolves them: the first address. */
static int resolve_endpoint(struct ctx *c, struct uapi_peer_change *pc, const char *host,
			    const char *port)
{
	struct addrinfo hints = {
		.ai_family = AF_UNSPEC,
		.ai_socktype = SOCK_DGRAM,
		.ai_protocol = IPPROTO_UDP,
		.ai_flags = AI_NUMERICSERV,
	};
	struct addrinfo *res = NULL;
	char q[QUOTE_MAX + 16];
	int r;

	r = getaddrinfo(host, port, &hints, &res);
	quote(q, sizeof(q), host);
	if (r)
		return fail(c, false, "cannot resolve host name %s: %s", q,
			    r == EAI_SYSTEM ? strerror(errno) : gai_strerror(r));
	for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
		if ((ai->ai_family == AF_INET && ai->ai_addrlen == sizeof(struct sockaddr_in)) ||
		    (ai->ai_family == AF_INET6 && ai->ai_addrlen == sizeof(struct sockaddr_in6))) {
			memcpy(&pc->endpoint, ai->ai_addr, ai->ai_addrlen);
			pc->endpoint_len = ai->ai_addrlen;
			freeaddrinfo(res);
			return 0;
		}
	}
	freeaddrinfo(res);
	return fail(c, false, "host name %s has no IPv4 or IPv6 address", q);
}

static int parse_endpoint(struct ctx *c, const json_t *v, struct uapi_peer_change *pc)
{
	char q[QUOTE_MAX + 16], host[256];
	const char *s, *colon;
	uint64_t port;
	size_t n;
	int r = want_string(c, v, &s);

	if (r)
		return r;
	quote(q, sizeof(q), s);
	if (s[0] == '[') {
		if (uapi_parse_endpoint(pc, s))
			return fail(c, false, "%s is not an endpoint: expected \"[IPv6 address]:port\"",
				    q);
	} else {
		colon = strrchr(s, ':');
		if (!colon || colon == s || uapi_parse_uint(&port, colon + 1, UINT16_MAX))
			return fail(c, false, "%s is not an endpoint: expected \"host:port\", "
				    "\"IPv4 address:port\" or \"[IPv6 address]:port\"", q);
		n = (size_t)(colon - s);
		if (memchr(s, ':', n))
			return fail(c, false, "%s is not an endpoint: an IPv6 address is written in "
				    "brackets, \"[address]:port\"", q);
		if (n >= sizeof(host))
			return fail(c, false, "%s is not an endpoint: the host name is too long", q);
		memcpy(host, s, n);
		host[n] = '\0';
		if (looks_like_ipv4(host)) {
			if (uapi_parse_endpoint(pc, s))
				return fail(c, false, "%s is not an endpoint: the IPv4 address is "
					    "invalid", q);
		} else if (!valid_host_name(host)) {
			return fail(c, false, "%s is not an endpoint: the host is neither an IPv4 "
				    "address nor a host name", q);
		} else {
			r = resolve_endpoint(c, pc, host, colon + 1);
			if (r)
				return r;
		}
	}
	if ((pc->endpoint.sa.sa_family == AF_INET && !pc->endpoint.in4.sin_port) ||
	    (pc->endpoint.sa.sa_family == AF_INET6 && !pc->endpoint.in6.sin6_port))
		return fail(c, false, "%s is not an endpoint: port 0", q);
	pc->flags |= UAPI_PEER_HAS_ENDPOINT;
	return 0;
}

/* ---- peers ---- */

static const char *const peer_keys[] = {
	"publicKey", "presharedKey", "presharedKeyFile", "endpoint", "allowedIPs",
	"persistentKeepalive", NULL,
};

static int parse_allowed_ips(struct ctx *c, const json_t *v, struct uapi_peer_change *pc)
{
	char q[QUOTE_MAX + 16];
	size_t i;
	json_t *e;
	int r = want_kind(c, v, JSON_ARRAY, "an array of IP prefixes");

	if (r)
		return r;
	if (json_array_size(v)) {
		pc->prefixes = calloc(json_array_size(v), sizeof(*pc->prefixes));
		if (!pc->prefixes)
			return oom(c);
		pc->cap_prefixes = json_array_size(v);
	}
	json_array_foreach(v, i, e) {
		const char *s;

		push_index(c, i);
		r = want_string(c, e, &s);
		if (!r && (s[0] == '-' || uapi_parse_prefix(&pc->prefixes[pc->n_prefixes], s))) {
			quote(q, sizeof(q), s);
			r = fail(c, false, "%s is not an IP prefix", q);
		}
		pop(c);
		if (r)
			return r;
		pc->n_prefixes++;
	}
	/* As `wg setconf`: the list replaces the peer's allowed IPs. */
	pc->flags |= UAPI_PEER_REPLACE_ALLOWED_IPS;
	return 0;
}

static int parse_peer_member(struct ctx *c, const char *key, const json_t *v,
			     struct uapi_peer_change *pc, unsigned *seen)
{
	uint64_t u;
	int r;

	if (!strcmp(key, "publicKey")) {
		r = want_key(c, v, pc->public_key, false);
		*seen |= 1;
		return r;
	}
	if (!strcmp(key, "presharedKey") || !strcmp(key, "presharedKeyFile")) {
		bool file = !strcmp(key, "presharedKeyFile");

		if (!file)
			c->inline_secret = true;
		if (pc->flags & UAPI_PEER_HAS_PRESHARED_KEY)
			return fail(c, true, "presharedKey and presharedKeyFile cannot both be given");
		r = file ? read_key_file(c, v, pc->preshared_key)
			 : want_key(c, v, pc->preshared_key, true);
		if (!r)
			pc->flags |= UAPI_PEER_HAS_PRESHARED_KEY;
		return r;
	}
	if (!strcmp(key, "endpoint"))
		return parse_endpoint(c, v, pc);
	if (!strcmp(key, "allowedIPs"))
		return parse_allowed_ips(c, v, pc);
	if (!strcmp(key, "persistentKeepalive")) {
		r = want_uint(c, v, 0, UINT16_MAX, &u);
		if (!r) {
			pc->keepalive = (uint16_t)u;
			pc->flags |= UAPI_PEER_HAS_KEEPALIVE;
		}
		return r;
	}
	return unknown_key(c, key, peer_keys);
}

static int parse_peer(struct ctx *c, const json_t *v, struct uapi_peer_change *pc, size_t index,
		      const uint8_t *own_public)
{
	struct uapi_set *set = &c->cfg->set;
	unsigned seen = 0;
	const char *key;
	json_t *m;
	int r = want_kind(c, v, JSON_OBJECT, "a peer object");

	if (r)
		return r;
	json_object_foreach((json_t *)v, key, m) {
		push_key(c, key);
		r = parse_peer_member(c, key, m, pc, &seen);
		if (!r && !strcmp(key, "publicKey")) {
			for (size_t j = 0; j < index; j++) {
				if (!sodium_memcmp(set->peers[j].public_key, pc->public_key,
						   ALTUNTUN_KEY_LEN)) {
					r = fail(c, false, "the same public key as peers[%zu]", j);
					break;
				}
			}
			if (!r && own_public &&
			    !sodium_memcmp(own_public, pc->public_key, ALTUNTUN_KEY_LEN))
				r = fail(c, false, "is the public key of the interface's own "
					 "private key");
		}
		pop(c);
		if (r)
			return r;
	}
	if (!(seen & 1))
		return fail(c, false, "publicKey is missing");
	return 0;
}

static int parse_peers(struct ctx *c, const json_t *v, const uint8_t *own_public)
{
	struct uapi_set *set = &c->cfg->set;
	size_t i;
	json_t *e;
	int r = want_kind(c, v, JSON_ARRAY, "an array of peer objects");

	if (r)
		return r;
	/* Sized once: a realloc would leave copies of preshared keys behind. */
	if (json_array_size(v)) {
		set->peers = calloc(json_array_size(v), sizeof(*set->peers));
		if (!set->peers)
			return oom(c);
		set->cap_peers = json_array_size(v);
	}
	json_array_foreach(v, i, e) {
		push_index(c, i);
		set->n_peers++;
		r = parse_peer(c, e, &set->peers[i], i, own_public);
		pop(c);
		if (r)
			return r;
	}
	return 0;
}

/* ---- interface ---- */

static int parse_addresses(struct ctx *c, const json_t *v)
{
	struct config_iface *ifc = &c->cfg->iface;
	size_t i;
	json_t *e;
	int r = want_kind(c, v, JSON_ARRAY, "an array of addresses with prefix lengths");

	if (r)
		return r;
	if (json_array_size(v)) {
		ifc->addresses = calloc(json_array_size(v), sizeof(*ifc->addresses));
		if (!ifc->addresses)
			return oom(c);
	}
	json_array_foreach(v, i, e) {
		struct config_prefix *p = &ifc->addresses[i];

		push_index(c, i);
		r = want_prefix(c, e, p);
		for (size_t j = 0; !r && j < i; j++) {
			const struct config_prefix *o = &ifc->addresses[j];

			if (o->family == p->family &&
			    !memcmp(&o->addr, &p->addr, p->family == AF_INET ? 4 : 16))
				r = fail(c, false, "the same address as addresses[%zu]", j);
		}
		pop(c);
		if (r)
			return r;
		ifc->n_addresses++;
	}
	return 0;
}

static const char *const route_keys[] = { "dst", "mtu", NULL };

/* The kernel refuses a route whose destination has host bits set. */
static int check_route_dst(struct ctx *c, const json_t *v, const struct config_prefix *p)
{
	char q[QUOTE_MAX + 16], s[INET6_ADDRSTRLEN + 8];
	struct config_prefix mp;

	if (host_bits_clear(p))
		return 0;
	masked(&mp, p);
	quote(q, sizeof(q), json_string_value(v));
	return fail(c, false, "%s has host bits set (did you mean \"%s\"?)", q,
		    prefix_str(&mp, s, sizeof(s)));
}

static int parse_route(struct ctx *c, const json_t *v, struct config_route *rt)
{
	const char *key;
	bool have_dst = false;
	uint64_t u;
	json_t *m;
	int r = 0;

	if (json_is_string(v))
		return want_prefix(c, v, &rt->dst);
	if (!json_is_object(v))
		return fail(c, false, "expected a prefix string or an object {\"dst\": ..., "
			    "\"mtu\": ...}, got %s", type_name(v));
	json_object_foreach((json_t *)v, key, m) {
		push_key(c, key);
		if (!strcmp(key, "dst")) {
			r = want_prefix(c, m, &rt->dst);
			have_dst = true;
		} else if (!strcmp(key, "mtu")) {
			r = want_uint(c, m, CONFIG_MTU_MIN, CONFIG_MTU_MAX, &u);
			if (!r)
				rt->mtu = (uint32_t)u;
		} else {
			r = unknown_key(c, key, route_keys);
		}
		if (!r && !strcmp(key, "dst"))
			r = check_route_dst(c, m, &rt->dst);
		pop(c);
		if (r)
			return r;
	}
	if (!have_dst)
		return fail(c, false, "dst is missing");
	return 0;
}

static int parse_routes(struct ctx *c, const json_t *v)
{
	struct config_iface *ifc = &c->cfg->iface;
	size_t i;
	json_t *e;
	int r = want_kind(c, v, JSON_ARRAY, "an array of routes");

	if (r)
		return r;
	if (json_array_size(v)) {
		ifc->routes = calloc(json_array_size(v), sizeof(*ifc->routes));
		if (!ifc->routes)
			return oom(c);
	}
	json_array_foreach(v, i, e) {
		struct config_route *rt = &ifc->routes[i];

		push_index(c, i);
		r = parse_route(c, e, rt);
		if (!r && json_is_string(e))
			r = check_route_dst(c, e, &rt->dst);
		for (size_t j = 0; !r && j < i; j++) {
			const struct config_route *o = &ifc->routes[j];

			if (o->dst.family == rt->dst.family && o->dst.cidr == rt->dst.cidr &&
			    !memcmp(&o->dst.addr, &rt->dst.addr, 16))
				r = fail(c, false, "the same destination as routes[%zu]", j);
		}
		pop(c);
		if (r)
			return r;
		ifc->n_routes++;
	}
	return 0;
}

/* A name as `ip netns` makes them, an absolute path, or "pid:N". */
static int parse_netns(struct ctx *c, const json_t *v)
{
	struct config_iface *ifc = &c->cfg->iface;
	char q[QUOTE_MAX + 16], where[PATH_MAX + 32];
	const char *s;
	uint64_t pid;
	int r = want_nonempty_string(c, v, &s);

	if (r)
		return r;
	quote(q, sizeof(q), s);
	if (!strncmp(s, "pid:", 4)) {
		if (uapi_parse_uint(&pid, s + 4, INT_MAX) || pid == 0)
			return fail(c, false, "%s: expected \"pid:\" and a process id", q);
	} else if (strchr(s, '/')) {
		if (s[0] != '/')
			return fail(c, false, "%s: a path to a namespace must be absolute", q);
		if (strlen(s) >= PATH_MAX)
			return fail(c, false, "the path is too long");
	} else if (!strcmp(s, ".") || !strcmp(s, "..") || strlen(s) > NAME_MAX) {
		return fail(c, false, "%s is not a namespace name", q);
	}
	ifc->netns = strdup(s);
	format_where(c, false, where, sizeof(where));
	ifc->netns_where = strdup(where);
	if (!ifc->netns || !ifc->netns_where)
		return oom(c);
	ifc->flags |= CONFIG_IFACE_HAS_NETNS;
	return 0;
}

static int parse_fwmark(struct ctx *c, const json_t *v)
{
	struct config *cfg = c->cfg;
	char q[QUOTE_MAX + 16];
	uint64_t u = 0;
	int r;

	if (json_is_string(v)) {
		const char *s = json_string_value(v);
		size_t n = strlen(s);
		bool ok = n > 2 && n <= 10 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X');

		for (size_t i = 2; ok && i < n; i++) {
			if (!isxdigit((unsigned char)s[i]))
				ok = false;
			else
				u = u << 4 | (uint64_t)(isdigit((unsigned char)s[i])
							? s[i] - '0'
							: tolower((unsigned char)s[i]) - 'a' + 10);
		}
		if (!ok) {
			quote(q, sizeof(q), s);
			return fail(c, false, "%s is not a fwmark: expected an integer from 0 to "
				    "4294967295 or a hexadecimal string such as \"0x1234\"", q);
		}
	} else if (json_is_integer(v)) {
		r = want_uint(c, v, 0, UINT32_MAX, &u);
		if (r)
			return r;
	} else {
		return fail(c, false, "expected an integer from 0 to 4294967295 or a hexadecimal "
			    "string such as \"0x1234\", got %s", type_name(v));
	}
	cfg->set.fwmark = cfg->iface.fwmark = (uint32_t)u;
	cfg->set.flags |= UAPI_DEV_HAS_FWMARK;
	cfg->iface.flags |= CONFIG_IFACE_HAS_FWMARK;
	return 0;
}

static int cni_string(struct ctx *c, const json_t *v, char **out)
{
	const char *s;
	int r = want_string(c, v, &s);

	if (r)
		return r;
	*out = strdup(s);
	return *out ? 0 : oom(c);
}

static int cni_object(struct ctx *c, const json_t *v, json_t **out)
{
	int r = want_kind(c, v, JSON_OBJECT, "an object");

	if (r)
		return r;
	*out = json_incref((json_t *)v);
	return 0;
}

static const char *const cni_keys[] = {
	"cniVersion", "name", "type", "ifname", "prevResult", "ipam", "dns", "args",
	"runtimeConfig", "capabilities", NULL,
};

/* A Linux interface name: 1 to 15 bytes, printable, none of '/', ':' or
 * whitespace, not "." or "..". */
static int cni_ifname(struct ctx *c, const json_t *v, char **out)
{
	const char *s;
	int r = want_string(c, v, &s);
	size_t n;

	if (r)
		return r;
	n = strlen(s);
	if (n == 0 || n > 15 || !strcmp(s, ".") || !strcmp(s, "..") ||
	    strpbrk(s, "/: \t\n\v\f\r%"))
		goto bad;
	for (size_t i = 0; i < n; i++) {
		if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] == 0x7f)
			goto bad;
	}
	*out = strdup(s);
	return *out ? 0 : oom(c);
bad:
	return fail(c, false, "not a valid interface name: 1 to 15 characters, none of '/', "
		    "':', '%%' or white space");
}

static const char *const top_keys[] = {
	"privateKey", "privateKeyFile", "listenPort", "fwmark", "mtu", "addresses", "routes",
	"netns", "peers", NULL,
};

static int parse_cni_member(struct ctx *c, const char *key, const json_t *v)
{
	struct config_cni *cni = &c->cfg->cni;

	if (c->mode != CONFIG_MODE_CNI)
		return fail(c, true, "a key of CNI network configurations, accepted only by "
			    "altuntun-cni");
	if (!strcmp(key, "cniVersion"))
		return cni_string(c, v, &cni->cni_version);
	if (!strcmp(key, "name"))
		return cni_string(c, v, &cni->name);
	if (!strcmp(key, "type"))
		return cni_string(c, v, &cni->type);
	if (!strcmp(key, "ifname"))
		return cni_ifname(c, v, &cni->ifname);
	if (!strcmp(key, "prevResult"))
		return cni_object(c, v, &cni->prev_result);
	if (!strcmp(key, "ipam"))
		return cni_object(c, v, &cni->ipam);
	if (!strcmp(key, "dns"))
		return cni_object(c, v, &cni->dns);
	if (!strcmp(key, "args"))
		return cni_object(c, v, &cni->args);
	if (!strcmp(key, "runtimeConfig"))
		return cni_object(c, v, &cni->runtime_config);
	return cni_object(c, v, &cni->capabilities);
}

static bool in_list(const char *key, const char *const *list)
{
	for (size_t i = 0; list[i]; i++) {
		if (!strcmp(key, list[i]))
			return true;
	}
	return false;
}

static int parse_top_member(struct ctx *c, const char *key, const json_t *v)
{
	struct config *cfg = c->cfg;
	uint64_t u;
	int r;

	if (!strcmp(key, "privateKey") || !strcmp(key, "privateKeyFile")) {
		bool file = !strcmp(key, "privateKeyFile");

		if (!file)
			c->inline_secret = true;
		if (cfg->set.flags & UAPI_DEV_HAS_PRIVATE_KEY)
			return fail(c, true, "privateKey and privateKeyFile cannot both be given");
		r = file ? read_key_file(c, v, cfg->set.private_key)
			 : want_key(c, v, cfg->set.private_key, true);
		if (!r)
			cfg->set.flags |= UAPI_DEV_HAS_PRIVATE_KEY;
		return r;
	}
	if (!strcmp(key, "listenPort")) {
		r = want_uint(c, v, 0, UINT16_MAX, &u);
		if (r)
			return r;
		cfg->set.listen_port = cfg->iface.listen_port = (uint16_t)u;
		cfg->set.flags |= UAPI_DEV_HAS_LISTEN_PORT;
		cfg->iface.flags |= CONFIG_IFACE_HAS_LISTEN_PORT;
		return 0;
	}
	if (!strcmp(key, "fwmark"))
		return parse_fwmark(c, v);
	if (!strcmp(key, "mtu")) {
		r = want_uint(c, v, CONFIG_MTU_MIN, CONFIG_MTU_MAX, &u);
		if (r)
			return r;
		cfg->iface.mtu = (unsigned)u;
		cfg->iface.flags |= CONFIG_IFACE_HAS_MTU;
		return 0;
	}
	if (!strcmp(key, "addresses"))
		return parse_addresses(c, v);
	if (!strcmp(key, "routes"))
		return parse_routes(c, v);
	if (!strcmp(key, "netns"))
		return parse_netns(c, v);
	if (in_list(key, cni_keys))
		return parse_cni_member(c, key, v);
	return unknown_key(c, key, top_keys);
}

static int parse_root(struct ctx *c, json_t *root)
{
	struct config *cfg = c->cfg;
	uint8_t own_public[ALTUNTUN_KEY_LEN];
	bool have_own = false;
	json_t *peers = NULL, *v;
	const char *key, *peers_key = NULL;
	int r;

	if (!json_is_object(root))
		return fail(c, false, "the configuration must be a JSON object, not %s",
			    type_name(root));
	/* Peers last, so that a peer can be checked against the private key. */
	json_object_foreach(root, key, v) {
		if (!strcmp(key, "peers")) {
			peers = v;
			peers_key = key;
			continue;
		}
		push_key(c, key);
		r = parse_top_member(c, key, v);
		pop(c);
		if (r)
			return r;
	}
	if ((cfg->set.flags & UAPI_DEV_HAS_PRIVATE_KEY) &&
	    altuntun_public_key(own_public, cfg->set.private_key) == ALTUNTUN_OK)
		have_own = true;
	if (peers) {
		push_key(c, peers_key);
		r = parse_peers(c, peers, have_own ? own_public : NULL);
		pop(c);
		if (r)
			goto out;
	}
	/* The kernel keeps IPv6 off an interface whose MTU is below 1280. */
	r = 0;
	if ((cfg->iface.flags & CONFIG_IFACE_HAS_MTU) && cfg->iface.mtu < CONFIG_MTU_MIN_IPV6) {
		for (size_t i = 0; i < cfg->iface.n_addresses; i++) {
			if (cfg->iface.addresses[i].family == AF_INET6) {
				push_key(c, "mtu");
				r = fail(c, false, "%u is below %u, the least MTU of an interface "
					 "with an IPv6 address (addresses[%zu])",
					 cfg->iface.mtu, CONFIG_MTU_MIN_IPV6, i);
				pop(c);
				break;
			}
		}
	}
	/* Applied as `wg setconf`: the file says what the peers are. */
	cfg->set.flags |= UAPI_DEV_REPLACE_PEERS;
	cfg->set.changes = true;
out:
	sodium_memzero(own_public, sizeof(own_public));
	return r;
}

/* Wipes the strings that held keys before jansson frees them. */
static void wipe_string(json_t *v)
{
	if (json_is_string(v))
		sodium_memzero((char *)json_string_value(v), json_string_length(v));
}

static void wipe_secrets(json_t *root)
{
	json_t *peers, *peer;
	size_t i;

	if (!json_is_object(root))
		return;
	wipe_string(json_object_get(root, "privateKey"));
	peers = json_object_get(root, "peers");
	if (!json_is_array(peers))
		return;
	json_array_foreach(peers, i, peer) {
		if (json_is_object(peer))
			wipe_string(json_object_get(peer, "presharedKey"));
	}
}

static int parse_text(struct config *cfg, const char *text, size_t len, const char *name,
		      const char *base_dir, enum config_mode mode, bool *inline_secret, char *err,
		      size_t errlen)
{
	struct ctx c = {
		.cfg = cfg,
		.text = text,
		.len = len,
		.name = name,
		.base_dir = base_dir,
		.mode = mode,
		.err = err,
		.errlen = errlen,
	};
	json_error_t je;
	json_t *root;
	int r;

	memset(cfg, 0, sizeof(*cfg));
	if (errlen)
		err[0] = '\0';
	json_set_alloc_funcs(plain_malloc, wiping_free);
	root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
	if (!root) {
		char text1[JSON_ERROR_TEXT_LENGTH * 6];

		one_line(text1, sizeof(text1), je.text);
		if (je.line > 0)
			snprintf(err, errlen, "%s:%d:%d: %s", name, je.line,
				 je.column > 0 ? je.column : 1, text1);
		else
			snprintf(err, errlen, "%s: %s", name, text1);
		return json_error_code(&je) == json_error_out_of_memory ? -ENOMEM : -EINVAL;
	}
	r = parse_root(&c, root);
	wipe_secrets(root);
	json_decref(root);
	if (inline_secret)
		*inline_secret = c.inline_secret;
	if (r)
		config_free(cfg);
	return r;
}

int config_parse(struct config *cfg, const char *text, size_t len, const char *name,
		 const char *base_dir, enum config_mode mode, char *err, size_t errlen)
{
	return parse_text(cfg, text, len, name, base_dir, mode, NULL, err, errlen);
}

int config_load_file(struct config *cfg, const char *path, enum config_mode mode, char *err,
		     size_t errlen)
{
	char dir[PATH_MAX], line[PATH_MAX + 128];
	const char *slash = strrchr(path, '/');
	bool inline_secret = false;
	struct stat st;
	size_t len = 0, cap;
	char *text;
	int fd, r;

	memset(cfg, 0, sizeof(*cfg));
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		r = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(-r));
		return r;
	}
	r = fstat(fd, &st) < 0 ? -errno : S_ISDIR(st.st_mode) ? -EISDIR : 0;
	if (r) {
		snprintf(err, errlen, "%s: %s", path, strerror(-r));
		close(fd);
		return r;
	}
	/* Not realloc: earlier blocks would keep copies of keys. */
	cap = S_ISREG(st.st_mode) && st.st_size > 0 && (uint64_t)st.st_size < CONFIG_MAX_FILE_SIZE
		      ? (size_t)st.st_size + 1
		      : 4096;
	text = malloc(cap);
	if (!text) {
		close(fd);
		snprintf(err, errlen, "%s: out of memory", path);
		return -ENOMEM;
	}
	for (;;) {
		ssize_t n;

		if (len == cap) {
			char *bigger;

			if (cap >= CONFIG_MAX_FILE_SIZE) {
				r = -EFBIG;
				snprintf(err, errlen, "%s: larger than %u MiB", path,
					 CONFIG_MAX_FILE_SIZE >> 20);
				goto out;
			}
			bigger = malloc(2 * cap);
			if (!bigger) {
				r = -ENOMEM;
				snprintf(err, errlen, "%s: out of memory", path);
				goto out;
			}
			memcpy(bigger, text, len);
			sodium_memzero(text, cap);
			free(text);
			text = bigger;
			cap *= 2;
		}
		n = read(fd, text + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			snprintf(err, errlen, "%s: %s", path, strerror(-r));
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (slash) {
		size_t n = slash == path ? 1 : (size_t)(slash - path);

		if (n >= sizeof(dir)) {
			r = -ENAMETOOLONG;
			snprintf(err, errlen, "%s: the path is too long", path);
			goto out;
		}
		memcpy(dir, path, n);
		dir[n] = '\0';
	}
	r = parse_text(cfg, text, len, path, slash ? dir : NULL, mode, &inline_secret, err,
		       errlen);
	if (!r && inline_secret && S_ISREG(st.st_mode) && (st.st_mode & 077)) {
		snprintf(line, sizeof(line),
			 "%s: holds a key and is accessible by group or others (mode %04o); it "
			 "should be 0600",
			 path, (unsigned)(st.st_mode & 07777));
		if (add_warning_text(cfg, line)) {
			config_free(cfg);
			snprintf(err, errlen, "%s: out of memory", path);
			r = -ENOMEM;
		}
	}
out:
	close(fd);
	sodium_memzero(text, cap);
	free(text);
	return r;
}

int config_apply(const struct config *cfg, altuntun_device *dev,
		 const struct uapi_iface_ops *ops, struct altuntun_now now)
{
	return uapi_set_apply(dev, ops, now, &cfg->set);
}

void config_forget_keys(struct config *cfg)
{
	uapi_set_free(&cfg->set);
}

void config_free(struct config *cfg)
{
	struct config_cni *cni = &cfg->cni;

	uapi_set_free(&cfg->set);
	free(cfg->iface.addresses);
	free(cfg->iface.routes);
	free(cfg->iface.netns);
	free(cfg->iface.netns_where);
	free(cni->cni_version);
	free(cni->name);
	free(cni->type);
	free(cni->ifname);
	json_decref(cni->prev_result);
	json_decref(cni->ipam);
	json_decref(cni->dns);
	json_decref(cni->args);
	json_decref(cni->runtime_config);
	json_decref(cni->capabilities);
	for (size_t i = 0; i < cfg->n_warnings; i++)
		free(cfg->warnings[i]);
	free(cfg->warnings);
	memset(cfg, 0, sizeof(*cfg));
}
