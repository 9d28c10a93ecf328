// SPDX-License-Identifier: BSD-3-Clause
/* --netns: naming a namespace, and the option's parsing. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "netns.h"
#include "options.h"
#include "test.h"

TEST(netns_resolve_forms)
{
	char path[NETNS_PATH_MAX], cwd[NETNS_PATH_MAX], want[NETNS_PATH_MAX + 16];

	CHECK_EQ(netns_resolve("blue", path, sizeof(path)), 0);
	CHECK(!strcmp(path, "/var/run/netns/blue"));
	CHECK_EQ(netns_resolve("pid:1234", path, sizeof(path)), 0);
	CHECK(!strcmp(path, "/proc/1234/ns/net"));
	CHECK_EQ(netns_resolve("/proc/42/ns/net", path, sizeof(path)), 0);
	CHECK(!strcmp(path, "/proc/42/ns/net"));
	CHECK_EQ(netns_resolve("/run/netns/x", path, sizeof(path)), 0);
	CHECK(!strcmp(path, "/run/netns/x"));
	/* A relative path is made absolute (the daemon moves to /). */
	CHECK(getcwd(cwd, sizeof(cwd)) != NULL);
	CHECK_EQ(netns_resolve("./ns/x", path, sizeof(path)), 0);
	snprintf(want, sizeof(want), "%s%s./ns/x", cwd, strcmp(cwd, "/") ? "/" : "");
	CHECK(!strcmp(path, want));
}

TEST(netns_resolve_errors)
{
	char path[64];

	CHECK_EQ(netns_resolve("", path, sizeof(path)), -EINVAL);
	CHECK_EQ(netns_resolve(".", path, sizeof(path)), -EINVAL);
	CHECK_EQ(netns_resolve("..", path, sizeof(path)), -EINVAL);
	CHECK_EQ(netns_resolve("pid:", path, sizeof(path)), -EINVAL);
	CHECK_EQ(netns_resolve("pid:0", path, sizeof(path)), -EINVAL);
	CHECK_EQ(netns_resolve("pid:12x", path, sizeof(path)), -EINVAL);
	CHECK_EQ(netns_resolve("pid:-3", path, sizeof(path)), -EINVAL);
	CHECK_EQ(netns_resolve("/a/very/long/path/that/does/not/fit/in/sixty/four/bytes/at/all/x/y/z",
			       path, sizeof(path)),
		 -ENAMETOOLONG);
}

TEST(netns_open_checks_type)
{
	int fd;

	/* Not a namespace file at all. */
	CHECK_EQ(netns_open_path("/dev/null"), -EINVAL);
	CHECK_EQ(netns_open_path("/nonexistent/ns"), -ENOENT);
	/* Our own namespace is one, and is the current one. */
	fd = netns_open_path("/proc/self/ns/net");
	if (fd == -EACCES || fd == -EPERM)
		return;
	CHECK(fd >= 0);
	CHECK_EQ(netns_is_current(fd), 1);
	close(fd);
	/* A namespace of another type is refused. */
	fd = netns_open_path("/proc/self/ns/uts");
	CHECK(fd == -EINVAL || fd == -EACCES || fd == -EPERM);
}

#define PARSE(o, err, ...)                                                               \
	options_parse(o, (int)(sizeof((char *[]){ __VA_ARGS__ }) / sizeof(char *)),        \
		      (char *[]){ __VA_ARGS__, NULL }, err, sizeof(err))

TEST(agent_options_netns)
{
	struct agent_options o;
	char err[256];

	unsetenv("WG_TUN_FD");
	unsetenv("WG_UAPI_FD");
	CHECK_EQ(PARSE(&o, err, "altuntun-cli", "wg0"), OPTIONS_RUN);
	CHECK(o.netns == NULL);
	CHECK_EQ(PARSE(&o, err, "altuntun-cli", "--netns", "blue", "wg0"), OPTIONS_RUN);
	CHECK(!strcmp(o.netns, "blue"));
	CHECK(!strcmp(o.netns_path, "/var/run/netns/blue"));
	CHECK_EQ(PARSE(&o, err, "altuntun-cli", "--netns=pid:77", "wg0"), OPTIONS_RUN);
	CHECK(!strcmp(o.netns_path, "/proc/77/ns/net"));
	CHECK_EQ(PARSE(&o, err, "altuntun-cli", "--netns", "pid:x", "wg0"), -EINVAL);
	CHECK(strstr(err, "--netns") != NULL);
	CHECK_EQ(PARSE(&o, err, "altuntun-cli", "--netns", "", "wg0"), -EINVAL);
	CHECK_EQ(PARSE(&o, err, "altuntun-cli", "wg0", "--netns"), -EINVAL);
	/* WG_TUN_FD names a device that already exists somewhere. */
	setenv("WG_TUN_FD", "0", 1);
	CHECK_EQ(PARSE(&o, err, "altuntun-cli", "--netns", "blue", "wg0"), -EINVAL);
	CHECK(strstr(err, "WG_TUN_FD") != NULL);
	unsetenv("WG_TUN_FD");
}
