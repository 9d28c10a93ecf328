// SPDX-License-Identifier: BSD-3-Clause
/*
 * set=1: parsing a request into a struct uapi_set without touching the
 * device. Values are checked as strictly as wireguard-go checks them (Go's
 * strconv.ParseUint, hex.DecodeString, netip.ParseAddrPort/ParsePrefix),
 * except that endpoint host names are refused: wg(8) resolves them itself.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>

#include "uapi_internal.h"

struct parse_state {
	struct uapi_set *set;
	struct uapi_peer_change *peer; /* NULL: still in the device section */
	bool ignore_peer;              /* after remove=true: checked, not kept */
	struct uapi_peer_change discard; /* where ignored lines go */
};

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int uapi_parse_key(uint8_t key[ALTUNTUN_KEY_LEN], const char *hex)
{
	uint8_t tmp[ALTUNTUN_KEY_LEN];

	if (strlen(hex) != 2 * ALTUNTUN_KEY_LEN)
		return -EINVAL;
	for (size_t i = 0; i < ALTUNTUN_KEY_LEN; i++) {
		int hi = hex_digit(hex[2 * i]), lo = hex_digit(hex[2 * i + 1]);

		if (hi < 0 || lo < 0) {
			explicit_bzero(tmp, sizeof(tmp));
			return -EINVAL;
		}
		tmp[i] = (uint8_t)(hi << 4 | lo);
	}
	memcpy(key, tmp, sizeof(tmp));
	explicit_bzero(tmp, sizeof(tmp));
	return 0;
}

/* Decimal digits only, leading zeroes allowed, as Go's ParseUint(s, 10, n). */
int uapi_parse_uint(uint64_t *out, const char *s, uint64_t max)
{
	uint64_t v = 0;

	if (!*s)
		return -EINVAL;
	for (; *s; s++) {
		unsigned d;

		if (*s < '0' || *s > '9')
			return -EINVAL;
		d = (unsigned)(*s - '0');
		if (v > (max - d) / 10)
			return -EINVAL;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

static int parse_scope(uint32_t *scope, const char *zone)
{
	uint64_t v;

	if (!*zone)
		return -EINVAL;
	if (!uapi_parse_uint(&v, zone, UINT32_MAX)) {
		*scope = (uint32_t)v;
		return 0;
	}
	if (strlen(zone) >= IF_NAMESIZE)
		return -EINVAL;
	*scope = if_nametoindex(zone);
	return *scope ? 0 : -EINVAL;
}

static int parse_endpoint6(struct uapi_peer_change *pc, const char *s)
{
	struct sockaddr_in6 *in6 = &pc->endpoint.in6;
	char host[INET6_ADDRSTRLEN + IF_NAMESIZE + 1];
	const char *close = strchr(s, ']');
	char *zone;
	uint64_t port;
	size_t n;

	if (!close || close[1] != ':')
		return -EINVAL;
	n = (size_t)(close - s);
	if (n >= sizeof(host))
		return -EINVAL;
	memcpy(host, s, n);
	host[n] = '\0';
	memset(in6, 0, sizeof(*in6));
	zone = strchr(host, '%');
	if (zone) {
		*zone++ = '\0';
		if (parse_scope(&in6->sin6_scope_id, zone))
			return -EINVAL;
	}
	if (inet_pton(AF_INET6, host, &in6->sin6_addr) != 1 ||
	    uapi_parse_uint(&port, close + 2, UINT16_MAX))
		return -EINVAL;
	in6->sin6_family = AF_INET6;
	in6->sin6_port = htons((uint16_t)port);
	pc->endpoint_len = sizeof(*in6);
	return 0;
}

static int parse_endpoint4(struct uapi_peer_change *pc, const char *s)
{
	struct sockaddr_in *in4 = &pc->endpoint.in4;
	char host[INET_ADDRSTRLEN];
	const char *colon = strrchr(s, ':');
	uint64_t port;
	size_t n;

	if (!colon)
		return -EINVAL;
	n = (size_t)(colon - s);
	if (n >= sizeof(host))
		return -EINVAL;
	memcpy(host, s, n);
	host[n] = '\0';
	memset(in4, 0, sizeof(*in4));
	if (inet_pton(AF_INET, host, &in4->sin_addr) != 1 ||
	    uapi_parse_uint(&port, colon + 1, UINT16_MAX))
		return -EINVAL;
	in4->sin_family = AF_INET;
	in4->sin_port = htons((uint16_t)port);
	pc->endpoint_len = sizeof(*in4);
	return 0;
}

int uapi_parse_endpoint(struct uapi_peer_change *pc, const char *s)
{
	if (s[0] == '[')
		return parse_endpoint6(pc, s + 1);
	return parse_endpoint4(pc, s);
}

static void mask_prefix(uint8_t *addr, size_t len, unsigned cidr)
{
	for (size_t i = 0; i < len; i++) {
		if (cidr >= 8) {
			cidr -= 8;
			continue;
		}
		addr[i] &= (uint8_t)(0xff00u >> cidr);
		cidr = 0;
	}
}

/* As Go's netip.ParsePrefix: no zone, bits without sign or leading zero. */
int uapi_parse_prefix(struct uapi_prefix *p, const char *s)
{
	char host[INET6_ADDRSTRLEN];
	const char *slash;
	uint64_t cidr;
	unsigned max;
	size_t n;

	memset(p, 0, sizeof(*p));
	if (*s == '-') {
		p->remove = true;
		s++;
	}
	slash = strrchr(s, '/');
	if (!slash)
		return -EINVAL;
	n = (size_t)(slash - s);
	if (n >= sizeof(host))
		return -EINVAL;
	memcpy(host, s, n);
	host[n] = '\0';
	if (strchr(host, ':')) {
		p->family = AF_INET6;
		max = 128;
	} else {
		p->family = AF_INET;
		max = 32;
	}
	if (inet_pton(p->family, host, &p->addr) != 1)
		return -EINVAL;
	if ((slash[1] == '0' && slash[2]) || uapi_parse_uint(&cidr, slash + 1, max))
		return -EINVAL;
	p->cidr = (uint8_t)cidr;
	mask_prefix((uint8_t *)&p->addr, p->family == AF_INET ? 4 : 16, p->cidr);
	return 0;
}

static int parse_true(const char *value)
{
	return strcmp(value, "true") ? -EINVAL : 0;
}

static int add_prefix(struct uapi_peer_change *pc, const struct uapi_prefix *p)
{
	if (pc->n_prefixes == pc->cap_prefixes) {
		size_t cap = pc->cap_prefixes ? 2 * pc->cap_prefixes : 8;
		struct uapi_prefix *n = realloc(pc->prefixes, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		pc->prefixes = n;
		pc->cap_prefixes = cap;
	}
	pc->prefixes[pc->n_prefixes++] = *p;
	return 0;
}

static int start_peer(struct parse_state *st, const char *value)
{
	struct uapi_set *set = st->set;
	uint8_t key[ALTUNTUN_KEY_LEN];

	if (uapi_parse_key(key, value))
		return -EINVAL;
	if (set->n_peers == set->cap_peers) {
		size_t cap = set->cap_peers ? 2 * set->cap_peers : 8;
		struct uapi_peer_change *n = realloc(set->peers, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		set->peers = n;
		set->cap_peers = cap;
	}
	st->peer = &set->peers[set->n_peers++];
	memset(st->peer, 0, sizeof(*st->peer));
	memcpy(st->peer->public_key, key, sizeof(key));
	st->ignore_peer = false;
	return 0;
}

static int parse_device_line(struct uapi_set *set, const char *key, const char *value)
{
	uint64_t v;

	if (!strcmp(key, "private_key")) {
		if (uapi_parse_key(set->private_key, value))
			return -EINVAL;
		set->flags |= UAPI_DEV_HAS_PRIVATE_KEY;
	} else if (!strcmp(key, "listen_port")) {
		if (uapi_parse_uint(&v, value, UINT16_MAX))
			return -EINVAL;
		set->listen_port = (uint16_t)v;
		set->flags |= UAPI_DEV_HAS_LISTEN_PORT;
	} else if (!strcmp(key, "fwmark")) {
		if (uapi_parse_uint(&v, value, UINT32_MAX))
			return -EINVAL;
		set->fwmark = (uint32_t)v;
		set->flags |= UAPI_DEV_HAS_FWMARK;
	} else if (!strcmp(key, "replace_peers")) {
		if (parse_true(value))
			return -EINVAL;
		set->flags |= UAPI_DEV_REPLACE_PEERS;
	} else {
		return -EINVAL;
	}
	return 0;
}

/* remove=true drops whatever the section said before and ignores the rest. */
static void mark_removed(struct parse_state *st)
{
	struct uapi_peer_change *pc = st->peer;

	free(pc->prefixes);
	pc->prefixes = NULL;
	pc->n_prefixes = pc->cap_prefixes = 0;
	explicit_bzero(pc->preshared_key, sizeof(pc->preshared_key));
	pc->flags = UAPI_PEER_REMOVE;
	st->ignore_peer = true;
}

static int parse_peer_line(struct parse_state *st, const char *key, const char *value)
{
	struct uapi_peer_change *pc = st->ignore_peer ? &st->discard : st->peer;
	struct uapi_prefix prefix;
	uint64_t v;

	if (!strcmp(key, "update_only")) {
		if (parse_true(value))
			return -EINVAL;
		pc->flags |= UAPI_PEER_UPDATE_ONLY;
	} else if (!strcmp(key, "remove")) {
		if (parse_true(value))
			return -EINVAL;
		if (!st->ignore_peer)
			mark_removed(st);
	} else if (!strcmp(key, "preshared_key")) {
		if (uapi_parse_key(pc->preshared_key, value))
			return -EINVAL;
		pc->flags |= UAPI_PEER_HAS_PRESHARED_KEY;
	} else if (!strcmp(key, "endpoint")) {
		if (uapi_parse_endpoint(pc, value))
			return -EINVAL;
		pc->flags |= UAPI_PEER_HAS_ENDPOINT;
	} else if (!strcmp(key, "persistent_keepalive_interval")) {
		if (uapi_parse_uint(&v, value, UINT16_MAX))
			return -EINVAL;
		pc->keepalive = (uint16_t)v;
		pc->flags |= UAPI_PEER_HAS_KEEPALIVE;
	} else if (!strcmp(key, "replace_allowed_ips")) {
		if (parse_true(value))
			return -EINVAL;
		/* Clearing comes first when applied: earlier prefixes go. */
		pc->n_prefixes = 0;
		pc->flags |= UAPI_PEER_REPLACE_ALLOWED_IPS;
	} else if (!strcmp(key, "allowed_ip")) {
		if (uapi_parse_prefix(&prefix, value))
			return -EINVAL;
		if (!st->ignore_peer)
			return add_prefix(pc, &prefix);
	} else if (!strcmp(key, "protocol_version")) {
		if (strcmp(value, "1"))
			return -EINVAL;
	} else {
		return -EINVAL;
	}
	return 0;
}

static int parse_line(struct parse_state *st, const char *s, size_t n)
{
	char line[UAPI_MAX_LINE + 1];
	char *value;
	int ret;

	if (n > UAPI_MAX_LINE || memchr(s, '\0', n))
		return -EINVAL;
	memcpy(line, s, n);
	line[n] = '\0';
	value = strchr(line, '=');
	if (!value)
		return -EPROTO;
	*value++ = '\0';
	st->set->changes = true;
	if (!strcmp(line, "public_key"))
		ret = start_peer(st, value);
	else if (!st->peer)
		ret = parse_device_line(st->set, line, value);
	else
		ret = parse_peer_line(st, line, value);
	explicit_bzero(line, n);
	return ret;
}

int uapi_set_parse(struct uapi_set *set, const char *body, size_t len)
{
	struct parse_state st = { .set = set };
	const char *p = body, *end = body + len;
	int ret = 0;

	memset(set, 0, sizeof(*set));
	while (p < end && !ret) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);

		if (!n && nl)
			break;
		ret = parse_line(&st, p, n);
		p += n + (nl ? 1 : 0);
	}
	explicit_bzero(&st.discard, sizeof(st.discard));
	if (ret)
		uapi_set_free(set);
	return ret;
}

void uapi_set_free(struct uapi_set *set)
{
	for (size_t i = 0; i < set->n_peers; i++)
		free(set->peers[i].prefixes);
	if (set->peers)
		explicit_bzero(set->peers, set->n_peers * sizeof(*set->peers));
	free(set->peers);
	explicit_bzero(set, sizeof(*set));
}
