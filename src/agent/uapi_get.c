// SPDX-License-Identifier: BSD-3-Clause
/*
 * get=1: the device and its peers as key=value lines, in wireguard-go's
 * order, so that wg(8) shows the same thing for both.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "uapi_internal.h"

static void put_key(struct uapi_buf *b, const char *name, const uint8_t key[ALTUNTUN_KEY_LEN])
{
	static const char digits[] = "0123456789abcdef";
	char line[32 + 1 + 2 * ALTUNTUN_KEY_LEN + 1];
	size_t n = strlen(name);

	memcpy(line, name, n);
	line[n++] = '=';
	for (size_t i = 0; i < ALTUNTUN_KEY_LEN; i++) {
		line[n++] = digits[key[i] >> 4];
		line[n++] = digits[key[i] & 0xf];
	}
	line[n++] = '\n';
	uapi_buf_append(b, line, n);
}

int uapi_format_endpoint(char *out, size_t cap, const struct sockaddr *sa)
{
	char ip[INET6_ADDRSTRLEN];
	int n;

	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in4 = (const struct sockaddr_in *)sa;

		if (!inet_ntop(AF_INET, &in4->sin_addr, ip, sizeof(ip)))
			return -EAFNOSUPPORT;
		n = snprintf(out, cap, "%s:%u", ip, ntohs(in4->sin_port));
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;

		if (!inet_ntop(AF_INET6, &in6->sin6_addr, ip, sizeof(ip)))
			return -EAFNOSUPPORT;
		if (in6->sin6_scope_id)
			n = snprintf(out, cap, "[%s%%%u]:%u", ip, in6->sin6_scope_id,
				     ntohs(in6->sin6_port));
		else
			n = snprintf(out, cap, "[%s]:%u", ip, ntohs(in6->sin6_port));
	} else {
		return -EAFNOSUPPORT;
	}
	if (n < 0 || (size_t)n >= cap)
		return -ENOSPC;
	return n;
}

static int put_allowed_ip(void *ctx, int family, const void *addr, uint8_t cidr)
{
	struct uapi_buf *b = ctx;
	char ip[INET6_ADDRSTRLEN];

	if (!inet_ntop(family, addr, ip, sizeof(ip)))
		return 0;
	uapi_buf_printf(b, "allowed_ip=%s/%u\n", ip, cidr);
	return b->failed ? -ENOMEM : 0;
}

static void put_peer(struct uapi_buf *b, const altuntun_peer *peer)
{
	uint8_t key[ALTUNTUN_KEY_LEN];
	struct altuntun_peer_stats st;
	struct altuntun_endpoint ep;
	char addr[UAPI_ENDPOINT_STRLEN];

	altuntun_peer_get_public_key(peer, key);
	put_key(b, "public_key", key);
	/* wireguard-go always reports it, all zeroes when there is none. */
	if (!altuntun_peer_get_preshared_key(peer, key))
		memset(key, 0, sizeof(key));
	put_key(b, "preshared_key", key);
	uapi_buf_append(b, "protocol_version=1\n", strlen("protocol_version=1\n"));
	if (altuntun_peer_get_endpoint(peer, &ep) &&
	    uapi_format_endpoint(addr, sizeof(addr), &ep.addr.sa) > 0)
		uapi_buf_printf(b, "endpoint=%s\n", addr);
	memset(&st, 0, sizeof(st));
	altuntun_peer_get_stats(peer, &st);
	uapi_buf_printf(b,
			"last_handshake_time_sec=%llu\n"
			"last_handshake_time_nsec=%llu\n"
			"tx_bytes=%llu\n"
			"rx_bytes=%llu\n"
			"persistent_keepalive_interval=%u\n",
			(unsigned long long)(st.last_handshake_wall_ns / 1000000000u),
			(unsigned long long)(st.last_handshake_wall_ns % 1000000000u),
			(unsigned long long)st.tx_bytes, (unsigned long long)st.rx_bytes,
			altuntun_peer_get_persistent_keepalive(peer));
	altuntun_peer_foreach_allowed_ip(peer, put_allowed_ip, b);
	explicit_bzero(key, sizeof(key));
}

int uapi_get(const altuntun_device *dev, const struct uapi_iface_ops *ops, struct uapi_buf *out)
{
	uint8_t key[ALTUNTUN_KEY_LEN];
	uint16_t port = 0;
	uint32_t fwmark = 0;

	if (altuntun_device_get_private_key(dev, key))
		put_key(out, "private_key", key);
	explicit_bzero(key, sizeof(key));
	if (ops && ops->get_listen_port)
		port = ops->get_listen_port(ops->ctx);
	if (port)
		uapi_buf_printf(out, "listen_port=%u\n", port);
	if (ops && ops->get_fwmark)
		fwmark = ops->get_fwmark(ops->ctx);
	if (fwmark)
		uapi_buf_printf(out, "fwmark=%u\n", fwmark);
	for (altuntun_peer *p = altuntun_peer_first(dev); p && !out->failed;
	     p = altuntun_peer_next(p))
		put_peer(out, p);
	return out->failed ? -ENOMEM : 0;
}
