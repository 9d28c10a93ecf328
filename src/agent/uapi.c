// SPDX-License-Identifier: BSD-3-Clause
/*
 * Framing of the userspace API: finding where a request ends, dispatching it
 * to get (uapi_get.c) or set (uapi_parse.c) and building the response.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "uapi.h"
#include "uapi_internal.h"

#define OP_LINE_LEN 6 /* "get=1\n", "set=1\n" */

static bool buf_grow(struct uapi_buf *b, size_t extra)
{
	size_t cap;
	char *p;

	if (b->failed)
		return false;
	if (b->cap - b->len > extra)
		return true;
	cap = b->cap ? b->cap : 4096;
	while (cap - b->len <= extra) {
		if (cap > SIZE_MAX / 2)
			goto fail;
		cap *= 2;
	}
	/* Not realloc: the old block may hold the private key; wipe it. */
	p = malloc(cap);
	if (!p)
		goto fail;
	if (b->data) {
		memcpy(p, b->data, b->len);
		explicit_bzero(b->data, b->cap);
		free(b->data);
	}
	b->data = p;
	b->cap = cap;
	return true;
fail:
	b->failed = true;
	return false;
}

/* The buffer stays NUL-terminated, so it can be printed. */
void uapi_buf_append(struct uapi_buf *b, const char *s, size_t n)
{
	if (!buf_grow(b, n))
		return;
	memcpy(b->data + b->len, s, n);
	b->len += n;
	b->data[b->len] = '\0';
}

void uapi_buf_printf(struct uapi_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!buf_grow(b, 128))
		return;
	va_start(ap, fmt);
	n = vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->failed = true;
		return;
	}
	if ((size_t)n >= b->cap - b->len) {
		if (!buf_grow(b, (size_t)n))
			return;
		va_start(ap, fmt);
		vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
	}
	b->len += (size_t)n;
}

void uapi_buf_free(struct uapi_buf *b)
{
	if (b->data)
		explicit_bzero(b->data, b->cap);
	free(b->data);
	memset(b, 0, sizeof(*b));
}

/*
 * First "\n\n" in [p, end). The daemon may call uapi_request_length() with
 * the whole buffer after every read, so this skips 8 bytes at a time: byte i
 * of z is zero exactly when p[i] and p[i + 1] are both newlines.
 */
static const char *find_blank_line(const char *p, const char *end)
{
	const uint64_t ones = 0x0101010101010101ull, highs = ones << 7, nl = ones * '\n';

	while (end - p > 8) {
		uint64_t a, b, z;

		memcpy(&a, p, 8);
		memcpy(&b, p + 1, 8);
		z = (a ^ nl) | (b ^ nl);
		if ((z - ones) & ~z & highs)
			break;
		p += 8;
	}
	for (; end - p >= 2; p++) {
		if (p[0] == '\n' && p[1] == '\n')
			return p;
	}
	return NULL;
}

/*
 * A set request ends at its first empty line. The first line is "set=1\n",
 * so the search starts at its newline: "set=1\n\n" is an empty request.
 */
static ssize_t set_request_length(const char *buf, size_t len)
{
	size_t limit = len < UAPI_MAX_REQUEST ? len : UAPI_MAX_REQUEST;
	const char *end;

	end = find_blank_line(buf + OP_LINE_LEN - 1, buf + limit);
	if (end)
		return end + 2 - buf;
	/* A terminator found past the limit would make the request too long. */
	return len > UAPI_MAX_REQUEST ? -EINVAL : 0;
}

ssize_t uapi_request_length(const char *buf, size_t len)
{
	size_t head = len < OP_LINE_LEN ? len : OP_LINE_LEN;

	if (!len)
		return 0;
	if (!memcmp(buf, "get=1\n", head)) {
		/* wireguard-go consumes the byte after "get=1\n" whatever it
		 * is, and answers -EINVAL if it is not the empty line. */
		return len > OP_LINE_LEN ? OP_LINE_LEN + 1 : 0;
	}
	if (!memcmp(buf, "set=1\n", head))
		return len > OP_LINE_LEN - 1 ? set_request_length(buf, len) : 0;
	return -EINVAL;
}

static int lib_errno(int err)
{
	return err == ALTUNTUN_ERR_NOMEM ? -ENOMEM : -EINVAL;
}

/* The sockets first: a port that cannot be bound leaves everything as it was. */
static int apply_sockets(const struct uapi_iface_ops *ops, const struct uapi_set *set)
{
	bool port_set = false;
	uint16_t old_port = 0;
	int ret;

	if (!ops)
		return 0;
	if ((set->flags & UAPI_DEV_HAS_LISTEN_PORT) && ops->set_listen_port) {
		if (ops->get_listen_port)
			old_port = ops->get_listen_port(ops->ctx);
		ret = ops->set_listen_port(ops->ctx, set->listen_port);
		if (ret < 0)
			return ret;
		port_set = ops->get_listen_port != NULL;
	}
	if ((set->flags & UAPI_DEV_HAS_FWMARK) && ops->set_fwmark) {
		ret = ops->set_fwmark(ops->ctx, set->fwmark);
		if (ret < 0) {
			if (port_set)
				ops->set_listen_port(ops->ctx, old_port);
			return ret;
		}
	}
	return 0;
}

static void remove_all_peers(altuntun_device *dev)
{
	altuntun_peer *peer;

	while ((peer = altuntun_peer_first(dev)))
		altuntun_peer_remove(dev, peer);
}

static int apply_prefixes(altuntun_device *dev, altuntun_peer *peer,
			  const struct uapi_peer_change *pc)
{
	int ret;

	if (pc->flags & UAPI_PEER_REPLACE_ALLOWED_IPS)
		altuntun_peer_clear_allowed_ips(dev, peer);
	for (size_t i = 0; i < pc->n_prefixes; i++) {
		const struct uapi_prefix *p = &pc->prefixes[i];

		if (!p->remove) {
			ret = altuntun_peer_add_allowed_ip(dev, peer, p->family, &p->addr, p->cidr);
			if (ret < 0)
				return lib_errno(ret);
		} else {
			/* Removing a prefix the peer does not own is no error. */
			altuntun_peer_remove_allowed_ip(dev, peer, p->family, &p->addr, p->cidr);
		}
	}
	return 0;
}

static int apply_peer(altuntun_device *dev, struct altuntun_now now,
		      const struct uapi_peer_change *pc)
{
	altuntun_peer *peer = altuntun_peer_lookup(dev, pc->public_key);
	int ret = 0;

	if (pc->flags & UAPI_PEER_REMOVE) {
		if (peer)
			altuntun_peer_remove(dev, peer);
		return 0;
	}
	if (!peer) {
		if (pc->flags & UAPI_PEER_UPDATE_ONLY)
			return 0;
		peer = altuntun_peer_add(dev, pc->public_key, &ret);
		if (!peer)
			return ret == ALTUNTUN_ERR_PEER_IS_SELF ? 0 : lib_errno(ret);
	}
	if (pc->flags & UAPI_PEER_HAS_PRESHARED_KEY)
		altuntun_peer_set_preshared_key(peer, pc->preshared_key);
	if (pc->flags & UAPI_PEER_HAS_ENDPOINT) {
		ret = altuntun_peer_set_endpoint(peer, &pc->endpoint.sa, pc->endpoint_len);
		if (ret < 0)
			return lib_errno(ret);
	}
	ret = apply_prefixes(dev, peer, pc);
	if (ret)
		return ret;
	/* Last, as wireguard-go: a keepalive sent now goes to the new endpoint. */
	if (pc->flags & UAPI_PEER_HAS_KEEPALIVE)
		altuntun_peer_set_persistent_keepalive(dev, peer, pc->keepalive, now);
	return 0;
}

int uapi_set_apply(altuntun_device *dev, const struct uapi_iface_ops *ops,
		   struct altuntun_now now, const struct uapi_set *set)
{
	int ret;

	ret = apply_sockets(ops, set);
	if (ret)
		return ret;
	if (set->flags & UAPI_DEV_HAS_PRIVATE_KEY) {
		ret = altuntun_device_set_private_key(dev, set->private_key);
		ret = ret < 0 ? lib_errno(ret) : 0;
	}
	if (!ret && (set->flags & UAPI_DEV_REPLACE_PEERS))
		remove_all_peers(dev);
	for (size_t i = 0; !ret && i < set->n_peers; i++)
		ret = apply_peer(dev, now, &set->peers[i]);
	if (set->changes && ops && ops->changed)
		ops->changed(ops->ctx);
	return ret;
}

static int handle_set(altuntun_device *dev, const struct uapi_iface_ops *ops,
		      struct altuntun_now now, const char *body, size_t len)
{
	struct uapi_set set;
	int ret;

	ret = uapi_set_parse(&set, body, len);
	if (ret)
		return ret;
	ret = uapi_set_apply(dev, ops, now, &set);
	uapi_set_free(&set);
	return ret;
}

int uapi_handle(altuntun_device *dev, const struct uapi_iface_ops *ops, struct altuntun_now now,
		const char *req, size_t len, char **resp, size_t *resp_len)
{
	struct uapi_buf out = { 0 };
	int ret = -EINVAL;

	*resp = NULL;
	*resp_len = 0;
	if (len >= OP_LINE_LEN && !memcmp(req, "get=1\n", OP_LINE_LEN)) {
		if (len > OP_LINE_LEN && req[OP_LINE_LEN] == '\n')
			ret = uapi_get(dev, ops, &out);
	} else if (len >= OP_LINE_LEN && !memcmp(req, "set=1\n", OP_LINE_LEN)) {
		ret = handle_set(dev, ops, now, req + OP_LINE_LEN, len - OP_LINE_LEN);
	}
	if (out.failed)
		ret = -ENOMEM;
	if (ret)
		uapi_buf_free(&out);
	uapi_buf_printf(&out, "errno=%d\n\n", ret);
	if (out.failed) {
		uapi_buf_free(&out);
		return -ENOMEM;
	}
	*resp = out.data;
	*resp_len = out.len;
	return 0;
}
