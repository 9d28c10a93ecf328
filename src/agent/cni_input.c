// SPDX-License-Identifier: BSD-3-Clause
/*
 * altuntun-cni: the runtime's input, checked and decoded (cni_input.h).
 */
#include <limits.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cni_input.h"
#include "cni_result.h"

static int refuse(struct cni_error *err, int code, const char *msg, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int refuse(struct cni_error *err, int code, const char *msg, const char *fmt, ...)
{
	err->code = code;
	err->msg = msg;
	err->details[0] = '\0';
	if (fmt) {
		va_list ap;

		va_start(ap, fmt);
		vsnprintf(err->details, sizeof(err->details), fmt, ap);
		va_end(ap);
	}
	return -1;
}

bool cni_safe_component(const char *s)
{
	if (!s || !*s || !strcmp(s, ".") || !strcmp(s, "..") || strlen(s) > 200)
		return false;
	for (; *s; s++)
		if (*s == '/' || (unsigned char)*s < 0x20)
			return false;
	return true;
}

/* The values go into JSON (the result, the agent's configuration), which
 * holds UTF-8 only. */
static bool utf8(const char *s)
{
	json_t *j = s ? json_string(s) : NULL;

	json_decref(j);
	return !s || j;
}

int cni_env_check(const struct cni_env *e, bool need_netns, struct cni_error *err)
{
	if (!e->cid || !*e->cid)
		return refuse(err, CNI_ERR_BAD_ENV, "CNI_CONTAINERID is not set", NULL);
	if (need_netns && (!e->netns || !*e->netns))
		return refuse(err, CNI_ERR_BAD_ENV, "CNI_NETNS is not set", NULL);
	if (!e->ifname || !*e->ifname)
		return refuse(err, CNI_ERR_BAD_ENV, "CNI_IFNAME is not set", NULL);
	if (!cni_safe_component(e->cid))
		return refuse(err, CNI_ERR_BAD_ENV, "CNI_CONTAINERID is not a valid container id",
			      "%s", e->cid);
	if (strlen(e->ifname) >= IFNAMSIZ || !cni_safe_component(e->ifname) ||
	    strpbrk(e->ifname, ": \t\n%"))
		return refuse(err, CNI_ERR_BAD_ENV, "CNI_IFNAME is not a valid interface name", "%s",
			      e->ifname);
	if (!utf8(e->cid) || !utf8(e->ifname) || (need_netns && !utf8(e->netns)))
		return refuse(err, CNI_ERR_BAD_ENV, "CNI_CONTAINERID, CNI_IFNAME or CNI_NETNS is "
			      "not valid UTF-8", NULL);
	/* The agent takes a value without '/' for a name in /var/run/netns. */
	if (need_netns && e->netns[0] != '/')
		return refuse(err, CNI_ERR_BAD_ENV, "CNI_NETNS is not an absolute path", "%s",
			      e->netns);
	return 0;
}

json_t *cni_decode(const char *text, size_t len, const char **version, struct cni_error *err)
{
	json_error_t je;
	json_t *in = json_loadb(text, len, 0, &je);
	const char *v;

	*version = NULL;
	if (!in || !json_is_object(in)) {
		refuse(err, CNI_ERR_DECODE, "cannot decode the network configuration",
		       "<stdin>:%d:%d: %s", je.line, je.column, in ? "not a JSON object" : je.text);
		json_decref(in);
		return NULL;
	}
	v = json_string_value(json_object_get(in, "cniVersion"));
	if (v && !cni_version_supported(v)) {
		refuse(err, CNI_ERR_INCOMPATIBLE_VERSION, "incompatible CNI version",
		       "cniVersion %s; supported: 0.3.0 0.3.1 0.4.0 1.0.0 1.1.0", v);
		json_decref(in);
		return NULL;
	}
	*version = v;
	return in;
}

int cni_net_name(json_t *in, const char **name, struct cni_error *err)
{
	*name = json_string_value(json_object_get(in, "name"));
	if (!*name || !cni_safe_component(*name))
		return refuse(err, CNI_ERR_INVALID_CONFIG, "invalid config",
			      "<stdin>: name: a network name is required");
	return 0;
}

int cni_gc_attachments(json_t *in, json_t **valid, struct cni_error *err)
{
	*valid = json_object_get(in, "cni.dev/valid-attachments");
	if (!*valid)
		*valid = json_object_get(in, "cni.dev/attachments");
	if (*valid && !json_is_array(*valid))
		return refuse(err, CNI_ERR_INVALID_CONFIG, "invalid config",
			      "<stdin>: cni.dev/valid-attachments: not an array");
	return 0;
}

int cni_parse_add(struct config *cfg, const char *text, size_t len, const char *base_dir,
		  struct cni_error *err)
{
	char msg[1024];

	if (config_parse(cfg, text, len, "<stdin>", base_dir, CONFIG_MODE_CNI, msg, sizeof(msg)) < 0)
		return refuse(err, CNI_ERR_INVALID_CONFIG, "invalid config", "%s", msg);
	if (!cfg->cni.name || !cni_safe_component(cfg->cni.name)) {
		config_free(cfg);
		return refuse(err, CNI_ERR_INVALID_CONFIG, "invalid config",
			      "<stdin>: name: a network name is required");
	}
	return 0;
}

static const char *const cni_only_keys[] = {
	"cniVersion", "name", "type", "ifname", "prevResult", "ipam", "dns", "args",
	"runtimeConfig", "capabilities", NULL,
};

/* obj[key], a relative file name, made absolute from dir. */
static int absolute_file(json_t *obj, const char *key, const char *dir)
{
	const char *f = json_string_value(json_object_get(obj, key));
	char abs[PATH_MAX * 2];

	if (!f || f[0] == '/')
		return 0;
	snprintf(abs, sizeof(abs), "%s/%s", dir, f);
	return json_object_set_new(obj, key, json_string(abs));
}

json_t *cni_agent_config(const char *text, size_t len, const char *netns, const char *base_dir)
{
	char cwd[PATH_MAX];
	json_t *cfg = json_loadb(text, len, 0, NULL), *peer;
	size_t i;
	int r = 0;

	if (!json_is_object(cfg)) {
		json_decref(cfg);
		return NULL;
	}
	for (i = 0; cni_only_keys[i]; i++)
		json_object_del(cfg, cni_only_keys[i]);
	if (json_object_set_new(cfg, "netns", json_string(netns)) < 0) {
		json_decref(cfg);
		return NULL;
	}
	if (!base_dir)
		base_dir = getcwd(cwd, sizeof(cwd));
	if (base_dir) {
		r |= absolute_file(cfg, "privateKeyFile", base_dir);
		json_array_foreach(json_object_get(cfg, "peers"), i, peer)
			if (json_is_object(peer))
				r |= absolute_file(peer, "presharedKeyFile", base_dir);
	}
	if (r) {
		json_decref(cfg);
		return NULL;
	}
	return cfg;
}
