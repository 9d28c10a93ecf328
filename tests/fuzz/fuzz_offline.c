// SPDX-License-Identifier: BSD-3-Clause
/*
 * Key files in a temporary directory and a resolver without the network
 * (fuzz_offline.h).
 */
#include <dlfcn.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz_common.h"
#include "fuzz_offline.h"

static char dir[PATH_MAX];

static const struct {
	const char *name, *text;
	mode_t mode;
} files[] = {
	{ "example.key", "mHx1ePB8YIv3XagAWhA/vToYk+JnxJfDMLdVCWeve0g=\n", 0600 },
	{ "example.psk", "E6Zc0Y4rQU0pKfA/DUAH4c6QNrENur+s5YgBIejZRWM=\n", 0644 },
	{ "bad.key", "not a key\n", 0600 },
};

static void path_of(char *out, size_t cap, const char *name)
{
	int n = snprintf(out, cap, "%s/%s", dir, name);

	FUZZ_CHECK(n > 0 && (size_t)n < cap);
}

static void remove_dir(void)
{
	char p[PATH_MAX];

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		path_of(p, sizeof(p), files[i].name);
		unlink(p);
	}
	path_of(p, sizeof(p), "dir");
	rmdir(p);
	rmdir(dir);
}

const char *fuzz_offline_init(void)
{
	char p[PATH_MAX];
	int fd;

	snprintf(dir, sizeof(dir), "%s/altuntun-fuzz-keys.XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	FUZZ_CHECK(mkdtemp(dir));
	atexit(remove_dir);
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		size_t n = strlen(files[i].text);

		path_of(p, sizeof(p), files[i].name);
		fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, files[i].mode);
		FUZZ_CHECK(fd >= 0);
		FUZZ_CHECK(write(fd, files[i].text, n) == (ssize_t)n);
		FUZZ_CHECK(fchmod(fd, files[i].mode) == 0);
		close(fd);
	}
	path_of(p, sizeof(p), "dir");
	FUZZ_CHECK(mkdir(p, 0700) == 0);
	fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	FUZZ_CHECK(fd >= 0 && dup2(fd, 0) == 0);
	close(fd);
	return dir;
}

typedef int (*getaddrinfo_fn)(const char *, const char *, const struct addrinfo *,
			      struct addrinfo **);

int getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
		struct addrinfo **res)
{
	static getaddrinfo_fn real;

	if (!node || strcmp(node, "localhost"))
		return EAI_NONAME;
	if (!real)
		real = (getaddrinfo_fn)dlsym(RTLD_NEXT, "getaddrinfo");
	FUZZ_CHECK(real);
	return real(node, service, hints, res);
}
