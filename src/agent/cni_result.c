// SPDX-License-Identifier: BSD-3-Clause
/*
 * altuntun-cni: CNI result and error objects.
 *
 * Result formats: 0.3.0/0.3.1/0.4.0 carry "version" ("4"/"6") in each ips
 * entry; 1.0.0 drops it; 1.1.0 adds "mtu" to interfaces (and routes may
 * carry "mtu").
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "cni_result.h"

static const char *const versions[] = { "0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0" };

int cni_version_supported(const char *v)
{
	for (size_t i = 0; i < sizeof(versions) / sizeof(versions[0]); i++)
		if (v && !strcmp(v, versions[i]))
			return 1;
	return 0;
}

static int is_old(const char *v) /* 0.3.x, 0.4.0: ips have "version" */
{
	return v && v[0] == '0';
}

static int is_11(const char *v)
{
	return v && !strcmp(v, "1.1.0");
}

void cni_prefix_str(const struct config_prefix *p, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN] = "";

	inet_ntop(p->family, &p->addr, a, sizeof(a));
	snprintf(buf, len, "%s/%u", a, (unsigned)p->cidr);
}

/* "4" or "6" from an "address/len" string. */
static const char *ip_version_of(const char *addr)
{
	return strchr(addr, ':') ? "6" : "4";
}

json_t *cni_result_build(const struct config *cfg, const char *ifname, const char *sandbox,
			 unsigned mtu)
{
	const char *ver = cfg->cni.cni_version ? cfg->cni.cni_version : "1.1.0";
	json_t *res = json_object(), *ifs = NULL, *ips = NULL, *routes = NULL, *dns = NULL;
	json_t *prev = cfg->cni.prev_result, *itf, *v;
	size_t idx, i;
	char buf[96];

	json_object_set_new(res, "cniVersion", json_string(ver));
	if (prev) {
		ifs = json_deep_copy(json_object_get(prev, "interfaces"));
		ips = json_deep_copy(json_object_get(prev, "ips"));
		routes = json_deep_copy(json_object_get(prev, "routes"));
		dns = json_deep_copy(json_object_get(prev, "dns"));
	}
	if (!json_is_array(ifs)) {
		json_decref(ifs);
		ifs = json_array();
	}
	if (!json_is_array(ips)) {
		json_decref(ips);
		ips = json_array();
	}
	if (!json_is_array(routes)) {
		json_decref(routes);
		routes = json_array();
	}
	/* prevResult's ips in the requested format */
	json_array_foreach(ips, i, v) {
		const char *a = json_string_value(json_object_get(v, "address"));

		if (!json_is_object(v))
			continue;
		if (is_old(ver)) {
			if (!json_object_get(v, "version") && a)
				json_object_set_new(v, "version", json_string(ip_version_of(a)));
		} else {
			json_object_del(v, "version");
		}
	}

	itf = json_object();
	json_object_set_new(itf, "name", json_string(ifname));
	/* A TUN has no hardware address, and the spec makes "mac" optional, but
	 * podman 4.3 (containers/common 0.50, CNIResultToStatus) refuses a
	 * sandbox interface whose mac does not parse: report the null one. */
	json_object_set_new(itf, "mac", json_string(CNI_NO_MAC));
	json_object_set_new(itf, "sandbox", json_string(sandbox));
	if (is_11(ver))
		json_object_set_new(itf, "mtu", json_integer(mtu));
	idx = json_array_size(ifs);
	json_array_append_new(ifs, itf);

	for (i = 0; i < cfg->iface.n_addresses; i++) {
		json_t *ip = json_object();

		cni_prefix_str(&cfg->iface.addresses[i], buf, sizeof(buf));
		json_object_set_new(ip, "address", json_string(buf));
		if (is_old(ver))
			json_object_set_new(ip, "version", json_string(ip_version_of(buf)));
		json_object_set_new(ip, "interface", json_integer((json_int_t)idx));
		json_array_append_new(ips, ip);
	}
	for (i = 0; i < cfg->iface.n_routes; i++) {
		json_t *r = json_object();

		cni_prefix_str(&cfg->iface.routes[i].dst, buf, sizeof(buf));
		json_object_set_new(r, "dst", json_string(buf));
		if (is_11(ver) && cfg->iface.routes[i].mtu)
			json_object_set_new(r, "mtu", json_integer(cfg->iface.routes[i].mtu));
		json_array_append_new(routes, r);
	}
	if (!dns && cfg->cni.dns)
		dns = json_deep_copy(cfg->cni.dns);
	if (!dns)
		dns = json_object();

	json_object_set_new(res, "interfaces", ifs);
	json_object_set_new(res, "ips", ips);
	json_object_set_new(res, "routes", routes);
	json_object_set_new(res, "dns", dns);
	return res;
}

void cni_print_error(const char *version, int code, const char *msg, const char *details)
{
	json_t *e = json_object();
	char *s;

	json_object_set_new(e, "cniVersion",
			    json_string(version && cni_version_supported(version) ? version : "1.1.0"));
	json_object_set_new(e, "code", json_integer(code));
	json_object_set_new(e, "msg", json_string(msg ? msg : ""));
	if (details && *details)
		json_object_set_new(e, "details", json_string(details));
	s = json_dumps(e, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	if (s) {
		printf("%s\n", s);
		free(s);
	}
	json_decref(e);
	fflush(stdout);
}
