/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A small epoll loop. Each watched descriptor has an ev_source, usually
 * embedded in the structure that owns the descriptor; its handler gets the
 * epoll events.
 *
 * Lifetime rule: a handler may close other sources during a batch. It must
 * then call ev_del() (which sets src->fd to -1, so events already fetched
 * for it in this batch are skipped) and free the memory only after
 * ev_loop_wait() has returned.
 */
#ifndef ALTUNTUN_EVENT_LOOP_H
#define ALTUNTUN_EVENT_LOOP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/epoll.h>

#define ev_container_of(ptr, type, member) \
	((type *)(void *)((char *)(ptr) - offsetof(type, member)))

struct ev_source {
	int fd; /* -1: not watched */
	void (*handler)(struct ev_source *src, uint32_t events);
};

struct event_loop {
	int epfd;
};

int ev_loop_init(struct event_loop *loop);
void ev_loop_close(struct event_loop *loop);
/* Watches src->fd (set by the caller) for `events` (EPOLLIN, EPOLLOUT...). */
int ev_add(struct event_loop *loop, struct ev_source *src, uint32_t events);
int ev_mod(struct event_loop *loop, struct ev_source *src, uint32_t events);
/* Stops watching and sets src->fd to -1; the caller closes the fd. */
int ev_del(struct event_loop *loop, struct ev_source *src);
/* Waits up to timeout_ms (-1: forever) and runs the handlers of one batch.
 * Returns the number of events, or a negative errno (-EINTR included). */
int ev_loop_wait(struct event_loop *loop, int timeout_ms);

#endif
