/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Internals of the userspace API shared by uapi.c (framing), uapi_get.c
 * (get=1) and uapi_parse.c (set=1), and visible to the unit tests.
 *
 * A set request is first parsed into a struct uapi_set, the same shape as
 * the configuration wg(8) builds: device fields with UAPI_DEV_* flags, then
 * one struct uapi_peer_change per public_key section, in request order.
 * Only a request that parsed whole is applied.
 */
#ifndef ALTUNTUN_UAPI_INTERNAL_H
#define ALTUNTUN_UAPI_INTERNAL_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "altuntun.h"
#include "uapi.h"

/* ---- growing output buffer ---- */

struct uapi_buf {
	char *data;
	size_t len;
	size_t cap;
	bool failed; /* an allocation failed: the content is incomplete */
};

void uapi_buf_append(struct uapi_buf *b, const char *s, size_t n);
void uapi_buf_printf(struct uapi_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void uapi_buf_free(struct uapi_buf *b);

/* ---- get ---- */

/* Appends the key=value lines of a get response (without errno). */
int uapi_get(const altuntun_device *dev, const struct uapi_iface_ops *ops, struct uapi_buf *out);
/* "a.b.c.d:port", "[v6]:port" or "[v6%scope]:port"; returns the length or
 * -EAFNOSUPPORT. out needs UAPI_ENDPOINT_STRLEN bytes. */
#define UAPI_ENDPOINT_STRLEN (INET6_ADDRSTRLEN + 20)
int uapi_format_endpoint(char *out, size_t cap, const struct sockaddr *sa);

/* ---- set: intermediate representation ---- */

enum {
	UAPI_DEV_HAS_PRIVATE_KEY = 1U << 0,
	UAPI_DEV_HAS_LISTEN_PORT = 1U << 1,
	UAPI_DEV_HAS_FWMARK = 1U << 2,
	UAPI_DEV_REPLACE_PEERS = 1U << 3,
};

enum {
	UAPI_PEER_REMOVE = 1U << 0,
	UAPI_PEER_UPDATE_ONLY = 1U << 1,
	UAPI_PEER_HAS_PRESHARED_KEY = 1U << 2,
	UAPI_PEER_HAS_ENDPOINT = 1U << 3,
	UAPI_PEER_HAS_KEEPALIVE = 1U << 4,
	UAPI_PEER_REPLACE_ALLOWED_IPS = 1U << 5,
};

struct uapi_prefix {
	union {
		struct in_addr v4;
		struct in6_addr v6;
	} addr; /* host bits cleared */
	uint8_t family; /* AF_INET or AF_INET6 */
	uint8_t cidr;
	bool remove; /* allowed_ip=-prefix */
};

struct uapi_peer_change {
	uint8_t public_key[ALTUNTUN_KEY_LEN];
	uint8_t preshared_key[ALTUNTUN_KEY_LEN];
	uint32_t flags;
	uint16_t keepalive;
	union {
		struct sockaddr sa;
		struct sockaddr_in in4;
		struct sockaddr_in6 in6;
	} endpoint;
	socklen_t endpoint_len;
	/* Applied in order, after clearing if UAPI_PEER_REPLACE_ALLOWED_IPS. */
	struct uapi_prefix *prefixes;
	size_t n_prefixes;
	size_t cap_prefixes;
};

struct uapi_set {
	uint32_t flags;
	uint8_t private_key[ALTUNTUN_KEY_LEN];
	uint16_t listen_port;
	uint32_t fwmark;
	struct uapi_peer_change *peers;
	size_t n_peers;
	size_t cap_peers;
	bool changes; /* any key at all: a change to report */
};

/*
 * Parses the lines after "set=1\n" (through the empty line, or to the end of
 * body). Returns 0 or the errno wireguard-go answers: -EINVAL for a bad key
 * or value, -EPROTO for a line without '='. On error *set is freed.
 */
int uapi_set_parse(struct uapi_set *set, const char *body, size_t len);
/*
 * Applies a parsed request: listen port and fwmark first (a failure there,
 * answered with the errno ops gave, leaves the device untouched), then the
 * private key, replace_peers and the peers in order. Calls ops->changed
 * once the device may have changed. Returns 0 or a negative errno.
 */
int uapi_set_apply(altuntun_device *dev, const struct uapi_iface_ops *ops,
		   struct altuntun_now now, const struct uapi_set *set);
void uapi_set_free(struct uapi_set *set);

/* ---- value parsers (NUL-terminated input; 0 or -EINVAL) ---- */

int uapi_parse_key(uint8_t key[ALTUNTUN_KEY_LEN], const char *hex);
int uapi_parse_uint(uint64_t *out, const char *s, uint64_t max);
/* Literal addresses only: a.b.c.d:port, [v6]:port, [v6%scope]:port. Sets
 * only pc->endpoint and pc->endpoint_len. */
int uapi_parse_endpoint(struct uapi_peer_change *pc, const char *s);
int uapi_parse_prefix(struct uapi_prefix *p, const char *s);

#endif
