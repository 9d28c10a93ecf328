/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Privilege separation of altuntun-cli (docs/security.md).
 *
 * The process started (the bootstrap) sets everything up with its
 * privileges: the TUN interface, the UDP sockets, the UAPI socket, the
 * --config. It then becomes a small monitor (monitor.c) that forks the
 * protocol process and hands it the TUN fd, the UDP fds and the listening
 * UAPI fd over a UNIX socket (SCM_RIGHTS). The protocol process switches to
 * an unprivileged user, clears every capability (and the bounding set),
 * sets no_new_privs, loads the seccomp filter (seccomp_filter.c) and only
 * then parses anything it is sent. What it still needs privilege for, it
 * asks of the monitor over that socket with the requests below.
 *
 * This file: the messages, who the protocol process becomes, and the
 * protocol process's side (hand-over, dropping privileges, requests).
 */
#ifndef ALTUNTUN_PRIVSEP_H
#define ALTUNTUN_PRIVSEP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "altuntun.h"
#include "uapi.h"

struct agent;
struct agent_options;
struct udp_bind;

/* The protocol process's name (comm), so ps and top tell the two apart. */
#define PRIVSEP_PROTO_COMM "altuntun-proto"
/* Bytes of data one message carries. */
#define PRIVSEP_DATA_MAX 32768u
/* Largest configuration the monitor keeps for a restart. */
#define PRIVSEP_CONFIG_MAX UAPI_MAX_REQUEST
/* How long the protocol process waits for an answer of the monitor. */
#define PRIVSEP_REPLY_TIMEOUT_MS 10000
/* Descriptors a message may carry. */
#define PRIVSEP_MAX_FDS 4

/*
 * Message types. Requests of the protocol process get exactly one answer
 * of the same type (status 0 or a negative errno), in order; the monitor
 * never sends anything else except PS_HANDOVER (first) and PS_LOG_FD.
 */
enum privsep_type {
	/* monitor -> protocol process, first message. fds: TUN, UAPI
	 * listening socket, then the UDP sockets present (handover flags). */
	PS_HANDOVER = 1,
	/* The configuration was restored and the UAPI is served. */
	PS_READY = 2,
	/* value: the fwmark for our UDP sockets (the monitor's copies are the
	 * same sockets, so the mark is theirs too). */
	PS_SET_FWMARK = 3,
	/* value: UDP port (0: any). Answer: value = port bound, fds: the new
	 * IPv4 and/or IPv6 sockets (data[0]: PS_FD_UDP4 | PS_FD_UDP6), with the
	 * current fwmark. The monitor keeps copies and closes its old ones. */
	PS_BIND_PORT = 4,
	/* The configuration to restore after a crash, as a UAPI set request:
	 * BEGIN (value: total length), DATA (len bytes) ..., END. */
	PS_CONFIG_BEGIN = 5,
	PS_CONFIG_DATA = 6,
	PS_CONFIG_END = 7,
	/* The protocol process stops by its own decision (value: its exit
	 * status), e.g. the interface was deleted: the monitor stops too. No
	 * answer. */
	PS_STOPPING = 8,
	/* Start-up failed; data: the reason (NUL-terminated). No answer. */
	PS_FAILED = 9,
	/* monitor -> protocol process: the log file was reopened (SIGHUP);
	 * fd: the new one. No answer. */
	PS_LOG_FD = 10,
	/* Where is the link now (after a move, or lost notifications)? The
	 * monitor asks the TUN (link_watch_locate, CAP_NET_ADMIN). Answer:
	 * data = struct link_location. */
	PS_LINK_LOCATE = 11,
};

/* PS_HANDOVER / PS_BIND_PORT flags: which UDP sockets follow. */
#define PS_FD_UDP4 0x1u
#define PS_FD_UDP6 0x2u
/* PS_HANDOVER: daemon mode (detach stdio). */
#define PS_DAEMON 0x4u

/* Every message is this fixed size; a datagram of any other size is
 * refused (SOCK_SEQPACKET keeps the boundaries). */
struct privsep_msg {
	uint32_t type;
	uint32_t len;   /* bytes of data used, <= PRIVSEP_DATA_MAX */
	int32_t status; /* answers: 0 or a negative errno */
	uint32_t value;
	uint8_t data[PRIVSEP_DATA_MAX];
};

/* PS_HANDOVER's data. */
struct privsep_handover {
	uint32_t flags;     /* PS_FD_UDP4 | PS_FD_UDP6 | PS_DAEMON */
	int32_t ifindex;
	uint32_t mtu;
	int32_t link_nsid;  /* home's nsid for the link's namespace, -1: home */
	uint32_t fwmark;
	uint16_t port;
};

/* Who the protocol process runs as. */
struct privsep_identity {
	bool switch_user;  /* false: keep the uid (not root, or cannot) */
	bool explicit_user; /* --user was given */
	uid_t uid;
	gid_t gid;
	gid_t *groups;     /* supplementary groups of the user */
	int n_groups;
	char name[64];
};

/*
 * Decides the identity, in the bootstrap before anything is created: as
 * root, --user NAME or else altuntun if that user exists, else nobody,
 * with its groups; not as root (file capabilities, rootless), the uid
 * stays. Returns 0, or a negative errno with the reason logged (no such
 * user, root as --user, --user when not started as root, a user that the
 * user namespace does not map).
 */
int privsep_identity_resolve(const struct agent_options *o, struct privsep_identity *id);
void privsep_identity_free(struct privsep_identity *id);

/*
 * Drops everything in the calling process: supplementary groups, gid,
 * bounding set (when CAP_SETPCAP allows), uid, every capability (effective,
 * permitted, inheritable, ambient), then no_new_privs and non-dumpable, and
 * checks the result (CapEff = CapPrm = 0, and CapBnd = 0 when it could be
 * cleared; uid 0 cannot be regained). Returns 0 or a negative errno with the
 * reason logged.
 */
int privsep_drop(const struct privsep_identity *id);

/* ---- messages ---- */

void privsep_msg_init(struct privsep_msg *m, uint32_t type);
/* Sends one message with up to PRIVSEP_MAX_FDS descriptors. flags: e.g.
 * MSG_DONTWAIT. 0 or a negative errno. */
int privsep_send(int sock, const struct privsep_msg *m, const int *fds, int nfds, int flags);
/*
 * Receives one message. Descriptors that came with it are stored in fds
 * (*nfds of them, at most max_fds; extra ones are closed), close-on-exec.
 * Returns 1, 0 at end of file, or a negative errno (-EBADMSG: not exactly
 * one message of the right size; its descriptors are closed).
 */
int privsep_recv(int sock, struct privsep_msg *m, int *fds, int *nfds, int max_fds, int flags);

/* ---- the configuration kept for restarts ---- */

/*
 * The device's configuration as a set request that recreates it: only the
 * keys `set` takes (private_key, listen_port, fwmark; per peer public_key,
 * preshared_key, endpoint, persistent_keepalive_interval, allowed_ip) with
 * replace_peers and replace_allowed_ips. *out is malloc'd (wipe it).
 */
int privsep_config_dump(altuntun_device *dev, const struct uapi_iface_ops *ops, char **out,
			size_t *len);

/*
 * The send callback of the bootstrap's device when privileges will be
 * separated: that device only gathers the configuration (--config) for the
 * protocol process and must not start handshakes of its own (a peer would
 * answer a device that no longer exists, and wireguard-go ignores a second
 * initiation within 20 ms). Sends nothing, reports success.
 */
int privsep_bootstrap_send(void *ctx, altuntun_peer *peer, const struct altuntun_endpoint *to,
			   const uint8_t *data, size_t len);

/* ---- the protocol process ---- */

/* What the monitor gives a protocol process it has just forked. */
struct privsep_child_args {
	const struct agent_options *opt; /* the bootstrap's options */
	const struct privsep_identity *id;
	int sock;                        /* the channel to the monitor */
	char *config;                    /* this process's copy: wiped here */
	size_t config_len;
	bool seccomp_log_only;           /* ALTUNTUN_SECCOMP=log */
	bool test_forbidden_syscall;     /* ALTUNTUN_TEST_FORBIDDEN_SYSCALL=1 */
};

/* Runs the protocol process (in the child after fork) and exits. */
__attribute__((noreturn)) void privsep_child_main(struct privsep_child_args *args);

/* Hooks of agent_start() in the protocol process: take the TUN and the UDP
 * sockets from the hand-over instead of creating them. */
int privsep_child_adopt_tun(struct agent *a);
int privsep_child_adopt_udp(struct agent *a);
/* After agent_start(): drop privileges, load the filter, restore the
 * configuration, tell the monitor we are ready. */
int privsep_child_enter(struct agent *a);

/* The UAPI's listen port and fwmark, through the monitor. */
int privsep_bind_port(struct agent *a, uint16_t port, struct udp_bind *out);
int privsep_set_fwmark(struct agent *a, uint32_t mark);
/* After a successful set: sends the monitor the configuration to restore. */
void privsep_config_changed(struct agent *a);

#endif
