/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The cross-platform userspace API (what wg(8) speaks to wireguard-go):
 * "get=1\n\n" and "set=1\n<key>=<value>\n...\n\n", answered with key=value
 * lines and "errno=N\n\n". A set request is parsed and validated whole before
 * anything is applied, so an invalid request changes nothing.
 */
#ifndef ALTUNTUN_UAPI_H
#define ALTUNTUN_UAPI_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "altuntun.h"

/* Largest request accepted (a peer with 130k+ allowed IPs is ~4 MiB). */
#define UAPI_MAX_REQUEST (64u << 20)
/* Longest line of a set request (the longest valid one is ~100 bytes). */
#define UAPI_MAX_LINE 4096

/* What the UAPI changes outside the protocol library: the daemon's sockets. */
struct uapi_iface_ops {
	void *ctx;
	uint16_t (*get_listen_port)(void *ctx);
	/* Returns 0 or a negative errno (e.g. -EADDRINUSE). */
	int (*set_listen_port)(void *ctx, uint16_t port);
	uint32_t (*get_fwmark)(void *ctx);
	int (*set_fwmark)(void *ctx, uint32_t mark);
	/* Optional: called after a set request changed something. */
	void (*changed)(void *ctx);
};

/*
 * Length of the first complete request in buf (through its terminating empty
 * line), 0 if more bytes are needed, or -EINVAL if buf cannot be the start of
 * a request (first line neither get=1 nor set=1, or over UAPI_MAX_REQUEST).
 */
ssize_t uapi_request_length(const char *buf, size_t len);

/*
 * Handles one complete request. The response (always ending in
 * "errno=N\n\n", N 0 or a negative errno as wireguard-go answers) is
 * malloc'd into *resp / *resp_len. Returns 0, or -ENOMEM when no response
 * could be built.
 */
int uapi_handle(altuntun_device *dev, const struct uapi_iface_ops *ops, struct altuntun_now now,
		const char *req, size_t len, char **resp, size_t *resp_len);

#endif
