/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * altuntun-cni: what the runtime gives the plugin (environment and the
 * network configuration on stdin), checked and decoded without touching a
 * namespace, a file of the state or an agent, so that the checks can be
 * tested and fuzzed alone (tests/fuzz/fuzz_cni.c).
 */
#ifndef ALTUNTUN_CNI_INPUT_H
#define ALTUNTUN_CNI_INPUT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "config_json.h"

/* Why an input was refused: a CNI error code (cni_result.h), its message
 * and details. */
struct cni_error {
	int code;
	const char *msg;
	char details[1024];
};

/* The CNI_* environment of one call (NULL or empty: not set). */
struct cni_env {
	const char *cid, *netns, *ifname;
};

/* A file-name-safe component: no '/', no control character, not empty,
 * not "." or "..", at most 200 bytes. */
bool cni_safe_component(const char *s);

/* Checks CNI_CONTAINERID, CNI_IFNAME and (need_netns) CNI_NETNS. 0 or -1
 * with *err filled. */
int cni_env_check(const struct cni_env *e, bool need_netns, struct cni_error *err);

/*
 * Decodes the network configuration: a JSON object whose cniVersion, if
 * any, is one we speak. Returns a new reference or NULL with *err filled;
 * *version is its cniVersion (inside the object) or NULL.
 */
json_t *cni_decode(const char *text, size_t len, const char **version, struct cni_error *err);

/* The network name of a decoded configuration (DEL, CHECK, GC). */
int cni_net_name(json_t *in, const char **name, struct cni_error *err);

/* GC: the attachments to keep (cni.dev/valid-attachments, or the older
 * cni.dev/attachments); *valid NULL when neither is given. */
int cni_gc_attachments(json_t *in, json_t **valid, struct cni_error *err);

/* ADD: the whole configuration parsed (relative key files from base_dir,
 * NULL: the current directory), with a usable network name. */
int cni_parse_add(struct config *cfg, const char *text, size_t len, const char *base_dir,
		  struct cni_error *err);

/*
 * ADD: the configuration altuntun-cli is started with: the input without
 * the CNI keys, netns set, relative key file names made absolute (from
 * base_dir, NULL: the current directory), since the agent reads its file
 * from the state directory. A new reference, or NULL (no memory).
 */
json_t *cni_agent_config(const char *text, size_t len, const char *netns, const char *base_dir);

#endif
