/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * JSON configuration files (altuntun-cli --config FILE, and the CNI plugin's
 * network configuration); docs/config.md is the reference of the format.
 *
 * A file is parsed and checked whole before anything is applied. What the
 * UAPI can set (private key, listen port, fwmark, peers) is parsed into the
 * UAPI's own intermediate representation, a struct uapi_set, and applied by
 * uapi_set_apply() exactly as a `wg setconf` would be: the peers replace
 * whatever peers the device had. The rest (MTU, addresses, routes, network
 * namespace) is returned in a struct config_iface for the daemon.
 *
 * Every error names the place it is about, as "FILE:LINE:COLUMN: PATH: what",
 * e.g. `c.json:12:7: peers[1].allowedIPs[3]: "10.0.0.1/33" is not an IP
 * prefix`. Keys are never quoted back in messages.
 */
#ifndef ALTUNTUN_CONFIG_JSON_H
#define ALTUNTUN_CONFIG_JSON_H

#include <jansson.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "altuntun.h"
#include "uapi.h"
#include "uapi_internal.h"

/* Largest configuration file read. */
#define CONFIG_MAX_FILE_SIZE (16u << 20)
/* Interface MTU, as altuntun-cli --mtu takes it. */
#define CONFIG_MTU_MIN 68u
#define CONFIG_MTU_MAX 65535u
/* An interface with an IPv6 address needs at least this MTU. */
#define CONFIG_MTU_MIN_IPV6 1280u

enum config_mode {
	CONFIG_MODE_AGENT = 0, /* altuntun-cli --config: CNI keys are refused */
	CONFIG_MODE_CNI = 1,   /* a CNI network configuration: CNI keys accepted */
};

/* An address or prefix as written: host bits are kept. */
struct config_prefix {
	union {
		struct in_addr v4;
		struct in6_addr v6;
	} addr;
	uint8_t family; /* AF_INET or AF_INET6 */
	uint8_t cidr;
};

struct config_route {
	struct config_prefix dst; /* host bits are zero */
	uint32_t mtu;             /* 0: none given */
};

enum {
	CONFIG_IFACE_HAS_LISTEN_PORT = 1U << 0,
	CONFIG_IFACE_HAS_FWMARK = 1U << 1,
	CONFIG_IFACE_HAS_MTU = 1U << 2,
	CONFIG_IFACE_HAS_NETNS = 1U << 3,
};

/* The interface-level settings, for the daemon. */
struct config_iface {
	uint32_t flags;
	uint16_t listen_port; /* also in the uapi_set, applied with it */
	uint32_t fwmark;      /* also in the uapi_set, applied with it */
	unsigned mtu;
	struct config_prefix *addresses;
	size_t n_addresses;
	struct config_route *routes;
	size_t n_routes;
	char *netns;       /* a name, a path or "pid:N"; NULL when not given */
	char *netns_where; /* "FILE:LINE:COLUMN" of the netns value, for messages */
};

/* The standard keys of a CNI network configuration, kept as given. */
struct config_cni {
	char *cni_version; /* NULL when absent */
	char *name;
	char *type;
	char *ifname; /* "ifname": the interface to create instead of CNI_IFNAME */
	json_t *prev_result; /* references (json_decref'd by config_free), or NULL */
	json_t *ipam;
	json_t *dns;
	json_t *args;
	json_t *runtime_config;
	json_t *capabilities;
};

struct config {
	struct uapi_set set;       /* private key, listen port, fwmark, peers */
	struct config_iface iface; /* the rest */
	struct config_cni cni;     /* CONFIG_MODE_CNI only */
	/* Warnings for the caller to log (a file holding a key is readable by
	 * group or others), one line each. */
	char **warnings;
	size_t n_warnings;
};

/*
 * Parses the JSON text (len bytes, not necessarily NUL-terminated). `name`
 * is what messages call it (the file name, or e.g. "<stdin>"). Relative key
 * file paths (privateKeyFile, presharedKeyFile) are taken relative to
 * `base_dir`, or to the current directory when it is NULL. Returns 0, or
 * -EINVAL (-ENOMEM) with a one-line message in err[errlen]; on error *cfg
 * holds nothing to free (config_free() is harmless all the same).
 */
int config_parse(struct config *cfg, const char *text, size_t len, const char *name,
		 const char *base_dir, enum config_mode mode, char *err, size_t errlen);

/*
 * Reads and parses a file (see config_parse); relative key file paths are
 * relative to the file's directory. Warns when the file holds a key and is
 * readable by group or others. The text read is wiped.
 */
int config_load_file(struct config *cfg, const char *path, enum config_mode mode, char *err,
		     size_t errlen);

/*
 * Applies what the UAPI can set: listen port and fwmark (through ops, as a
 * UAPI set request would; a failure there changes nothing), the private key
 * when given, then replaces the peers with the configuration's. Returns 0 or
 * a negative errno.
 */
int config_apply(const struct config *cfg, altuntun_device *dev,
		 const struct uapi_iface_ops *ops, struct altuntun_now now);

/* Frees what config_apply() applies (keys and peers), wiping the keys; the
 * rest stays. */
void config_forget_keys(struct config *cfg);

/* Frees everything, wiping the keys. */
void config_free(struct config *cfg);

#endif
