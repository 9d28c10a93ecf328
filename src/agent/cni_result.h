/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * altuntun-cni: CNI result and error objects (CNI spec 0.3.0 to 1.1.0).
 */
#ifndef ALTUNTUN_CNI_RESULT_H
#define ALTUNTUN_CNI_RESULT_H

#include <jansson.h>

#include "config_json.h"

/* CNI error codes (spec 1.1.0) and ours (100+). */
enum {
	CNI_ERR_INCOMPATIBLE_VERSION = 1,
	CNI_ERR_UNSUPPORTED_FIELD = 2,
	CNI_ERR_UNKNOWN_CONTAINER = 3,
	CNI_ERR_BAD_ENV = 4,
	CNI_ERR_IO = 5,
	CNI_ERR_DECODE = 6,
	CNI_ERR_INVALID_CONFIG = 7,
	CNI_ERR_TRY_AGAIN = 11,
	CNI_ERR_NOT_AVAILABLE = 50,
	CNI_ERR_LIMITED = 51,
	CNI_ERR_AGENT_START = 100,   /* altuntun-cli failed to start */
	CNI_ERR_AGENT_DEAD = 101,    /* CHECK: the agent does not run / serve */
	CNI_ERR_IFACE = 102,         /* CHECK: interface missing or different */
	CNI_ERR_EXISTS = 103,        /* ADD: the interface exists already */
	CNI_ERR_INTERNAL = 104,
};

/* The "mac" reported for our interface: a TUN has none. */
#define CNI_NO_MAC "00:00:00:00:00:00"

/* "addr/len" of a prefix into buf (at least 64 bytes). */
void cni_prefix_str(const struct config_prefix *p, char *buf, size_t len);

/* True for the versions we speak. */
int cni_version_supported(const char *v);

/*
 * The ADD result, in the format of cfg->cni.cni_version: prevResult's
 * content first (converted), then our interface IFNAME in SANDBOX with the
 * configuration's addresses and routes. Returns a new reference.
 */
json_t *cni_result_build(const struct config *cfg, const char *ifname, const char *sandbox,
			 unsigned mtu);

/* Prints an error object to stdout. */
void cni_print_error(const char *version, int code, const char *msg, const char *details);

#endif
