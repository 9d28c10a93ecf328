// SPDX-License-Identifier: BSD-3-Clause
/* The altuntun-cli daemon's start-up, main loop and shutdown (see agent.h). */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "agent.h"
#include "daemon.h"
#include "log.h"

#define NSEC_PER_SEC 1000000000ull
/* The timer is re-armed at least this often, whatever the library says. */
#define MAX_SLEEP_NS (3600 * NSEC_PER_SEC)
/* ... and never sooner than this after a tick, so a deadline in the past
 * cannot make the loop spin. */
#define MIN_SLEEP_NS 1000000ull

void agent_stop(struct agent *a, int exit_code, const char *why)
{
	if (a->stop)
		return;
	if (exit_code)
		log_error("stopping: %s", why);
	else
		log_info("stopping: %s", why);
	a->stop = true;
	a->exit_code = exit_code;
}

/* Runs the library's timers and arms the timerfd for the next deadline. */
static void agent_tick(struct agent *a)
{
	struct altuntun_now now = agent_now();
	uint64_t deadline = altuntun_tick(a->dev, now);
	struct itimerspec its = { 0 };

	if (deadline < now.mono_ns + MIN_SLEEP_NS)
		deadline = now.mono_ns + MIN_SLEEP_NS;
	if (deadline > now.mono_ns + MAX_SLEEP_NS)
		deadline = now.mono_ns + MAX_SLEEP_NS;
	/* Still armed for the same time: nothing to do. */
	if (deadline == a->armed_ns)
		return;
	its.it_value.tv_sec = (time_t)(deadline / NSEC_PER_SEC);
	its.it_value.tv_nsec = (long)(deadline % NSEC_PER_SEC);
	if (timerfd_settime(a->timer_src.fd, TFD_TIMER_ABSTIME, &its, NULL) < 0) {
		log_error("timerfd: %s", strerror(errno));
		agent_stop(a, 1, "the timer cannot be armed");
		return;
	}
	a->armed_ns = deadline;
}

static void timer_event(struct ev_source *src, uint32_t events)
{
	struct agent *a = ev_container_of(src, struct agent, timer_src);
	uint64_t expirations;

	(void)events;
	if (read(src->fd, &expirations, sizeof(expirations)) < 0 && errno != EAGAIN)
		log_error("timerfd read: %s", strerror(errno));
	/* agent_tick() runs after every batch; make it re-arm. */
	a->armed_ns = 0;
}

static void signal_event(struct ev_source *src, uint32_t events)
{
	struct agent *a = ev_container_of(src, struct agent, signal_src);
	struct signalfd_siginfo si;
	ssize_t n;

	(void)events;
	while ((n = read(src->fd, &si, sizeof(si))) == (ssize_t)sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGHUP: {
			int r = log_reopen();

			if (r < 0)
				log_error("cannot reopen the log file: %s", strerror(-r));
			else
				log_info("log reopened");
			break;
		}
		case SIGTERM:
		case SIGINT:
			agent_stop(a, 0, si.ssi_signo == SIGTERM ? "SIGTERM" : "SIGINT");
			break;
		default:
			break;
		}
	}
}

static void link_event(struct ev_source *src, uint32_t events)
{
	struct agent *a = ev_container_of(src, struct agent, link_src);
	int r;

	(void)events;
	r = link_watch_process(&a->link);
	if (r < 0) {
		log_error("rtnetlink: %s", strerror(-r));
		agent_stop(a, 1, "the link watch failed");
		return;
	}
	if (a->link.gone) {
		agent_stop(a, 0, "the interface was deleted");
		return;
	}
	if (strcmp(a->link.name, a->ifname)) {
		log_info("interface %s is now called %s", a->ifname, a->link.name);
		memcpy(a->ifname, a->link.name, sizeof(a->ifname));
	}
	if (a->link.mtu != a->mtu) {
		log_info("MTU of %s is now %u", a->ifname, a->link.mtu);
		a->mtu = a->link.mtu;
	}
}

static void sock_watch_event(struct ev_source *src, uint32_t events)
{
	struct agent *a = ev_container_of(src, struct agent, sock_watch_src);

	(void)events;
	if (!uapi_socket_still_there(&a->sock))
		agent_stop(a, 0, "the UAPI socket was removed");
}

static void init_fds(struct agent *a)
{
	a->loop.epfd = -1;
	a->tun_src.fd = -1;
	a->udp.fd4 = a->udp.fd6 = -1;
	a->udp4_src.fd = a->udp6_src.fd = -1;
	a->timer_src.fd = -1;
	a->signal_src.fd = -1;
	a->link.fd = -1;
	a->link_src.fd = -1;
	a->sock.fd = a->sock.watch_fd = -1;
	a->sock_watch_src.fd = -1;
}

static int setup_signals(struct agent *a)
{
	sigset_t set;
	int r;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0) {
		log_error("sigprocmask: %s", strerror(errno));
		return -errno;
	}
	a->signal_src.fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (a->signal_src.fd < 0) {
		r = -errno;
		log_error("signalfd: %s", strerror(-r));
		return r;
	}
	a->signal_src.handler = signal_event;
	return 0;
}

/* Closes src's fd after unwatching it. */
static void close_source(struct agent *a, struct ev_source *src)
{
	int fd = src->fd;

	if (fd < 0)
		return;
	if (a->loop.epfd >= 0)
		ev_del(&a->loop, src);
	src->fd = -1;
	close(fd);
}

static const char *tun_hint(int err)
{
	switch (err) {
	case -EBUSY:
		return " (is another process using it?)";
	case -EPERM:
	case -EACCES:
		return " (CAP_NET_ADMIN is needed)";
	case -EINVAL:
		return " (does an interface of that name exist that is not a TUN?)";
	case -ENOENT:
	case -ENODEV:
		return " (is the tun module loaded?)";
	default:
		return "";
	}
}

/* The UAPI socket: inherited (WG_UAPI_FD) or created. */
static int setup_uapi_socket(struct agent *a, const char *path)
{
	const struct agent_options *o = a->opt;
	int r;

	if (o->uapi_fd >= 0) {
		r = uapi_socket_adopt(&a->sock, o->uapi_fd, path);
		if (r < 0) {
			log_error("WG_UAPI_FD=%d is not a listening unix stream socket: %s",
				  o->uapi_fd, strerror(-r));
			return r;
		}
	} else {
		r = uapi_socket_listen(&a->sock, path);
		if (r < 0) {
			log_error("cannot listen on %s: %s", path, strerror(-r));
			return r;
		}
	}
	/* Without the watch, removing the socket does not stop us; an
	 * unprivileged daemon (WG_UAPI_FD) may not be able to read the
	 * directory. Not a reason to refuse to run. */
	r = uapi_socket_watch(&a->sock);
	if (r < 0)
		log_warn("cannot watch %s (inotify): %s; removing it will not stop the daemon",
			 a->sock.path, strerror(-r));
	if (a->sock.watch_fd >= 0) {
		a->sock_watch_src.fd = a->sock.watch_fd;
		a->sock_watch_src.handler = sock_watch_event;
		r = ev_add(&a->loop, &a->sock_watch_src, EPOLLIN);
		if (r < 0) {
			log_error("epoll: %s", strerror(-r));
			return r;
		}
	}
	r = uapi_server_open(&a->uapi, &a->loop, a->sock.fd, a->dev, &a->ops);
	if (r < 0)
		log_error("cannot serve the UAPI: %s", strerror(-r));
	return r;
}

/* The interface: inherited (WG_TUN_FD) or created, with its MTU. */
static int setup_tun(struct agent *a)
{
	const struct agent_options *o = a->opt;
	int r;

	if (o->tun_fd < 0) {
		r = tun_open(a->ifname, a->ifname);
		if (r < 0) {
			log_error("cannot create TUN interface %s: %s%s", o->ifname, strerror(-r),
				  tun_hint(r));
			return r;
		}
		a->tun_src.fd = r;
	} else {
		a->tun_src.fd = o->tun_fd;
	}
	a->tun_src.handler = agent_tun_event;

	/* With WG_TUN_FD the MTU is left to whoever made the device. */
	if (o->tun_fd < 0 || o->mtu_set) {
		r = tun_set_mtu(a->ifname, o->mtu);
		if (r < 0) {
			log_error("cannot set the MTU of %s to %u: %s", a->ifname, o->mtu,
				  strerror(-r));
			return r;
		}
	}
	r = tun_get_mtu(a->ifname, &a->mtu);
	if (r < 0) {
		log_error("cannot read the MTU of %s: %s", a->ifname, strerror(-r));
		return r;
	}
	a->ifindex = (int)if_nametoindex(a->ifname);
	if (a->ifindex <= 0) {
		r = -errno;
		log_error("cannot find the index of %s: %s", a->ifname, strerror(-r));
		return r;
	}
	r = ev_add(&a->loop, &a->tun_src, EPOLLIN);
	if (r < 0)
		log_error("epoll: %s", strerror(-r));
	return r;
}

static int agent_start(struct agent *a)
{
	const struct agent_options *o = a->opt;
	struct altuntun_callbacks cb = { .send = agent_send_cb, .ctx = a };
	char path[UAPI_SOCKET_PATH_MAX];
	int r;

	r = altuntun_init();
	if (r < 0) {
		log_error("cannot initialise the protocol library: %s", altuntun_strerror(r));
		return -EIO;
	}
	r = ev_loop_init(&a->loop);
	if (r < 0) {
		log_error("epoll: %s", strerror(-r));
		return r;
	}
	r = setup_signals(a);
	if (r < 0)
		return r;
	r = ev_add(&a->loop, &a->signal_src, EPOLLIN);
	if (r < 0) {
		log_error("epoll: %s", strerror(-r));
		return r;
	}

	/* Which interface and which socket name. */
	memcpy(a->ifname, o->ifname, sizeof(a->ifname));
	if (o->tun_fd >= 0) {
		r = tun_name_of_fd(o->tun_fd, a->ifname);
		if (r < 0) {
			log_error("WG_TUN_FD=%d is not a usable TUN device: %s%s", o->tun_fd,
				  strerror(-r),
				  r == -EPROTONOSUPPORT
					  ? " (a TUN with IFF_NO_PI and no IFF_VNET_HDR is needed)"
					  : "");
			return r;
		}
		if (strcmp(a->ifname, o->ifname))
			log_info("WG_TUN_FD is interface %s (%s was named)", a->ifname, o->ifname);
	}
	log_set_tag(a->ifname);
	r = uapi_socket_path(path, o->uapi_name[0] ? o->uapi_name : a->ifname);
	if (r < 0) {
		log_error("UAPI socket name too long");
		return r;
	}

	/* Refuse a name that a live daemon serves before touching anything. */
	if (o->uapi_fd < 0) {
		r = uapi_socket_check(path);
		if (r == -EADDRINUSE) {
			log_error("%s is already served by a running process (another "
				  "altuntun-cli or wireguard-go?); use --uapi-name to pick "
				  "another name", path);
			return r;
		}
		if (r == -EEXIST) {
			log_error("%s exists and is not a socket", path);
			return r;
		}
		if (r < 0) {
			log_error("cannot use %s: %s", path, strerror(-r));
			return r;
		}
	}

	r = setup_tun(a);
	if (r < 0)
		return r;

	a->dev = altuntun_device_new(&cb);
	if (!a->dev) {
		log_error("cannot create the protocol device: out of memory");
		return -ENOMEM;
	}
	agent_init_ops(a);
	r = agent_udp_open(a, 0);
	if (r < 0) {
		log_error("cannot open the UDP sockets: %s", strerror(-r));
		return r;
	}

	r = link_watch_open(&a->link, a->ifindex, a->ifname, a->mtu);
	if (r < 0) {
		log_error("cannot watch interface %s (rtnetlink): %s", a->ifname, strerror(-r));
		return r;
	}
	a->link_src.fd = a->link.fd;
	a->link_src.handler = link_event;
	r = ev_add(&a->loop, &a->link_src, EPOLLIN);
	if (r < 0) {
		log_error("epoll: %s", strerror(-r));
		return r;
	}

	a->timer_src.fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (a->timer_src.fd < 0) {
		r = -errno;
		log_error("timerfd: %s", strerror(-r));
		return r;
	}
	a->timer_src.handler = timer_event;
	r = ev_add(&a->loop, &a->timer_src, EPOLLIN);
	if (r < 0) {
		log_error("epoll: %s", strerror(-r));
		return r;
	}

	/* Last: once the socket exists, wg may configure us. */
	r = setup_uapi_socket(a, path);
	if (r < 0)
		return r;
	agent_tick(a);
	if (a->stop)
		return -EIO;
	if (o->threads > 1)
		log_info("--threads %u: noted; the data path is single-threaded for now",
			 o->threads);
	log_info("interface %s (index %d, MTU %u) ready; UDP port %u; UAPI on %s", a->ifname,
		 a->ifindex, a->mtu, a->udp.port, a->sock.have_file ? a->sock.path : "WG_UAPI_FD");
	return 0;
}

static void agent_cleanup(struct agent *a)
{
	if (a->uapi)
		uapi_server_close(a->uapi);
	a->uapi = NULL;
	close_source(a, &a->sock_watch_src);
	a->sock.watch_fd = -1;
	uapi_socket_close(&a->sock);
	close_source(a, &a->link_src);
	a->link.fd = -1;
	if (a->udp4_src.fd >= 0 || a->udp6_src.fd >= 0 || a->udp.fd4 >= 0 || a->udp.fd6 >= 0)
		agent_udp_close(a);
	if (a->dev)
		altuntun_device_free(a->dev);
	a->dev = NULL;
	/* Closing the last fd of a non-persistent TUN deletes the interface. */
	close_source(a, &a->tun_src);
	close_source(a, &a->timer_src);
	close_source(a, &a->signal_src);
	ev_loop_close(&a->loop);
}

int agent_run(const struct agent_options *opt, int notify_fd)
{
	struct agent *a = calloc(1, sizeof(*a));
	int r, code;

	if (!a) {
		log_error("out of memory");
		daemon_notify_failure(notify_fd, log_last_error());
		return 1;
	}
	a->opt = opt;
	init_fds(a);
	r = agent_start(a);
	if (r < 0) {
		daemon_notify_failure(notify_fd, log_last_error());
		agent_cleanup(a);
		free(a);
		return 1;
	}
	if (notify_fd >= 0) {
		daemon_notify_ready(notify_fd);
		r = daemon_detach_stdio();
		if (r < 0)
			log_warn("cannot detach from the terminal: %s", strerror(-r));
	}

	while (!a->stop) {
		r = ev_loop_wait(&a->loop, -1);
		if (r < 0 && r != -EINTR) {
			log_error("epoll_wait: %s", strerror(-r));
			agent_stop(a, 1, "the event loop failed");
			break;
		}
		uapi_server_reap(a->uapi);
		if (!a->stop)
			agent_tick(a);
	}
	log_debug("counters: tun rx %llu (dropped %llu) tx %llu (failed %llu); "
		  "udp rx %llu (dropped %llu) tx %llu (failed %llu)",
		  (unsigned long long)a->stats.tun_rx, (unsigned long long)a->stats.tun_rx_dropped,
		  (unsigned long long)a->stats.tun_tx, (unsigned long long)a->stats.tun_tx_failed,
		  (unsigned long long)a->stats.udp_rx, (unsigned long long)a->stats.udp_rx_dropped,
		  (unsigned long long)a->stats.udp_tx, (unsigned long long)a->stats.udp_tx_failed);
	code = a->exit_code;
	agent_cleanup(a);
	explicit_bzero(a->buf, sizeof(a->buf));
	free(a);
	return code;
}
