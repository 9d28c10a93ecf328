/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Serves the userspace API on a listening socket: accepts clients
 * (non-blocking, at most UAPI_MAX_CLIENTS at once), accumulates each one's
 * bytes (at most UAPI_MAX_REQUEST), answers each complete request with
 * uapi_handle() and writes the answer as the client reads it, then goes on
 * with the next request on the same connection. A client that sends a
 * request that cannot be valid gets "errno=-22" and is closed; one idle for
 * UAPI_CLIENT_IDLE_SEC is closed.
 */
#ifndef ALTUNTUN_UAPI_SERVER_H
#define ALTUNTUN_UAPI_SERVER_H

#include <stddef.h>

#include "altuntun.h"
#include "event_loop.h"
#include "uapi.h"

#define UAPI_MAX_CLIENTS 256
#define UAPI_CLIENT_IDLE_SEC 30

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
