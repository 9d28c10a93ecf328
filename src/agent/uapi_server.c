// SPDX-License-Identifier: BSD-3-Clause
/* Serves the userspace API to its clients (see uapi_server.h). */
#include <errno.h>
#include <malloc.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "uapi_server.h"

#define NSEC_PER_SEC 1000000000ull
#define ACCEPT_BATCH 32
#define READ_CHUNK 65536
/* Bytes read from one client per event, so one big request does not hold
 * up the loop (level-triggered epoll brings us back for the rest). */
#define READ_BUDGET (1u << 20)
/* Below this size uapi_request_length() is always asked; above, only when
 * new bytes hold an empty line ("\n\n"), the end of any set request. */
#define ALWAYS_ASK 65536
#define IN_CAP_MIN 4096
#define SWEEP_SEC 5
/* Blocks from this size up are mapped on their own and unmapped when freed. */
#define MMAP_THRESHOLD (128 * 1024)

struct uapi_client {
	struct ev_source src;
	struct uapi_server *srv;
	struct uapi_client *prev, *next;
	unsigned id;
	char *in;
	size_t in_len, in_cap;
	size_t scanned;        /* bytes of `in` known to hold no "\n\n" */
	size_t line_start;     /* where the line being received begins */
	bool over_budget;      /* more input would pass UAPI_MAX_BUFFERED */
	char *out;
	size_t out_len, out_off;
	bool eof;              /* the client will send nothing more */
	bool close_after_write;
	uint64_t last_active;
};

struct uapi_server {
	struct event_loop *loop;
	altuntun_device *dev;
	const struct uapi_iface_ops *ops;
	int listen_fd;
	struct ev_source listen_src; /* fd -1 while accepting is paused */
	struct ev_source sweep_src; /* timerfd: idle clients, paused accept */
	bool sweep_armed;
	bool accept_paused;         /* out of descriptors: retry later */
	bool evicting;              /* at UAPI_MAX_CLIENTS (logged once) */
	struct uapi_client *clients;
	struct uapi_client *graveyard;
	size_t n_clients;
	size_t in_bytes;            /* input buffer capacity of every client */
	unsigned next_id;
};

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
}

static struct altuntun_now now_pair(void)
{
	struct altuntun_now now;
	struct timespec ts;

	now.mono_ns = mono_ns();
	clock_gettime(CLOCK_REALTIME, &ts);
	now.wall_ns = (uint64_t)ts.tv_sec * NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
	return now;
}

/* Buffers may hold private keys: wipe before freeing. */
static void wipe_free(char *p, size_t len)
{
	if (!p)
		return;
	explicit_bzero(p, len);
	free(p);
}

static void sweep_arm(struct uapi_server *s, bool on)
{
	struct itimerspec its = { 0 };

	if (on == s->sweep_armed)
		return;
	if (on) {
		its.it_value.tv_sec = SWEEP_SEC;
		its.it_interval.tv_sec = SWEEP_SEC;
	}
	if (timerfd_settime(s->sweep_src.fd, 0, &its, NULL) < 0) {
		log_error("uapi: cannot %s the idle timer: %s", on ? "arm" : "disarm",
			  strerror(errno));
		return;
	}
	s->sweep_armed = on;
}

static void resume_accept(struct uapi_server *s)
{
	int r;

	if (!s->accept_paused)
		return;
	s->listen_src.fd = s->listen_fd;
	r = ev_add(s->loop, &s->listen_src, EPOLLIN);
	if (r < 0) {
		s->listen_src.fd = -1;
		log_error("uapi: cannot watch the listening socket again: %s", strerror(-r));
		return;
	}
	s->accept_paused = false;
	log_info("uapi: accepting clients again");
}

static void client_close(struct uapi_client *c, const char *why)
{
	struct uapi_server *s = c->srv;
	int fd = c->src.fd;

	if (fd < 0)
		return;
	log_debug("uapi: client %u closed (%s)", c->id, why);
	ev_del(s->loop, &c->src);
	close(fd);
	/* Unlink from the live list; freed in uapi_server_reap(). */
	if (c->prev)
		c->prev->next = c->next;
	else
		s->clients = c->next;
	if (c->next)
		c->next->prev = c->prev;
	c->prev = NULL;
	c->next = s->graveyard;
	s->graveyard = c;
	s->n_clients--;
	resume_accept(s);
	if (!s->n_clients && !s->accept_paused)
		sweep_arm(s, false);
}

/* Frees the input buffer and gives its bytes back to the shared budget. */
static void release_input(struct uapi_client *c)
{
	wipe_free(c->in, c->in_cap);
	c->srv->in_bytes -= c->in_cap;
	c->in = NULL;
	c->in_cap = 0;
}

static void client_free(struct uapi_client *c)
{
	release_input(c);
	wipe_free(c->out, c->out_len);
	free(c);
}

void uapi_server_reap(struct uapi_server *s)
{
	while (s->graveyard) {
		struct uapi_client *c = s->graveyard;

		s->graveyard = c->next;
		client_free(c);
	}
}

static void client_want(struct uapi_client *c, uint32_t events)
{
	int r = ev_mod(c->srv->loop, &c->src, events);

	if (r < 0) {
		log_error("uapi: client %u: epoll: %s", c->id, strerror(-r));
		client_close(c, "epoll failed");
	}
}

enum flush_result { FLUSH_DONE, FLUSH_PENDING, FLUSH_CLOSED };

static enum flush_result client_flush(struct uapi_client *c)
{
	while (c->out_off < c->out_len) {
		ssize_t n = send(c->src.fd, c->out + c->out_off, c->out_len - c->out_off,
				 MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				client_want(c, EPOLLOUT);
				return c->src.fd < 0 ? FLUSH_CLOSED : FLUSH_PENDING;
			}
			client_close(c, strerror(errno));
			return FLUSH_CLOSED;
		}
		c->out_off += (size_t)n;
		c->last_active = mono_ns();
	}
	wipe_free(c->out, c->out_len);
	c->out = NULL;
	c->out_len = c->out_off = 0;
	if (c->close_after_write) {
		client_close(c, "answered an invalid request");
		return FLUSH_CLOSED;
	}
	return FLUSH_DONE;
}

/* Drops the first n bytes of the input. */
static void consume(struct uapi_client *c, size_t n)
{
	memmove(c->in, c->in + n, c->in_len - n);
	explicit_bzero(c->in + c->in_len - n, n);
	c->in_len -= n;
	c->scanned = 0;
	c->line_start = 0;
	c->over_budget = false; /* the next read asks again */
	if (!c->in_len && c->in_cap > IN_CAP_MIN)
		release_input(c);
}

/* Length of the first complete request, 0 if more bytes are needed, < 0 if
 * the input cannot be a valid request (or cannot be held: -ENOMEM). */
static ssize_t next_request(struct uapi_client *c)
{
	size_t from = c->scanned ? c->scanned - 1 : 0;
	const char *nl;
	bool ask;
	ssize_t len;

	if (!c->in_len)
		return 0;
	nl = memrchr(c->in + c->scanned, '\n', c->in_len - c->scanned);
	if (nl)
		c->line_start = (size_t)(nl - c->in) + 1;
	ask = c->in_len <= ALWAYS_ASK || c->in_len >= UAPI_MAX_REQUEST ||
	      memmem(c->in + from, c->in_len - from, "\n\n", 2);
	c->scanned = c->in_len;
	if (ask) {
		len = uapi_request_length(c->in, c->in_len);
		if (len < 0 || (size_t)len > c->in_len)
			return -EINVAL;
		if (len > 0)
			return len;
	}
	/* No complete request yet: refuse early what can never become one. */
	if (c->in_len >= UAPI_MAX_REQUEST || c->in_len - c->line_start > UAPI_MAX_LINE)
		return -EMSGSIZE;
	if (c->over_budget)
		return -ENOMEM;
	return 0;
}

/* Answers errno=-12 when we could not hold the request, else errno=-22 (what
 * wireguard-go answers for any malformed one), and closes after writing. */
static void reply_invalid(struct uapi_client *c, int err)
{
	const char *msg = err == -ENOMEM ? "errno=-12\n\n" : "errno=-22\n\n";
	size_t len = strlen(msg);

	if (err == -ENOMEM)
		log_warn("uapi: client %u: request dropped: %zu bytes already held for all clients",
			 c->id, c->srv->in_bytes);
	else
		log_debug("uapi: client %u: invalid request (%s)", c->id, strerror(-err));
	consume(c, c->in_len);
	c->out = malloc(len);
	if (!c->out) {
		client_close(c, "out of memory");
		return;
	}
	memcpy(c->out, msg, len);
	c->out_len = len;
	c->out_off = 0;
	c->close_after_write = true;
}

/* Answers every complete request until one waits on the client reading. */
static void client_process(struct uapi_client *c)
{
	while (c->src.fd >= 0) {
		struct uapi_server *s = c->srv;
		char *resp;
		size_t resp_len;
		ssize_t len;
		int r;

		if (c->out) {
			if (client_flush(c) != FLUSH_DONE)
				return;
			continue;
		}
		len = next_request(c);
		if (len < 0) {
			reply_invalid(c, (int)len);
			continue;
		}
		if (len == 0) {
			if (c->eof) {
				client_close(c, c->in_len ? "closed mid-request" : "done");
				return;
			}
			client_want(c, EPOLLIN);
			return;
		}
		r = uapi_handle(s->dev, s->ops, now_pair(), c->in, (size_t)len, &resp, &resp_len);
		log_debug("uapi: client %u: %.5s request of %zd bytes answered (%zu bytes)", c->id,
			  c->in, len, r == 0 ? resp_len : 0);
		consume(c, (size_t)len);
		if (r < 0) {
			log_error("uapi: client %u: no answer could be built: %s", c->id,
				  strerror(-r));
			client_close(c, "no answer");
			return;
		}
		c->out = resp;
		c->out_len = resp_len;
		c->out_off = 0;
	}
}

/* Reads what the client sent (bounded). Returns false if it was closed. */
static bool client_read(struct uapi_client *c)
{
	size_t budget = READ_BUDGET;

	while (budget > 0 && !c->eof) {
		size_t want;
		ssize_t n;

		if (c->in_len >= UAPI_MAX_REQUEST)
			break;
		if (c->in_cap - c->in_len < READ_CHUNK / 4 && c->in_cap < UAPI_MAX_REQUEST) {
			size_t cap = c->in_cap ? c->in_cap * 2 : IN_CAP_MIN;
			char *p;

			if (cap > UAPI_MAX_REQUEST)
				cap = UAPI_MAX_REQUEST;
			/* Checked with the old buffer still held, as it is
			 * while being copied. */
			if (c->srv->in_bytes + cap > UAPI_MAX_BUFFERED) {
				c->over_budget = true;
				break;
			}
			p = malloc(cap);
			if (!p) {
				client_close(c, "out of memory");
				return false;
			}
			if (c->in) {
				memcpy(p, c->in, c->in_len);
				release_input(c);
			}
			c->in = p;
			c->in_cap = cap;
			c->srv->in_bytes += cap;
		}
		want = c->in_cap - c->in_len;
		if (want > READ_CHUNK)
			want = READ_CHUNK;
		n = recv(c->src.fd, c->in + c->in_len, want, MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			client_close(c, strerror(errno));
			return false;
		}
		if (n == 0) {
			c->eof = true;
			break;
		}
		c->in_len += (size_t)n;
		c->last_active = mono_ns();
		budget -= (size_t)n < budget ? (size_t)n : budget;
	}
	return true;
}

static void client_event(struct ev_source *src, uint32_t events)
{
	struct uapi_client *c = ev_container_of(src, struct uapi_client, src);

	if (events & EPOLLERR) {
		client_close(c, "socket error");
		return;
	}
	if (!c->out && (events & (EPOLLIN | EPOLLHUP)) && !client_read(c))
		return;
	client_process(c);
}

static struct uapi_client *longest_idle(struct uapi_server *s)
{
	struct uapi_client *c, *oldest = s->clients;

	for (c = s->clients; c; c = c->next)
		if (c->last_active < oldest->last_active)
			oldest = c;
	return oldest;
}

static void accept_clients(struct uapi_server *s)
{
	for (int i = 0; i < ACCEPT_BATCH; i++) {
		struct uapi_client *c;
		int r, fd = accept4(s->listen_src.fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
			    errno == ENOMEM) {
				/* Level-triggered: stop listening until a
				 * client leaves or the sweep timer fires. */
				log_warn("uapi: cannot accept clients: %s", strerror(errno));
				ev_del(s->loop, &s->listen_src);
				s->accept_paused = true;
				sweep_arm(s, true);
				return;
			}
			log_error("uapi: accept: %s", strerror(errno));
			return;
		}
		if (s->n_clients >= UAPI_MAX_CLIENTS) {
			/* Once per episode, not once per client evicted. */
			if (!s->evicting)
				log_warn("uapi: %d clients connected: closing the one idle the "
					 "longest for each new one",
					 UAPI_MAX_CLIENTS);
			s->evicting = true;
			client_close(longest_idle(s), "idle the longest, room needed");
		} else {
			s->evicting = false;
		}
		c = calloc(1, sizeof(*c));
		if (!c) {
			log_error("uapi: out of memory for a client");
			close(fd);
			continue;
		}
		c->srv = s;
		c->id = ++s->next_id;
		c->src.fd = fd;
		c->src.handler = client_event;
		c->last_active = mono_ns();
		r = ev_add(s->loop, &c->src, EPOLLIN);
		if (r < 0) {
			log_error("uapi: epoll: %s", strerror(-r));
			close(fd);
			free(c);
			continue;
		}
		c->next = s->clients;
		if (s->clients)
			s->clients->prev = c;
		s->clients = c;
		s->n_clients++;
		sweep_arm(s, true);
		log_debug("uapi: client %u connected", c->id);
	}
}

static void listen_event(struct ev_source *src, uint32_t events)
{
	struct uapi_server *s = ev_container_of(src, struct uapi_server, listen_src);

	(void)events;
	accept_clients(s);
}

static void sweep_event(struct ev_source *src, uint32_t events)
{
	struct uapi_server *s = ev_container_of(src, struct uapi_server, sweep_src);
	uint64_t expirations, now = mono_ns();
	struct uapi_client *c, *next;

	(void)events;
	if (read(src->fd, &expirations, sizeof(expirations)) < 0 && errno != EAGAIN)
		log_error("uapi: idle timer: %s", strerror(errno));
	for (c = s->clients; c; c = next) {
		next = c->next;
		if (now - c->last_active >= UAPI_CLIENT_IDLE_SEC * NSEC_PER_SEC)
			client_close(c, "idle");
	}
	resume_accept(s);
	if (!s->n_clients && !s->accept_paused)
		sweep_arm(s, false);
}

int uapi_server_open(struct uapi_server **out, struct event_loop *loop, int listen_fd,
		     altuntun_device *dev, const struct uapi_iface_ops *ops)
{
	struct uapi_server *s = calloc(1, sizeof(*s));
	int r;

	if (!s)
		return -ENOMEM;
	/* Request buffers reach UAPI_MAX_BUFFERED and live for one request.
	 * glibc raises its threshold after freeing such a block (up to 32 MiB)
	 * and then keeps the next ones in the heap, resident after they are
	 * freed: a fixed threshold gives every big one back to the kernel. */
	if (!mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD))
		log_warn("uapi: cannot fix the allocator's mmap threshold: big requests may stay resident");
	s->loop = loop;
	s->dev = dev;
	s->ops = ops;
	s->listen_fd = listen_fd;
	s->listen_src.fd = listen_fd;
	s->listen_src.handler = listen_event;
	s->sweep_src.handler = sweep_event;
	s->sweep_src.fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (s->sweep_src.fd < 0) {
		r = -errno;
		free(s);
		return r;
	}
	r = ev_add(loop, &s->sweep_src, EPOLLIN);
	if (r < 0) {
		close(s->sweep_src.fd);
		free(s);
		return r;
	}
	r = ev_add(loop, &s->listen_src, EPOLLIN);
	if (r < 0) {
		int fd = s->sweep_src.fd;

		ev_del(loop, &s->sweep_src);
		close(fd);
		free(s);
		return r;
	}
	*out = s;
	return 0;
}

void uapi_server_close(struct uapi_server *s)
{
	int fd;

	if (!s)
		return;
	while (s->clients)
		client_close(s->clients, "shutting down");
	uapi_server_reap(s);
	ev_del(s->loop, &s->listen_src);
	fd = s->sweep_src.fd;
	ev_del(s->loop, &s->sweep_src);
	if (fd >= 0)
		close(fd);
	free(s);
}

size_t uapi_server_client_count(const struct uapi_server *s)
{
	return s->n_clients;
}
