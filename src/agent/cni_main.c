// SPDX-License-Identifier: BSD-3-Clause
/*
 * altuntun-cni: a CNI plugin. For now it answers VERSION; every other
 * command gets a CNI error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "altuntun.h"

#define PROG "altuntun-cni"
#define CNI_VERSION "1.0.0"
#define CNI_ERR_NOT_IMPLEMENTED 4

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: CNI_COMMAND=ADD|DEL|CHECK|VERSION ... %s < config.json\n"
		"       %s --version | --help\n"
		"\n"
		"A CNI plugin giving containers a userspace WireGuard interface.\n"
		"Only CNI_COMMAND=VERSION is implemented so far.\n",
		PROG, PROG);
}

int main(int argc, char **argv)
{
	const char *cmd = getenv("CNI_COMMAND");

	if (argc > 1) {
		if (!strcmp(argv[1], "--version")) {
			printf("%s %s (CNI spec %s)\n", PROG, ALTUNTUN_VERSION, CNI_VERSION);
			return 0;
		}
		if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
			usage(stdout);
			return 0;
		}
	}
	if (cmd && !strcmp(cmd, "VERSION")) {
		printf("{\"cniVersion\":\"%s\",\"supportedVersions\":"
		       "[\"0.3.0\",\"0.3.1\",\"0.4.0\",\"1.0.0\",\"1.1.0\"]}\n",
		       CNI_VERSION);
		return 0;
	}
	printf("{\"cniVersion\":\"%s\",\"code\":%d,\"msg\":\"not implemented yet\"}\n",
	       CNI_VERSION, CNI_ERR_NOT_IMPLEMENTED);
	return 1;
}
