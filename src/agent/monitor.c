// SPDX-License-Identifier: BSD-3-Clause
/* The privileged monitor of a separated altuntun-cli (see monitor.h). */
#include <cap-ng.h>
#include <errno.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "daemon.h"
#include "home_watch.h"
#include "log.h"
#include "monitor.h"
#include "privsep.h"

#define NSEC_PER_SEC 1000000000ull
#define NSEC_PER_MSEC 1000000ull
/* Messages handled per wake-up, so a chatty child cannot starve signals. */
#define CHAN_BATCH 64

struct monitor {
	const struct agent_options *opt;
	struct privsep_identity id;
	struct event_loop loop;
	struct ev_source sig_src;   /* signalfd: TERM, INT, HUP, CHLD */
	struct ev_source chan_src;  /* our end of the protocol process's socket */
	struct ev_source watch_src; /* inotify on the UAPI socket's directory */
	struct ev_source timer_src; /* the stop timeout */
	struct ev_source home_src;  /* home_watch: the end of our home namespace */
	struct home_watch home;

	/* What every protocol process is handed (the same open files). */
	struct uapi_socket sock;
	int tun_fd;
	struct udp_bind udp;
	char ifname[IFNAMSIZ];
	int ifindex;
	unsigned mtu;
	int link_nsid;

	/* The configuration to restore: a set request. */
	char *config;
	size_t config_len;
	char *incoming; /* one being received (PS_CONFIG_*) */
	size_t in_len, in_total;
	bool receiving;

	struct privsep_msg *msg;
	int notify_fd;
	bool daemon_mode;
	bool seccomp_log_only;
	bool test_forbidden_syscall;
	bool cap_net_admin, cap_bind_service;

	pid_t child;        /* -1: none */
	bool child_ready;
	bool child_stopping; /* PS_STOPPING received */
	int child_code;
	bool ever_ready;
	char failure[512];  /* PS_FAILED */
	uint64_t restarts[MONITOR_RESTARTS];
	unsigned n_restarts;
	uint64_t died_ns;    /* when the last one died (restart time) */

	bool stopping;
	int exit_code;
};

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
}

static void wipe_free(char *p, size_t len)
{
	if (!p)
		return;
	sodium_memzero(p, len);
	free(p);
}

int monitor_new(struct monitor **out, const struct agent_options *opt)
{
	struct monitor *m = calloc(1, sizeof(*m));
	const char *env;
	int r;

	*out = NULL;
	if (!m) {
		log_error("out of memory");
		return -ENOMEM;
	}
	m->opt = opt;
	m->loop.epfd = -1;
	m->sig_src.fd = m->chan_src.fd = m->watch_src.fd = m->timer_src.fd = -1;
	m->home_src.fd = -1;
	home_watch_init(&m->home);
	m->sock.fd = m->sock.watch_fd = -1;
	m->tun_fd = -1;
	m->udp.fd4 = m->udp.fd6 = -1;
	m->link_nsid = -1;
	m->notify_fd = -1;
	m->child = -1;
	m->msg = malloc(sizeof(*m->msg));
	if (!m->msg) {
		free(m);
		log_error("out of memory");
		return -ENOMEM;
	}
	r = privsep_identity_resolve(opt, &m->id);
	if (r < 0) {
		free(m->msg);
		free(m);
		return r;
	}
	env = getenv("ALTUNTUN_SECCOMP");
	m->seccomp_log_only = env && !strcmp(env, "log");
	env = getenv("ALTUNTUN_TEST_FORBIDDEN_SYSCALL");
	m->test_forbidden_syscall = env && !strcmp(env, "1");
	*out = m;
	return 0;
}

void monitor_free(struct monitor *m)
{
	if (!m)
		return;
	if (m->chan_src.fd >= 0)
		close(m->chan_src.fd);
	if (m->sig_src.fd >= 0)
		close(m->sig_src.fd);
	if (m->timer_src.fd >= 0)
		close(m->timer_src.fd);
	home_watch_close(&m->home);
	/* Closes the listening socket and its watch, removes the file. */
	uapi_socket_close(&m->sock);
	udp_close(&m->udp);
	/* The interface goes with its last TUN fd. */
	if (m->tun_fd >= 0)
		close(m->tun_fd);
	ev_loop_close(&m->loop);
	wipe_free(m->config, m->config_len);
	wipe_free(m->incoming, m->in_total);
	if (m->msg) {
		sodium_memzero(m->msg, sizeof(*m->msg));
		free(m->msg);
	}
	privsep_identity_free(&m->id);
	free(m);
}

int monitor_take(struct monitor *m, struct agent *a)
{
	int r = 0;

	/* The configuration first, while the device and its sockets exist
	 * (listen_port comes from the UDP sockets). */
	if (a->dev)
		r = privsep_config_dump(a->dev, &a->ops, &m->config, &m->config_len);
	if (a->uapi) {
		uapi_server_close(a->uapi);
		a->uapi = NULL;
	}
	if (a->sock_watch_src.fd >= 0)
		ev_del(&a->loop, &a->sock_watch_src);
	m->sock = a->sock;
	a->sock.fd = a->sock.watch_fd = -1;
	a->sock.have_file = false;
	m->tun_fd = a->tun_src.fd;
	if (a->tun_src.fd >= 0)
		ev_del(&a->loop, &a->tun_src);
	if (a->udp4_src.fd >= 0)
		ev_del(&a->loop, &a->udp4_src);
	if (a->udp6_src.fd >= 0)
		ev_del(&a->loop, &a->udp6_src);
	m->udp = a->udp;
	a->udp.fd4 = a->udp.fd6 = -1;
	memcpy(m->ifname, a->ifname, sizeof(m->ifname));
	m->ifindex = a->ifindex;
	m->mtu = a->mtu;
	m->link_nsid = a->link_nsid;
	if (r < 0)
		log_error("cannot read the configuration to hand over: %s", strerror(-r));
	return r;
}

/* ---- capabilities ---------------------------------------------------------- */

/* Keeps what the requests and restarts need, nothing else (and sets
 * no_new_privs: nothing we could exec gains anything). */
static int drop_caps(struct monitor *m)
{
	const struct {
		int cap;
		bool want;
	} wanted[] = {
		/* SO_MARK (fwmark); SO_*BUFFORCE on the sockets it opens. */
		{ CAP_NET_ADMIN, true },
		/* UDP ports below 1024 (wg set listen-port). */
		{ CAP_NET_BIND_SERVICE, true },
		/* A restarted protocol process switches to the user ... */
		{ CAP_SETUID, m->id.switch_user },
		{ CAP_SETGID, m->id.switch_user },
		/* ... clears its bounding set ... */
		{ CAP_SETPCAP, true },
		/* ... and hears the link's namespace when it is not ours
		 * (--netns, or moved since: NETLINK_LISTEN_ALL_NSID). */
		{ CAP_NET_BROADCAST, true },
		/* Signals to a process of another uid (SIGTERM, SIGKILL). */
		{ CAP_KILL, m->id.switch_user },
	};
	int kept[sizeof(wanted) / sizeof(wanted[0])];
	size_t n = 0;
	bool bounds;
	char *text;

	if (capng_get_caps_process() < 0) {
		log_error("cannot read our capabilities");
		return -EIO;
	}
	bounds = capng_have_capability(CAPNG_EFFECTIVE, CAP_SETPCAP);
	for (size_t i = 0; i < sizeof(wanted) / sizeof(wanted[0]); i++)
		if (wanted[i].want && capng_have_capability(CAPNG_PERMITTED, wanted[i].cap))
			kept[n++] = wanted[i].cap;
	capng_clear(CAPNG_SELECT_BOTH);
	for (size_t i = 0; i < n; i++)
		capng_update(CAPNG_ADD, CAPNG_EFFECTIVE | CAPNG_PERMITTED | CAPNG_BOUNDING_SET,
			     (unsigned)kept[i]);
	if (capng_apply(bounds ? CAPNG_SELECT_BOTH : CAPNG_SELECT_CAPS) < 0) {
		log_error("cannot drop the monitor's capabilities");
		return -EPERM;
	}
	(void)prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		log_error("cannot set no_new_privs: %s", strerror(errno));
		return -errno;
	}

	/* Check: nothing beyond what we kept, in any set. */
	if (capng_get_caps_process() < 0) {
		log_error("cannot read our capabilities");
		return -EIO;
	}
	for (unsigned cap = 0; cap <= CAP_LAST_CAP; cap++) {
		bool keep = false;

		for (size_t i = 0; i < n; i++)
			keep = keep || kept[i] == (int)cap;
		if (keep)
			continue;
		if (capng_have_capability(CAPNG_EFFECTIVE, cap) ||
		    capng_have_capability(CAPNG_PERMITTED, cap) ||
		    capng_have_capability(CAPNG_INHERITABLE, cap) ||
		    (bounds && capng_have_capability(CAPNG_BOUNDING_SET, cap))) {
			log_error("the monitor still has capability %s after dropping it",
				  capng_capability_to_name(cap));
			return -EPERM;
		}
	}
	m->cap_net_admin = capng_have_capability(CAPNG_EFFECTIVE, CAP_NET_ADMIN);
	m->cap_bind_service = capng_have_capability(CAPNG_EFFECTIVE, CAP_NET_BIND_SERVICE);
	text = capng_print_caps_text(CAPNG_PRINT_BUFFER, CAPNG_EFFECTIVE);
	log_info("monitor keeps %s%s", text && *text ? text : "no capabilities",
		 bounds ? " (and nothing more in its bounding set)" : "");
	free(text);
	return 0;
}

/* ---- the protocol process ---------------------------------------------------- */

static void chan_close(struct monitor *m)
{
	int fd = m->chan_src.fd;

	if (fd < 0)
		return;
	ev_del(&m->loop, &m->chan_src);
	close(fd);
}

static int spawn(struct monitor *m)
{
	int sv[2], fds[PRIVSEP_MAX_FDS], nfds = 0, r;
	struct privsep_handover h = {
		.ifindex = m->ifindex,
		.mtu = m->mtu,
		.link_nsid = m->link_nsid,
		.fwmark = m->udp.fwmark,
		.port = m->udp.port,
	};
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	/* The hand-over waits in the socket for the child to read it. */
	fds[nfds++] = m->tun_fd;
	fds[nfds++] = m->sock.fd;
	if (m->udp.fd4 >= 0) {
		fds[nfds++] = m->udp.fd4;
		h.flags |= PS_FD_UDP4;
	}
	if (m->udp.fd6 >= 0) {
		fds[nfds++] = m->udp.fd6;
		h.flags |= PS_FD_UDP6;
	}
	if (m->daemon_mode)
		h.flags |= PS_DAEMON;
	privsep_msg_init(m->msg, PS_HANDOVER);
	m->msg->len = sizeof(h);
	memcpy(m->msg->data, &h, sizeof(h));
	r = privsep_send(sv[0], m->msg, fds, nfds, 0);
	if (r < 0) {
		close(sv[0]);
		close(sv[1]);
		return r;
	}
	m->child_ready = m->child_stopping = false;
	m->failure[0] = '\0';
	fflush(NULL);
	/* What set-up (or the last child) touched and the loop does not
	 * need; before the fork, so the child starts from the trimmed heap. */
	release_startup_memory(-1);
	pid = fork();
	if (pid < 0) {
		r = -errno;
		close(sv[0]);
		close(sv[1]);
		return r;
	}
	if (pid == 0) {
		struct privsep_child_args args = {
			.opt = m->opt,
			.id = &m->id,
			.sock = sv[1],
			.config = m->config,
			.config_len = m->config_len,
			.seccomp_log_only = m->seccomp_log_only,
			.test_forbidden_syscall = m->test_forbidden_syscall,
		};

		/* Keep nothing of the monitor's: what we get comes in the
		 * hand-over. The log file (and syslog's socket) stay. */
		close(sv[0]);
		if (m->chan_src.fd >= 0)
			close(m->chan_src.fd);
		close(m->sig_src.fd);
		close(m->timer_src.fd);
		home_watch_close(&m->home);
		ev_loop_close(&m->loop);
		if (m->sock.watch_fd >= 0)
			close(m->sock.watch_fd);
		close(m->sock.fd);
		close(m->tun_fd);
		if (m->udp.fd4 >= 0)
			close(m->udp.fd4);
		if (m->udp.fd6 >= 0)
			close(m->udp.fd6);
		if (m->notify_fd >= 0)
			close(m->notify_fd);
		if (m->incoming)
			sodium_memzero(m->incoming, m->in_total);
		privsep_child_main(&args);
	}
	close(sv[1]);
	m->child = pid;
	m->chan_src.fd = sv[0];
	r = ev_add(&m->loop, &m->chan_src, EPOLLIN);
	if (r < 0) {
		log_error("epoll: %s", strerror(-r));
		close(sv[0]);
		m->chan_src.fd = -1;
		kill(pid, SIGKILL);
		return r;
	}
	log_debug("protocol process %d started", (int)pid);
	return 0;
}

/* Turns m->msg into the answer to itself. */
static void reply(struct monitor *m, int status, uint32_t value)
{
	uint32_t type = m->msg->type;

	privsep_msg_init(m->msg, type);
	m->msg->status = status;
	m->msg->value = value;
}

static int send_reply(struct monitor *m, const int *fds, int nfds)
{
	/* Never block on the child: one that does not read its answers has
	 * broken the protocol. */
	int r = privsep_send(m->chan_src.fd, m->msg, fds, nfds, MSG_DONTWAIT);

	if (r == -EAGAIN) {
		log_error("the protocol process does not read the monitor's answers; killing it");
		kill(m->child, SIGKILL);
		chan_close(m);
	} else if (r < 0) {
		chan_close(m);
	}
	return r;
}

static int answer(struct monitor *m, int status, uint32_t value)
{
	reply(m, status, value);
	return send_reply(m, NULL, 0);
}

static unsigned unprivileged_port_start(void)
{
	unsigned v = 1024;
	FILE *f = fopen("/proc/sys/net/ipv4/ip_unprivileged_port_start", "re");

	if (f) {
		if (fscanf(f, "%u", &v) != 1)
			v = 1024;
		fclose(f);
	}
	return v;
}

static void req_set_fwmark(struct monitor *m)
{
	uint32_t mark = m->msg->value;
	int r;

	if (m->msg->len) {
		answer(m, -EINVAL, 0);
		return;
	}
	r = mark == m->udp.fwmark ? 0 : udp_set_fwmark(&m->udp, mark);
	if (r == -EPERM && !m->cap_net_admin)
		log_warn("cannot set fwmark 0x%x on the UDP sockets: the monitor has no "
			 "CAP_NET_ADMIN (started without it)", mark);
	else if (r < 0)
		log_warn("cannot set fwmark 0x%x on the UDP sockets: %s", mark, strerror(-r));
	else
		log_debug("fwmark 0x%x set for the protocol process", mark);
	answer(m, r, mark);
}

static void req_bind_port(struct monitor *m)
{
	uint32_t port = m->msg->value, flags = 0;
	struct udp_bind nb;
	int fds[2], nfds = 0, r;

	if (m->msg->len || port > 65535) {
		log_warn("the protocol process asked for UDP port %u; refused", port);
		answer(m, -EINVAL, 0);
		return;
	}
	r = udp_open(&nb, (uint16_t)port, m->udp.fwmark);
	if (r < 0) {
		unsigned start = unprivileged_port_start();

		if ((r == -EACCES || r == -EPERM) && port && port < start && !m->cap_bind_service)
			log_warn("cannot bind UDP port %u: ports below %u need "
				 "CAP_NET_BIND_SERVICE, which the monitor does not have (started "
				 "without it)", port, start);
		else
			log_warn("cannot bind UDP port %u: %s", port, strerror(-r));
		answer(m, r, 0);
		return;
	}
	if (nb.fd4 >= 0) {
		fds[nfds++] = nb.fd4;
		flags |= PS_FD_UDP4;
	}
	if (nb.fd6 >= 0) {
		fds[nfds++] = nb.fd6;
		flags |= PS_FD_UDP6;
	}
	reply(m, 0, nb.port);
	m->msg->len = sizeof(flags);
	memcpy(m->msg->data, &flags, sizeof(flags));
	if (send_reply(m, fds, nfds) < 0) {
		udp_close(&nb);
		return;
	}
	/* Our copies follow: the old sockets close with the child's. */
	udp_close(&m->udp);
	m->udp = nb;
	log_debug("UDP port %u bound for the protocol process", nb.port);
}

static void config_abort(struct monitor *m)
{
	wipe_free(m->incoming, m->in_total);
	m->incoming = NULL;
	m->in_len = m->in_total = 0;
	m->receiving = false;
}

static void req_config(struct monitor *m)
{
	struct privsep_msg *msg = m->msg;
	int r = 0;

	switch (msg->type) {
	case PS_CONFIG_BEGIN:
		config_abort(m);
		if (msg->len || msg->value == 0 || msg->value > PRIVSEP_CONFIG_MAX) {
			r = -EINVAL;
			break;
		}
		m->incoming = malloc(msg->value);
		if (!m->incoming) {
			r = -ENOMEM;
			break;
		}
		m->in_total = msg->value;
		m->receiving = true;
		break;
	case PS_CONFIG_DATA:
		if (!m->receiving || msg->len == 0 || msg->len > m->in_total - m->in_len) {
			config_abort(m);
			r = -EINVAL;
			break;
		}
		memcpy(m->incoming + m->in_len, msg->data, msg->len);
		m->in_len += msg->len;
		break;
	default: /* PS_CONFIG_END */
		if (!m->receiving || msg->len || m->in_len != m->in_total) {
			config_abort(m);
			r = -EINVAL;
			break;
		}
		wipe_free(m->config, m->config_len);
		m->config = m->incoming;
		m->config_len = m->in_len;
		m->incoming = NULL;
		m->in_len = m->in_total = 0;
		m->receiving = false;
		log_debug("configuration kept for restarts (%zu bytes)", m->config_len);
		break;
	}
	if (r < 0)
		log_warn("the protocol process sent a malformed configuration (message %u); "
			 "refused, the previous one is kept", msg->type);
	answer(m, r, 0);
}

/* Where the link is now: TUNGETDEVNETNS, an nsid, a lookup (CAP_NET_ADMIN).
 * Restarts then start from there too. */
static void req_link_locate(struct monitor *m)
{
	struct link_location loc;
	int r;

	if (m->msg->len) {
		answer(m, -EINVAL, 0);
		return;
	}
	memset(&loc, 0, sizeof(loc));
	r = link_watch_locate(m->tun_fd, &loc);
	if (r == 0) {
		m->ifindex = loc.ifindex;
		m->link_nsid = loc.nsid;
		if (loc.mtu >= 68 && loc.mtu <= 65535)
			m->mtu = loc.mtu;
		memcpy(m->ifname, loc.name, sizeof(m->ifname));
	} else if (r != -ENODEV) {
		log_warn("cannot find interface %s for the protocol process: %s%s", m->ifname,
			 strerror(-r), m->cap_net_admin ? "" : " (the monitor has no CAP_NET_ADMIN)");
	}
	reply(m, r, 0);
	if (r == 0) {
		m->msg->len = sizeof(loc);
		memcpy(m->msg->data, &loc, sizeof(loc));
	}
	send_reply(m, NULL, 0);
}

static void req_ready(struct monitor *m)
{
	if (m->msg->len || m->child_ready) {
		answer(m, -EINVAL, 0);
		return;
	}
	if (answer(m, 0, 0) < 0)
		return;
	m->child_ready = true;
	if (m->died_ns)
		log_info("protocol process %d serves again, %llu ms after the previous one died",
			 (int)m->child,
			 (unsigned long long)((mono_ns() - m->died_ns) / NSEC_PER_MSEC));
	else
		log_debug("protocol process %d ready", (int)m->child);
	m->died_ns = 0;
	if (m->ever_ready)
		return;
	m->ever_ready = true;
	if (m->notify_fd >= 0) {
		int r;

		daemon_notify_ready(m->notify_fd);
		m->notify_fd = -1;
		r = daemon_detach_stdio();
		if (r < 0)
			log_warn("cannot detach from the terminal: %s", strerror(-r));
	}
}

/* One message of the protocol process: validated, answered. */
static void handle(struct monitor *m)
{
	struct privsep_msg *msg = m->msg;

	switch (msg->type) {
	case PS_READY:
		req_ready(m);
		break;
	case PS_SET_FWMARK:
		req_set_fwmark(m);
		break;
	case PS_BIND_PORT:
		req_bind_port(m);
		break;
	case PS_LINK_LOCATE:
		req_link_locate(m);
		break;
	case PS_CONFIG_BEGIN:
	case PS_CONFIG_DATA:
	case PS_CONFIG_END:
		req_config(m);
		break;
	case PS_STOPPING:
		m->child_stopping = true;
		m->child_code = msg->value <= 255 ? (int)msg->value : 1;
		break;
	case PS_FAILED:
		if (msg->len > 0 && msg->len <= sizeof(m->failure) && !msg->data[msg->len - 1])
			memcpy(m->failure, msg->data, msg->len);
		break;
	default:
		log_warn("the protocol process sent an unknown request (type %u); refused",
			 msg->type);
		answer(m, -EINVAL, 0);
		break;
	}
	/* Config chunks carry keys. */
	sodium_memzero(msg->data, sizeof(msg->data));
}

/* Reads what is waiting (bounded). Returns false at end of file. */
static bool chan_read(struct monitor *m)
{
	for (int i = 0; i < CHAN_BATCH && m->chan_src.fd >= 0; i++) {
		int fds[PRIVSEP_MAX_FDS], nfds = 0;
		int r = privsep_recv(m->chan_src.fd, m->msg, fds, &nfds, PRIVSEP_MAX_FDS,
				     MSG_DONTWAIT);

		/* We never take descriptors from the protocol process. */
		for (int k = 0; k < nfds; k++)
			close(fds[k]);
		if (nfds)
			log_warn("the protocol process sent descriptors; closed");
		if (r == -EAGAIN)
			return true;
		if (r == -EBADMSG) {
			log_warn("the protocol process sent a malformed message; refused");
			privsep_msg_init(m->msg, 0);
			answer(m, -EINVAL, 0);
			continue;
		}
		if (r <= 0) {
			chan_close(m);
			return false;
		}
		handle(m);
	}
	return true;
}

static void chan_event(struct ev_source *src, uint32_t events)
{
	struct monitor *m = ev_container_of(src, struct monitor, chan_src);

	(void)events;
	/* At end of file, the exit itself comes as SIGCHLD. */
	chan_read(m);
}

static void arm_stop_timer(struct monitor *m)
{
	struct itimerspec its = { .it_value.tv_sec = MONITOR_STOP_TIMEOUT_SEC };

	if (timerfd_settime(m->timer_src.fd, 0, &its, NULL) < 0)
		log_warn("timerfd: %s", strerror(errno));
}

static void monitor_stop(struct monitor *m, int code, const char *why)
{
	if (m->stopping)
		return;
	if (code)
		log_error("stopping: %s", why);
	else
		log_info("stopping: %s", why);
	m->stopping = true;
	m->exit_code = code;
	if (m->child > 0) {
		if (kill(m->child, SIGTERM) < 0)
			log_warn("cannot signal the protocol process %d: %s", (int)m->child,
				 strerror(errno));
		arm_stop_timer(m);
	}
}

static void describe(int status, char *out, size_t cap)
{
	if (WIFSIGNALED(status)) {
		int sig = WTERMSIG(status);

		snprintf(out, cap, "was killed by signal %d (SIG%s)%s", sig,
			 sigabbrev_np(sig) ? sigabbrev_np(sig) : "?",
			 sig == SIGSYS ? ": a system call outside the seccomp filter (the kernel log "
					 "has its number: audit type=1326)" : "");
	} else if (WIFEXITED(status)) {
		snprintf(out, cap, "exited with status %d", WEXITSTATUS(status));
	} else {
		snprintf(out, cap, "ended (wait status 0x%x)", (unsigned)status);
	}
}

/* The protocol process is gone: stop with it, or start another one. */
static void child_exited(struct monitor *m, pid_t pid, int status)
{
	uint64_t now = mono_ns(), window = MONITOR_RESTART_WINDOW_SEC * NSEC_PER_SEC;
	char how[256];
	unsigned n = 0;
	int r;

	/* A message sent just before exiting is still in the socket. */
	if (m->chan_src.fd >= 0)
		chan_read(m);
	chan_close(m);
	m->child = -1;
	describe(status, how, sizeof(how));
	if (m->stopping) {
		log_debug("protocol process %d %s", (int)pid, how);
		return;
	}
	if (m->child_stopping) {
		/* Its own decision (the interface was deleted, a fatal error):
		 * already logged by it. */
		log_debug("protocol process %d stopped (status %d)", (int)pid, m->child_code);
		m->stopping = true;
		m->exit_code = m->child_code;
		return;
	}
	if (!m->ever_ready) {
		log_error("the protocol process %s during start-up%s%s", how,
			  m->failure[0] ? ": " : "", m->failure);
		m->stopping = true;
		m->exit_code = 1;
		return;
	}
	log_error("protocol process %d %s", (int)pid, how);
	/* At most MONITOR_RESTARTS restarts within the window. */
	for (unsigned i = 0; i < m->n_restarts; i++)
		if (now - m->restarts[i] < window)
			m->restarts[n++] = m->restarts[i];
	m->n_restarts = n;
	if (n >= MONITOR_RESTARTS) {
		log_error("stopping: the protocol process died %u times within %d s; giving up",
			  n + 1, MONITOR_RESTART_WINDOW_SEC);
		m->stopping = true;
		m->exit_code = 1;
		return;
	}
	m->restarts[m->n_restarts++] = now;
	m->died_ns = now;
	log_info("restarting the protocol process (%u of %d within %d s) with the same "
		 "interface, sockets and configuration", m->n_restarts, MONITOR_RESTARTS,
		 MONITOR_RESTART_WINDOW_SEC);
	r = spawn(m);
	if (r < 0) {
		log_error("cannot restart the protocol process: %s", strerror(-r));
		m->stopping = true;
		m->exit_code = 1;
	}
}

static void reap(struct monitor *m)
{
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
		if (pid == m->child)
			child_exited(m, pid, status);
}

static void reopen_log(struct monitor *m)
{
	int r = log_reopen(), fd;

	if (r < 0) {
		log_error("cannot reopen the log file: %s", strerror(-r));
		return;
	}
	log_info("log reopened");
	fd = log_file_fd();
	/* The protocol process cannot open it: it gets our descriptor. */
	if (fd >= 0 && m->chan_src.fd >= 0) {
		privsep_msg_init(m->msg, PS_LOG_FD);
		send_reply(m, &fd, 1);
	}
}

static void signal_event(struct ev_source *src, uint32_t events)
{
	struct monitor *m = ev_container_of(src, struct monitor, sig_src);
	struct signalfd_siginfo si;

	(void)events;
	while (read(src->fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGTERM:
		case SIGINT:
			monitor_stop(m, 0, si.ssi_signo == SIGTERM ? "SIGTERM" : "SIGINT");
			break;
		case SIGHUP:
			reopen_log(m);
			break;
		case SIGCHLD:
			reap(m);
			break;
		default:
			break;
		}
	}
}

static void watch_event(struct ev_source *src, uint32_t events)
{
	struct monitor *m = ev_container_of(src, struct monitor, watch_src);

	(void)events;
	if (!uapi_socket_still_there(&m->sock))
		monitor_stop(m, 0, "the UAPI socket was removed");
}

static void timer_event(struct ev_source *src, uint32_t events)
{
	struct monitor *m = ev_container_of(src, struct monitor, timer_src);
	uint64_t n;

	(void)events;
	if (read(src->fd, &n, sizeof(n)) < 0)
		return;
	if (m->child > 0) {
		log_warn("the protocol process %d did not stop within %d s; killing it",
			 (int)m->child, MONITOR_STOP_TIMEOUT_SEC);
		kill(m->child, SIGKILL);
	}
}

/* The home namespace lost its last name, or something else changed there
 * (home_watch.h): stop if it is gone, as the Linux driver's sockets go with
 * a dead birth namespace. */
static void home_event(struct ev_source *src, uint32_t events)
{
	struct monitor *m = ev_container_of(src, struct monitor, home_src);
	pid_t ours[2] = { getpid(), m->child };
	char why[512];

	(void)events;
	if (home_watch_event(&m->home, ours, m->child > 0 ? 2 : 1, why, sizeof(why)))
		monitor_stop(m, 0, why);
}

static int setup(struct monitor *m)
{
	sigset_t set;
	int r;

	r = ev_loop_init(&m->loop);
	if (r < 0)
		return r;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGCHLD);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return -errno;
	m->sig_src.fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (m->sig_src.fd < 0)
		return -errno;
	m->sig_src.handler = signal_event;
	r = ev_add(&m->loop, &m->sig_src, EPOLLIN);
	if (r < 0)
		return r;
	m->timer_src.fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (m->timer_src.fd < 0)
		return -errno;
	m->timer_src.handler = timer_event;
	r = ev_add(&m->loop, &m->timer_src, EPOLLIN);
	if (r < 0)
		return r;
	/* Deleting the socket file stops everything: the protocol process
	 * cannot see the directory, we can. */
	if (m->sock.watch_fd < 0 && m->sock.have_file) {
		r = uapi_socket_watch(&m->sock);
		if (r < 0)
			log_warn("cannot watch %s (inotify): %s; removing it will not stop the "
				 "daemon", m->sock.path, strerror(-r));
	}
	if (m->sock.watch_fd >= 0) {
		m->watch_src.fd = m->sock.watch_fd;
		m->watch_src.handler = watch_event;
		r = ev_add(&m->loop, &m->watch_src, EPOLLIN);
		if (r < 0)
			return r;
	}
	/* Not fatal: without it, home's end does not end us (logged). */
	if (home_watch_open(&m->home) == 0 && m->home.fd >= 0) {
		m->home_src.fd = m->home.fd;
		m->home_src.handler = home_event;
		r = ev_add(&m->loop, &m->home_src, EPOLLIN);
		if (r < 0)
			return r;
	}
	m->chan_src.handler = chan_event;
	return 0;
}

int monitor_run(struct monitor *m, int take_result, int notify_fd)
{
	int r = take_result, code;

	m->notify_fd = notify_fd;
	m->daemon_mode = notify_fd >= 0;
	if (r < 0)
		goto fail;
	r = setup(m);
	if (r < 0) {
		log_error("monitor: %s", strerror(-r));
		goto fail;
	}
	r = drop_caps(m);
	if (r < 0)
		goto fail;
	r = spawn(m);
	if (r < 0) {
		log_error("cannot start the protocol process: %s", strerror(-r));
		goto fail;
	}
	while (!m->stopping || m->child > 0) {
		r = ev_loop_wait(&m->loop, -1);
		if (r < 0 && r != -EINTR) {
			log_error("monitor: epoll_wait: %s", strerror(-r));
			if (m->child > 0)
				kill(m->child, SIGKILL);
			m->stopping = true;
			m->exit_code = 1;
			while (m->child > 0 && waitpid(m->child, NULL, 0) < 0 && errno == EINTR)
				;
			break;
		}
	}
	code = m->exit_code;
	if (!m->ever_ready)
		daemon_notify_failure(m->notify_fd, m->failure[0] ? m->failure : log_last_error());
	monitor_free(m);
	return code;
fail:
	daemon_notify_failure(notify_fd, log_last_error());
	if (m->child > 0) {
		kill(m->child, SIGKILL);
		waitpid(m->child, NULL, 0);
	}
	monitor_free(m);
	return 1;
}
