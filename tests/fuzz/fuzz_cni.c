// SPDX-License-Identifier: BSD-3-Clause
/*
 * fuzz_cni: what a container runtime gives altuntun-cni, checked and decoded
 * as cni_main.c does before it touches a namespace, its state or an agent
 * (cni_input.h), then the ADD result and the agent's configuration built
 * from it. The input is
 *
 *   CNI_COMMAND \0 CNI_CONTAINERID \0 CNI_NETNS \0 CNI_IFNAME \0 stdin
 *
 * (a missing field is unset). Checked: every refusal has a CNI error code, a
 * message and, for the configuration, details; an ADD that passes has a
 * result naming our interface in CNI_NETNS with every configured address,
 * and a configuration for altuntun-cli that altuntun-cli accepts.
 */
#include <errno.h>
#include <string.h>

#include "cni_input.h"
#include "cni_result.h"
#include "config_json.h"
#include "fuzz_common.h"
#include "fuzz_offline.h"

#define ENV_FIELDS 4
#define ENV_MAX 512

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *key_dir;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	fuzz_init();
	key_dir = fuzz_offline_init();
	return 0;
}

static void check_refusal(const struct cni_error *err, bool details)
{
	FUZZ_CHECK(err->code > 0 && err->msg && err->msg[0]);
	if (details)
		FUZZ_CHECK(err->details[0]);
}

static bool is_code(const struct cni_error *err, int a, int b)
{
	return err->code == a || err->code == b;
}

/* The result names our interface in the sandbox and lists each address. */
static void check_result(const struct config *cfg, const struct cni_env *e)
{
	unsigned mtu = (cfg->iface.flags & CONFIG_IFACE_HAS_MTU) ? cfg->iface.mtu : 1420;
	json_t *res = cni_result_build(cfg, e->ifname, e->netns, mtu), *itf, *ips;
	bool found = false;
	char *s;
	size_t i;

	FUZZ_CHECK(json_is_object(res));
	FUZZ_CHECK(json_is_string(json_object_get(res, "cniVersion")));
	json_array_foreach(json_object_get(res, "interfaces"), i, itf) {
		const char *n = json_string_value(json_object_get(itf, "name"));
		const char *sb = json_string_value(json_object_get(itf, "sandbox"));

		if (n && sb && !strcmp(n, e->ifname) && !strcmp(sb, e->netns))
			found = true;
	}
	FUZZ_CHECK(found);
	ips = json_object_get(res, "ips");
	for (i = 0; i < cfg->iface.n_addresses; i++) {
		char want[96];
		bool listed = false;
		json_t *ip;
		size_t k;

		cni_prefix_str(&cfg->iface.addresses[i], want, sizeof(want));
		json_array_foreach(ips, k, ip) {
			const char *a = json_string_value(json_object_get(ip, "address"));

			listed |= a && !strcmp(a, want);
		}
		FUZZ_CHECK(listed);
	}
	s = json_dumps(res, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	FUZZ_CHECK(s);
	free(s);
	json_decref(res);
}

/* What altuntun-cli is started with parses as a daemon's configuration. */
static void check_agent_config(const char *text, size_t len, const struct cni_env *e)
{
	json_t *agentcfg = cni_agent_config(text, len, e->netns, key_dir);
	struct config cfg;
	char err[1024], *s;
	int r;

	FUZZ_CHECK(agentcfg);
	s = json_dumps(agentcfg, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	FUZZ_CHECK(s);
	json_decref(agentcfg);
	r = config_parse(&cfg, s, strlen(s), "config.json", "/nonexistent", CONFIG_MODE_AGENT, err,
			 sizeof(err));
	if (r == -EINVAL)
		fprintf(stderr, "agent configuration refused: %s\n%s\n", err, s);
	FUZZ_CHECK(r == 0 || r == -ENOMEM);
	FUZZ_CHECK(r || (cfg.iface.netns && !strcmp(cfg.iface.netns, e->netns)));
	config_free(&cfg);
	free(s);
}

static void cni_add(const char *text, size_t len, const struct cni_env *e)
{
	struct cni_error err;
	struct config cfg;

	if (cni_parse_add(&cfg, text, len, key_dir, &err) < 0) {
		check_refusal(&err, true);
		FUZZ_CHECK(err.code == CNI_ERR_INVALID_CONFIG);
		return;
	}
	if (cni_env_check(e, true, &err) < 0) {
		check_refusal(&err, false);
		FUZZ_CHECK(err.code == CNI_ERR_BAD_ENV);
	} else {
		check_result(&cfg, e);
		check_agent_config(text, len, e);
	}
	config_free(&cfg);
}

static void cni_other(json_t *in, const char *cmd, const struct cni_env *e)
{
	struct cni_error err;
	const char *name;
	json_t *valid, *v;
	size_t i;

	if (cni_net_name(in, &name, &err)) {
		check_refusal(&err, true);
		return;
	}
	FUZZ_CHECK(cni_safe_component(name));
	if (!strcmp(cmd, "GC")) {
		if (cni_gc_attachments(in, &valid, &err)) {
			check_refusal(&err, true);
			return;
		}
		json_array_foreach(valid, i, v) {
			(void)json_string_value(json_object_get(v, "containerID"));
			(void)json_string_value(json_object_get(v, "ifname"));
		}
		return;
	}
	if (cni_env_check(e, !strcmp(cmd, "CHECK"), &err))
		check_refusal(&err, false);
	else
		FUZZ_CHECK(cni_safe_component(e->cid) && cni_safe_component(e->ifname));
}

/* Splits off the next NUL-terminated field (at most ENV_MAX bytes). */
static const char *take_field(const uint8_t **p, size_t *left, char *buf)
{
	const uint8_t *nul = memchr(*p, 0, *left);
	size_t n;

	if (!nul)
		return NULL;
	n = (size_t)(nul - *p);
	if (n >= ENV_MAX)
		n = ENV_MAX - 1;
	memcpy(buf, *p, n);
	buf[n] = '\0';
	*left -= (size_t)(nul - *p) + 1;
	*p = nul + 1;
	return buf[0] ? buf : NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char fields[ENV_FIELDS][ENV_MAX];
	const char *cmd, *version;
	struct cni_error err;
	struct cni_env e;
	const char *text;
	json_t *in;

	cmd = take_field(&data, &size, fields[0]);
	e.cid = take_field(&data, &size, fields[1]);
	e.netns = take_field(&data, &size, fields[2]);
	e.ifname = take_field(&data, &size, fields[3]);
	if (!cmd || !strcmp(cmd, "VERSION") || !strcmp(cmd, "STATUS"))
		return 0; /* nothing read */
	text = (const char *)data;
	in = cni_decode(text, size, &version, &err);
	if (!in) {
		check_refusal(&err, true);
		FUZZ_CHECK(is_code(&err, CNI_ERR_DECODE, CNI_ERR_INCOMPATIBLE_VERSION));
		return 0;
	}
	FUZZ_CHECK(!version || cni_version_supported(version));
	if (!strcmp(cmd, "ADD"))
		cni_add(text, size, &e);
	else
		cni_other(in, cmd, &e);
	json_decref(in);
	return 0;
}
