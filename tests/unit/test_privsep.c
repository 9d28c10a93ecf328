// SPDX-License-Identifier: BSD-3-Clause
/*
 * Privilege separation: the configuration handed to a restarted protocol
 * process recreates the device exactly; the monitor's messages keep their
 * size and descriptors and refuse anything else; the seccomp filter kills
 * forbidden system calls and refuses (with an errno) files and ioctls.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "altuntun.h"
#include "privsep.h"
#include "seccomp_filter.h"
#include "test.h"
#include "uapi.h"
#include "uapi_internal.h"

struct iface {
	uint16_t port;
	uint32_t fwmark;
};

static uint16_t get_port(void *ctx)
{
	return ((struct iface *)ctx)->port;
}

static int set_port(void *ctx, uint16_t port)
{
	((struct iface *)ctx)->port = port ? port : 40000;
	return 0;
}

static uint32_t get_fwmark(void *ctx)
{
	return ((struct iface *)ctx)->fwmark;
}

static int set_fwmark(void *ctx, uint32_t mark)
{
	((struct iface *)ctx)->fwmark = mark;
	return 0;
}

static int no_send(void *ctx, altuntun_peer *peer, const struct altuntun_endpoint *to,
		   const uint8_t *data, size_t len)
{
	(void)ctx;
	(void)peer;
	(void)to;
	(void)data;
	(void)len;
	return 0;
}

struct dev {
	altuntun_device *dev;
	struct iface ifc;
	struct uapi_iface_ops ops;
};

static void dev_init(struct dev *d)
{
	static const struct altuntun_callbacks cb = { .send = no_send };

	memset(d, 0, sizeof(*d));
	CHECK(altuntun_init() == 0);
	d->dev = altuntun_device_new(&cb);
	CHECK(d->dev != NULL);
	d->ops = (struct uapi_iface_ops){
		.ctx = &d->ifc,
		.get_listen_port = get_port,
		.set_listen_port = set_port,
		.get_fwmark = get_fwmark,
		.set_fwmark = set_fwmark,
	};
}

static struct altuntun_now now(void)
{
	return (struct altuntun_now){ .mono_ns = 1000000000ull, .wall_ns = 1700000000000000000ull };
}

/* Runs one request; returns the answer (malloc'd). */
static char *handle(struct dev *d, const char *req, size_t len)
{
	char *resp = NULL;
	size_t resp_len = 0;

	CHECK_EQ(uapi_handle(d->dev, &d->ops, now(), req, len, &resp, &resp_len), 0);
	resp = realloc(resp, resp_len + 1);
	CHECK(resp != NULL);
	resp[resp_len] = '\0';
	return resp;
}

static char *get(struct dev *d)
{
	return handle(d, "get=1\n\n", 7);
}

static const char *const config =
	"set=1\n"
	"private_key=e84b5a6d2717c1003a13b431570353dbaca9146cf150c5f8575680feba52027a\n"
	"listen_port=51820\n"
	"fwmark=4660\n"
	"public_key=b85996fecc9c7f1fc6d2572a76eda11d59bcd20be8e543b15ce4bd85a8e75a33\n"
	"preshared_key=188515093e952f5f22e865cef3012e72f8b5f0b598ac0309d5dacce3b70fcf52\n"
	"endpoint=192.0.2.1:51821\n"
	"persistent_keepalive_interval=25\n"
	"allowed_ip=10.0.0.2/32\n"
	"allowed_ip=fd00::/64\n"
	"allowed_ip=10.99.0.0/16\n"
	"public_key=58402e695ba1772b1cc9309755f043251ea77fdcf10fbe63989ceb7e19321376\n"
	"endpoint=[2001:db8::1]:51822\n"
	"allowed_ip=10.1.0.0/24\n"
	"public_key=662e14fd594556f522604703340351258903b64f35553763f19426ab2a515c58\n"
	"\n";

TEST(privsep_config_dump_recreates_the_device)
{
	struct dev a, b;
	char *dump, *ga, *gb, *r;
	size_t len;

	dev_init(&a);
	dev_init(&b);
	r = handle(&a, config, strlen(config));
	CHECK(!strcmp(r, "errno=0\n\n"));
	free(r);
	CHECK_EQ(privsep_config_dump(a.dev, &a.ops, &dump, &len), 0);
	CHECK_EQ(strlen(dump), len);
	/* Only what set takes, and replacing what is there. */
	CHECK(!strncmp(dump, "set=1\nreplace_peers=true\n", 25));
	CHECK(strstr(dump, "replace_allowed_ips=true\n") != NULL);
	CHECK(strstr(dump, "protocol_version") == NULL);
	CHECK(strstr(dump, "last_handshake") == NULL);
	CHECK(strstr(dump, "rx_bytes") == NULL);
	CHECK(strstr(dump, "tx_bytes") == NULL);
	CHECK(!strcmp(dump + len - 2, "\n\n"));

	/* b has a peer of its own: the dump removes it. */
	{
		static const char other[] =
			"set=1\npublic_key=1111111111111111111111111111111111111111111111111111111111111111\n"
			"allowed_ip=10.0.0.2/32\n\n";

		r = handle(&b, other, strlen(other));
		CHECK(!strcmp(r, "errno=0\n\n"));
	}
	free(r);
	r = handle(&b, dump, len);
	CHECK(!strcmp(r, "errno=0\n\n"));
	free(r);
	ga = get(&a);
	gb = get(&b);
	CHECK(!strcmp(ga, gb));
	CHECK_EQ(b.ifc.port, 51820);
	CHECK_EQ(b.ifc.fwmark, 4660);
	CHECK_EQ(altuntun_peer_count(b.dev), 3);
	free(ga);
	free(gb);
	free(dump);
	altuntun_device_free(a.dev);
	altuntun_device_free(b.dev);
}

TEST(privsep_config_dump_of_an_empty_device)
{
	struct dev a, b;
	char *dump, *r;
	size_t len;

	dev_init(&a);
	dev_init(&b);
	CHECK_EQ(privsep_config_dump(a.dev, &a.ops, &dump, &len), 0);
	CHECK(!strcmp(dump, "set=1\nreplace_peers=true\n\n"));
	r = handle(&b, dump, len);
	CHECK(!strcmp(r, "errno=0\n\n"));
	free(r);
	free(dump);
	altuntun_device_free(a.dev);
	altuntun_device_free(b.dev);
}

static bool fd_open(int fd)
{
	return fcntl(fd, F_GETFD) >= 0;
}

TEST(privsep_messages_carry_descriptors)
{
	struct privsep_msg *m = malloc(sizeof(*m)), *in = malloc(sizeof(*in));
	int sv[2], p[2], fds[PRIVSEP_MAX_FDS], n;

	CHECK(m && in);
	CHECK_EQ(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
	CHECK_EQ(pipe(p), 0);
	privsep_msg_init(m, PS_BIND_PORT);
	m->value = 1;
	m->len = 3;
	memcpy(m->data, "abc", 3);
	CHECK_EQ(privsep_send(sv[0], m, p, 2, 0), 0);
	CHECK_EQ(privsep_recv(sv[1], in, fds, &n, PRIVSEP_MAX_FDS, 0), 1);
	CHECK_EQ(n, 2);
	CHECK_EQ(in->type, PS_BIND_PORT);
	CHECK_EQ(in->value, 1);
	CHECK_EQ(in->len, 3);
	CHECK(!memcmp(in->data, "abc", 3));
	/* The received ends are the same pipe. */
	CHECK_EQ(write(fds[1], "x", 1), 1);
	CHECK_EQ(read(p[0], in->data, 1), 1);
	CHECK_EQ((fcntl(fds[0], F_GETFD) & FD_CLOEXEC), FD_CLOEXEC);
	close(fds[0]);
	close(fds[1]);

	/* More descriptors than wanted: the extra ones are closed. */
	CHECK_EQ(privsep_send(sv[0], m, p, 2, 0), 0);
	CHECK_EQ(privsep_recv(sv[1], in, fds, &n, 1, 0), 1);
	CHECK_EQ(n, 1);
	close(fds[0]);

	/* Too many to send, or a bad length: refused. */
	CHECK_EQ(privsep_send(sv[0], m, p, PRIVSEP_MAX_FDS + 1, 0), -EINVAL);
	m->len = PRIVSEP_DATA_MAX + 1;
	CHECK_EQ(privsep_send(sv[0], m, NULL, 0, 0), -EINVAL);

	/* A datagram of another size is refused, its descriptors closed. */
	{
		char small[16] = { 0 };
		union {
			struct cmsghdr align;
			char buf[CMSG_SPACE(sizeof(int))];
		} ctl = { 0 };
		struct iovec iov = { .iov_base = small, .iov_len = sizeof(small) };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf,
				     .msg_controllen = sizeof(ctl.buf) };
		struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
		int before;

		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &p[0], sizeof(int));
		CHECK_EQ(sendmsg(sv[0], &mh, 0), (ssize_t)sizeof(small));
		before = dup(0);
		close(before);
		CHECK_EQ(privsep_recv(sv[1], in, fds, &n, PRIVSEP_MAX_FDS, 0), -EBADMSG);
		CHECK_EQ(n, 0);
		/* The descriptor that came with it was closed again: the
		 * lowest free number is the same as before. */
		CHECK_EQ(dup(0), before);
		close(before);
	}
	/* End of file. */
	close(sv[0]);
	CHECK_EQ(privsep_recv(sv[1], in, fds, &n, PRIVSEP_MAX_FDS, 0), 0);
	close(sv[1]);
	close(p[0]);
	close(p[1]);
	CHECK(!fd_open(sv[1]));
	free(m);
	free(in);
}

#ifndef __SANITIZE_ADDRESS__
/* Loads the filter in a child and runs `what` there; returns its wait status. */
static int filtered(int what)
{
	pid_t pid = fork();
	int st = 0;

	CHECK(pid >= 0);
	if (pid == 0) {
		unsigned n = 0;
		void *mem;

		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || seccomp_filter_apply(false, &n) < 0)
			_exit(100);
		switch (what) {
		case 0: /* allowed: write, getpid, a clock, memory, rtnetlink, syslog */
			mem = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			if (socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE) < 0 ||
			    socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0) < 0)
				_exit(107);
			_exit(mem != MAP_FAILED && getpid() > 0 && n > 40 ? 0 : 101);
		case 1: /* refused: files and ioctls */
			if (open("/dev/null", O_RDONLY) >= 0 || errno != EACCES)
				_exit(102);
			if (socket(AF_INET, SOCK_DGRAM, 0) >= 0 || errno != EPERM)
				_exit(103);
			if (socket(AF_UNIX, SOCK_STREAM, 0) >= 0 || errno != EPERM ||
			    socket(AF_NETLINK, SOCK_RAW, NETLINK_NETFILTER) >= 0 || errno != EPERM ||
			    socket(AF_PACKET, SOCK_RAW, 0) >= 0 || errno != EPERM ||
			    socket(AF_UNSPEC, SOCK_DGRAM, 0) >= 0 || errno != EPERM ||
			    socket(AF_INET6, SOCK_STREAM, 0) >= 0 || errno != EPERM)
				_exit(108);
			_exit(0);
		case 2:
			syscall(SYS_unshare, 0);
			_exit(104);
		case 3:
			mem = mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			_exit(105);
		default:
			syscall(SYS_execve, "/bin/true", NULL, NULL);
			_exit(106);
		}
	}
	CHECK_EQ(waitpid(pid, &st, 0), pid);
	return st;
}

TEST(privsep_seccomp_filter)
{
	int st;

	st = filtered(0);
	CHECK_EQ(WIFEXITED(st) ? WEXITSTATUS(st) : -1, 0);
	st = filtered(1);
	CHECK_EQ(WIFEXITED(st) ? WEXITSTATUS(st) : -1, 0);
	for (int what = 2; what <= 4; what++) {
		st = filtered(what);
		CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS);
	}
}
#endif
