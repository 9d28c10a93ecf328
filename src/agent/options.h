/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * altuntun-cli's command line and environment:
 *   altuntun-cli [-f|--foreground] [-v|--verbose]... [--log FILE]
 *                [--uapi-name NAME] [--mtu N] [--netns NS] [-t|--threads N]
 *                [--disable-drop-privileges] [--user NAME]
 *                [--config FILE.json] [--no-offload] IFNAME
 *   altuntun-cli --version | --help
 * Environment (as wireguard-go and boringtun read it): WG_TUN_FD,
 * WG_UAPI_FD, WG_PROCESS_FOREGROUND=1, WG_SUDO=1.
 */
#ifndef ALTUNTUN_OPTIONS_H
#define ALTUNTUN_OPTIONS_H

#include <net/if.h>
#include <stdbool.h>
#include <stdio.h>

#define OPTIONS_MTU_DEFAULT 1420u
#define OPTIONS_MTU_MIN 68u
#define OPTIONS_MTU_MAX 65535u
#define OPTIONS_THREADS_MAX 64u

struct config;
struct privsep_child;

struct agent_options {
	char ifname[IFNAMSIZ];
	char uapi_name[IFNAMSIZ]; /* "" when not given: the interface's name */
	bool foreground;
	int verbosity;            /* number of -v */
	const char *log_path;     /* NULL: stderr (foreground) or syslog */
	bool disable_drop_privileges;
	bool no_offload;          /* --no-offload or ALTUNTUN_NO_OFFLOAD=1 */
	const char *user;         /* --user NAME: the protocol process's user
				   * (NULL: altuntun if it exists, else nobody) */
	unsigned threads;         /* 1..OPTIONS_THREADS_MAX */
	unsigned mtu;             /* OPTIONS_MTU_DEFAULT unless mtu_set */
	bool mtu_set;
	int tun_fd;               /* WG_TUN_FD, or -1 */
	int uapi_fd;              /* WG_UAPI_FD, or -1 */
	const char *netns;        /* --netns as given, NULL: stay here */
	char netns_path[4096];    /* its namespace file (netns_resolve()) */
	const char *config_path;  /* --config FILE, or NULL */
	/* What main() loaded from config_path (NULL: none); agent_run()
	 * applies it and wipes its keys (config_forget_keys()). */
	struct config *config;
	/* Set only in the protocol process's own copy of the options, when
	 * privileges are separated (privsep.h); NULL everywhere else. */
	struct privsep_child *privsep_child;
};

enum options_result {
	OPTIONS_RUN = 0,      /* start the daemon */
	OPTIONS_HELP = 1,     /* print options_usage() and exit 0 */
	OPTIONS_VERSION = 2,  /* print the version and exit 0 */
};

/*
 * Parses argv and the environment into *o. Returns an options_result, or
 * -EINVAL with a one-line reason in err[errlen].
 */
int options_parse(struct agent_options *o, int argc, char **argv, char *err, size_t errlen);
void options_usage(FILE *f, const char *prog);

/*
 * Checks an interface (or UAPI socket) name: 1..IFNAMSIZ-1 characters, no
 * '/', ':', '%' or whitespace, not "." or "..". Returns NULL when valid, or
 * what is wrong with it.
 */
const char *options_check_ifname(const char *name);

/*
 * Points o->config at a loaded configuration and takes from it the
 * interface settings the command line did not give (--mtu, --netns: the
 * command line wins). Returns 0, or -EINVAL with the reason in err[errlen].
 */
int options_use_config(struct agent_options *o, struct config *cfg, char *err, size_t errlen);

#endif
