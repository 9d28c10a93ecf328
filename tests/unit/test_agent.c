// SPDX-License-Identifier: BSD-3-Clause
/* altuntun-cli's option parsing and the Linux UDP layer (over loopback). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <poll.h>
#include <stdlib.h>
#include <unistd.h>

#include "options.h"
#include "platform.h"
#include "test.h"

static void clear_env(void)
{
	unsetenv("WG_TUN_FD");
	unsetenv("WG_UAPI_FD");
	unsetenv("WG_PROCESS_FOREGROUND");
	unsetenv("WG_SUDO");
}

static int parse(struct agent_options *o, char *err, size_t errlen, int argc, char **argv)
{
	return options_parse(o, argc, argv, err, errlen);
}

#define PARSE(o, err, ...)                                                          \
	parse(o, err, sizeof(err), (int)(sizeof((char *[]){ __VA_ARGS__ }) / sizeof(char *)), \
	      (char *[]){ __VA_ARGS__, NULL })

TEST(agent_options_defaults)
{
	struct agent_options o;
	char err[256];

	clear_env();
	CHECK_EQ(PARSE(&o, err, "altuntun-cli", "wg0"), OPTIONS_RUN);
	CHECK(!strcmp(o.ifname, "wg0"));
	CHECK(!o.uapi_name[0]);
	CHECK(!o.foreground);
	CHECK_EQ(o.verbosity, 0);
	CHECK(o.log_path == NULL);
	CHECK(!o.disable_drop_privileges);
	CHECK_EQ(o.threads, 1);
	CHECK_EQ(o.mtu, 1420);
	CHECK(!o.mtu_set);
	CHECK_EQ(o.tun_fd, -1);
	CHECK_EQ(o.uapi_fd, -1);
}

TEST(agent_options_all)
{
	struct agent_options o;
	char err[256];

	clear_env();
	CHECK_EQ(PARSE(&o, err, "altuntun-cli", "-f", "-vv", "--verbose", "--log", "/tmp/x.log",
		       "--uapi-name", "other", "--mtu", "1280", "-t", "8",
		       "--disable-drop-privileges", "wg1"),
		 OPTIONS_RUN);
	CHECK(!strcmp(o.ifname, "wg1"));
	CHECK(!strcmp(o.uapi_name, "other"));
	CHECK(o.foreground);
	CHECK_EQ(o.verbosity, 3);
	CHECK(!strcmp(o.log_path, "/tmp/x.log"));
	CHECK(o.disable_drop_privileges);
	CHECK_EQ(o.threads, 8);
	CHECK_EQ(o.mtu, 1280);
	CHECK(o.mtu_set);
	/* Options after the name are permuted, as getopt does. */
	CHECK_EQ(PARSE(&o, err, "altuntun-cli", "wg2", "--foreground"), OPTIONS_RUN);
	CHECK(o.foreground);
	CHECK(!strcmp(o.ifname, "wg2"));
	CHECK_EQ(PARSE(&o, err, "altuntun-cli", "--help"), OPTIONS_HELP);
	CHECK_EQ(PARSE(&o, err, "altuntun-cli", "-h"), OPTIONS_HELP);
	CHECK_EQ(PARSE(&o, err, "altuntun-cli", "--version"), OPTIONS_VERSION);
}

TEST(agent_options_errors)
{
	static const char *const bad[][3] = {
		{ "-t", "0", "wg0" },        { "-t", "65", "wg0" },      { "--threads", "1x", "wg0" },
		{ "--mtu", "67", "wg0" },    { "--mtu", "65536", "wg0" }, { "--mtu", "-1", "wg0" },
		{ "--bogus", "wg0", NULL },  { "-x", "wg0", NULL },       { "wg0", "extra", NULL },
		{ "--uapi-name", "a/b", "wg0" }, { "--log", "", "wg0" },
	};
	struct agent_options o;
	char err[256];

	clear_env();
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *argv[5] = { "altuntun-cli", (char *)bad[i][0], (char *)bad[i][1],
				  (char *)bad[i][2], NULL };
		int argc = bad[i][2] ? 4 : 3;

		err[0] = '\0';
		CHECK_EQ(options_parse(&o, argc, argv, err, sizeof(err)), -EINVAL);
		CHECK(err[0] != '\0');
	}
	CHECK_EQ(PARSE(&o, err, "altuntun-cli", "-f"), -EINVAL);
	CHECK(strstr(err, "missing interface name"));
	CHECK_EQ(PARSE(&o, err, "altuntun-cli", "-t"), -EINVAL);
	CHECK(strstr(err, "needs an argument"));
}

TEST(agent_options_ifname)
{
	CHECK(options_check_ifname("wg0") == NULL);
	CHECK(options_check_ifname("a") == NULL);
	CHECK(options_check_ifname("0123456789abcde") == NULL);
	CHECK(options_check_ifname("wg-a_b.c") == NULL);
	CHECK(options_check_ifname("") != NULL);
	CHECK(options_check_ifname("0123456789abcdef") != NULL);
	CHECK(options_check_ifname(".") != NULL);
	CHECK(options_check_ifname("..") != NULL);
	CHECK(options_check_ifname("a/b") != NULL);
	CHECK(options_check_ifname("a b") != NULL);
	CHECK(options_check_ifname("a\tb") != NULL);
	CHECK(options_check_ifname("a\nb") != NULL);
	CHECK(options_check_ifname("a:b") != NULL);
	CHECK(options_check_ifname("wg%d") != NULL);
}

TEST(agent_options_environment)
{
	struct agent_options o;
	char err[256], num[16];
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

	CHECK(fd >= 0);
	clear_env();
	setenv("WG_PROCESS_FOREGROUND", "1", 1);
	setenv("WG_SUDO", "1", 1);
	snprintf(num, sizeof(num), "%d", fd);
	setenv("WG_TUN_FD", num, 1);
	CHECK_EQ(PARSE(&o, err, "altuntun-cli", "wg0"), OPTIONS_RUN);
	CHECK(o.foreground);
	CHECK(o.disable_drop_privileges);
	CHECK_EQ(o.tun_fd, fd);
	CHECK_EQ(o.uapi_fd, -1);

	setenv("WG_UAPI_FD", num, 1);
	CHECK_EQ(PARSE(&o, err, "altuntun-cli", "wg0"), -EINVAL);
	unsetenv("WG_UAPI_FD");

	setenv("WG_PROCESS_FOREGROUND", "0", 1);
	setenv("WG_TUN_FD", "12abc", 1);
	CHECK_EQ(PARSE(&o, err, "altuntun-cli", "wg0"), -EINVAL);
	CHECK(strstr(err, "WG_TUN_FD"));
	close(fd);
	/* A number, but not an open descriptor. */
	setenv("WG_TUN_FD", num, 1);
	CHECK_EQ(PARSE(&o, err, "altuntun-cli", "wg0"), -EINVAL);
	CHECK(strstr(err, "not an open file descriptor"));
	clear_env();
	CHECK_EQ(PARSE(&o, err, "altuntun-cli", "wg0"), OPTIONS_RUN);
	CHECK(!o.foreground);
}

/* ---- UDP over loopback ---- */

static ssize_t recv_wait(int fd, uint8_t *buf, size_t cap, struct altuntun_endpoint *from)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	if (poll(&p, 1, 2000) != 1)
		return -ETIMEDOUT;
	return udp_recv(fd, buf, cap, from);
}

static uint16_t bound_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
		return 0;
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

TEST(agent_udp_open_same_port)
{
	struct udp_bind b, b2;

	CHECK_EQ(udp_open(&b, 0, 0), 0);
	CHECK(b.fd4 >= 0 || b.fd6 >= 0);
	CHECK(b.port != 0);
	if (b.fd4 >= 0)
		CHECK_EQ(bound_port(b.fd4), b.port);
	if (b.fd6 >= 0)
		CHECK_EQ(bound_port(b.fd6), b.port);
	CHECK_EQ(udp_open(&b2, b.port, 0), -EADDRINUSE);
	udp_close(&b);
	CHECK_EQ(b.fd4, -1);
	CHECK_EQ(b.fd6, -1);
}

TEST(agent_udp_v4_pktinfo)
{
	struct altuntun_endpoint to, from;
	struct udp_bind b;
	uint8_t buf[2048];
	static const uint8_t msg[] = "hello over loopback";

	CHECK_EQ(udp_open(&b, 0, 0), 0);
	if (b.fd4 < 0) {
		udp_close(&b);
		return;
	}
	memset(&to, 0, sizeof(to));
	to.addr.in4.sin_family = AF_INET;
	to.addr.in4.sin_port = htons(b.port);
	to.addr.in4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	to.local_family = AF_INET;
	to.local.v4.s_addr = htonl(INADDR_LOOPBACK);
	CHECK_EQ(udp_send(&b, &to, msg, sizeof(msg)), 0);
	CHECK_EQ(to.local_family, AF_INET);
	CHECK_EQ(recv_wait(b.fd4, buf, sizeof(buf), &from), (ssize_t)sizeof(msg));
	CHECK(!memcmp(buf, msg, sizeof(msg)));
	CHECK_EQ(from.addr.sa.sa_family, AF_INET);
	CHECK_EQ(ntohs(from.addr.in4.sin_port), b.port);
	CHECK_EQ(from.local_family, AF_INET);
	CHECK_EQ(ntohl(from.local.v4.s_addr), INADDR_LOOPBACK);
	CHECK_EQ(from.local_ifindex, if_nametoindex("lo"));

	/* A source that is not ours: cleared, and sent from the kernel's. */
	inet_pton(AF_INET, "192.0.2.55", &to.local.v4);
	CHECK_EQ(udp_send(&b, &to, msg, sizeof(msg)), UDP_SENT_SOURCE_CLEARED);
	CHECK_EQ(to.local_family, 0);
	CHECK_EQ(recv_wait(b.fd4, buf, sizeof(buf), &from), (ssize_t)sizeof(msg));

	/* Larger than the receive buffer: dropped, not truncated. */
	CHECK_EQ(udp_send(&b, &to, buf, 1000), 0);
	CHECK_EQ(recv_wait(b.fd4, buf, 100, &from), -EMSGSIZE);
	CHECK_EQ(udp_recv(b.fd4, buf, sizeof(buf), &from), -EAGAIN);
	udp_close(&b);
}

TEST(agent_udp_v6_pktinfo)
{
	struct altuntun_endpoint to, from;
	struct udp_bind b;
	uint8_t buf[2048];
	static const uint8_t msg[] = "hello over ::1";
	int r;

	CHECK_EQ(udp_open(&b, 0, 0), 0);
	if (b.fd6 < 0) {
		udp_close(&b);
		return;
	}
	memset(&to, 0, sizeof(to));
	to.addr.in6.sin6_family = AF_INET6;
	to.addr.in6.sin6_port = htons(b.port);
	to.addr.in6.sin6_addr = in6addr_loopback;
	r = udp_send(&b, &to, msg, sizeof(msg));
	if (r == -EADDRNOTAVAIL || r == -ENETUNREACH) {
		/* No ::1 here (IPv6 disabled on lo). */
		udp_close(&b);
		return;
	}
	CHECK_EQ(r, 0);
	CHECK_EQ(recv_wait(b.fd6, buf, sizeof(buf), &from), (ssize_t)sizeof(msg));
	CHECK_EQ(from.addr.sa.sa_family, AF_INET6);
	CHECK_EQ(from.local_family, AF_INET6);
	CHECK(IN6_IS_ADDR_LOOPBACK(&from.local.v6));

	to.local_family = AF_INET6;
	inet_pton(AF_INET6, "2001:db8::55", &to.local.v6);
	CHECK_EQ(udp_send(&b, &to, msg, sizeof(msg)), UDP_SENT_SOURCE_CLEARED);
	CHECK_EQ(to.local_family, 0);
	CHECK_EQ(recv_wait(b.fd6, buf, sizeof(buf), &from), (ssize_t)sizeof(msg));
	/* No IPv4 socket takes IPv6 traffic (no v4-mapped addresses). */
	if (b.fd4 >= 0)
		CHECK_EQ(udp_recv(b.fd4, buf, sizeof(buf), &from), -EAGAIN);
	udp_close(&b);
}

TEST(agent_udp_bad_family)
{
	struct altuntun_endpoint to;
	struct udp_bind b = { .fd4 = -1, .fd6 = -1 };
	uint8_t x = 0;

	memset(&to, 0, sizeof(to));
	to.addr.sa.sa_family = AF_UNIX;
	CHECK_EQ(udp_send(&b, &to, &x, 1), -EAFNOSUPPORT);
	to.addr.sa.sa_family = AF_INET;
	CHECK_EQ(udp_send(&b, &to, &x, 1), -EAFNOSUPPORT);
}
