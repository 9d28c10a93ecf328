// SPDX-License-Identifier: BSD-3-Clause
/* altuntun-cli's command line and environment (see options.h). */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "altuntun.h"
#include "config_json.h"
#include "netns.h"
#include "options.h"

enum long_only {
	OPT_LOG = 0x100,
	OPT_UAPI_NAME,
	OPT_MTU,
	OPT_DISABLE_DROP_PRIVILEGES,
	OPT_VERSION,
	OPT_NETNS,
	OPT_CONFIG,
	OPT_USER,
	OPT_NO_OFFLOAD,
};

static const struct option long_options[] = {
	{ "foreground", no_argument, NULL, 'f' },
	{ "verbose", no_argument, NULL, 'v' },
	{ "threads", required_argument, NULL, 't' },
	{ "help", no_argument, NULL, 'h' },
	{ "log", required_argument, NULL, OPT_LOG },
	{ "uapi-name", required_argument, NULL, OPT_UAPI_NAME },
	{ "mtu", required_argument, NULL, OPT_MTU },
	{ "disable-drop-privileges", no_argument, NULL, OPT_DISABLE_DROP_PRIVILEGES },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ "config", required_argument, NULL, OPT_CONFIG },
	{ "netns", required_argument, NULL, OPT_NETNS },
	{ "user", required_argument, NULL, OPT_USER },
	{ "no-offload", no_argument, NULL, OPT_NO_OFFLOAD },
	{ NULL, 0, NULL, 0 },
};

void options_usage(FILE *f, const char *prog)
{
	fprintf(f,
		"Usage: %s [options] IFNAME\n"
		"       %s wg ARGS...\n"
		"       %s --version | --help\n"
		"\n"
		"Creates the TUN interface IFNAME, serves the WireGuard userspace API on\n"
		"/var/run/wireguard/IFNAME.sock (configure it with wg(8)) and carries the\n"
		"tunnel's traffic. Without -f it returns once the interface and the socket\n"
		"exist and keeps running in the background. A user who cannot write to\n"
		"/var/run/wireguard gets $XDG_RUNTIME_DIR/wireguard/IFNAME.sock instead;\n"
		"`%s wg ARGS...` runs wg(8) so that it sees those sockets.\n"
		"\n"
		"Options:\n"
		"  -f, --foreground            stay in the foreground, log to stderr\n"
		"  -v, --verbose               log more (repeat for every packet)\n"
		"      --log FILE              append the log to FILE (default: stderr in\n"
		"                              the foreground, syslog otherwise)\n"
		"      --uapi-name NAME        serve /var/run/wireguard/NAME.sock instead\n"
		"      --mtu N                 interface MTU (default %u; %u..%u)\n"
		"      --config FILE.json      configure keys, peers, addresses and routes\n"
		"                              from a JSON file (see docs/config.md); it is\n"
		"                              read before anything is created\n"
		"      --netns NS              create the interface in network namespace NS:\n"
		"                              a name in /var/run/netns, a path (such as\n"
		"                              /proc/PID/ns/net) or pid:PID; the UDP sockets\n"
		"                              stay in the current namespace\n"
		"  -t, --threads N             worker threads (1..%u)\n"
		"      --no-offload            no TUN segmentation offloads (IFF_VNET_HDR)\n"
		"                              and no UDP GSO/GRO: one packet per system\n"
		"                              call, as without them\n"
		"      --disable-drop-privileges\n"
		"                              keep the privileges of the caller: one\n"
		"                              process, no user switch, no seccomp filter\n"
		"      --user NAME             user of the protocol process once privileges\n"
		"                              are dropped (default: altuntun if it exists,\n"
		"                              else nobody)\n"
		"      --version               print the version and exit\n"
		"  -h, --help                  print this help and exit\n"
		"\n"
		"Environment:\n"
		"  WG_TUN_FD=N                 use this open TUN device (the MTU is left alone)\n"
		"  WG_UAPI_FD=N                use this listening UAPI socket\n"
		"  WG_PROCESS_FOREGROUND=1     same as --foreground\n"
		"  WG_SUDO=1                   same as --disable-drop-privileges\n"
		"  ALTUNTUN_NO_OFFLOAD=1       same as --no-offload\n",
		prog, prog, prog, prog, OPTIONS_MTU_DEFAULT, OPTIONS_MTU_MIN, OPTIONS_MTU_MAX,
		OPTIONS_THREADS_MAX);
}

static int fail(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* Parses a decimal number in [min, max], the whole string. */
static bool parse_uint(const char *s, unsigned long min, unsigned long max, unsigned long *out)
{
	unsigned long v;
	char *end;

	if (!s || !isdigit((unsigned char)s[0]))
		return false;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return false;
	*out = v;
	return true;
}

const char *options_check_ifname(const char *name)
{
	size_t len = strlen(name);

	if (len == 0)
		return "is empty";
	if (len >= IFNAMSIZ)
		return "is longer than 15 characters";
	if (!strcmp(name, ".") || !strcmp(name, ".."))
		return "cannot be \".\" or \"..\"";
	for (const char *p = name; *p; p++) {
		unsigned char c = (unsigned char)*p;

		if (c == '/')
			return "contains '/'";
		if (c == ':')
			return "contains ':'";
		if (c == '%')
			return "contains '%' (name templates are not supported)";
		if (isspace(c) || iscntrl(c))
			return "contains whitespace or a control character";
	}
	return NULL;
}

/* An environment variable naming an open file descriptor, or -1 if unset. */
static int env_fd(const char *var, int *fd, char *err, size_t errlen)
{
	const char *s = getenv(var);
	unsigned long v;

	*fd = -1;
	if (!s || !*s)
		return 0;
	if (!parse_uint(s, 0, INT_MAX, &v))
		return fail(err, errlen, "%s=%s is not a file descriptor number", var, s);
	if (fcntl((int)v, F_GETFD) < 0)
		return fail(err, errlen, "%s=%s is not an open file descriptor", var, s);
	*fd = (int)v;
	return 0;
}

static bool env_is_1(const char *var)
{
	const char *s = getenv(var);

	return s && !strcmp(s, "1");
}

int options_parse(struct agent_options *o, int argc, char **argv, char *err, size_t errlen)
{
	unsigned long v;
	const char *why;
	int c, r;

	memset(o, 0, sizeof(*o));
	o->threads = 1;
	o->mtu = OPTIONS_MTU_DEFAULT;
	o->tun_fd = -1;
	o->uapi_fd = -1;
	if (errlen)
		err[0] = '\0';

	/* 0: glibc fully resets its state, so the parser can be run again. */
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":fvt:h", long_options, NULL)) != -1) {
		switch (c) {
		case 'f':
			o->foreground = true;
			break;
		case 'v':
			if (o->verbosity < 8)
				o->verbosity++;
			break;
		case 't':
			if (!parse_uint(optarg, 1, OPTIONS_THREADS_MAX, &v))
				return fail(err, errlen, "--threads %s: expected a number from 1 to %u",
					    optarg, OPTIONS_THREADS_MAX);
			o->threads = (unsigned)v;
			break;
		case 'h':
			return OPTIONS_HELP;
		case OPT_VERSION:
			return OPTIONS_VERSION;
		case OPT_LOG:
			if (!optarg[0])
				return fail(err, errlen, "--log: empty file name");
			o->log_path = optarg;
			break;
		case OPT_UAPI_NAME:
			why = options_check_ifname(optarg);
			if (why)
				return fail(err, errlen, "--uapi-name \"%s\": the name %s", optarg, why);
			strcpy(o->uapi_name, optarg);
			break;
		case OPT_MTU:
			if (!parse_uint(optarg, OPTIONS_MTU_MIN, OPTIONS_MTU_MAX, &v))
				return fail(err, errlen, "--mtu %s: expected a number from %u to %u",
					    optarg, OPTIONS_MTU_MIN, OPTIONS_MTU_MAX);
			o->mtu = (unsigned)v;
			o->mtu_set = true;
			break;
		case OPT_CONFIG:
			if (!optarg[0])
				return fail(err, errlen, "--config: empty file name");
			o->config_path = optarg;
			break;
		case OPT_DISABLE_DROP_PRIVILEGES:
			o->disable_drop_privileges = true;
			break;
		case OPT_NO_OFFLOAD:
			o->no_offload = true;
			break;
		case OPT_USER:
			if (!optarg[0])
				return fail(err, errlen, "--user: empty user name");
			o->user = optarg;
			break;
		case OPT_NETNS:
			r = netns_resolve(optarg, o->netns_path, sizeof(o->netns_path));
			if (r < 0)
				return fail(err, errlen, "--netns \"%s\": %s", optarg,
					    r == -ENAMETOOLONG ? "the path is too long"
					    : !strncmp(optarg, "pid:", 4)
						    ? "expected pid:PID with a process id"
						    : "expected a namespace name, a path or pid:PID");
			o->netns = optarg;
			break;
		case ':':
			return fail(err, errlen, "option %s needs an argument", argv[optind - 1]);
		default:
			if (optopt)
				return fail(err, errlen, "unknown option -%c", optopt);
			return fail(err, errlen, "unknown option %s", argv[optind - 1]);
		}
	}
	if (optind >= argc)
		return fail(err, errlen, "missing interface name");
	if (optind + 1 < argc)
		return fail(err, errlen, "unexpected argument \"%s\" after the interface name",
			    argv[optind + 1]);
	why = options_check_ifname(argv[optind]);
	if (why)
		return fail(err, errlen, "invalid interface name \"%s\": the name %s", argv[optind],
			    why);
	strcpy(o->ifname, argv[optind]);

	if (env_is_1("WG_PROCESS_FOREGROUND"))
		o->foreground = true;
	if (env_is_1("WG_SUDO"))
		o->disable_drop_privileges = true;
	if (env_is_1("ALTUNTUN_NO_OFFLOAD"))
		o->no_offload = true;
	if (o->user && o->disable_drop_privileges)
		return fail(err, errlen, "--user cannot be used with --disable-drop-privileges "
			    "(or WG_SUDO=1): nothing runs as another user then");
	r = env_fd("WG_TUN_FD", &o->tun_fd, err, errlen);
	if (r < 0)
		return r;
	r = env_fd("WG_UAPI_FD", &o->uapi_fd, err, errlen);
	if (r < 0)
		return r;
	if (o->tun_fd >= 0 && o->netns)
		return fail(err, errlen, "--netns cannot be used with WG_TUN_FD (the device "
			    "already exists; move it with ip link set ... netns)");
	if (o->tun_fd >= 0 && o->tun_fd == o->uapi_fd)
		return fail(err, errlen, "WG_TUN_FD and WG_UAPI_FD are the same descriptor");
	return OPTIONS_RUN;
}

int options_use_config(struct agent_options *o, struct config *cfg, char *err, size_t errlen)
{
	const struct config_iface *ifc = &cfg->iface;

	o->config = cfg;
	if (!o->mtu_set && (ifc->flags & CONFIG_IFACE_HAS_MTU)) {
		o->mtu = ifc->mtu;
		o->mtu_set = true;
	}
	if (o->netns || !(ifc->flags & CONFIG_IFACE_HAS_NETNS))
		return 0;
	if (o->tun_fd >= 0)
		return fail(err, errlen, "%s: netns: cannot be used with WG_TUN_FD (the device "
			    "already exists)", ifc->netns_where);
	if (netns_resolve(ifc->netns, o->netns_path, sizeof(o->netns_path)) < 0)
		return fail(err, errlen, "%s: netns: expected a namespace name, a path or pid:PID",
			    ifc->netns_where);
	o->netns = ifc->netns;
	return 0;
}
