// SPDX-License-Identifier: BSD-3-Clause
/* A small epoll loop (see event_loop.h). */
#include <errno.h>
#include <unistd.h>

#include "event_loop.h"

#define EV_BATCH 64

int ev_loop_init(struct event_loop *loop)
{
	loop->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (loop->epfd < 0)
		return -errno;
	return 0;
}

void ev_loop_close(struct event_loop *loop)
{
	if (loop->epfd >= 0)
		close(loop->epfd);
	loop->epfd = -1;
}

static int ctl(struct event_loop *loop, int op, struct ev_source *src, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = src };

	if (src->fd < 0)
		return -EBADF;
	if (epoll_ctl(loop->epfd, op, src->fd, &ev) < 0)
		return -errno;
	return 0;
}

int ev_add(struct event_loop *loop, struct ev_source *src, uint32_t events)
{
	return ctl(loop, EPOLL_CTL_ADD, src, events);
}

int ev_mod(struct event_loop *loop, struct ev_source *src, uint32_t events)
{
	return ctl(loop, EPOLL_CTL_MOD, src, events);
}

int ev_del(struct event_loop *loop, struct ev_source *src)
{
	int r = 0;

	if (src->fd >= 0 && epoll_ctl(loop->epfd, EPOLL_CTL_DEL, src->fd, NULL) < 0)
		r = -errno;
	src->fd = -1;
	return r;
}

int ev_loop_wait(struct event_loop *loop, int timeout_ms)
{
	struct epoll_event evs[EV_BATCH];
	int n = epoll_wait(loop->epfd, evs, EV_BATCH, timeout_ms);

	if (n < 0)
		return -errno;
	for (int i = 0; i < n; i++) {
		struct ev_source *src = evs[i].data.ptr;

		/* Closed by an earlier handler of this batch. */
		if (src->fd < 0)
			continue;
		src->handler(src, evs[i].events);
	}
	return n;
}
