// SPDX-License-Identifier: BSD-3-Clause
/*
 * Privilege separation: the identity of the protocol process, dropping
 * privileges, the messages, and the protocol process's side of the monitor's
 * socket (see privsep.h; the monitor is monitor.c).
 */
#include <cap-ng.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <syslog.h>
#include <unistd.h>

#include "agent.h"
#include "daemon.h"
#include "log.h"
#include "mem_release.h"
#include "privsep.h"
#include "seccomp_filter.h"
#include "uapi_internal.h"

#define DEFAULT_USER "altuntun"
#define FALLBACK_USER "nobody"
#define MAX_GROUPS 65536

/* ---- identity -------------------------------------------------------------- */

/* Does our user namespace map `id` (uid_map / gid_map)? */
static bool id_mapped(const char *map, unsigned long id)
{
	unsigned long inside, outside, count;
	bool found = false;
	FILE *f = fopen(map, "re");

	if (!f)
		return true; /* no user namespaces: every id exists */
	while (fscanf(f, "%lu %lu %lu", &inside, &outside, &count) == 3) {
		if (id >= inside && id - inside < count) {
			found = true;
			break;
		}
	}
	fclose(f);
	return found;
}

static int load_groups(struct privsep_identity *id)
{
	int n = 32;

	for (;;) {
		gid_t *g = realloc(id->groups, (size_t)n * sizeof(gid_t));
		int want = n;

		if (!g)
			return -ENOMEM;
		id->groups = g;
		if (getgrouplist(id->name, id->gid, g, &want) >= 0) {
			id->n_groups = want;
			return 0;
		}
		if (want <= n)
			want = n * 2;
		if (want > MAX_GROUPS)
			return -E2BIG;
		n = want;
	}
}

void privsep_identity_free(struct privsep_identity *id)
{
	free(id->groups);
	id->groups = NULL;
	id->n_groups = 0;
}

int privsep_identity_resolve(const struct agent_options *o, struct privsep_identity *id)
{
	const char *name = o->user, *why = NULL;
	struct passwd *pw;
	int r;

	memset(id, 0, sizeof(*id));
	id->uid = geteuid();
	id->gid = getegid();
	if (id->uid != 0) {
		if (o->user) {
			log_error("--user %s: only a process started as root can switch users (this "
				  "one runs as uid %u); without --user it keeps its uid and drops "
				  "its capabilities", o->user, (unsigned)id->uid);
			return -EPERM;
		}
		return 0;
	}
	if (!name)
		name = getpwnam(DEFAULT_USER) ? DEFAULT_USER : FALLBACK_USER;
	id->explicit_user = o->user != NULL;
	pw = getpwnam(name);
	if (!pw) {
		if (o->user)
			log_error("--user %s: no such user", name);
		else
			log_error("neither user %s nor %s exists for the unprivileged protocol "
				  "process: create one (useradd --system %s), name one with "
				  "--user, or use --disable-drop-privileges", DEFAULT_USER,
				  FALLBACK_USER, DEFAULT_USER);
		return -ENOENT;
	}
	if (pw->pw_uid == 0) {
		log_error("--user %s is uid 0: the protocol process must not run as root (use "
			  "--disable-drop-privileges to keep one privileged process)", name);
		return -EINVAL;
	}
	snprintf(id->name, sizeof(id->name), "%s", name);
	id->uid = pw->pw_uid;
	id->gid = pw->pw_gid;
	r = load_groups(id);
	if (r < 0) {
		log_error("cannot read the groups of user %s: %s", name, strerror(-r));
		privsep_identity_free(id);
		return r;
	}
	if (capng_get_caps_process() < 0)
		why = "our capabilities cannot be read";
	else if (!capng_have_capability(CAPNG_EFFECTIVE, CAP_SETUID) ||
		 !capng_have_capability(CAPNG_EFFECTIVE, CAP_SETGID))
		why = "CAP_SETUID and CAP_SETGID are not available (a capability bounding set "
		      "without them?)";
	else if (!id_mapped("/proc/self/uid_map", id->uid) ||
		 !id_mapped("/proc/self/gid_map", id->gid))
		why = "our user namespace does not map it";
	if (why) {
		if (o->user) {
			log_error("--user %s: cannot switch to uid %u: %s", name, (unsigned)id->uid,
				  why);
			privsep_identity_free(id);
			return -EPERM;
		}
		log_warn("cannot switch the protocol process to user %s (uid %u): %s; it keeps "
			 "uid 0, without any capability", name, (unsigned)id->uid, why);
		privsep_identity_free(id);
		id->uid = 0;
		id->gid = getegid();
		return 0;
	}
	id->switch_user = true;
	return 0;
}

/* ---- dropping privileges ----------------------------------------------------- */

static int drop_fail(const char *what, int err)
{
	log_error("cannot drop privileges: %s: %s", what, strerror(err));
	return -err;
}

int privsep_drop(const struct privsep_identity *id)
{
	uid_t ru, eu, su;
	gid_t rg, eg, sg;
	bool bounds;

	if (capng_get_caps_process() < 0)
		return drop_fail("reading our capabilities", EIO);
	/* Without CAP_SETPCAP (file capabilities, an ordinary user) the
	 * bounding set cannot shrink: it then stays as it is. */
	bounds = capng_have_capability(CAPNG_EFFECTIVE, CAP_SETPCAP);
	if (id->switch_user) {
		if (setgroups((size_t)id->n_groups, id->groups) < 0)
			return drop_fail("setgroups", errno);
		if (setresgid(id->gid, id->gid, id->gid) < 0)
			return drop_fail("setresgid", errno);
	}
	/* The bounding set while CAP_SETPCAP is still there ... */
	if (bounds) {
		capng_clear(CAPNG_SELECT_BOUNDS);
		if (capng_apply(CAPNG_SELECT_BOUNDS) < 0)
			return drop_fail("clearing the capability bounding set", EPERM);
	}
	/* ... then the uid: leaving uid 0 clears the permitted, effective and
	 * ambient sets (no SECBIT_KEEP_CAPS) ... */
	if (id->switch_user && setresuid(id->uid, id->uid, id->uid) < 0)
		return drop_fail("setresuid", errno);
	/* ... and whatever is left (not root: file capabilities). */
	capng_clear(CAPNG_SELECT_ALL);
	if (capng_apply(bounds ? CAPNG_SELECT_ALL : CAPNG_SELECT_CAPS) < 0)
		return drop_fail("clearing our capabilities", EPERM);
	(void)prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return drop_fail("no_new_privs", errno);
	/* No core dumps with keys in them, no ptrace by our own uid. */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		return drop_fail("PR_SET_DUMPABLE", errno);

	/* Check what we got. */
	if (capng_get_caps_process() < 0)
		return drop_fail("reading our capabilities again", EIO);
	if (capng_have_capabilities(CAPNG_SELECT_CAPS) != CAPNG_NONE)
		return drop_fail("capabilities are left", EPERM);
	if (bounds && capng_have_capabilities(CAPNG_SELECT_BOUNDS) != CAPNG_NONE)
		return drop_fail("the bounding set is not empty", EPERM);
	if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1)
		return drop_fail("no_new_privs is not set", EPERM);
	if (id->switch_user) {
		if (getresuid(&ru, &eu, &su) < 0 || getresgid(&rg, &eg, &sg) < 0)
			return drop_fail("getresuid", errno);
		if (ru != id->uid || eu != id->uid || su != id->uid || rg != id->gid ||
		    eg != id->gid || sg != id->gid)
			return drop_fail("the ids did not change", EPERM);
		if (setuid(0) == 0 || setgid(0) == 0)
			return drop_fail("uid 0 can be regained", EPERM);
	}
	return 0;
}

/* ---- messages ---------------------------------------------------------------- */

void privsep_msg_init(struct privsep_msg *m, uint32_t type)
{
	/* All of it: data may hold key material from the last message. */
	sodium_memzero(m, sizeof(*m));
	m->type = type;
}

int privsep_send(int sock, const struct privsep_msg *m, const int *fds, int nfds, int flags)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int) * PRIVSEP_MAX_FDS)];
	} ctl;
	struct iovec iov = { .iov_base = (void *)m, .iov_len = sizeof(*m) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t n;

	if (nfds < 0 || nfds > PRIVSEP_MAX_FDS || m->len > PRIVSEP_DATA_MAX)
		return -EINVAL;
	if (nfds > 0) {
		struct cmsghdr *c;

		memset(&ctl, 0, sizeof(ctl));
		mh.msg_control = ctl.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)nfds);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * (size_t)nfds);
	}
	do
		n = sendmsg(sock, &mh, flags | MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	return (size_t)n == sizeof(*m) ? 0 : -EIO;
}

int privsep_recv(int sock, struct privsep_msg *m, int *fds, int *nfds, int max_fds, int flags)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int) * PRIVSEP_MAX_FDS)];
	} ctl;
	struct iovec iov = { .iov_base = m, .iov_len = sizeof(*m) };
	struct msghdr mh = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = ctl.buf,
		.msg_controllen = sizeof(ctl.buf),
	};
	ssize_t n;
	int got = 0;

	*nfds = 0;
	do
		n = recvmsg(sock, &mh, flags | MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	/* Keep what fits, close the rest (the kernel already closed what did
	 * not fit in ctl: MSG_CTRUNC). */
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		size_t k;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < k; i++) {
			int fd;

			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (got < max_fds)
				fds[got++] = fd;
			else
				close(fd);
		}
	}
	*nfds = got;
	if (n == 0 || (size_t)n != sizeof(*m) || (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) ||
	    m->len > PRIVSEP_DATA_MAX) {
		for (int i = 0; i < got; i++)
			close(fds[i]);
		*nfds = 0;
		return n == 0 ? 0 : -EBADMSG;
	}
	return 1;
}

/* ---- the configuration kept for restarts ---------------------------------------- */

static bool restorable(const char *key, size_t len)
{
	static const char *const keys[] = {
		"private_key", "listen_port", "fwmark", "public_key", "preshared_key",
		"endpoint", "persistent_keepalive_interval", "allowed_ip",
	};

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (strlen(keys[i]) == len && !memcmp(keys[i], key, len))
			return true;
	return false;
}

int privsep_config_dump(altuntun_device *dev, const struct uapi_iface_ops *ops, char **out,
			size_t *len)
{
	static const char head[] = "set=1\nreplace_peers=true\n";
	static const char replace_ips[] = "replace_allowed_ips=true\n";
	struct uapi_buf get = { 0 }, set = { 0 };
	size_t off = 0;
	int r;

	*out = NULL;
	*len = 0;
	r = uapi_get(dev, ops, &get);
	if (r < 0)
		goto out;
	uapi_buf_append(&set, head, sizeof(head) - 1);
	while (off < get.len && !set.failed) {
		const char *line = get.data + off;
		const char *nl = memchr(line, '\n', get.len - off);
		size_t n = nl ? (size_t)(nl - line) : get.len - off;
		const char *eq = memchr(line, '=', n);

		off += n + 1;
		if (!eq || !restorable(line, (size_t)(eq - line)))
			continue;
		uapi_buf_append(&set, line, n);
		uapi_buf_append(&set, "\n", 1);
		if (eq - line == 10 && !memcmp(line, "public_key", 10))
			uapi_buf_append(&set, replace_ips, sizeof(replace_ips) - 1);
	}
	uapi_buf_append(&set, "\n", 1);
	r = set.failed ? -ENOMEM : 0;
	if (!r) {
		*out = set.data;
		*len = set.len;
		set.data = NULL;
	}
out:
	uapi_buf_free(&get);
	uapi_buf_free(&set);
	return r;
}

int privsep_bootstrap_send(void *ctx, altuntun_peer *peer, const struct altuntun_endpoint *to,
			   const uint8_t *data, size_t len)
{
	(void)ctx;
	(void)peer;
	(void)to;
	(void)data;
	(void)len;
	return 0;
}

/* ---- the protocol process --------------------------------------------------------- */

struct privsep_child {
	struct privsep_child_args *args;
	struct agent *a;
	struct agent_options *opts; /* our copy (agent_run's) */
	unsigned threads;           /* --threads, started once dropped */
	struct privsep_msg *msg;
	struct privsep_handover h;
	int tun_fd, uapi_fd;
	struct udp_bind udp;
	struct ev_source sock_src;  /* the monitor's socket */
	struct ev_source usr2_src;  /* ALTUNTUN_TEST_FORBIDDEN_SYSCALL */
	bool ready;                 /* the monitor acknowledged PS_READY */
	bool restoring;             /* applying the configuration we were given */
	bool lost;                  /* the monitor's socket failed */
};

static struct privsep_child *child_of(struct agent *a)
{
	return a->opt->privsep_child;
}

static void lost_monitor(struct privsep_child *c, int err)
{
	if (c->lost)
		return;
	c->lost = true;
	log_error("lost the monitor: %s", strerror(-err));
	if (c->a)
		agent_stop(c->a, 1, "the monitor is gone");
}

/* A new log file from the monitor (it reopened the file on SIGHUP). */
static void take_log_fd(const int *fds, int nfds)
{
	int cur = log_file_fd();

	if (nfds == 1 && cur >= 0 && dup3(fds[0], cur, O_CLOEXEC) >= 0)
		log_info("log reopened (by the monitor)");
	for (int i = 0; i < nfds; i++)
		close(fds[i]);
}

/* Waits for the answer to a request of this type; handles PS_LOG_FD on the
 * way. Returns its status, or a negative errno when the socket failed. The
 * answer's descriptors go to fds (at most max_fds; the rest are closed). */
static int wait_answer(struct privsep_child *c, uint32_t type, int *fds, int *nfds, int max_fds)
{
	struct pollfd p = { .fd = c->args->sock, .events = POLLIN };

	*nfds = 0;
	for (;;) {
		int got[PRIVSEP_MAX_FDS], n = 0, r = poll(&p, 1, PRIVSEP_REPLY_TIMEOUT_MS);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r < 0 ? -errno : -ETIMEDOUT;
		r = privsep_recv(p.fd, c->msg, got, &n, PRIVSEP_MAX_FDS, 0);
		if (r == 0)
			return -EPIPE;
		if (r < 0)
			return r;
		if (c->msg->type == PS_LOG_FD) {
			take_log_fd(got, n);
			continue;
		}
		for (int i = 0; i < n; i++) {
			if (c->msg->type == type && i < max_fds)
				fds[(*nfds)++] = got[i];
			else
				close(got[i]);
		}
		if (c->msg->type != type) {
			*nfds = 0;
			return -EPROTO;
		}
		return c->msg->status <= 0 ? c->msg->status : -EPROTO;
	}
}

/* Sends c->msg and waits for its answer. Socket failures stop the
 * daemon; the monitor's refusals are returned. */
static int request(struct privsep_child *c, int *fds, int *nfds, int max_fds)
{
	uint32_t type = c->msg->type;
	int dummy[PRIVSEP_MAX_FDS], n = 0, r;

	if (c->lost)
		return -EPIPE;
	if (!fds) {
		fds = dummy;
		nfds = &n;
		max_fds = 0;
	}
	r = privsep_send(c->args->sock, c->msg, NULL, 0, 0);
	if (r == 0)
		r = wait_answer(c, type, fds, nfds, max_fds);
	if (r == -EPIPE || r == -ECONNRESET || r == -ETIMEDOUT || r == -EPROTO ||
	    r == -EBADMSG || r == -EIO) {
		lost_monitor(c, r);
		return -EIO;
	}
	return r;
}

static void sock_event(struct ev_source *src, uint32_t events)
{
	struct privsep_child *c = ev_container_of(src, struct privsep_child, sock_src);
	int fds[PRIVSEP_MAX_FDS], nfds, r;

	(void)events;
	r = privsep_recv(src->fd, c->msg, fds, &nfds, PRIVSEP_MAX_FDS, MSG_DONTWAIT);
	if (r == -EAGAIN)
		return;
	if (r <= 0) {
		/* The descriptor stays open until exit; just stop watching. */
		ev_del(&c->a->loop, src);
		lost_monitor(c, r == 0 ? -EPIPE : r);
		return;
	}
	if (c->msg->type == PS_LOG_FD) {
		take_log_fd(fds, nfds);
		return;
	}
	for (int i = 0; i < nfds; i++)
		close(fds[i]);
	log_warn("unexpected message %u from the monitor, ignored", c->msg->type);
}

/* The test hook: a system call the filter forbids, on SIGUSR2. */
static void usr2_event(struct ev_source *src, uint32_t events)
{
	struct signalfd_siginfo si;
	long r;

	(void)events;
	while (read(src->fd, &si, sizeof(si)) == (ssize_t)sizeof(si))
		;
	log_warn("test hook (ALTUNTUN_TEST_FORBIDDEN_SYSCALL): calling unshare(2), which the "
		 "seccomp filter forbids");
	r = syscall(SYS_unshare, 0);
	log_error("the forbidden system call returned %ld: the seccomp filter is not working",
		  r);
}

static int setup_test_hook(struct privsep_child *c)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGUSR2);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return -errno;
	c->usr2_src.fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (c->usr2_src.fd < 0)
		return -errno;
	c->usr2_src.handler = usr2_event;
	return ev_add(&c->a->loop, &c->usr2_src, EPOLLIN);
}

int privsep_child_adopt_tun(struct agent *a)
{
	struct privsep_child *c = child_of(a);
	struct link_location loc;
	int r;

	a->tun_src.fd = c->tun_fd;
	c->tun_fd = -1;
	a->tun_src.handler = agent_tun_event;
	a->ifindex = c->h.ifindex;
	a->mtu = c->h.mtu;
	a->link_nsid = c->h.link_nsid;
	/* Still privileged (the monitor's capabilities): where the link is
	 * now, in case it moved or its MTU changed since the monitor knew. */
	if (link_watch_locate(a->tun_src.fd, &loc) == 0) {
		a->ifindex = loc.ifindex;
		a->link_nsid = loc.nsid;
		if (loc.mtu >= 68 && loc.mtu <= 65535)
			a->mtu = loc.mtu;
	}
	r = ev_add(&a->loop, &a->tun_src, EPOLLIN);
	if (r < 0)
		log_error("epoll: %s", strerror(-r));
	return r;
}

int privsep_child_adopt_udp(struct agent *a)
{
	struct privsep_child *c = child_of(a);
	int r = agent_udp_adopt(a, &c->udp);

	c->udp.fd4 = c->udp.fd6 = -1;
	return r;
}

/* Applies the configuration the monitor kept (a set request). */
static int restore_config(struct privsep_child *c)
{
	static const char ok[] = "errno=0\n\n";
	struct agent *a = c->a;
	char *resp = NULL;
	size_t resp_len = 0;
	int r;

	if (!c->args->config || !c->args->config_len)
		return 0;
	c->restoring = true;
	r = uapi_handle(a->dev, &a->ops, agent_now(), c->args->config, c->args->config_len, &resp,
			&resp_len);
	c->restoring = false;
	sodium_memzero(c->args->config, c->args->config_len);
	if (r == 0 && (resp_len != sizeof(ok) - 1 || memcmp(resp, ok, resp_len)))
		r = -EINVAL;
	if (r < 0)
		log_error("cannot restore the configuration: %.*s", resp ? (int)resp_len - 2 : 0,
			  resp ? resp : strerror(-r));
	else
		log_info("configuration restored: %zu peers", altuntun_peer_count(a->dev));
	if (resp) {
		sodium_memzero(resp, resp_len);
		free(resp);
	}
	return r;
}

/* The number of threads of this process (/proc/self/status). */
static int threads_of_self(void)
{
	char line[128];
	int n = -1;
	FILE *f = fopen("/proc/self/status", "re");

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Threads: %d", &n) == 1)
			break;
	fclose(f);
	return n;
}

/* The link watch's locator (link_watch_set_locator): the monitor asks. */
static int locate_link(void *ctx, struct link_location *out)
{
	struct privsep_child *c = ctx;
	int r;

	privsep_msg_init(c->msg, PS_LINK_LOCATE);
	r = request(c, NULL, NULL, 0);
	if (r < 0)
		return r;
	if (c->msg->len != sizeof(*out))
		return -EPROTO;
	memcpy(out, c->msg->data, sizeof(*out));
	out->name[IFNAMSIZ - 1] = '\0';
	if (out->ifindex <= 0 || out->nsid < -1)
		return -EPROTO;
	return 0;
}

int privsep_child_enter(struct agent *a)
{
	struct privsep_child *c = child_of(a);
	const struct privsep_identity *id = c->args->id;
	unsigned n_allowed = 0;
	int r, smaps_fd;

	c->a = a;
	/* The socket's directory is root's: once unprivileged we could neither
	 * watch it nor remove the file. The monitor does both. */
	if (a->sock_watch_src.fd >= 0) {
		int fd = a->sock_watch_src.fd;

		ev_del(&a->loop, &a->sock_watch_src);
		close(fd);
	}
	a->sock.watch_fd = -1;
	a->sock.have_file = false;

	/* Finding a moved link needs CAP_NET_ADMIN: the monitor's job. */
	link_watch_set_locator(&a->link, locate_link, c);
	c->sock_src.fd = c->args->sock;
	c->sock_src.handler = sock_event;
	r = ev_add(&a->loop, &c->sock_src, EPOLLIN);
	if (r < 0) {
		log_error("epoll: %s", strerror(-r));
		return r;
	}
	if (c->args->test_forbidden_syscall) {
		r = setup_test_hook(c);
		if (r < 0) {
			log_error("test hook: %s", strerror(-r));
			return r;
		}
	}

	r = threads_of_self();
	if (r != 1) {
		log_error("cannot drop privileges: %d threads run already (every thread must "
			  "start after the drop)", r);
		return -EBUSY;
	}
	r = privsep_drop(id);
	if (r < 0)
		return r;
	/* Changing credentials cleared it: die with the monitor. */
	(void)prctl(PR_SET_PDEATHSIG, SIGTERM, 0, 0, 0);
	/* Threads start unprivileged, and before the filter (so that clone
	 * need not be allowed; TSYNC puts the filter on them too). */
	c->opts->threads = c->threads;
	r = datapath_start_worker(a);
	if (r < 0)
		return r;
	/* Read once set-up is over, when the filter no longer lets us open it. */
	smaps_fd = mem_release_open();
	if (smaps_fd < 0)
		log_warn("cannot open /proc/self/smaps: %s; start-up memory stays mapped",
			 strerror(-smaps_fd));
	r = seccomp_filter_apply(c->args->seccomp_log_only, &n_allowed);
	if (r < 0) {
		log_error("cannot load the seccomp filter: %s", strerror(-r));
		goto fail;
	}
	if (c->args->seccomp_log_only)
		log_warn("ALTUNTUN_SECCOMP=log: system calls outside the filter are only logged");
	log_info("privileges dropped: uid %u gid %u%s%s, no capabilities, no_new_privs, "
		 "seccomp filter (%u system calls allowed)", (unsigned)getuid(), (unsigned)getgid(),
		 id->switch_user ? " user " : "", id->switch_user ? id->name : "", n_allowed);

	/* From here on everything we parse, we parse unprivileged and
	 * filtered. */
	r = restore_config(c);
	if (r < 0)
		goto fail;
	privsep_msg_init(c->msg, PS_READY);
	r = request(c, NULL, NULL, 0);
	if (r < 0) {
		log_error("the monitor refused our start: %s", strerror(-r));
		goto fail;
	}
	c->ready = true;
	if (smaps_fd >= 0)
		release_startup_memory(smaps_fd);
	return 0;
fail:
	if (smaps_fd >= 0)
		close(smaps_fd);
	return r;
}

int privsep_bind_port(struct agent *a, uint16_t port, struct udp_bind *out)
{
	struct privsep_child *c = child_of(a);
	int fds[2], nfds = 0, r, want;
	uint32_t flags = 0;

	privsep_msg_init(c->msg, PS_BIND_PORT);
	c->msg->value = port;
	r = request(c, fds, &nfds, 2);
	if (r == 0 && c->msg->len == sizeof(flags))
		memcpy(&flags, c->msg->data, sizeof(flags));
	want = !!(flags & PS_FD_UDP4) + !!(flags & PS_FD_UDP6);
	if (r == 0 && (want == 0 || nfds != want || c->msg->value == 0 || c->msg->value > 65535 ||
		       (port && c->msg->value != port))) {
		log_error("the monitor's answer to binding port %u is malformed", port);
		r = -EPROTO;
	}
	if (r < 0) {
		for (int i = 0; i < nfds; i++)
			close(fds[i]);
		return r;
	}
	out->fd4 = flags & PS_FD_UDP4 ? fds[0] : -1;
	out->fd6 = flags & PS_FD_UDP6 ? fds[want - 1] : -1;
	out->port = (uint16_t)c->msg->value;
	out->fwmark = a->udp.fwmark;
	return 0;
}

int privsep_set_fwmark(struct agent *a, uint32_t mark)
{
	struct privsep_child *c = child_of(a);
	int r;

	privsep_msg_init(c->msg, PS_SET_FWMARK);
	c->msg->value = mark;
	r = request(c, NULL, NULL, 0);
	if (r == 0)
		a->udp.fwmark = mark;
	return r;
}

void privsep_config_changed(struct agent *a)
{
	struct privsep_child *c = child_of(a);
	char *text = NULL;
	size_t len = 0, off = 0;
	int r;

	if (c->restoring || !c->ready || c->lost)
		return;
	r = privsep_config_dump(a->dev, &a->ops, &text, &len);
	if (!r && len > PRIVSEP_CONFIG_MAX)
		r = -EFBIG;
	if (!r) {
		privsep_msg_init(c->msg, PS_CONFIG_BEGIN);
		c->msg->value = (uint32_t)len;
		r = request(c, NULL, NULL, 0);
	}
	while (!r && off < len) {
		size_t n = len - off < PRIVSEP_DATA_MAX ? len - off : PRIVSEP_DATA_MAX;

		privsep_msg_init(c->msg, PS_CONFIG_DATA);
		memcpy(c->msg->data, text + off, n);
		c->msg->len = (uint32_t)n;
		r = request(c, NULL, NULL, 0);
		sodium_memzero(c->msg->data, n);
		off += n;
	}
	if (!r) {
		privsep_msg_init(c->msg, PS_CONFIG_END);
		r = request(c, NULL, NULL, 0);
	}
	if (text) {
		sodium_memzero(text, len);
		free(text);
	}
	if (r < 0)
		log_warn("cannot hand the configuration to the monitor (%s): a restart after a "
			 "crash would not have this change", strerror(-r));
	else
		log_debug("configuration (%zu bytes) handed to the monitor", len);
}

/* Reads the hand-over: which descriptors, and what they are. */
static int receive_handover(struct privsep_child *c)
{
	int fds[PRIVSEP_MAX_FDS], nfds = 0, want, i = 2;
	struct pollfd p = { .fd = c->args->sock, .events = POLLIN };
	int r;

	do
		r = poll(&p, 1, PRIVSEP_REPLY_TIMEOUT_MS);
	while (r < 0 && errno == EINTR);
	if (r <= 0)
		return r < 0 ? -errno : -ETIMEDOUT;
	r = privsep_recv(p.fd, c->msg, fds, &nfds, PRIVSEP_MAX_FDS, 0);
	if (r <= 0)
		return r == 0 ? -EPIPE : r;
	if (c->msg->type != PS_HANDOVER || c->msg->len != sizeof(c->h))
		goto bad;
	memcpy(&c->h, c->msg->data, sizeof(c->h));
	want = 2 + !!(c->h.flags & PS_FD_UDP4) + !!(c->h.flags & PS_FD_UDP6);
	if (nfds != want || want == 2)
		goto bad;
	c->tun_fd = fds[0];
	c->uapi_fd = fds[1];
	c->udp.fd4 = c->h.flags & PS_FD_UDP4 ? fds[i++] : -1;
	c->udp.fd6 = c->h.flags & PS_FD_UDP6 ? fds[i++] : -1;
	c->udp.port = c->h.port;
	c->udp.fwmark = c->h.fwmark;
	return 0;
bad:
	for (int k = 0; k < nfds; k++)
		close(fds[k]);
	return -EBADMSG;
}

/*
 * Closes every descriptor above 2 but the monitor's socket and the log
 * file: nothing the caller of altuntun-cli leaked to us reaches the exposed
 * process. syslog's socket is closed too; glibc reconnects on the next line
 * (socket and connect are in the filter for that).
 */
static void close_inherited(int sock)
{
	int keep[2] = { sock, log_file_fd() };
	unsigned lo = 3;

	closelog();
	if (keep[1] >= 0 && keep[1] < keep[0]) {
		keep[1] = keep[0];
		keep[0] = log_file_fd();
	}
	for (int i = 0; i < 2; i++) {
		if (keep[i] < 3 || (unsigned)keep[i] < lo)
			continue;
		if ((unsigned)keep[i] > lo)
			(void)close_range(lo, (unsigned)keep[i] - 1, 0);
		lo = (unsigned)keep[i] + 1;
	}
	(void)close_range(lo, ~0u, 0);
}

void privsep_child_main(struct privsep_child_args *args)
{
	struct privsep_child c = {
		.args = args,
		.tun_fd = -1,
		.uapi_fd = -1,
		.udp = { .fd4 = -1, .fd6 = -1 },
		.sock_src = { .fd = -1 },
		.usr2_src = { .fd = -1 },
	};
	struct agent_options o;
	int r, code;

	(void)prctl(PR_SET_NAME, PRIVSEP_PROTO_COMM, 0, 0, 0);
	close_inherited(args->sock);
	/* Stops with the monitor, whatever happens to the socket. */
	(void)prctl(PR_SET_PDEATHSIG, SIGTERM, 0, 0, 0);
	c.msg = malloc(sizeof(*c.msg));
	if (!c.msg) {
		log_error("protocol process: out of memory");
		_exit(1);
	}
	r = receive_handover(&c);
	if (r < 0) {
		log_error("protocol process: no hand-over from the monitor: %s", strerror(-r));
		_exit(1);
	}
	if (c.h.flags & PS_DAEMON) {
		r = daemon_detach_stdio();
		if (r < 0)
			log_warn("cannot detach from the terminal: %s", strerror(-r));
	}
	/* agent_start() takes these as WG_TUN_FD / WG_UAPI_FD, and the rest
	 * through the privsep_child_adopt_* hooks. */
	o = *args->opt;
	o.tun_fd = c.tun_fd;
	o.uapi_fd = c.uapi_fd;
	o.config = NULL;
	o.config_path = NULL;
	o.netns = NULL;
	o.privsep_child = &c;
	/* No thread before the drop: capabilities, the bounding set and
	 * no_new_privs are per thread (privsep_child_enter starts it). */
	c.opts = &o;
	c.threads = o.threads;
	o.threads = 1;
	code = agent_run(&o, -1);
	if (args->config)
		sodium_memzero(args->config, args->config_len);
	if (!c.lost) {
		if (c.ready) {
			privsep_msg_init(c.msg, PS_STOPPING);
			c.msg->value = (uint32_t)code;
		} else {
			privsep_msg_init(c.msg, PS_FAILED);
			c.msg->len = (uint32_t)snprintf((char *)c.msg->data, 512, "%s",
							log_last_error()) + 1;
			if (c.msg->len > 512)
				c.msg->len = 512;
		}
		(void)privsep_send(args->sock, c.msg, NULL, 0, 0);
	}
	sodium_memzero(c.msg, sizeof(*c.msg));
	_exit(code);
}
