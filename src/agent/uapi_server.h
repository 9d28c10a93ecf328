/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Serves the userspace API on a listening socket: accepts clients
 * (non-blocking, at most UAPI_MAX_CLIENTS at once: one more makes room by
 * closing the client idle the longest, so clients that say nothing never
 * keep `wg` out), accumulates each one's bytes (at most UAPI_MAX_REQUEST per
 * request, UAPI_MAX_LINE per line, UAPI_MAX_BUFFERED over all clients),
 * answers each complete request with uapi_handle() and writes the answer as
 * the client reads it, then goes on with the next request on the same
 * connection. A client that sends a request that cannot be valid gets
 * "errno=-22" (over UAPI_MAX_BUFFERED: "errno=-12") and is closed; one idle
 * for UAPI_CLIENT_IDLE_SEC is closed.
 */
#ifndef ALTUNTUN_UAPI_SERVER_H
#define ALTUNTUN_UAPI_SERVER_H

#include <stddef.h>

#include "altuntun.h"
#include "event_loop.h"
#include "uapi.h"

#define UAPI_MAX_CLIENTS 256
#define UAPI_CLIENT_IDLE_SEC 30
/* Request bytes held for all clients together: one request of
 * UAPI_MAX_REQUEST while its buffer doubles (32 + 64 MiB), and room for
 * small ones beside it. */
#define UAPI_MAX_BUFFERED (2 * (size_t)UAPI_MAX_REQUEST)

struct uapi_server;

/*
 * Starts serving on listen_fd (which stays the caller's to close). `ops`
 * must outlive the server. Returns 0 or a negative errno.
 */
int uapi_server_open(struct uapi_server **out, struct event_loop *loop, int listen_fd,
		     altuntun_device *dev, const struct uapi_iface_ops *ops);
/* Frees the clients closed during the last ev_loop_wait() batch. */
void uapi_server_reap(struct uapi_server *s);
/* Closes every client and frees the server. */
void uapi_server_close(struct uapi_server *s);
size_t uapi_server_client_count(const struct uapi_server *s);

#endif
