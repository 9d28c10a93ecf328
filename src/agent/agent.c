// SPDX-License-Identifier: BSD-3-Clause
/* The altuntun-cli daemon's start-up, main loop and shutdown (see agent.h). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "agent.h"
#include "config_json.h"
#include "config_link.h"
#include "daemon.h"
#include "link.h"
#include "log.h"
#include "mem_release.h"
#include "monitor.h"
#include "netns.h"
#include "nsid.h"
#include "privsep.h"
#include "rootless.h"
#include "socket_dir.h"

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
	if (a->link.ifindex != a->ifindex)
		a->ifindex = a->link.ifindex;
	if (strcmp(a->link.name, a->ifname)) {
		log_info("interface %s is now called %s", a->ifname, a->link.name);
		memcpy(a->ifname, a->link.name, sizeof(a->ifname));
	}
	if (a->link.mtu != a->mtu) {
		log_info("MTU of %s is now %u", a->ifname, a->link.mtu);
		a->mtu = a->link.mtu;
	}
}

/* Rootless --netns pid:PID: the process is gone (its pidfd is readable). */
static void pid_event(struct ev_source *src, uint32_t events)
{
	struct agent *a = ev_container_of(src, struct agent, pid_src);

	(void)events;
	log_info("process %d (--netns pid:%d) has ended", (int)rootless_watch_pid(),
		 (int)rootless_watch_pid());
	agent_stop(a, 0, "the process of the namespace ended");
}

/* Our TUN, opened in NS, keeps NS alive: follow the process instead. */
static int setup_pid_watch(struct agent *a)
{
	pid_t pid = rootless_watch_pid();
	int r;

	if (pid <= 0)
		return 0;
	/* Close-on-exec by itself. */
	r = (int)syscall(SYS_pidfd_open, pid, 0);
	if (r < 0) {
		r = -errno;
		log_error("cannot watch process %d (pidfd_open): %s", (int)pid, strerror(-r));
		return r;
	}
	a->pid_src.fd = r;
	a->pid_src.handler = pid_event;
	r = ev_add(&a->loop, &a->pid_src, EPOLLIN);
	if (r < 0)
		log_error("epoll: %s", strerror(-r));
	return r;
}

/* Home lost its last name or something changed there (home_watch.h). */
static void home_event(struct ev_source *src, uint32_t events)
{
	struct agent *a = ev_container_of(src, struct agent, home_src);
	pid_t self = getpid();
	char why[512];

	(void)events;
	if (home_watch_event(&a->home, &self, 1, why, sizeof(why)))
		agent_stop(a, 0, why);
}

/* Only the process in charge watches home: the monitor of a separated
 * daemon does it itself (monitor.c), so here only with
 * --disable-drop-privileges. Not fatal (home_watch_open logs why). */
static int setup_home_watch(struct agent *a)
{
	int r;

	if (a->opt->privsep_child || !a->opt->disable_drop_privileges)
		return 0;
	if (home_watch_open(&a->home) < 0 || a->home.fd < 0)
		return 0;
	a->home_src.fd = a->home.fd;
	a->home_src.handler = home_event;
	r = ev_add(&a->loop, &a->home_src, EPOLLIN);
	if (r < 0)
		log_error("epoll: %s", strerror(-r));
	return r;
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
	a->route_src.fd = -1;
	a->route.fd = a->route.query_fd = -1;
	a->pid_src.fd = -1;
	a->home_src.fd = -1;
	home_watch_init(&a->home);
	a->sock.fd = a->sock.watch_fd = -1;
	a->sock_watch_src.fd = -1;
	a->netns_fd = -1;
	a->link_nsid = -1;
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

/* The route watch's fd is route_src's: closed once. */
static void route_unwatch(struct agent *a)
{
	close_source(a, &a->route_src);
	a->route.fd = -1;
	route_watch_close(&a->route);
}

static void route_event(struct ev_source *src, uint32_t events)
{
	struct agent *a = ev_container_of(src, struct agent, route_src);
	int r;

	(void)events;
	r = route_watch_drain(&a->route);
	if (r < 0) {
		log_warn("rtnetlink (routes): %s; sticky sources no longer follow route changes",
			 strerror(-r));
		route_unwatch(a);
	} else if (r > 0) {
		agent_recheck_sources(a);
		outer_frag_forget(&a->frag);
	}
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

/*
 * The UAPI socket's path: /var/run/wireguard/NAME.sock, or for a user who
 * cannot write there $XDG_RUNTIME_DIR/wireguard/NAME.sock (socket_dir.h),
 * said in the log and, in the foreground, on stderr. An inherited socket
 * (WG_UAPI_FD, the protocol process) has its own path: nothing is picked.
 */
static int agent_socket_path(struct agent *a, char path[UAPI_SOCKET_PATH_MAX])
{
	const struct agent_options *o = a->opt;
	const char *name = o->uapi_name[0] ? o->uapi_name : a->ifname;
	char dir[UAPI_SOCKET_PATH_MAX], why[512];
	bool is_user;
	int r;

	if (o->uapi_fd >= 0 || o->privsep_child)
		return uapi_socket_path(path, name);
	r = socket_dir_pick(dir, sizeof(dir), &is_user, why, sizeof(why));
	if (r < 0) {
		log_error("no directory for the UAPI socket: %s", why);
		if (o->foreground && !log_is_stderr())
			fprintf(stderr, "altuntun-cli: no directory for the UAPI socket: %s\n", why);
		return r;
	}
	r = uapi_socket_path_in(path, dir, name);
	if (r < 0) {
		log_error("UAPI socket name too long");
		return r;
	}
	if (is_user) {
		log_info("UAPI socket %s (%s is not writable by uid %u; "
			 "`altuntun-cli wg show` lists it)", path, UAPI_SOCKET_DIR,
			 (unsigned)geteuid());
		if (o->foreground && !log_is_stderr())
			fprintf(stderr, "altuntun-cli: UAPI socket %s\n", path);
	} else {
		log_debug("UAPI socket %s", path);
	}
	return 0;
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

/*
 * --netns NS of a user namespace we own, without privilege here (rootless.h):
 * the TUN is opened in NS by a child that joined the user namespace and NS,
 * and configured through rtnetlink sockets made there the same way. The
 * link is not followed through an nsid (home would not give us one); with
 * pid:PID, the end of PID ends the daemon.
 */
static int setup_tun_rootless(struct agent *a)
{
	const struct agent_options *o = a->opt;
	unsigned mtu = 0;
	int r;

	rootless_enable(a->netns_fd);
	if (!rootless_enabled()) {
		log_error("--netns %s: cannot open its user namespace", o->netns);
		return -EPERM;
	}
	r = netns_link_find(a->netns_fd, a->ifname, &a->ifindex, NULL);
	if (r == 0) {
		log_error("cannot create TUN interface %s in namespace %s: an interface of "
			  "that name exists there", a->ifname, o->netns);
		return -EEXIST;
	}
	r = rootless_tun_open_in(a->netns_fd, a->ifname);
	if (r < 0) {
		log_error("cannot create TUN interface %s in namespace %s (from its user "
			  "namespace): %s%s", a->ifname, o->netns, strerror(-r),
			  r == -EACCES ? " (/dev/net/tun must be readable and writable by us)" : "");
		return r;
	}
	a->tun_src.fd = r;
	a->tun_src.handler = agent_tun_event;
	r = netns_link_find(a->netns_fd, a->ifname, &a->ifindex, &mtu);
	if (r == 0 && mtu != o->mtu)
		r = netns_link_set_mtu(a->netns_fd, a->ifindex, o->mtu);
	if (r < 0) {
		log_error("cannot set up %s in namespace %s: %s", a->ifname, o->netns,
			  strerror(-r));
		return r;
	}
	a->mtu = o->mtu;
	a->link_nsid = LINK_WATCH_LOST;
	if (!strncmp(o->netns, "pid:", 4))
		rootless_set_watch_pid((pid_t)atoi(o->netns + 4));
	else
		log_warn("--netns %s: our TUN, opened there, keeps the namespace alive while "
			 "we run (pid:PID would end with PID)", o->netns);
	log_info("%s created in namespace %s from its user namespace (rootless); UDP stays "
		 "here", a->ifname, o->netns);
	r = ev_add(&a->loop, &a->tun_src, EPOLLIN);
	if (r < 0)
		log_error("epoll: %s", strerror(-r));
	return r;
}

/*
 * --netns: the TUN is created here, moved into the namespace and configured
 * there without keeping anything of it open (docs/namespaces.md). Returns 1
 * when the namespace is the current one, for setup_tun() to go on as usual.
 */
static int setup_tun_netns(struct agent *a)
{
	const struct agent_options *o = a->opt;
	struct netns_tun t;
	char err[256];
	int r;

	r = netns_open_path(o->netns_path);
	if (r < 0) {
		if (r == -EINVAL)
			log_error("--netns %s: %s is not a network namespace", o->netns,
				  o->netns_path);
		else if (r == -ENOENT && !strchr(o->netns, '/') && strncmp(o->netns, "pid:", 4))
			log_error("--netns %s: no namespace of that name (%s does not exist; "
				  "see ip netns list)", o->netns, o->netns_path);
		else
			log_error("--netns %s: cannot open %s: %s", o->netns, o->netns_path,
				  strerror(-r));
		return r;
	}
	a->netns_fd = r;
	if (netns_is_current(a->netns_fd) > 0) {
		log_info("--netns %s is the current network namespace", o->netns);
		close(a->netns_fd);
		a->netns_fd = -1;
		return 1;
	}
	r = rootless_needed(a->netns_fd);
	if (r > 0)
		return setup_tun_rootless(a);
	r = netns_tun_create(a->netns_fd, a->ifname, o->mtu, &t, err, sizeof(err));
	if (r < 0) {
		log_error("cannot create TUN interface %s in namespace %s: %s%s", a->ifname,
			  o->netns, err,
			  r == -EPERM ? " (CAP_NET_ADMIN and CAP_SYS_ADMIN are needed)" : "");
		return r;
	}
	a->tun_src.fd = t.fd;
	a->tun_src.handler = agent_tun_event;
	a->ifindex = t.ifindex;
	a->mtu = t.mtu;
	/* To hear about the link there from here (link_watch.h). */
	r = nsid_get_or_assign(a->netns_fd);
	if (r < 0) {
		log_error("cannot get an nsid for namespace %s: %s", o->netns, strerror(-r));
		return r;
	}
	a->link_nsid = r;
	log_debug("%s is index %d in namespace %s (nsid %d here)", a->ifname, a->ifindex,
		  o->netns, a->link_nsid);
	r = ev_add(&a->loop, &a->tun_src, EPOLLIN);
	if (r < 0)
		log_error("epoll: %s", strerror(-r));
	return r;
}

/* Closes the target namespace's fd: nothing of it stays open. */
static void release_netns(struct agent *a)
{
	if (a->netns_fd >= 0)
		close(a->netns_fd);
	a->netns_fd = -1;
	rootless_release();
}

/* The interface: inherited (WG_TUN_FD) or created, with its MTU. */
static int setup_tun(struct agent *a)
{
	const struct agent_options *o = a->opt;
	int r;

	if (o->netns) {
		r = setup_tun_netns(a);
		if (r <= 0)
			return r;
	}
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

/*
 * --config, once the device, its sockets and the interface exist and before
 * the UAPI socket does: keys, peers, listen port and fwmark through the
 * UAPI's own code (a->ops), then addresses and routes. Keys are wiped once
 * applied.
 */
static int apply_config(struct agent *a, struct config *cfg)
{
	int r = config_apply(cfg, a->dev, &a->ops, agent_now());

	config_forget_keys(cfg);
	if (r < 0) {
		log_error("%s: cannot apply the configuration: %s", a->opt->config_path,
			  strerror(-r));
		return r;
	}
	r = config_link_apply(&cfg->iface, a->netns_fd, a->ifindex, a->ifname);
	if (r < 0)
		return r;
	log_info("configuration %s applied: %zu peers", a->opt->config_path,
		 altuntun_peer_count(a->dev));
	return 0;
}

/*
 * The routes through the link that carry an MTU (route_mtu.h), read once
 * the link watch hears their changes. Another namespace can be read only
 * with CAP_SYS_ADMIN: the bootstrap can, and its table is shared with the
 * protocol processes it forks, which cannot. Without it anywhere (rootless)
 * the link is new, so the routes of --config are all it has.
 */
static void load_routes(struct agent *a)
{
	int nsfd = -1, r;

	a->routes = route_mtu_shared();
	if (!a->routes)
		return;
	a->link.routes = a->routes;
	if (a->link_nsid != -1) {
		nsfd = a->netns_fd >= 0 ? dup(a->netns_fd) : netns_open_of_tun(a->tun_src.fd);
		if (nsfd < 0) {
			r = nsfd < -1 ? nsfd : -errno;
			goto from_config;
		}
	}
	r = route_mtu_load(a->routes, nsfd, a->ifindex);
	if (nsfd >= 0)
		close(nsfd);
	if (r == 0) {
		log_debug("%u routes with an MTU through %s", a->routes->n, a->ifname);
		return;
	}
from_config:
	log_debug("cannot read the routes of %s (%s): keeping the %u known", a->ifname,
		  strerror(-r), a->routes->n);
	if (!a->opt->config)
		return;
	for (size_t i = 0; i < a->opt->config->iface.n_routes; i++) {
		const struct config_route *rt = &a->opt->config->iface.routes[i];

		route_mtu_add(a->routes, rt->dst.family, &rt->dst.addr, rt->dst.cidr, rt->mtu);
	}
}

static int agent_start(struct agent *a)
{
	const struct agent_options *o = a->opt;
	struct altuntun_callbacks cb = { .send = agent_send_cb, .ctx = a };
	char path[UAPI_SOCKET_PATH_MAX];
	int r;

	/* The bootstrap of a separated daemon (privsep.h) moves no traffic:
	 * the protocol process sets up the data path's AEAD for itself. */
	r = o->privsep_child || o->disable_drop_privileges ? altuntun_init()
							    : altuntun_init_control();
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
					  ? " (a TUN, not a TAP, with IFF_NO_PI is needed)"
					  : "");
			return r;
		}
		if (strcmp(a->ifname, o->ifname))
			log_info("WG_TUN_FD is interface %s (%s was named)", a->ifname, o->ifname);
	}
	log_set_tag(a->ifname);
	r = agent_socket_path(a, path);
	if (r < 0)
		return r;

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

	/* Offloads (docs/performance.md): the TUN with a virtio-net header,
	 * the UDP sockets with GRO. */
	tun_open_vnet_hdr(!o->no_offload);
	udp_open_gro(datapath_offloads(o) & DP_OFFLOAD_UDP_GRO);
	/* The protocol process (privsep.h) adopts what the monitor handed over. */
	r = o->privsep_child ? privsep_child_adopt_tun(a) : setup_tun(a);
	if (r < 0)
		return r;
	r = datapath_init(a);
	if (r < 0) {
		log_error("cannot set up the data path: %s", strerror(-r));
		return r;
	}

	/* The bootstrap of a separated daemon only gathers the configuration
	 * for the protocol process (privsep.h): its device sends nothing. */
	if (!o->privsep_child && !o->disable_drop_privileges)
		cb.send = privsep_bootstrap_send;
	a->dev = altuntun_device_new(&cb);
	if (!a->dev) {
		log_error("cannot create the protocol device: out of memory");
		return -ENOMEM;
	}
	agent_init_ops(a);
	r = o->privsep_child ? privsep_child_adopt_udp(a) : agent_udp_open(a, 0);
	if (r < 0) {
		log_error("cannot open the UDP sockets: %s", strerror(-r));
		return r;
	}
	if (o->config) {
		r = apply_config(a, o->config);
		if (r < 0)
			return r;
	}

	r = link_watch_open(&a->link, a->ifindex, a->ifname, a->mtu);
	if (r < 0) {
		log_error("cannot watch interface %s (rtnetlink): %s", a->ifname, strerror(-r));
		return r;
	}
	r = link_watch_follow(&a->link, a->tun_src.fd, a->link_nsid);
	if (r < 0) {
		log_error("cannot watch interface %s in namespace %s: %s", a->ifname,
			  a->opt->netns ? a->opt->netns : "(home)", strerror(-r));
		link_watch_close(&a->link);
		return r;
	}
	load_routes(a);
	a->link_src.fd = a->link.fd;
	a->link_src.handler = link_event;
	r = ev_add(&a->loop, &a->link_src, EPOLLIN);
	if (r < 0) {
		log_error("epoll: %s", strerror(-r));
		return r;
	}

	/* Not fatal: without it, a sticky source is only given up when the
	 * kernel refuses it. */
	r = route_watch_open(&a->route);
	if (r == 0) {
		a->route_src.fd = a->route.fd;
		a->route_src.handler = route_event;
		r = ev_add(&a->loop, &a->route_src, EPOLLIN);
	}
	if (r < 0) {
		log_warn("cannot watch the routes (rtnetlink): %s; sticky sources will not "
			 "follow route changes", strerror(-r));
		route_unwatch(a);
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
	r = setup_pid_watch(a);
	if (r < 0)
		return r;
	r = setup_home_watch(a);
	if (r < 0)
		return r;

	/* Last: once the socket exists, wg may configure us. */
	r = setup_uapi_socket(a, path);
	if (r < 0)
		return r;
	/* --netns: a->netns_fd served the set-up above; keep nothing of it. */
	release_netns(a);
	agent_tick(a);
	if (a->stop)
		return -EIO;
	if (o->threads > 1)
		log_info("--threads %u: one more thread shares the encryption and decryption "
			 "of each batch", o->threads);
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
	route_unwatch(a);
	close_source(a, &a->pid_src);
	if (a->home_src.fd >= 0 && a->loop.epfd >= 0)
		ev_del(&a->loop, &a->home_src);
	home_watch_close(&a->home);
	a->link.fd = -1;
	release_netns(a);
	if (a->udp4_src.fd >= 0 || a->udp6_src.fd >= 0 || a->udp.fd4 >= 0 || a->udp.fd6 >= 0)
		agent_udp_close(a);
	if (a->dev)
		altuntun_device_free(a->dev);
	a->dev = NULL;
	datapath_free(a);
	/* Closing the last fd of a non-persistent TUN deletes the interface. */
	close_source(a, &a->tun_src);
	close_source(a, &a->timer_src);
	close_source(a, &a->signal_src);
	ev_loop_close(&a->loop);
}

void release_startup_memory(int smaps_fd)
{
	struct mem_release_stats st;
	int r = smaps_fd >= 0 ? mem_release(smaps_fd, &st) : mem_release_startup(&st);

	if (r < 0)
		log_warn("cannot release start-up memory: %s", strerror(-r));
	else
		log_debug("released %zu of %zu KiB resident (clean pages of %zu file mappings), "
			  "and the free heap", st.file_kib, st.rss_kib, st.mappings);
}

int agent_run(const struct agent_options *opt, int notify_fd)
{
	struct agent *a = calloc(1, sizeof(*a));
	struct monitor *mon = NULL;
	int r, code;

	if (!a) {
		log_error("out of memory");
		daemon_notify_failure(notify_fd, log_last_error());
		return 1;
	}
	a->opt = opt;
	init_fds(a);
	/* Privilege separation (privsep.h): who the protocol process will be
	 * is settled before anything is created. */
	if (!opt->privsep_child && !opt->disable_drop_privileges &&
	    monitor_new(&mon, opt) < 0) {
		daemon_notify_failure(notify_fd, log_last_error());
		free(a);
		return 1;
	}
	r = agent_start(a);
	if (r == 0 && opt->privsep_child)
		r = privsep_child_enter(a);
	if (r < 0) {
		daemon_notify_failure(notify_fd, log_last_error());
		agent_cleanup(a);
		free(a);
		monitor_free(mon);
		return 1;
	}
	/* The bootstrap becomes the monitor: it takes the descriptors and the
	 * configuration, drops the rest and forks the protocol process. */
	if (mon) {
		r = monitor_take(mon, a);
		agent_cleanup(a);
		explicit_bzero(a->buf, sizeof(a->buf));
		free(a);
		return monitor_run(mon, r, notify_fd);
	}
	/* One process (--disable-drop-privileges): what start-up touched;
	 * only while no other thread runs (mem_release.h). The protocol
	 * process does it in privsep_child_enter(). */
	if (!opt->privsep_child && opt->threads <= 1)
		release_startup_memory(-1);
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
