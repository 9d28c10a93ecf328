// SPDX-License-Identifier: BSD-3-Clause
/*
 * altuntun-cni: a CNI plugin (type "altuntun-cni", its file name) giving a
 * container a userspace WireGuard interface served by an altuntun-cli agent;
 * see docs/cni.md and altuntun-cni(8).
 *
 * State of one attachment: STATE_DIR/<network name>/<containerid>-<ifname>/
 * holding config.json (the agent's configuration, 0600), state.json (what
 * DEL/CHECK/GC need: container id, ifname, device, netns, UAPI name, pid,
 * MTU) and pid. The attachment is CNI_IFNAME's; the interface made in the
 * container ("device") is the config's "ifname" when given: in a conflist
 * every plugin gets the same CNI_IFNAME, which the first plugin creates.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <limits.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "altuntun.h"
#include "cni_input.h"
#include "cni_result.h"
#include "config_json.h"

#define PROG "altuntun-cni"
#define CNI_SPEC "1.1.0"
#define STDIN_MAX (1u << 20)
#define STATE_DIR_DEFAULT "/var/run/altuntun-cni"
#define UAPI_DIR "/var/run/wireguard"
#define AGENT_NAME "altuntun-cli"

static const char *g_version = "1.1.0"; /* for error objects */

static int cni_fail(int code, const char *msg, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int cni_fail(int code, const char *msg, const char *fmt, ...)
{
	char details[4096] = "";

	if (fmt) {
		va_list ap;

		va_start(ap, fmt);
		vsnprintf(details, sizeof(details), fmt, ap);
		va_end(ap);
	}
	cni_print_error(g_version, code, msg, details);
	return 1;
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: CNI_COMMAND=ADD|DEL|CHECK|VERSION|STATUS|GC CNI_CONTAINERID=.. \\\n"
		"       CNI_NETNS=.. CNI_IFNAME=.. CNI_PATH=.. %s < netconf.json\n"
		"       %s --version | --help\n"
		"\n"
		"A CNI plugin (type altuntun-cni) giving containers a userspace WireGuard\n"
		"interface served by altuntun-cli. See altuntun-cni(8), docs/cni.md.\n",
		PROG, PROG);
}

static const char *env(const char *n)
{
	const char *v = getenv(n);

	return v && *v ? v : NULL;
}

static const char *state_root(void)
{
	const char *d = env("ALTUNTUN_CNI_STATE_DIR");

	return d ? d : STATE_DIR_DEFAULT;
}

/* ---- input ---------------------------------------------------------------- */

static char *read_stdin(size_t *len, int *too_big)
{
	size_t cap = 65536, n = 0;
	char *buf = malloc(cap + 1);

	*too_big = 0;
	if (!buf)
		return NULL;
	for (;;) {
		ssize_t r;

		if (n == cap) {
			char *nb;

			if (cap >= STDIN_MAX) {
				*too_big = 1;
				free(buf);
				return NULL;
			}
			cap *= 2;
			nb = realloc(buf, cap + 1);
			if (!nb) {
				free(buf);
				return NULL;
			}
			buf = nb;
		}
		r = read(0, buf + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			free(buf);
			return NULL;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	buf[n] = 0;
	*len = n;
	return buf;
}

/* dst = a "/" b, truncated paths refused (-ENAMETOOLONG). */
static int path_join(char *dst, size_t len, const char *a, const char *b)
{
	int n = snprintf(dst, len, "%s/%s", a, b);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* ---- names ---------------------------------------------------------------- */

/* "ac" + 13 hex digits of FNV-1a-64(containerid NUL ifname): 15 chars. */
static void uapi_name_for(const char *cid, const char *ifname, char out[IFNAMSIZ])
{
	uint64_t h = 0xcbf29ce484222325ULL;
	const char *p;

	for (p = cid; *p; p++)
		h = (h ^ (unsigned char)*p) * 0x100000001b3ULL;
	h = (h ^ 0) * 0x100000001b3ULL;
	for (p = ifname; *p; p++)
		h = (h ^ (unsigned char)*p) * 0x100000001b3ULL;
	snprintf(out, IFNAMSIZ, "ac%013llx", (unsigned long long)(h & 0xfffffffffffffULL));
}

static void attach_dir(char *buf, size_t len, const char *net, const char *cid, const char *ifn)
{
	snprintf(buf, len, "%s/%s/%s-%s", state_root(), net, cid, ifn);
}

static int mkdir_p(const char *path, mode_t mode)
{
	char tmp[PATH_MAX];
	char *p;

	snprintf(tmp, sizeof(tmp), "%s", path);
	for (p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(tmp, mode) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(tmp, mode) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

static void remove_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char p[PATH_MAX];

	if (d) {
		while ((e = readdir(d))) {
			if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
				continue;
			if (path_join(p, sizeof(p), dir, e->d_name) < 0)
				continue;
			unlink(p);
		}
		closedir(d);
	}
	rmdir(dir);
}

static int write_file(const char *path, const char *text, mode_t mode)
{
	char tmp[PATH_MAX];
	size_t n = strlen(text), off = 0;
	int fd;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd < 0)
		return -errno;
	fchmod(fd, mode);
	while (off < n) {
		ssize_t w = write(fd, text + off, n - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			int e = -errno;

			close(fd);
			unlink(tmp);
			return e;
		}
		off += (size_t)w;
	}
	if (fsync(fd) < 0 || close(fd) < 0 || rename(tmp, path) < 0) {
		unlink(tmp);
		return -EIO;
	}
	return 0;
}

/* ---- agent binary and processes -------------------------------------------- */

static int find_agent(char *out, size_t len)
{
	char self[PATH_MAX], *slash;
	const char *cp;
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (env("ALTUNTUN_CLI")) {
		snprintf(out, len, "%s", env("ALTUNTUN_CLI"));
		return access(out, X_OK) == 0 ? 0 : -ENOENT;
	}
	if (n > 0) {
		self[n] = 0;
		slash = strrchr(self, '/');
		if (slash) {
			*slash = 0;
			path_join(out, len, self, AGENT_NAME);
			if (access(out, X_OK) == 0)
				return 0;
		}
	}
	cp = env("CNI_PATH");
	if (cp) {
		char *copy = strdup(cp), *save = NULL, *dir;

		for (dir = strtok_r(copy, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
			path_join(out, len, dir, AGENT_NAME);
			if (access(out, X_OK) == 0) {
				free(copy);
				return 0;
			}
		}
		free(copy);
	}
	return -ENOENT;
}

static int proc_is_zombie(pid_t pid)
{
	char p[64], buf[512], *c;
	FILE *f;
	int z = 0;

	snprintf(p, sizeof(p), "/proc/%d/stat", (int)pid);
	f = fopen(p, "r");
	if (!f)
		return 1;
	if (fgets(buf, sizeof(buf), f) && (c = strrchr(buf, ')')) && c[1] && c[2])
		z = c[2] == 'Z' || c[2] == 'X';
	fclose(f);
	return z;
}

static int pid_alive(pid_t pid)
{
	return pid > 0 && kill(pid, 0) == 0 && !proc_is_zombie(pid);
}

/* Reads /proc/PID/cmdline: returns the number of bytes, args NUL-separated. */
static ssize_t read_cmdline(pid_t pid, char *buf, size_t len)
{
	char p[64];
	ssize_t n;
	int fd;

	snprintf(p, sizeof(p), "/proc/%d/cmdline", (int)pid);
	fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n >= 0)
		buf[n] = 0;
	return n;
}

/* True when PID is altuntun-cli (by exe) run with --uapi-name UAPI. */
static int is_our_agent(pid_t pid, const char *uapi)
{
	char p[64], exe[PATH_MAX], cmd[8192];
	const char *base;
	ssize_t n, i;
	int prev_uapi = 0;

	snprintf(p, sizeof(p), "/proc/%d/exe", (int)pid);
	n = readlink(p, exe, sizeof(exe) - 1);
	if (n <= 0)
		return 0;
	exe[n] = 0;
	if (n > 10 && !strcmp(exe + n - 10, " (deleted)"))
		exe[n - 10] = 0;
	base = strrchr(exe, '/');
	base = base ? base + 1 : exe;
	if (strcmp(base, AGENT_NAME))
		return 0;
	n = read_cmdline(pid, cmd, sizeof(cmd));
	for (i = 0; n > 0 && i < n; i += (ssize_t)strlen(cmd + i) + 1) {
		if (prev_uapi && !strcmp(cmd + i, uapi))
			return 1;
		prev_uapi = !strcmp(cmd + i, "--uapi-name");
	}
	return 0;
}

static pid_t parent_of(pid_t pid)
{
	char p[64], buf[512], *c;
	FILE *f;
	int pp = 0;

	snprintf(p, sizeof(p), "/proc/%d/stat", (int)pid);
	f = fopen(p, "r");
	if (!f)
		return 0;
	if (fgets(buf, sizeof(buf), f) && (c = strrchr(buf, ')')))
		sscanf(c + 2, "%*c %d", &pp);
	fclose(f);
	return pp;
}

/* The agent serving UAPI: the oldest of its processes (whose parent is not
 * one of them). 0 when none. */
static pid_t find_agent_pid(const char *uapi)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	pid_t found = 0;

	if (!d)
		return 0;
	while ((e = readdir(d))) {
		char *end;
		long v = strtol(e->d_name, &end, 10);

		if (*end || v <= 0)
			continue;
		if (!is_our_agent((pid_t)v, uapi) || !pid_alive((pid_t)v))
			continue;
		if (is_our_agent(parent_of((pid_t)v), uapi))
			continue;
		found = (pid_t)v;
		break;
	}
	closedir(d);
	return found;
}

/* SIGTERM, up to 5 s, then SIGKILL. */
static void stop_pid(pid_t pid)
{
	int i;

	if (pid <= 0 || kill(pid, SIGTERM) < 0)
		return;
	for (i = 0; i < 100 && pid_alive(pid); i++)
		usleep(50000);
	if (pid_alive(pid))
		kill(pid, SIGKILL);
	for (i = 0; i < 40 && pid_alive(pid); i++)
		usleep(50000);
}

static void stop_agent(const char *uapi, pid_t recorded)
{
	pid_t p;
	int round;

	if (recorded > 0 && is_our_agent(recorded, uapi))
		stop_pid(recorded);
	for (round = 0; round < 3 && (p = find_agent_pid(uapi)); round++)
		stop_pid(p);
}

/* Connects to the UAPI socket and asks get=1; 0 when it answers errno=0. */
static int uapi_ping(const char *uapi)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char buf[4096];
	size_t got = 0;
	int fd, ok = -1;
	struct timeval tv = { .tv_sec = 3 };

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/%s.sock", UAPI_DIR, uapi);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    write(fd, "get=1\n\n", 7) != 7) {
		close(fd);
		return -ECONNREFUSED;
	}
	for (;;) {
		ssize_t r = read(fd, buf + got, sizeof(buf) - 1 - got);

		if (r <= 0)
			break;
		got += (size_t)r;
		buf[got] = 0;
		if (strstr(buf, "errno=0\n")) {
			ok = 0;
			break;
		}
		if (got > sizeof(buf) - 64) { /* keep the tail only */
			memmove(buf, buf + got - 32, 32);
			got = 32;
		}
	}
	close(fd);
	return ok;
}

/* ---- namespaces -------------------------------------------------------------- */

/*
 * Runs fn(arg, wfd) in a child that entered the namespace NETNS; fn writes
 * a message to wfd and returns the exit status. Returns the status (-1 when
 * the namespace cannot be entered: msg says why).
 */
typedef int (*ns_fn)(void *arg, int wfd);
static int in_netns(const char *netns, ns_fn fn, void *arg, char *msg, size_t msglen)
{
	int pfd[2], st = 0, nsfd;
	pid_t pid;
	ssize_t n;

	msg[0] = 0;
	nsfd = open(netns, O_RDONLY | O_CLOEXEC);
	if (nsfd < 0) {
		snprintf(msg, msglen, "cannot open network namespace %s: %s", netns, strerror(errno));
		return -1;
	}
	if (pipe2(pfd, O_CLOEXEC) < 0) {
		close(nsfd);
		snprintf(msg, msglen, "pipe: %s", strerror(errno));
		return -1;
	}
	pid = fork();
	if (pid < 0) {
		close(nsfd);
		close(pfd[0]);
		close(pfd[1]);
		snprintf(msg, msglen, "fork: %s", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		close(pfd[0]);
		if (setns(nsfd, CLONE_NEWNET) < 0) {
			dprintf(pfd[1], "%s is not a network namespace we can enter: %s", netns,
				strerror(errno));
			_exit(255);
		}
		_exit(fn(arg, pfd[1]));
	}
	close(nsfd);
	close(pfd[1]);
	n = read(pfd[0], msg, msglen - 1);
	msg[n > 0 ? n : 0] = 0;
	close(pfd[0]);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st) == 255 ? -1 : WEXITSTATUS(st);
}

static int fn_link_exists(void *arg, int wfd)
{
	(void)wfd;
	return if_nametoindex((const char *)arg) ? 1 : 0;
}

struct check_arg {
	const char *ifname;
	unsigned mtu;
	json_t *want; /* array of "addr/len" strings */
};

static int fn_check_iface(void *argp, int wfd)
{
	struct check_arg *a = argp;
	struct ifreq ifr = { 0 };
	struct ifaddrs *ifa, *i;
	size_t k;
	json_t *v;
	int s;

	if (!if_nametoindex(a->ifname)) {
		dprintf(wfd, "no interface %s in the namespace", a->ifname);
		return 1;
	}
	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", a->ifname);
	if (s < 0 || ioctl(s, SIOCGIFMTU, &ifr) < 0) {
		dprintf(wfd, "cannot read the MTU of %s", a->ifname);
		return 1;
	}
	close(s);
	if ((unsigned)ifr.ifr_mtu != a->mtu) {
		dprintf(wfd, "%s has MTU %d, configured %u", a->ifname, ifr.ifr_mtu, a->mtu);
		return 1;
	}
	if (getifaddrs(&ifa) < 0) {
		dprintf(wfd, "getifaddrs: %s", strerror(errno));
		return 1;
	}
	json_array_foreach(a->want, k, v) {
		const char *w = json_string_value(v);
		int found = 0;

		for (i = ifa; i && w && !found; i = i->ifa_next) {
			char buf[INET6_ADDRSTRLEN + 8], ad[INET6_ADDRSTRLEN];
			unsigned len = 0;
			const unsigned char *m;
			size_t mlen, b;

			if (!i->ifa_addr || strcmp(i->ifa_name, a->ifname))
				continue;
			if (i->ifa_addr->sa_family == AF_INET) {
				inet_ntop(AF_INET, &((struct sockaddr_in *)i->ifa_addr)->sin_addr, ad,
					  sizeof(ad));
				m = (const unsigned char *)&((struct sockaddr_in *)i->ifa_netmask)->sin_addr;
				mlen = 4;
			} else if (i->ifa_addr->sa_family == AF_INET6) {
				inet_ntop(AF_INET6, &((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr, ad,
					  sizeof(ad));
				m = (const unsigned char *)&((struct sockaddr_in6 *)i->ifa_netmask)->sin6_addr;
				mlen = 16;
			} else {
				continue;
			}
			for (b = 0; i->ifa_netmask && b < mlen; b++)
				len += (unsigned)__builtin_popcount(m[b]);
			snprintf(buf, sizeof(buf), "%s/%u", ad, len);
			found = !strcmp(buf, w);
		}
		if (!found) {
			freeifaddrs(ifa);
			dprintf(wfd, "%s lacks the address %s", a->ifname, w ? w : "?");
			return 1;
		}
	}
	freeifaddrs(ifa);
	return 0;
}

/* ---- state ------------------------------------------------------------------- */

struct attach {
	char dir[PATH_MAX];
	char cid[256], ifname[IFNAMSIZ], device[IFNAMSIZ], uapi[IFNAMSIZ], netns[PATH_MAX];
	pid_t pid;
	unsigned mtu;
	json_t *addresses;
};

static int load_attach(const char *dir, struct attach *a)
{
	char p[PATH_MAX];
	json_t *j, *v;

	memset(a, 0, sizeof(*a));
	snprintf(a->dir, sizeof(a->dir), "%s", dir);
	path_join(p, sizeof(p), dir, "state.json");
	j = json_load_file(p, 0, NULL);
	if (!j)
		return -ENOENT;
	snprintf(a->cid, sizeof(a->cid), "%s", json_string_value(json_object_get(j, "containerID")) ?: "");
	snprintf(a->ifname, sizeof(a->ifname), "%s", json_string_value(json_object_get(j, "ifname")) ?: "");
	snprintf(a->device, sizeof(a->device), "%s",
		 json_string_value(json_object_get(j, "device")) ?: a->ifname);
	snprintf(a->uapi, sizeof(a->uapi), "%s", json_string_value(json_object_get(j, "uapiName")) ?: "");
	snprintf(a->netns, sizeof(a->netns), "%s", json_string_value(json_object_get(j, "netns")) ?: "");
	a->pid = (pid_t)json_integer_value(json_object_get(j, "pid"));
	a->mtu = (unsigned)json_integer_value(json_object_get(j, "mtu"));
	v = json_object_get(j, "addresses");
	a->addresses = json_is_array(v) ? json_incref(v) : json_array();
	json_decref(j);
	return 0;
}

static void teardown(struct attach *a)
{
	if (a->uapi[0]) {
		char sock[PATH_MAX];

		stop_agent(a->uapi, a->pid);
		/* a socket left by an agent that was killed: nobody listens */
		snprintf(sock, sizeof(sock), "%s/%s.sock", UAPI_DIR, a->uapi);
		if (access(sock, F_OK) == 0 && !find_agent_pid(a->uapi) && uapi_ping(a->uapi) < 0)
			unlink(sock);
	}
	remove_dir(a->dir);
	json_decref(a->addresses);
	a->addresses = NULL;
}

/*
 * Serializes ADD, DEL, CHECK and GC of every network: STATE/.lock, held
 * until exit. Returns 0 or a negative errno.
 */
static int lock_state(void)
{
	char p[PATH_MAX];
	int fd, rc = mkdir_p(state_root(), 0700);

	if (rc < 0)
		return rc;
	if (path_join(p, sizeof(p), state_root(), ".lock") < 0)
		return -ENAMETOOLONG;
	fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	while (flock(fd, LOCK_EX) < 0)
		if (errno != EINTR)
			return -errno;
	return 0; /* fd stays open: the lock goes with the process */
}

/*
 * Removes STATE/<name> when no attachment is left in it, so a DEL (or a
 * failed ADD, or GC) of a network's last attachment leaves nothing. Runs
 * under the state lock; rmdir fails, as meant, while the directory is in use.
 */
static void remove_net_dir_if_empty(json_t *in)
{
	const char *name = json_string_value(json_object_get(in, "name"));
	char dir[PATH_MAX];

	if (!name || !cni_safe_component(name) ||
	    path_join(dir, sizeof(dir), state_root(), name) < 0)
		return;
	if (rmdir(dir) < 0 && errno != ENOTEMPTY && errno != EEXIST && errno != ENOENT)
		fprintf(stderr, "%s: cannot remove %s: %s\n", PROG, dir, strerror(errno));
}

/* ---- commands ------------------------------------------------------------------ */

/* Prints the error object of a refused input; returns the exit status. */
static int cni_refused(const struct cni_error *err)
{
	return cni_fail(err->code, err->msg, err->details[0] ? "%s" : NULL, err->details);
}

static int need_env(struct cni_env *e, int need_netns)
{
	struct cni_error err;

	e->cid = env("CNI_CONTAINERID");
	e->netns = env("CNI_NETNS");
	e->ifname = env("CNI_IFNAME");
	return cni_env_check(e, need_netns, &err) ? cni_refused(&err) : 0;
}

/* Runs the agent; its stdout and stderr are captured into out. Returns its
 * exit status (or -1). */
static int run_agent(const char *agent, char *const argv[], char *out, size_t outlen)
{
	int pfd[2], st = 0;
	size_t got = 0;
	pid_t pid;

	out[0] = 0;
	if (pipe2(pfd, O_CLOEXEC) < 0)
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		int nul = open("/dev/null", O_RDONLY);

		if (nul >= 0)
			dup2(nul, 0);
		dup2(pfd[1], 1);
		dup2(pfd[1], 2);
		execv(agent, argv);
		dprintf(2, "cannot run %s: %s", agent, strerror(errno));
		_exit(127);
	}
	close(pfd[1]);
	/* The daemon keeps no copy of the pipe open once ready (it closes or
	 * redirects its stdio); read until EOF or it returned. */
	for (;;) {
		ssize_t r = read(pfd[0], out + got, outlen - 1 - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
		if (got >= outlen - 1)
			break;
	}
	out[got] = 0;
	close(pfd[0]);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	while (got && (out[got - 1] == '\n' || out[got - 1] == ' '))
		out[--got] = 0;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int cmd_add(const char *text, size_t len)
{
	struct config cfg = { 0 };
	struct cni_env e;
	struct attach a = { 0 };
	struct cni_error err;
	char agent[PATH_MAX], msg[2048], uapi[IFNAMSIZ], p[PATH_MAX], pidbuf[32];
	json_t *agentcfg = NULL, *st = NULL, *res = NULL, *addrs;
	const char *dev;
	char *s = NULL;
	unsigned mtu;
	int rc, ex;
	pid_t pid;
	size_t i;

	if (cni_parse_add(&cfg, text, len, NULL, &err) < 0)
		return cni_refused(&err);
	if (need_env(&e, 1)) {
		config_free(&cfg);
		return 1;
	}
	if (find_agent(agent, sizeof(agent)) < 0) {
		config_free(&cfg);
		return cni_fail(CNI_ERR_NOT_AVAILABLE, "altuntun-cli not found",
				"looked next to altuntun-cni and in CNI_PATH");
	}
	dev = cfg.cni.ifname ? cfg.cni.ifname : e.ifname;
	ex = in_netns(e.netns, fn_link_exists, (void *)dev, msg, sizeof(msg));
	if (ex < 0) {
		config_free(&cfg);
		return cni_fail(CNI_ERR_BAD_ENV, "cannot use CNI_NETNS", "%s", msg);
	}
	if (ex == 1) {
		int chained = cfg.cni.prev_result && !cfg.cni.ifname;

		ex = cni_fail(CNI_ERR_EXISTS, "interface exists",
			      "an interface named %s already exists in %s%s", dev, e.netns,
			      chained ? " (chained after another plugin, which made it: give this "
					"plugin an \"ifname\" of its own)"
				      : "");
		config_free(&cfg);
		return ex;
	}
	uapi_name_for(e.cid, e.ifname, uapi);
	attach_dir(a.dir, sizeof(a.dir), cfg.cni.name, e.cid, e.ifname);
	if (access(a.dir, F_OK) == 0) {
		struct attach old;

		if (load_attach(a.dir, &old) == 0 && old.pid > 0 && is_our_agent(old.pid, old.uapi) &&
		    pid_alive(old.pid)) {
			json_decref(old.addresses);
			config_free(&cfg);
			return cni_fail(CNI_ERR_EXISTS, "already attached",
					"container %s has %s on network %s already", e.cid,
					e.ifname, cfg.cni.name);
		}
		if (!old.dir[0])
			snprintf(old.dir, sizeof(old.dir), "%s", a.dir);
		teardown(&old); /* stale */
	}
	if (find_agent_pid(uapi)) {
		config_free(&cfg);
		return cni_fail(CNI_ERR_EXISTS, "already attached",
				"an agent for %s/%s runs without state", e.cid, e.ifname);
	}
	rc = mkdir_p(a.dir, 0700);
	if (rc < 0) {
		config_free(&cfg);
		return cni_fail(CNI_ERR_IO, "cannot create the state directory", "%s: %s", a.dir,
				strerror(-rc));
	}

	agentcfg = cni_agent_config(text, len, e.netns, NULL);
	s = agentcfg ? json_dumps(agentcfg, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
	path_join(p, sizeof(p), a.dir, "config.json");
	rc = s ? write_file(p, s, 0600) : -ENOMEM;
	if (s) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
	json_decref(agentcfg);
	if (rc < 0) {
		remove_dir(a.dir);
		config_free(&cfg);
		return cni_fail(CNI_ERR_IO, "cannot write the agent's configuration", "%s: %s", p,
				strerror(-rc));
	}

	{
		char *argv[] = { (char *)AGENT_NAME, (char *)"--config", p, (char *)"--netns",
				 (char *)e.netns, (char *)"--uapi-name", uapi,
				 (char *)dev, NULL };

		ex = run_agent(agent, argv, msg, sizeof(msg));
	}
	pid = find_agent_pid(uapi);
	if (ex != 0 || !pid) {
		stop_agent(uapi, pid);
		remove_dir(a.dir);
		config_free(&cfg);
		if (ex == 0)
			return cni_fail(CNI_ERR_AGENT_START, "altuntun-cli did not stay up",
					"no agent process serves %s", uapi);
		return cni_fail(CNI_ERR_AGENT_START, "altuntun-cli failed", "status %d: %s", ex,
				msg);
	}

	mtu = (cfg.iface.flags & CONFIG_IFACE_HAS_MTU) ? cfg.iface.mtu : 1420;
	st = json_object();
	json_object_set_new(st, "containerID", json_string(e.cid));
	json_object_set_new(st, "ifname", json_string(e.ifname));
	json_object_set_new(st, "device", json_string(dev));
	json_object_set_new(st, "netns", json_string(e.netns));
	json_object_set_new(st, "network", json_string(cfg.cni.name));
	json_object_set_new(st, "uapiName", json_string(uapi));
	json_object_set_new(st, "pid", json_integer(pid));
	json_object_set_new(st, "mtu", json_integer(mtu));
	addrs = json_array();
	for (i = 0; i < cfg.iface.n_addresses; i++) {
		char b[96];

		cni_prefix_str(&cfg.iface.addresses[i], b, sizeof(b));
		json_array_append_new(addrs, json_string(b));
	}
	json_object_set_new(st, "addresses", addrs);
	s = json_dumps(st, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(st);
	path_join(p, sizeof(p), a.dir, "state.json");
	rc = s ? write_file(p, s, 0600) : -ENOMEM;
	free(s);
	if (rc == 0) {
		path_join(p, sizeof(p), a.dir, "pid");
		snprintf(pidbuf, sizeof(pidbuf), "%d\n", (int)pid);
		rc = write_file(p, pidbuf, 0644);
	}
	if (rc < 0) {
		stop_agent(uapi, pid);
		remove_dir(a.dir);
		config_free(&cfg);
		return cni_fail(CNI_ERR_IO, "cannot write the state", "%s: %s", p, strerror(-rc));
	}

	res = cni_result_build(&cfg, dev, e.netns, mtu);
	s = json_dumps(res, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(res);
	config_free(&cfg);
	if (!s) {
		snprintf(a.uapi, sizeof(a.uapi), "%s", uapi);
		a.pid = pid;
		teardown(&a);
		return cni_fail(CNI_ERR_INTERNAL, "cannot build the result", NULL);
	}
	printf("%s\n", s);
	free(s);
	return fflush(stdout) == 0 ? 0 : 1;
}

/* The network name from the raw JSON (DEL, GC, CHECK do not need more). */
static int net_name(json_t *in, const char **name)
{
	struct cni_error err;

	return cni_net_name(in, name, &err) ? cni_refused(&err) : 0;
}

static int cmd_del(json_t *in)
{
	struct cni_env e;
	struct attach a;
	const char *name;
	char dir[PATH_MAX], uapi[IFNAMSIZ];

	if (net_name(in, &name) || need_env(&e, 0))
		return 1;
	attach_dir(dir, sizeof(dir), name, e.cid, e.ifname);
	uapi_name_for(e.cid, e.ifname, uapi);
	if (load_attach(dir, &a) < 0) {
		memset(&a, 0, sizeof(a));
		snprintf(a.dir, sizeof(a.dir), "%s", dir);
	}
	if (!a.uapi[0])
		snprintf(a.uapi, sizeof(a.uapi), "%s", uapi);
	teardown(&a);
	return 0;
}

static int cmd_check(json_t *in)
{
	struct cni_env e;
	struct attach a;
	const char *name;
	char dir[PATH_MAX], msg[1024];
	struct check_arg ca;
	json_t *prev, *ips, *v, *want;
	size_t i;
	int ex;

	if (net_name(in, &name) || need_env(&e, 1))
		return 1;
	attach_dir(dir, sizeof(dir), name, e.cid, e.ifname);
	if (load_attach(dir, &a) < 0)
		return cni_fail(CNI_ERR_UNKNOWN_CONTAINER, "unknown container",
				"no attachment %s/%s on network %s", e.cid, e.ifname, name);
	if (!is_our_agent(a.pid, a.uapi) || !pid_alive(a.pid)) {
		json_decref(a.addresses);
		return cni_fail(CNI_ERR_AGENT_DEAD, "the agent does not run", "pid %d (%s)",
				(int)a.pid, a.uapi);
	}
	if (uapi_ping(a.uapi) < 0) {
		json_decref(a.addresses);
		return cni_fail(CNI_ERR_AGENT_DEAD, "the agent does not answer on its socket",
				"%s/%s.sock", UAPI_DIR, a.uapi);
	}
	want = json_deep_copy(a.addresses);
	/* prevResult's ips for our interface (by name) count too */
	prev = json_object_get(in, "prevResult");
	ips = json_object_get(prev, "ips");
	json_array_foreach(ips, i, v) {
		json_t *ifs = json_object_get(prev, "interfaces");
		json_t *ix = json_object_get(v, "interface");
		json_t *itf = json_is_integer(ix) ? json_array_get(ifs, (size_t)json_integer_value(ix)) : NULL;
		const char *n = json_string_value(json_object_get(itf, "name"));
		const char *ad = json_string_value(json_object_get(v, "address"));
		size_t k;
		json_t *w;
		int have = 0;

		if (!n || strcmp(n, a.device) || !ad)
			continue;
		json_array_foreach(want, k, w)
			have |= !strcmp(json_string_value(w), ad);
		if (!have)
			json_array_append_new(want, json_string(ad));
	}
	ca.ifname = a.device;
	ca.mtu = a.mtu;
	ca.want = want;
	ex = in_netns(e.netns, fn_check_iface, &ca, msg, sizeof(msg));
	json_decref(want);
	json_decref(a.addresses);
	if (ex < 0)
		return cni_fail(CNI_ERR_BAD_ENV, "cannot use CNI_NETNS", "%s", msg);
	if (ex)
		return cni_fail(CNI_ERR_IFACE, "the interface is not as configured", "%s", msg);
	return 0;
}

static int cmd_status(void)
{
	char agent[PATH_MAX], dir[PATH_MAX];
	int rc;

	if (find_agent(agent, sizeof(agent)) < 0)
		return cni_fail(CNI_ERR_NOT_AVAILABLE, "plugin not available",
				"altuntun-cli not found next to altuntun-cni nor in CNI_PATH");
	if (access("/dev/net/tun", R_OK | W_OK) < 0)
		return cni_fail(CNI_ERR_NOT_AVAILABLE, "plugin not available",
				"/dev/net/tun: %s", strerror(errno));
	snprintf(dir, sizeof(dir), "%s", state_root());
	rc = mkdir_p(dir, 0700);
	if (rc < 0 || access(dir, W_OK) < 0)
		return cni_fail(CNI_ERR_NOT_AVAILABLE, "plugin not available",
				"state directory %s is not writable", dir);
	return 0;
}

static int cmd_gc(json_t *in)
{
	struct cni_error err;
	const char *name;
	json_t *valid;
	char dir[PATH_MAX], sub[PATH_MAX];
	DIR *d;
	struct dirent *de;

	if (net_name(in, &name))
		return 1;
	if (cni_gc_attachments(in, &valid, &err))
		return cni_refused(&err);
	snprintf(dir, sizeof(dir), "%s/%s", state_root(), name);
	d = opendir(dir);
	if (!d)
		return 0;
	while ((de = readdir(d))) {
		struct attach a;
		size_t i;
		json_t *v;
		int keep = 0;

		if (de->d_name[0] == '.')
			continue;
		if (path_join(sub, sizeof(sub), dir, de->d_name) < 0)
			continue;
		if (load_attach(sub, &a) < 0)
			continue; /* not ours or half-written by a running ADD */
		json_array_foreach(valid, i, v) {
			const char *c = json_string_value(json_object_get(v, "containerID"));
			const char *f = json_string_value(json_object_get(v, "ifname"));

			if (c && f && !strcmp(c, a.cid) && !strcmp(f, a.ifname))
				keep = 1;
		}
		if (keep)
			json_decref(a.addresses);
		else
			teardown(&a);
	}
	closedir(d);
	return 0;
}

int main(int argc, char **argv)
{
	const char *cmd = getenv("CNI_COMMAND");
	char *text;
	size_t len = 0;
	int too_big, rc;
	struct cni_error err;
	const char *version;
	json_t *in;

	if (argc > 1) {
		if (!strcmp(argv[1], "--version")) {
			printf("%s %s (CNI spec %s)\n", PROG, ALTUNTUN_VERSION, CNI_SPEC);
			return 0;
		}
		if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
			usage(stdout);
			return 0;
		}
		usage(stderr);
		return 2;
	}
	if (!cmd || !*cmd)
		return cni_fail(CNI_ERR_BAD_ENV, "CNI_COMMAND is not set", NULL);
	if (!strcmp(cmd, "VERSION")) {
		printf("{\"cniVersion\":\"%s\",\"supportedVersions\":"
		       "[\"0.3.0\",\"0.3.1\",\"0.4.0\",\"1.0.0\",\"1.1.0\"]}\n",
		       CNI_SPEC);
		return 0;
	}
	text = read_stdin(&len, &too_big);
	if (!text)
		return cni_fail(too_big ? CNI_ERR_INVALID_CONFIG : CNI_ERR_IO,
				too_big ? "network configuration too large" : "cannot read stdin",
				too_big ? "more than 1 MiB on stdin" : NULL);
	in = cni_decode(text, len, &version, &err);
	if (!in) {
		/* An unsupported version is answered in that version. */
		json_t *raw = json_loadb(text, len, 0, NULL);
		const char *v = json_string_value(json_object_get(raw, "cniVersion"));

		if (v)
			g_version = v;
		rc = cni_refused(&err);
		json_decref(raw);
		explicit_bzero(text, len);
		free(text);
		return rc;
	}
	if (version)
		g_version = version;
	if (strcmp(cmd, "STATUS") && (rc = lock_state()) < 0) {
		rc = cni_fail(CNI_ERR_IO, "cannot lock the state directory", "%s: %s",
			      state_root(), strerror(-rc));
		goto out;
	}
	if (!strcmp(cmd, "ADD"))
		rc = cmd_add(text, len);
	else if (!strcmp(cmd, "DEL"))
		rc = cmd_del(in);
	else if (!strcmp(cmd, "CHECK"))
		rc = cmd_check(in);
	else if (!strcmp(cmd, "STATUS"))
		rc = cmd_status();
	else if (!strcmp(cmd, "GC"))
		rc = cmd_gc(in);
	else
		rc = cni_fail(CNI_ERR_BAD_ENV, "unknown CNI_COMMAND", "%s", cmd);
	if (strcmp(cmd, "STATUS"))
		remove_net_dir_if_empty(in);
out:
	explicit_bzero(text, len);
	free(text);
	/* g_version may point into in: print nothing after this */
	json_decref(in);
	return rc;
}
