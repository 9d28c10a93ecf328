/* SPDX-License-Identifier: BSD-3-Clause */
/* altuntun-cni's input checks (cni_input.c), found wanting by fuzz_cni. */
#include <string.h>

#include "cni_input.h"
#include "cni_result.h"
#include "test.h"

static int env_check(const char *cid, const char *netns, const char *ifname, bool need_netns,
		     struct cni_error *err)
{
	struct cni_env e = { cid, netns, ifname };

	return cni_env_check(&e, need_netns, err);
}

TEST(cni_env_accepted)
{
	struct cni_error err;

	CHECK_EQ(env_check("c0ffee", "/var/run/netns/c1", "wg0", true, &err), 0);
	/* DEL needs no namespace. */
	CHECK_EQ(env_check("c0ffee", NULL, "wg0", false, &err), 0);
	CHECK_EQ(env_check("c0ffee", "relative", "wg0", false, &err), 0);
}

TEST(cni_env_refused)
{
	struct cni_error err;

	CHECK_EQ(env_check(NULL, "/n", "wg0", true, &err), -1);
	CHECK_EQ(err.code, CNI_ERR_BAD_ENV);
	CHECK(!strcmp(err.msg, "CNI_CONTAINERID is not set"));
	CHECK_EQ(env_check("c", NULL, "wg0", true, &err), -1);
	CHECK(!strcmp(err.msg, "CNI_NETNS is not set"));
	CHECK_EQ(env_check("../c", "/n", "wg0", true, &err), -1);
	CHECK_EQ(env_check("c", "/n", "wg0:1", true, &err), -1);
	CHECK_EQ(env_check("c", "/n", "abcdefghijklmnop", true, &err), -1);
	/* fuzz_cni: bytes that are not UTF-8 made json_string() fail, so the
	 * result had no sandbox and the agent no configuration. */
	CHECK_EQ(env_check("c", "/var/run/netns/\x92\x82", "wg0", true, &err), -1);
	CHECK_EQ(err.code, CNI_ERR_BAD_ENV);
	CHECK(strstr(err.msg, "UTF-8"));
	CHECK_EQ(env_check("c\xff", "/n", "wg0", true, &err), -1);
	CHECK_EQ(env_check("c", "/n", "w\xc3", true, &err), -1);
	/* A name without '/' means /var/run/netns/NAME to the agent but a
	 * file in the current directory to the plugin. */
	CHECK_EQ(env_check("c", "netns/c1", "wg0", true, &err), -1);
	CHECK(!strcmp(err.msg, "CNI_NETNS is not an absolute path"));
	CHECK(!strcmp(err.details, "netns/c1"));
}

TEST(cni_agent_config_for_the_state_directory)
{
	static const char text[] =
		"{\"cniVersion\": \"1.0.0\", \"name\": \"n\", \"type\": \"altuntun-cni\","
		" \"privateKeyFile\": \"k\", \"netns\": \"ignored\", \"dns\": {},"
		" \"peers\": [{\"presharedKeyFile\": \"p\"}, {\"presharedKeyFile\": \"/abs/p\"}, 3]}";
	json_t *c = cni_agent_config(text, strlen(text), "/var/run/netns/c1", "/etc/cni");
	json_t *peers;

	CHECK(c);
	CHECK(!json_object_get(c, "cniVersion") && !json_object_get(c, "name") &&
	      !json_object_get(c, "type") && !json_object_get(c, "dns"));
	CHECK(!strcmp(json_string_value(json_object_get(c, "netns")), "/var/run/netns/c1"));
	CHECK(!strcmp(json_string_value(json_object_get(c, "privateKeyFile")), "/etc/cni/k"));
	/* fuzz_cni: a relative presharedKeyFile was left relative, and the
	 * agent looked for it in the state directory. */
	peers = json_object_get(c, "peers");
	CHECK(!strcmp(json_string_value(json_object_get(json_array_get(peers, 0),
							 "presharedKeyFile")),
		      "/etc/cni/p"));
	CHECK(!strcmp(json_string_value(json_object_get(json_array_get(peers, 1),
							 "presharedKeyFile")),
		      "/abs/p"));
	json_decref(c);
	CHECK(!cni_agent_config("[1]", 3, "/n", NULL));
	CHECK(!cni_agent_config("{", 1, "/n", NULL));
}

TEST(cni_decode_refusals)
{
	struct cni_error err;
	const char *v;
	json_t *in;

	CHECK(!cni_decode("[]", 2, &v, &err));
	CHECK_EQ(err.code, CNI_ERR_DECODE);
	CHECK(!cni_decode("{\"cniVersion\": \"0.2.0\"}", 23, &v, &err));
	CHECK_EQ(err.code, CNI_ERR_INCOMPATIBLE_VERSION);
	in = cni_decode("{\"cniVersion\": \"1.1.0\", \"name\": \"a/b\"}", 38, &v, &err);
	CHECK(in && v && !strcmp(v, "1.1.0"));
	CHECK_EQ(cni_net_name(in, &v, &err), -1);
	CHECK_EQ(err.code, CNI_ERR_INVALID_CONFIG);
	json_decref(in);
}
