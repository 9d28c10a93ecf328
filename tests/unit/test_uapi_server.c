// SPDX-License-Identifier: BSD-3-Clause
/* The UAPI server's limits: an overlong line is refused before its request
 * ends, and a client beyond UAPI_MAX_CLIENTS makes room by closing the one
 * idle the longest. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "altuntun.h"
#include "event_loop.h"
#include "test.h"
#include "uapi.h"
#include "uapi_server.h"

struct server_fx {
	struct event_loop loop;
	altuntun_device *dev;
	struct uapi_server *srv;
	int listen_fd;
	struct sockaddr_un sun;
	socklen_t sun_len;
};

static int no_send(void *ctx, altuntun_peer *peer, const struct altuntun_endpoint *to,
		   const uint8_t *data, size_t len)
{
	(void)ctx, (void)peer, (void)to, (void)data, (void)len;
	return -ENETUNREACH;
}

/* A listening socket in the abstract namespace: no file to clean up. */
static void sfx_init(struct server_fx *fx)
{
	static const struct altuntun_callbacks cb = { .send = no_send };
	int n;

	memset(fx, 0, sizeof(*fx));
	fx->sun.sun_family = AF_UNIX;
	n = snprintf(fx->sun.sun_path + 1, sizeof(fx->sun.sun_path) - 1, "altuntun-unit-%d",
		     (int)getpid());
	fx->sun_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)n);
	fx->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	CHECK(fx->listen_fd >= 0);
	CHECK_EQ(bind(fx->listen_fd, (struct sockaddr *)&fx->sun, fx->sun_len), 0);
	CHECK_EQ(listen(fx->listen_fd, UAPI_MAX_CLIENTS + 8), 0);
	CHECK_EQ(ev_loop_init(&fx->loop), 0);
	fx->dev = altuntun_device_new(&cb);
	CHECK(fx->dev != NULL);
	CHECK_EQ(uapi_server_open(&fx->srv, &fx->loop, fx->listen_fd, fx->dev, NULL), 0);
}

static void sfx_free(struct server_fx *fx)
{
	uapi_server_close(fx->srv);
	altuntun_device_free(fx->dev);
	ev_loop_close(&fx->loop);
	close(fx->listen_fd);
}

/* Runs the loop until it has nothing more to do right now. */
static void pump(struct server_fx *fx)
{
	for (int i = 0; i < 64; i++) {
		int n = ev_loop_wait(&fx->loop, 5);

		uapi_server_reap(fx->srv);
		if (n == 0)
			return;
	}
}

static int client(struct server_fx *fx)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	CHECK(fd >= 0);
	CHECK_EQ(connect(fd, (struct sockaddr *)&fx->sun, fx->sun_len), 0);
	return fd;
}

/* What the server sent so far; *closed set if it closed the connection. */
static size_t drain(int fd, char *buf, size_t cap, bool *closed)
{
	size_t len = 0;

	*closed = false;
	while (len < cap - 1) {
		ssize_t n = recv(fd, buf + len, cap - 1 - len, MSG_DONTWAIT);

		if (n == 0 || (n < 0 && errno == ECONNRESET)) {
			*closed = true;
			break;
		}
		if (n < 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	return len;
}

TEST(uapi_server_refuses_an_overlong_line_before_the_request_ends)
{
	struct server_fx fx;
	char line[UAPI_MAX_LINE + 64], buf[256];
	bool closed;
	int fd;

	sfx_init(&fx);
	fd = client(&fx);
	memset(line, 'a', sizeof(line));
	CHECK_EQ(send(fd, "set=1\nprivate_key=", 18, 0), 18);
	CHECK_EQ(send(fd, line, sizeof(line), 0), (ssize_t)sizeof(line));
	pump(&fx);
	drain(fd, buf, sizeof(buf), &closed);
	CHECK(!strcmp(buf, "errno=-22\n\n"));
	CHECK(closed);
	/* A line of exactly UAPI_MAX_LINE bytes is still waited for. */
	close(fd);
	fd = client(&fx);
	CHECK_EQ(send(fd, "set=1\n", 6, 0), 6);
	CHECK_EQ(send(fd, line, UAPI_MAX_LINE, 0), UAPI_MAX_LINE);
	pump(&fx);
	CHECK_EQ(drain(fd, buf, sizeof(buf), &closed), 0);
	CHECK(!closed);
	close(fd);
	pump(&fx);
	CHECK_EQ(uapi_server_client_count(fx.srv), 0);
	sfx_free(&fx);
}

TEST(uapi_server_makes_room_by_closing_the_longest_idle_client)
{
	struct server_fx fx;
	int fds[UAPI_MAX_CLIENTS], extra;
	char buf[4096];
	bool closed;

	sfx_init(&fx);
	for (int i = 0; i < UAPI_MAX_CLIENTS; i++) {
		fds[i] = client(&fx);
		/* One at a time, so they are accepted (and aged) in order. */
		pump(&fx);
	}
	CHECK_EQ(uapi_server_client_count(fx.srv), UAPI_MAX_CLIENTS);
	/* The first one speaks: now the second is the longest idle. */
	CHECK_EQ(send(fds[0], "get=1\n\n", 7, 0), 7);
	pump(&fx);
	drain(fds[0], buf, sizeof(buf), &closed);
	CHECK(strstr(buf, "errno=0\n\n") != NULL);
	extra = client(&fx);
	CHECK_EQ(send(extra, "get=1\n\n", 7, 0), 7);
	pump(&fx);
	drain(extra, buf, sizeof(buf), &closed);
	CHECK(strstr(buf, "errno=0\n\n") != NULL);
	CHECK(!closed);
	CHECK_EQ(uapi_server_client_count(fx.srv), UAPI_MAX_CLIENTS);
	drain(fds[1], buf, sizeof(buf), &closed);
	CHECK(closed);
	drain(fds[0], buf, sizeof(buf), &closed);
	CHECK(!closed);
	drain(fds[2], buf, sizeof(buf), &closed);
	CHECK(!closed);
	close(extra);
	for (int i = 0; i < UAPI_MAX_CLIENTS; i++)
		close(fds[i]);
	pump(&fx);
	CHECK_EQ(uapi_server_client_count(fx.srv), 0);
	sfx_free(&fx);
}
