// SPDX-License-Identifier: BSD-3-Clause
/*
 * altuntun-cli: a userspace WireGuard interface, configured with wg(8)
 * through /var/run/wireguard/IFNAME.sock (see options.h for its usage).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "agent.h"
#include "altuntun.h"
#include "config_json.h"
#include "daemon.h"
#include "log.h"
#include "options.h"
#include "wg_wrapper.h"

#define PROG "altuntun-cli"

/* Keeps an inherited descriptor away from 0..2, which the daemon points at
 * /dev/null; the old number gets /dev/null. */
static int move_high(int *fd, const char *var)
{
	int nfd, null_fd;

	if (*fd < 0 || *fd > 2)
		return 0;
	nfd = fcntl(*fd, F_DUPFD_CLOEXEC, 3);
	if (nfd < 0) {
		fprintf(stderr, "%s: %s=%d: %s\n", PROG, var, *fd, strerror(errno));
		return -1;
	}
	null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null_fd < 0 || dup2(null_fd, *fd) < 0) {
		fprintf(stderr, "%s: /dev/null: %s\n", PROG, strerror(errno));
		return -1;
	}
	if (null_fd != *fd)
		close(null_fd);
	*fd = nfd;
	return 0;
}

/*
 * --config: read and checked before anything is created or the process
 * forks, so that a mistake is reported on stderr with a non-zero status.
 */
static int load_config(struct agent_options *o, struct config *cfg)
{
	char err[1024];
	int r;

	r = config_load_file(cfg, o->config_path, CONFIG_MODE_AGENT, err, sizeof(err));
	if (r < 0) {
		fprintf(stderr, "%s: %s\n", PROG, err);
		return -1;
	}
	for (size_t i = 0; i < cfg->n_warnings; i++)
		log_warn("%s", cfg->warnings[i]);
	r = options_use_config(o, cfg, err, sizeof(err));
	if (r < 0) {
		fprintf(stderr, "%s: %s\n", PROG, err);
		config_free(cfg);
		return -1;
	}
	return 0;
}

/* Descriptors 0..2 must be open: otherwise the TUN device or a socket
 * could get number 2 and receive log lines. */
static int ensure_stdio(void)
{
	for (int fd = 0; fd <= 2; fd++) {
		if (fcntl(fd, F_GETFD) >= 0 || errno != EBADF)
			continue;
		if (open("/dev/null", O_RDWR) != fd)
			return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct agent_options o;
	struct config cfg = { 0 };
	int r, status, notify_fd = -1;
	char err[256];

	if (ensure_stdio() < 0)
		return 1;
	/* `altuntun-cli wg ARGS...`: wg(8) that sees this user's sockets. */
	if (argc >= 2 && !strcmp(argv[1], "wg"))
		return wg_wrapper_main(argc - 1, argv + 1);
	log_init(PROG);
	/* Writes to closed sockets and pipes are handled where they fail. */
	signal(SIGPIPE, SIG_IGN);

	r = options_parse(&o, argc, argv, err, sizeof(err));
	if (r < 0) {
		fprintf(stderr, "%s: %s\nTry '%s --help'.\n", PROG, err, PROG);
		return 1;
	}
	if (r == OPTIONS_HELP) {
		options_usage(stdout, PROG);
		return 0;
	}
	if (r == OPTIONS_VERSION) {
		printf("%s %s\n", PROG, ALTUNTUN_VERSION);
		return 0;
	}
	log_set_level(LOG_LVL_INFO + o.verbosity);
	log_set_tag(o.ifname);
	if (o.log_path) {
		r = log_to_file(o.log_path);
		if (r < 0) {
			fprintf(stderr, "%s: cannot open log file %s: %s\n", PROG, o.log_path,
				strerror(-r));
			return 1;
		}
	}
	if (move_high(&o.tun_fd, "WG_TUN_FD") < 0 || move_high(&o.uapi_fd, "WG_UAPI_FD") < 0)
		return 1;
	if (o.config_path && load_config(&o, &cfg) < 0)
		return 1;

	if (!o.foreground) {
		r = daemon_start(PROG, &notify_fd, &status);
		if (r != 0)
			config_free(&cfg);
		if (r < 0) {
			fprintf(stderr, "%s: cannot start the daemon: %s\n", PROG, strerror(-r));
			return 1;
		}
		if (r == 1)
			return status;
		if (!o.log_path)
			log_to_syslog();
	}

	status = agent_run(&o, notify_fd);
	config_free(&cfg);
	/* In the foreground with --log, say on the terminal why we failed. */
	if (status && o.foreground && !log_is_stderr() && log_last_error()[0])
		fprintf(stderr, "%s: %s\n", PROG, log_last_error());
	log_close();
	return status;
}
