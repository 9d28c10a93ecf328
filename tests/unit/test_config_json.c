// SPDX-License-Identifier: BSD-3-Clause
/*
 * JSON configuration files: what each key becomes, every kind of mistake
 * refused with the exact FILE:LINE:COLUMN of the offending value, key files
 * and their permission warnings, CNI mode, the example configs in configs/,
 * and applying a configuration exactly as the equivalent UAPI set request.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "altuntun.h"
#include "config_json.h"
#include "json_position.h"
#include "options.h"
#include "fake_iface.h"
#include "test.h"
#include "uapi_internal.h"

/* Key pairs made with wg genkey / wg pubkey for these tests. */
#define PRIV1 "GPOF84guh/683A1Iv4rgw/DlwVx7aqZQEL4rHRZtmVI="
#define PUB1 "/GPHtqnTouEFwB38qVKebIgfY/puSV+M8WICP7HD5T8="
#define PRIV2 "mHx1ePB8YIv3XagAWhA/vToYk+JnxJfDMLdVCWeve0g="
#define PUB2 "u04e3oxku839uT3lVxL61MRUO1aYzQ76xlvVHc3BcAc="
#define PUB3 "g017TOMnhcCNs0voux+cl+gp3LWlN3cBfifZLv89eSM="
#define PUB4 "vD1p2MyqcjHdM7p/kEVGMSvtBrZ7MtRYqPI0t798qCs="
#define PSK1 "IuCFwahFxYR1PEDZhsgvuYFeMZLsXepe2ZQqWZ7Iv8Y="

static int parse(struct config *cfg, const char *text, enum config_mode mode, char *err,
		 size_t errlen)
{
	return config_parse(cfg, text, strlen(text), "c.json", NULL, mode, err, errlen);
}

static void parse_ok(struct config *cfg, const char *text, enum config_mode mode, int line)
{
	char err[1024];

	if (parse(cfg, text, mode, err, sizeof(err)))
		test_fail(__FILE__, line, "refused: %s", err);
}

#define PARSE_OK(cfg, text) parse_ok(cfg, text, CONFIG_MODE_AGENT, __LINE__)

static void expect_error(const char *text, enum config_mode mode, const char *want, int line)
{
	struct config cfg;
	char err[1024];
	int r = parse(&cfg, text, mode, err, sizeof(err));

	if (r != -EINVAL || strcmp(err, want))
		test_fail(__FILE__, line, "got %d\n      \"%s\"\n    want\n      \"%s\"", r, err,
			  want);
	/* Nothing is left to free, and freeing again is harmless. */
	CHECK_EQ(cfg.set.n_peers, 0);
	CHECK(cfg.iface.addresses == NULL);
	config_free(&cfg);
}

#define EXPECT_ERROR(text, want) expect_error(text, CONFIG_MODE_AGENT, want, __LINE__)
#define EXPECT_CNI_ERROR(text, want) expect_error(text, CONFIG_MODE_CNI, want, __LINE__)

static void key_of(uint8_t key[ALTUNTUN_KEY_LEN], const char *b64)
{
	CHECK_EQ(altuntun_key_from_base64(key, b64), 0);
}

/* ---- what each key becomes ---- */

TEST(config_minimal)
{
	struct config cfg;
	uint8_t k[ALTUNTUN_KEY_LEN];
	const struct uapi_peer_change *pc;

	PARSE_OK(&cfg, "{\"privateKey\": \"" PRIV1 "\", \"peers\": [{\"publicKey\": \"" PUB2
		       "\", \"endpoint\": \"192.0.2.1:51820\", \"allowedIPs\": [\"10.0.0.1/24\"]}]}");
	CHECK_EQ(cfg.set.flags, UAPI_DEV_HAS_PRIVATE_KEY | UAPI_DEV_REPLACE_PEERS);
	key_of(k, PRIV1);
	CHECK_MEM(cfg.set.private_key, k, sizeof(k));
	CHECK(cfg.set.changes);
	CHECK_EQ(cfg.set.n_peers, 1);
	pc = &cfg.set.peers[0];
	key_of(k, PUB2);
	CHECK_MEM(pc->public_key, k, sizeof(k));
	CHECK_EQ(pc->flags, UAPI_PEER_HAS_ENDPOINT | UAPI_PEER_REPLACE_ALLOWED_IPS);
	CHECK_EQ(pc->endpoint.sa.sa_family, AF_INET);
	CHECK_EQ(pc->endpoint_len, sizeof(struct sockaddr_in));
	CHECK_EQ(ntohs(pc->endpoint.in4.sin_port), 51820);
	CHECK_EQ(ntohl(pc->endpoint.in4.sin_addr.s_addr), 0xc0000201);
	/* Host bits of allowed IPs are cleared, as the UAPI does. */
	CHECK_EQ(pc->n_prefixes, 1);
	CHECK_EQ(pc->prefixes[0].family, AF_INET);
	CHECK_EQ(pc->prefixes[0].cidr, 24);
	CHECK_EQ(ntohl(pc->prefixes[0].addr.v4.s_addr), 0x0a000000);
	CHECK(!pc->prefixes[0].remove);
	CHECK_EQ(cfg.iface.flags, 0);
	CHECK_EQ(cfg.n_warnings, 0);
	config_free(&cfg);
	CHECK(cfg.set.peers == NULL);
}

TEST(config_empty_object)
{
	struct config cfg;

	PARSE_OK(&cfg, "{}");
	/* The peers are replaced even by an empty file: it says there are none. */
	CHECK_EQ(cfg.set.flags, UAPI_DEV_REPLACE_PEERS);
	CHECK_EQ(cfg.set.n_peers, 0);
	config_free(&cfg);
}

TEST(config_interface_fields)
{
	struct config cfg;
	const struct config_iface *ifc = &cfg.iface;
	char a[INET6_ADDRSTRLEN];

	PARSE_OK(&cfg, "{\"listenPort\": 51820, \"fwmark\": 4294967295, \"mtu\": 1380,\n"
		       " \"addresses\": [\"10.0.0.1/24\", \"fd00::1/64\"],\n"
		       " \"routes\": [\"10.1.0.0/16\", {\"dst\": \"fd00:1::/48\", \"mtu\": 1280},\n"
		       "            {\"dst\": \"0.0.0.0/0\"}],\n"
		       " \"netns\": \"pid:1\"}");
	CHECK_EQ(ifc->flags, CONFIG_IFACE_HAS_LISTEN_PORT | CONFIG_IFACE_HAS_FWMARK |
				     CONFIG_IFACE_HAS_MTU | CONFIG_IFACE_HAS_NETNS);
	CHECK_EQ(cfg.set.flags, UAPI_DEV_HAS_LISTEN_PORT | UAPI_DEV_HAS_FWMARK |
					UAPI_DEV_REPLACE_PEERS);
	CHECK_EQ(ifc->listen_port, 51820);
	CHECK_EQ(cfg.set.listen_port, 51820);
	CHECK_EQ(ifc->fwmark, 4294967295u);
	CHECK_EQ(cfg.set.fwmark, 4294967295u);
	CHECK_EQ(ifc->mtu, 1380);
	/* Addresses keep their host bits. */
	CHECK_EQ(ifc->n_addresses, 2);
	CHECK_EQ(ifc->addresses[0].family, AF_INET);
	CHECK_EQ(ntohl(ifc->addresses[0].addr.v4.s_addr), 0x0a000001);
	CHECK_EQ(ifc->addresses[0].cidr, 24);
	CHECK_EQ(ifc->addresses[1].family, AF_INET6);
	inet_ntop(AF_INET6, &ifc->addresses[1].addr.v6, a, sizeof(a));
	CHECK(!strcmp(a, "fd00::1"));
	CHECK_EQ(ifc->addresses[1].cidr, 64);
	CHECK_EQ(ifc->n_routes, 3);
	CHECK_EQ(ifc->routes[0].dst.family, AF_INET);
	CHECK_EQ(ntohl(ifc->routes[0].dst.addr.v4.s_addr), 0x0a010000);
	CHECK_EQ(ifc->routes[0].dst.cidr, 16);
	CHECK_EQ(ifc->routes[0].mtu, 0);
	CHECK_EQ(ifc->routes[1].dst.family, AF_INET6);
	CHECK_EQ(ifc->routes[1].dst.cidr, 48);
	CHECK_EQ(ifc->routes[1].mtu, 1280);
	CHECK_EQ(ifc->routes[2].dst.cidr, 0);
	CHECK(!strcmp(ifc->netns, "pid:1"));
	CHECK(!strcmp(ifc->netns_where, "c.json:5:11"));
	config_free(&cfg);
}

TEST(config_fwmark_forms)
{
	struct config cfg;

	PARSE_OK(&cfg, "{\"fwmark\": \"0xCA6c\"}");
	CHECK_EQ(cfg.set.fwmark, 0xca6c);
	config_free(&cfg);
	PARSE_OK(&cfg, "{\"fwmark\": \"0xffffffff\"}");
	CHECK_EQ(cfg.set.fwmark, 0xffffffffu);
	config_free(&cfg);
	PARSE_OK(&cfg, "{\"fwmark\": 0}");
	CHECK_EQ(cfg.set.fwmark, 0);
	CHECK(cfg.set.flags & UAPI_DEV_HAS_FWMARK);
	config_free(&cfg);
	EXPECT_ERROR("{\"fwmark\": \"0x1g\"}",
		     "c.json:1:12: fwmark: \"0x1g\" is not a fwmark: expected an integer from 0 to "
		     "4294967295 or a hexadecimal string such as \"0x1234\"");
	EXPECT_ERROR("{\"fwmark\": \"0x100000000\"}",
		     "c.json:1:12: fwmark: \"0x100000000\" is not a fwmark: expected an integer from "
		     "0 to 4294967295 or a hexadecimal string such as \"0x1234\"");
	EXPECT_ERROR("{\"fwmark\": \"51820\"}",
		     "c.json:1:12: fwmark: \"51820\" is not a fwmark: expected an integer from 0 to "
		     "4294967295 or a hexadecimal string such as \"0x1234\"");
	EXPECT_ERROR("{\"fwmark\": true}",
		     "c.json:1:12: fwmark: expected an integer from 0 to 4294967295 or a "
		     "hexadecimal string such as \"0x1234\", got true");
}

TEST(config_peer_fields)
{
	struct config cfg;
	const struct uapi_peer_change *pc;
	uint8_t k[ALTUNTUN_KEY_LEN];
	char a[INET6_ADDRSTRLEN];

	PARSE_OK(&cfg, "{\"peers\": [\n"
		       " {\"publicKey\": \"" PUB3 "\", \"presharedKey\": \"" PSK1 "\",\n"
		       "  \"endpoint\": \"[2001:db8::2]:51821\", \"persistentKeepalive\": 25,\n"
		       "  \"allowedIPs\": [\"fd00::5/64\", \"10.0.0.0/8\", \"0.0.0.0/0\"]},\n"
		       " {\"publicKey\": \"" PUB4 "\", \"allowedIPs\": [], \"persistentKeepalive\": 0}\n"
		       "]}");
	CHECK_EQ(cfg.set.n_peers, 2);
	pc = &cfg.set.peers[0];
	CHECK_EQ(pc->flags, UAPI_PEER_HAS_PRESHARED_KEY | UAPI_PEER_HAS_ENDPOINT |
				    UAPI_PEER_HAS_KEEPALIVE | UAPI_PEER_REPLACE_ALLOWED_IPS);
	key_of(k, PSK1);
	CHECK_MEM(pc->preshared_key, k, sizeof(k));
	CHECK_EQ(pc->keepalive, 25);
	CHECK_EQ(pc->endpoint.sa.sa_family, AF_INET6);
	CHECK_EQ(pc->endpoint_len, sizeof(struct sockaddr_in6));
	CHECK_EQ(ntohs(pc->endpoint.in6.sin6_port), 51821);
	inet_ntop(AF_INET6, &pc->endpoint.in6.sin6_addr, a, sizeof(a));
	CHECK(!strcmp(a, "2001:db8::2"));
	CHECK_EQ(pc->n_prefixes, 3);
	inet_ntop(AF_INET6, &pc->prefixes[0].addr.v6, a, sizeof(a));
	CHECK(!strcmp(a, "fd00::"));
	CHECK_EQ(pc->prefixes[0].cidr, 64);
	CHECK_EQ(pc->prefixes[2].cidr, 0);
	pc = &cfg.set.peers[1];
	CHECK_EQ(pc->flags, UAPI_PEER_HAS_KEEPALIVE | UAPI_PEER_REPLACE_ALLOWED_IPS);
	CHECK_EQ(pc->keepalive, 0);
	CHECK_EQ(pc->n_prefixes, 0);
	config_free(&cfg);
}

/* Host names are resolved while the file is read (localhost: /etc/hosts). */
TEST(config_endpoint_host_name)
{
	struct config cfg;
	const struct uapi_peer_change *pc;

	PARSE_OK(&cfg, "{\"peers\": [{\"publicKey\": \"" PUB3 "\", \"endpoint\": \"localhost:51820\"}]}");
	pc = &cfg.set.peers[0];
	CHECK(pc->flags & UAPI_PEER_HAS_ENDPOINT);
	if (pc->endpoint.sa.sa_family == AF_INET) {
		CHECK_EQ(ntohl(pc->endpoint.in4.sin_addr.s_addr), INADDR_LOOPBACK);
		CHECK_EQ(ntohs(pc->endpoint.in4.sin_port), 51820);
	} else {
		CHECK_EQ(pc->endpoint.sa.sa_family, AF_INET6);
		CHECK(IN6_IS_ADDR_LOOPBACK(&pc->endpoint.in6.sin6_addr));
		CHECK_EQ(ntohs(pc->endpoint.in6.sin6_port), 51820);
	}
	config_free(&cfg);
	EXPECT_ERROR("{\"peers\": [{\"publicKey\": \"" PUB3 "\", \"endpoint\": \"no-such-host.invalid:1\"}]}",
		     "c.json:1:86: peers[0].endpoint: cannot resolve host name "
		     "\"no-such-host.invalid\": Name or service not known");
}

/* ---- mistakes, each placed exactly ---- */

/* The example of the reference documentation (docs/config.md). */
TEST(config_error_bad_allowed_ip_position)
{
	EXPECT_ERROR("{\n"
		     "  \"privateKey\": \"" PRIV1 "\",\n"
		     "  \"peers\": [\n"
		     "    {\n"
		     "      \"publicKey\": \"" PUB3 "\",\n"
		     "      \"allowedIPs\": [\"10.0.0.0/24\"]\n"
		     "    },\n"
		     "    {\n"
		     "      \"publicKey\": \"" PUB4 "\",\n"
		     "      \"allowedIPs\": [\n"
		     "        \"10.1.0.0/24\", \"10.2.0.0/24\", \"10.3.0.0/24\",\n"
		     "      \"10.0.0.1/33\"\n"
		     "      ]\n"
		     "    }\n"
		     "  ]\n"
		     "}\n",
		     "c.json:12:7: peers[1].allowedIPs[3]: \"10.0.0.1/33\" is not an IP prefix");
}

TEST(config_error_syntax)
{
	/* jansson's own position and text. */
	EXPECT_ERROR("{\n  \"mtu\": 1420\n  \"listenPort\": 1\n}",
		     "c.json:3:14: '}' expected near '\"listenPort\"'");
	EXPECT_ERROR("{\n  \"mtu\": x\n}", "c.json:2:10: invalid token near 'x'");
	EXPECT_ERROR("", "c.json:1:1: '[' or '{' expected near end of file");
	EXPECT_ERROR("{\"mtu\": 1420", "c.json:1:12: '}' expected near end of file");
	EXPECT_ERROR("{\"mtu\": 1420, \"mtu\": 1280}",
		     "c.json:1:19: duplicate object key near '\"mtu\"'");
	EXPECT_ERROR("{\"mtu\": 99999999999999999999}",
		     "c.json:1:28: too big integer near '99999999999999999999'");
	EXPECT_ERROR("{} {}", "c.json:1:4: end of file expected near '{'");
	/* The input jansson quotes stays on one line (fuzz_config_json found
	 * a newline there: tests/fuzz/crashes/). */
	EXPECT_ERROR("{\"n\\\\\\\n}", "c.json:2:1: invalid escape near '\"n\\\\\\\\u000a'");
}

TEST(config_error_not_an_object)
{
	EXPECT_ERROR("  [1, 2]", "c.json:1:3: the configuration must be a JSON object, not an array");
}

TEST(config_error_unknown_key)
{
	EXPECT_ERROR("{\n  \"listen_port\": 51820\n}",
		     "c.json:2:3: listen_port: unknown key (did you mean \"listenPort\"?)");
	EXPECT_ERROR("{\n  \"mtu\": 1420,\n  \"colour\": \"blue\"\n}",
		     "c.json:3:3: colour: unknown key");
	EXPECT_ERROR("{\"peers\": [{\"publicKey\": \"" PUB3 "\",\n"
		     "             \"AllowedIPs\": []}]}",
		     "c.json:2:14: peers[0].AllowedIPs: unknown key (did you mean \"allowedIPs\"?)");
	EXPECT_ERROR("{\"routes\": [{\"dst\": \"10.1.0.0/16\", \"metric\": 5}]}",
		     "c.json:1:36: routes[0].metric: unknown key");
}

TEST(config_error_wrong_type)
{
	EXPECT_ERROR("{\n  \"listenPort\": \"51820\"\n}",
		     "c.json:2:17: listenPort: expected an integer from 0 to 65535, got a string");
	EXPECT_ERROR("{\"listenPort\": 51820.0}",
		     "c.json:1:16: listenPort: expected an integer from 0 to 65535, got a number "
		     "with a fraction or exponent");
	EXPECT_ERROR("{\"mtu\": null}",
		     "c.json:1:9: mtu: expected an integer from 68 to 65535, got null");
	EXPECT_ERROR("{\"peers\": {}}", "c.json:1:11: peers: expected an array of peer objects, "
					  "got an object");
	EXPECT_ERROR("{\"peers\": [\"" PUB3 "\"]}",
		     "c.json:1:12: peers[0]: expected a peer object, got a string");
	EXPECT_ERROR("{\"addresses\": \"10.0.0.1/24\"}",
		     "c.json:1:15: addresses: expected an array of addresses with prefix lengths, "
		     "got a string");
	EXPECT_ERROR("{\"addresses\": [167772161]}",
		     "c.json:1:16: addresses[0]: expected a string, got an integer");
	EXPECT_ERROR("{\"routes\": [false]}",
		     "c.json:1:13: routes[0]: expected a prefix string or an object {\"dst\": ..., "
		     "\"mtu\": ...}, got false");
	EXPECT_ERROR("{\"peers\": [{\"publicKey\": \"" PUB3 "\", \"allowedIPs\": \"10.0.0.0/8\"}]}",
		     "c.json:1:88: peers[0].allowedIPs: expected an array of IP prefixes, got a string");
	EXPECT_ERROR("{\"netns\": 1}", "c.json:1:11: netns: expected a string, got an integer");
	EXPECT_ERROR("{\"privateKey\": true}",
		     "c.json:1:16: privateKey: expected a string, got true");
}

TEST(config_error_out_of_range)
{
	EXPECT_ERROR("{\"listenPort\": 65536}",
		     "c.json:1:16: listenPort: 65536 is out of range (0 to 65535)");
	EXPECT_ERROR("{\"listenPort\": -1}",
		     "c.json:1:16: listenPort: -1 is out of range (0 to 65535)");
	EXPECT_ERROR("{\"mtu\": 67}", "c.json:1:9: mtu: 67 is out of range (68 to 65535)");
	EXPECT_ERROR("{\"mtu\": 65536}", "c.json:1:9: mtu: 65536 is out of range (68 to 65535)");
	EXPECT_ERROR("{\"fwmark\": 4294967296}",
		     "c.json:1:12: fwmark: 4294967296 is out of range (0 to 4294967295)");
	EXPECT_ERROR("{\"peers\": [{\"publicKey\": \"" PUB3 "\",\n"
		     "  \"persistentKeepalive\": 65536}]}",
		     "c.json:2:26: peers[0].persistentKeepalive: 65536 is out of range (0 to 65535)");
	EXPECT_ERROR("{\"routes\": [{\"dst\": \"10.1.0.0/16\", \"mtu\": 40}]}",
		     "c.json:1:43: routes[0].mtu: 40 is out of range (68 to 65535)");
	/* An interface with an IPv6 address needs an MTU of 1280. */
	EXPECT_ERROR("{\"mtu\": 1000, \"addresses\": [\"10.0.0.1/24\", \"fd00::1/64\"]}",
		     "c.json:1:9: mtu: 1000 is below 1280, the least MTU of an interface with an "
		     "IPv6 address (addresses[1])");
}

TEST(config_error_bad_keys)
{
	/* Private and preshared keys are never shown. */
	EXPECT_ERROR("{\"privateKey\": \"abc\"}",
		     "c.json:1:16: privateKey: not a valid key: expected 44 characters of base64, "
		     "as `wg genkey` prints (the value is not shown)");
	/* Unused low bits set: the same bytes, but not the encoding wg writes. */
	EXPECT_ERROR("{\"privateKey\": \"GPOF84guh/683A1Iv4rgw/DlwVx7aqZQEL4rHRZtmVJ=\"}",
		     "c.json:1:16: privateKey: not a valid key: expected 44 characters of base64, "
		     "as `wg genkey` prints (the value is not shown)");
	EXPECT_ERROR("{\"peers\": [{\"publicKey\": \"" PUB3 "\", \"presharedKey\": \"" PUB3 "x\"}]}",
		     "c.json:1:90: peers[0].presharedKey: not a valid key: expected 44 characters "
		     "of base64, as `wg genkey` prints (the value is not shown)");
	EXPECT_ERROR("{\"peers\": [{\"publicKey\": \"0123456789abcdef\"}]}",
		     "c.json:1:26: peers[0].publicKey: \"0123456789abcdef\" is not a valid key: "
		     "expected 44 characters of base64, as `wg pubkey` prints");
}

TEST(config_error_duplicates_and_conflicts)
{
	EXPECT_ERROR("{\"peers\": [\n"
		     "  {\"publicKey\": \"" PUB3 "\"},\n"
		     "  {\"publicKey\": \"" PUB4 "\"},\n"
		     "  {\"allowedIPs\": [], \"publicKey\": \"" PUB3 "\"}\n"
		     "]}",
		     "c.json:4:35: peers[2].publicKey: the same public key as peers[0]");
	EXPECT_ERROR("{\n  \"privateKey\": \"" PRIV1 "\",\n  \"privateKeyFile\": \"/nonexistent\"\n}",
		     "c.json:3:3: privateKeyFile: privateKey and privateKeyFile cannot both be given");
	EXPECT_ERROR("{\"peers\": [{\"publicKey\": \"" PUB3 "\", \"presharedKey\": \"" PSK1 "\",\n"
		     "  \"presharedKeyFile\": \"/nonexistent\"}]}",
		     "c.json:2:3: peers[0].presharedKeyFile: presharedKey and presharedKeyFile "
		     "cannot both be given");
	EXPECT_ERROR("{\"addresses\": [\"10.0.0.1/24\", \"10.0.0.2/24\", \"10.0.0.1/16\"]}",
		     "c.json:1:46: addresses[2]: the same address as addresses[0]");
	EXPECT_ERROR("{\"routes\": [\"10.1.0.0/16\", {\"dst\": \"10.1.0.0/16\", \"mtu\": 1280}]}",
		     "c.json:1:28: routes[1]: the same destination as routes[0]");
	/* A peer with the interface's own key (ignored by the UAPI) is a mistake here. */
	EXPECT_ERROR("{\"peers\": [{\"publicKey\": \"" PUB1 "\"}],\n \"privateKey\": \"" PRIV1 "\"}",
		     "c.json:1:26: peers[0].publicKey: is the public key of the interface's own "
		     "private key");
}

TEST(config_error_missing)
{
	EXPECT_ERROR("{\"peers\": [{\"endpoint\": \"192.0.2.1:51820\"}]}",
		     "c.json:1:12: peers[0]: publicKey is missing");
	EXPECT_ERROR("{\"routes\": [\n    {\"mtu\": 1400}]}", "c.json:2:5: routes[0]: dst is missing");
}

TEST(config_error_bad_addresses)
{
	EXPECT_ERROR("{\"addresses\": [\"10.0.0.1/24\", \"10.0.0.300/24\"]}",
		     "c.json:1:31: addresses[1]: \"10.0.0.300/24\" is not an IP prefix");
	EXPECT_ERROR("{\"addresses\": [\"10.0.0.1\"]}",
		     "c.json:1:16: addresses[0]: \"10.0.0.1\" is not an IP prefix");
	EXPECT_ERROR("{\"addresses\": [\"fd00::1/129\"]}",
		     "c.json:1:16: addresses[0]: \"fd00::1/129\" is not an IP prefix");
	EXPECT_ERROR("{\"addresses\": [\"10.0.0.1/024\"]}",
		     "c.json:1:16: addresses[0]: \"10.0.0.1/024\" is not an IP prefix");
	EXPECT_ERROR("{\"addresses\": [\"fe80::1%eth0/64\"]}",
		     "c.json:1:16: addresses[0]: \"fe80::1%eth0/64\" is not an IP prefix");
	/* The UAPI's removal syntax has no place here. */
	EXPECT_ERROR("{\"peers\": [{\"publicKey\": \"" PUB3 "\", \"allowedIPs\": [\"-10.0.0.0/8\"]}]}",
		     "c.json:1:89: peers[0].allowedIPs[0]: \"-10.0.0.0/8\" is not an IP prefix");
	EXPECT_ERROR("{\"routes\": [\"10.1.2.3/16\"]}",
		     "c.json:1:13: routes[0]: \"10.1.2.3/16\" has host bits set (did you mean "
		     "\"10.1.0.0/16\"?)");
	EXPECT_ERROR("{\"routes\": [{\"dst\": \"fd00:1::1/48\"}]}",
		     "c.json:1:21: routes[0].dst: \"fd00:1::1/48\" has host bits set (did you mean "
		     "\"fd00:1::/48\"?)");
}

TEST(config_error_bad_endpoints)
{
#define EP(s) "{\"peers\": [{\"publicKey\": \"" PUB3 "\", \"endpoint\": " s "}]}"
	/* The endpoint value starts at column 86. */
	EXPECT_ERROR(EP("\"fd00::1:51820\""),
		     "c.json:1:86: peers[0].endpoint: \"fd00::1:51820\" is not an endpoint: an IPv6 "
		     "address is written in brackets, \"[address]:port\"");
	EXPECT_ERROR(EP("\"192.0.2.1\""),
		     "c.json:1:86: peers[0].endpoint: \"192.0.2.1\" is not an endpoint: expected "
		     "\"host:port\", \"IPv4 address:port\" or \"[IPv6 address]:port\"");
	EXPECT_ERROR(EP("\"192.0.2.1:65536\""),
		     "c.json:1:86: peers[0].endpoint: \"192.0.2.1:65536\" is not an endpoint: "
		     "expected \"host:port\", \"IPv4 address:port\" or \"[IPv6 address]:port\"");
	EXPECT_ERROR(EP("\"192.0.2.300:51820\""),
		     "c.json:1:86: peers[0].endpoint: \"192.0.2.300:51820\" is not an endpoint: the "
		     "IPv4 address is invalid");
	EXPECT_ERROR(EP("\"192.0.2.1:0\""),
		     "c.json:1:86: peers[0].endpoint: \"192.0.2.1:0\" is not an endpoint: port 0");
	EXPECT_ERROR(EP("\"[2001:db8::1]\""),
		     "c.json:1:86: peers[0].endpoint: \"[2001:db8::1]\" is not an endpoint: expected "
		     "\"[IPv6 address]:port\"");
	EXPECT_ERROR(EP("\"bad host:1\""),
		     "c.json:1:86: peers[0].endpoint: \"bad host:1\" is not an endpoint: the host is "
		     "neither an IPv4 address nor a host name");
	EXPECT_ERROR(EP("51820"),
		     "c.json:1:86: peers[0].endpoint: expected a string, got an integer");
#undef EP
}

TEST(config_error_netns)
{
	EXPECT_ERROR("{\"netns\": \"\"}", "c.json:1:11: netns: expected a non-empty string");
	EXPECT_ERROR("{\"netns\": \"pid:x\"}",
		     "c.json:1:11: netns: \"pid:x\": expected \"pid:\" and a process id");
	EXPECT_ERROR("{\"netns\": \"pid:0\"}",
		     "c.json:1:11: netns: \"pid:0\": expected \"pid:\" and a process id");
	EXPECT_ERROR("{\"netns\": \"run/netns/x\"}",
		     "c.json:1:11: netns: \"run/netns/x\": a path to a namespace must be absolute");
	EXPECT_ERROR("{\"netns\": \"..\"}", "c.json:1:11: netns: \"..\" is not a namespace name");
}

/* Columns count characters (as jansson's), tabs count one, CRLF ends a line,
 * and member names written with escapes are found. */
TEST(config_error_positions_in_odd_text)
{
	EXPECT_ERROR("{\"netns\": \"\xc3\xa9\", \"mtu\": 5}",
		     "c.json:1:23: mtu: 5 is out of range (68 to 65535)");
	EXPECT_ERROR("{\r\n\t\"mtu\": 1\r\n}", "c.json:2:9: mtu: 1 is out of range (68 to 65535)");
	EXPECT_ERROR("{\"peers\": [{\"public\\u004bey\": \"bad\"}]}",
		     "c.json:1:31: peers[0].publicKey: \"bad\" is not a valid key: expected 44 "
		     "characters of base64, as `wg pubkey` prints");
	EXPECT_ERROR("{\"a\\\"b\\u00e9\\ud83d\\ude00\": 1, \"mtu\": 5}",
		     "c.json:1:2: a\"b\xc3\xa9\xf0\x9f\x98\x80: unknown key");
	/* Values skipped on the way hold brackets and quotes in strings. */
	EXPECT_CNI_ERROR("{\"args\": {\"m\\\"tu\": [1, {\"q\": \"}]\\\\\"}, -2.5e3, true, null]},"
			 " \"mtu\": 5}",
			 "c.json:1:68: mtu: 5 is out of range (68 to 65535)");
	EXPECT_ERROR("{\"netns\": \"a\", \"routes\": [\"10.0.0.0/8\", {\"dst\": \"1.0.0.0/8\", "
		     "\"mtu\": 1400}, [], \"x\"]}",
		     "c.json:1:76: routes[2]: expected a prefix string or an object {\"dst\": ..., "
		     "\"mtu\": ...}, got an array");
	/* Control characters in a value are escaped in the message. */
	EXPECT_ERROR("{\"addresses\": [\"a\\nb\"]}",
		     "c.json:1:16: addresses[0]: \"a\\u000ab\" is not an IP prefix");
}

/* ---- CNI ---- */

TEST(config_cni_keys)
{
	struct config cfg;

	EXPECT_ERROR("{\n  \"cniVersion\": \"1.0.0\"\n}",
		     "c.json:2:3: cniVersion: a key of CNI network configurations, accepted only by "
		     "altuntun-cni");
	EXPECT_ERROR("{\"mtu\": 1420, \"prevResult\": {}}",
		     "c.json:1:15: prevResult: a key of CNI network configurations, accepted only "
		     "by altuntun-cni");
	parse_ok(&cfg,
		 "{\"cniVersion\": \"1.0.0\", \"name\": \"wg\", \"type\": \"altuntun-cni\",\n"
		 " \"ipam\": {\"type\": \"host-local\"}, \"dns\": {}, \"args\": {\"cni\": {}},\n"
		 " \"runtimeConfig\": {\"mac\": \"x\"}, \"capabilities\": {\"mac\": true},\n"
		 " \"prevResult\": {\"cniVersion\": \"1.0.0\", \"ips\": [{\"address\": \"10.0.0.2/24\"}]},\n"
		 " \"privateKey\": \"" PRIV1 "\", \"addresses\": [\"10.9.0.1/32\"]}",
		 CONFIG_MODE_CNI, __LINE__);
	CHECK(!strcmp(cfg.cni.cni_version, "1.0.0"));
	CHECK(!strcmp(cfg.cni.name, "wg"));
	CHECK(!strcmp(cfg.cni.type, "altuntun-cni"));
	CHECK(json_is_object(cfg.cni.prev_result));
	CHECK(!strcmp(json_string_value(json_object_get(cfg.cni.prev_result, "cniVersion")),
		      "1.0.0"));
	CHECK(json_is_array(json_object_get(cfg.cni.prev_result, "ips")));
	CHECK(json_is_object(cfg.cni.ipam));
	CHECK(json_is_object(cfg.cni.dns));
	CHECK(json_is_object(cfg.cni.args));
	CHECK(json_is_object(cfg.cni.runtime_config));
	CHECK(json_is_object(cfg.cni.capabilities));
	CHECK_EQ(cfg.iface.n_addresses, 1);
	CHECK(cfg.set.flags & UAPI_DEV_HAS_PRIVATE_KEY);
	config_free(&cfg);
	CHECK(cfg.cni.prev_result == NULL);

	/* Absent CNI keys stay NULL; the interface keys are the same. */
	parse_ok(&cfg, "{\"type\": \"altuntun-cni\"}", CONFIG_MODE_CNI, __LINE__);
	CHECK(cfg.cni.prev_result == NULL && cfg.cni.cni_version == NULL);
	config_free(&cfg);

	EXPECT_CNI_ERROR("{\"cniVersion\": 1}",
			 "c.json:1:16: cniVersion: expected a string, got an integer");
	EXPECT_CNI_ERROR("{\"prevResult\": []}",
			 "c.json:1:16: prevResult: expected an object, got an array");
	EXPECT_CNI_ERROR("{\"type\": \"x\", \"plugins\": []}", "c.json:1:15: plugins: unknown key");

	/* "ifname": the interface to make when CNI_IFNAME is another plugin's. */
	parse_ok(&cfg, "{\"type\": \"altuntun\", \"ifname\": \"wg-7.x_y\"}", CONFIG_MODE_CNI,
		 __LINE__);
	CHECK(!strcmp(cfg.cni.ifname, "wg-7.x_y"));
	config_free(&cfg);
	EXPECT_ERROR("{\"ifname\": \"wg0\"}",
		     "c.json:1:2: ifname: a key of CNI network configurations, accepted only by "
		     "altuntun-cni");
	EXPECT_CNI_ERROR("{\"ifname\": \"0123456789abcdef\"}",
			 "c.json:1:12: ifname: not a valid interface name: 1 to 15 characters, "
			 "none of '/', ':', '%' or white space");
	EXPECT_CNI_ERROR("{\"ifname\": \"a/b\"}",
			 "c.json:1:12: ifname: not a valid interface name: 1 to 15 characters, "
			 "none of '/', ':', '%' or white space");
	EXPECT_CNI_ERROR("{\"ifname\": \"..\"}",
			 "c.json:1:12: ifname: not a valid interface name: 1 to 15 characters, "
			 "none of '/', ':', '%' or white space");
	EXPECT_CNI_ERROR("{\"ifname\": \"\"}",
			 "c.json:1:12: ifname: not a valid interface name: 1 to 15 characters, "
			 "none of '/', ':', '%' or white space");
	EXPECT_CNI_ERROR("{\"ifname\": 3}", "c.json:1:12: ifname: expected a string, got an integer");
}

/* ---- key files and permissions ---- */

struct tmpdir {
	char path[64];
};

static void tmpdir_make(struct tmpdir *t)
{
	strcpy(t->path, "/tmp/altuntun-test-config.XXXXXX");
	CHECK(mkdtemp(t->path) != NULL);
}

static void write_file(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	CHECK(fd >= 0);
	CHECK_EQ(write(fd, text, strlen(text)), (long long)strlen(text));
	CHECK_EQ(fchmod(fd, mode), 0);
	close(fd);
}

static void tmpdir_remove(struct tmpdir *t)
{
	DIR *d = opendir(t->path);
	struct dirent *e;
	char p[512];

	CHECK(d != NULL);
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "%s/%s", t->path, e->d_name);
		unlink(p);
	}
	closedir(d);
	CHECK_EQ(rmdir(t->path), 0);
}

TEST(config_key_files)
{
	struct tmpdir t;
	struct config cfg;
	char key[128], psk[128], text[1024], want[1024], err[1024];
	uint8_t k[ALTUNTUN_KEY_LEN];

	tmpdir_make(&t);
	snprintf(key, sizeof(key), "%s/private", t.path);
	snprintf(psk, sizeof(psk), "%s/psk", t.path);
	write_file(key, PRIV2 "\n", 0600);
	write_file(psk, PSK1 "\r\n", 0600);
	snprintf(text, sizeof(text),
		 "{\"privateKeyFile\": \"%s\",\n \"peers\": [{\"publicKey\": \"" PUB3 "\", "
		 "\"presharedKeyFile\": \"%s\"}]}",
		 key, psk);
	PARSE_OK(&cfg, text);
	key_of(k, PRIV2);
	CHECK_MEM(cfg.set.private_key, k, sizeof(k));
	CHECK(cfg.set.flags & UAPI_DEV_HAS_PRIVATE_KEY);
	key_of(k, PSK1);
	CHECK_MEM(cfg.set.peers[0].preshared_key, k, sizeof(k));
	CHECK(cfg.set.peers[0].flags & UAPI_PEER_HAS_PRESHARED_KEY);
	CHECK_EQ(cfg.n_warnings, 0);
	config_free(&cfg);

	/* Readable by others: loaded, with one warning per file, as wg(8). */
	CHECK_EQ(chmod(key, 0640), 0);
	CHECK_EQ(chmod(psk, 0604), 0);
	PARSE_OK(&cfg, text);
	CHECK_EQ(cfg.n_warnings, 2);
	snprintf(want, sizeof(want),
		 "c.json:1:20: privateKeyFile: \"%s\" is accessible by group or others (mode "
		 "0640); it should be 0600",
		 key);
	CHECK(!strcmp(cfg.warnings[0], want));
	CHECK(strstr(cfg.warnings[1], "peers[0].presharedKeyFile: \"") != NULL);
	CHECK(strstr(cfg.warnings[1], "(mode 0604)") != NULL);
	config_free(&cfg);

	/* Bad contents and missing files. */
	write_file(key, PRIV2 "x\n", 0600);
	snprintf(text, sizeof(text), "{\"privateKeyFile\": \"%s\"}", key);
	snprintf(want, sizeof(want),
		 "c.json:1:20: privateKeyFile: \"%s\" does not hold a key: expected 44 characters "
		 "of base64 and a newline, as `wg genkey > FILE` writes",
		 key);
	CHECK_EQ(parse(&cfg, text, CONFIG_MODE_AGENT, err, sizeof(err)), -EINVAL);
	CHECK(!strcmp(err, want));
	write_file(key, "", 0600);
	CHECK_EQ(parse(&cfg, text, CONFIG_MODE_AGENT, err, sizeof(err)), -EINVAL);
	CHECK(!strcmp(err, want));
	unlink(key);
	snprintf(want, sizeof(want),
		 "c.json:1:20: privateKeyFile: cannot open \"%s\": No such file or directory", key);
	CHECK_EQ(parse(&cfg, text, CONFIG_MODE_AGENT, err, sizeof(err)), -EINVAL);
	CHECK(!strcmp(err, want));
	snprintf(text, sizeof(text), "{\"privateKeyFile\": \"%s\"}", t.path);
	snprintf(want, sizeof(want),
		 "c.json:1:20: privateKeyFile: cannot read \"%s\": it is a directory", t.path);
	CHECK_EQ(parse(&cfg, text, CONFIG_MODE_AGENT, err, sizeof(err)), -EINVAL);
	CHECK(!strcmp(err, want));
	EXPECT_ERROR("{\"privateKeyFile\": \"\"}",
		     "c.json:1:20: privateKeyFile: expected a non-empty string");
	tmpdir_remove(&t);
}

TEST(config_load_file)
{
	struct tmpdir t;
	struct config cfg;
	char conf[128], key[128], err[1024], want[1024];
	uint8_t k[ALTUNTUN_KEY_LEN];

	tmpdir_make(&t);
	snprintf(conf, sizeof(conf), "%s/c.json", t.path);
	snprintf(key, sizeof(key), "%s/wg.key", t.path);

	/* A relative key file is found next to the configuration. */
	write_file(key, PRIV2 "\n", 0600);
	write_file(conf, "{\"privateKeyFile\": \"wg.key\", \"listenPort\": 1}\n", 0644);
	CHECK_EQ(config_load_file(&cfg, conf, CONFIG_MODE_AGENT, err, sizeof(err)), 0);
	key_of(k, PRIV2);
	CHECK_MEM(cfg.set.private_key, k, sizeof(k));
	/* No key in the file itself: its mode is no secret's business. */
	CHECK_EQ(cfg.n_warnings, 0);
	config_free(&cfg);

	/* A key written in the file: the file must be private. */
	write_file(conf, "{\"privateKey\": \"" PRIV1 "\"}", 0644);
	CHECK_EQ(config_load_file(&cfg, conf, CONFIG_MODE_AGENT, err, sizeof(err)), 0);
	CHECK_EQ(cfg.n_warnings, 1);
	snprintf(want, sizeof(want),
		 "%s: holds a key and is accessible by group or others (mode 0644); it should be "
		 "0600",
		 conf);
	CHECK(!strcmp(cfg.warnings[0], want));
	config_free(&cfg);
	CHECK_EQ(chmod(conf, 0600), 0);
	CHECK_EQ(config_load_file(&cfg, conf, CONFIG_MODE_AGENT, err, sizeof(err)), 0);
	CHECK_EQ(cfg.n_warnings, 0);
	config_free(&cfg);

	/* Errors are named after the path given. */
	write_file(conf, "{\n  \"mtu\": 9\n}\n", 0600);
	CHECK_EQ(config_load_file(&cfg, conf, CONFIG_MODE_AGENT, err, sizeof(err)), -EINVAL);
	snprintf(want, sizeof(want), "%s:2:10: mtu: 9 is out of range (68 to 65535)", conf);
	CHECK(!strcmp(err, want));
	unlink(conf);
	CHECK_EQ(config_load_file(&cfg, conf, CONFIG_MODE_AGENT, err, sizeof(err)), -ENOENT);
	snprintf(want, sizeof(want), "%s: No such file or directory", conf);
	CHECK(!strcmp(err, want));
	CHECK_EQ(config_load_file(&cfg, t.path, CONFIG_MODE_AGENT, err, sizeof(err)), -EISDIR);

	/* A pipe has no size to go by: the buffer grows (a pipe holds 64 KiB). */
	{
		size_t n = 60000, len = 0;
		char *big = malloc(n + 64), fdpath[64];
		int fds[2];

		CHECK(big != NULL);
		len += (size_t)sprintf(big, "{\"addresses\": [");
		for (unsigned i = 0; len < n; i++)
			len += (size_t)sprintf(big + len, "%s\"10.%u.%u.1/24\"", i ? ", " : "",
					       (i >> 8) & 255, i & 255);
		len += (size_t)sprintf(big + len, "]}");
		CHECK_EQ(pipe(fds), 0);
		CHECK_EQ(write(fds[1], big, len), (long long)len);
		close(fds[1]);
		free(big);
		snprintf(fdpath, sizeof(fdpath), "/proc/self/fd/%d", fds[0]);
		CHECK_EQ(config_load_file(&cfg, fdpath, CONFIG_MODE_AGENT, err, sizeof(err)), 0);
		close(fds[0]);
		CHECK(cfg.iface.n_addresses > 3000);
		config_free(&cfg);
	}
	tmpdir_remove(&t);
}

/* ---- json_position ---- */

TEST(config_json_position)
{
	static const char text[] = "{\"a\": [1, {\"b\": \"x\"}, [2, 3]],\n \"c\\u0064\": {\"e\": null}}";
	struct json_path_elem p[3];
	struct json_position pos;

	CHECK(json_position_find(text, strlen(text), NULL, 0, false, &pos));
	CHECK(pos.line == 1 && pos.column == 1);
	p[0] = (struct json_path_elem){ .key = "a" };
	p[1] = (struct json_path_elem){ .index = 1 };
	p[2] = (struct json_path_elem){ .key = "b" };
	CHECK(json_position_find(text, strlen(text), p, 3, false, &pos));
	CHECK(pos.line == 1 && pos.column == 17);
	CHECK(json_position_find(text, strlen(text), p, 3, true, &pos));
	CHECK(pos.line == 1 && pos.column == 12);
	p[1].index = 2;
	CHECK(json_position_find(text, strlen(text), p, 2, false, &pos));
	CHECK(pos.line == 1 && pos.column == 23);
	p[1].index = 3;
	CHECK(!json_position_find(text, strlen(text), p, 2, false, &pos));
	p[0].key = "cd";
	p[1] = (struct json_path_elem){ .key = "e" };
	CHECK(json_position_find(text, strlen(text), p, 2, false, &pos));
	CHECK(pos.line == 2 && pos.column == 19);
	CHECK(json_position_find(text, strlen(text), p, 1, true, &pos));
	CHECK(pos.line == 2 && pos.column == 2);
	/* An index into an object, a key into an array: not there. */
	p[0] = (struct json_path_elem){ .index = 0 };
	CHECK(!json_position_find(text, strlen(text), p, 1, false, &pos));
	p[0].key = "zz";
	CHECK(!json_position_find(text, strlen(text), p, 1, false, &pos));
	/* at_key needs a member name last. */
	CHECK(!json_position_find(text, strlen(text), NULL, 0, true, &pos));
	/* Truncated text is no crash. */
	p[0].key = "cd";
	CHECK(!json_position_find(text, 30, p, 2, false, &pos));
}

/* ---- applying ---- */

static int fail_send(void *ctx, altuntun_peer *peer, const struct altuntun_endpoint *to,
		     const uint8_t *data, size_t len)
{
	(void)ctx, (void)peer, (void)to, (void)data, (void)len;
	return -ENETUNREACH;
}

struct side {
	altuntun_device *dev;
	struct fake_iface iface;
	struct uapi_iface_ops ops;
};

static void side_init(struct side *s)
{
	static const struct altuntun_callbacks cb = { .send = fail_send };

	memset(s, 0, sizeof(*s));
	s->dev = altuntun_device_new(&cb);
	CHECK(s->dev != NULL);
	s->ops = fake_iface_ops(&s->iface);
}

static char *get_text(struct side *s)
{
	struct uapi_buf b = { 0 };
	char *copy;

	CHECK_EQ(uapi_get(s->dev, &s->ops, &b), 0);
	CHECK(!b.failed && b.data);
	copy = strdup(b.data);
	uapi_buf_free(&b);
	CHECK(copy != NULL);
	return copy;
}

static void hex_of(char out[65], const char *b64)
{
	uint8_t k[ALTUNTUN_KEY_LEN];

	key_of(k, b64);
	altuntun_key_to_hex(out, k);
}

/* A configuration ends up exactly as the equivalent `wg setconf` would. */
TEST(config_apply_same_as_uapi)
{
	static const struct altuntun_now now = { 100ull * 1000000000ull,
						 1700000000ull * 1000000000ull };
	struct side js, ua;
	struct config cfg;
	struct uapi_set set;
	char priv[65], pub3[65], pub4[65], psk[65], req[2048], *a, *b;
	uint8_t stale[ALTUNTUN_KEY_LEN];
	int err;

	side_init(&js);
	side_init(&ua);
	/* Peers there before are replaced, on both sides. */
	key_of(stale, PUB2);
	CHECK(altuntun_peer_add(js.dev, stale, &err) != NULL);
	CHECK(altuntun_peer_add(ua.dev, stale, &err) != NULL);

	PARSE_OK(&cfg, "{\"privateKey\": \"" PRIV1 "\", \"listenPort\": 51820, \"fwmark\": \"0x20\",\n"
		       " \"mtu\": 1400, \"addresses\": [\"10.0.0.1/24\"], \"routes\": [\"10.1.0.0/16\"],\n"
		       " \"peers\": [\n"
		       "  {\"publicKey\": \"" PUB3 "\", \"presharedKey\": \"" PSK1 "\",\n"
		       "   \"endpoint\": \"192.0.2.1:51820\", \"persistentKeepalive\": 25,\n"
		       "   \"allowedIPs\": [\"10.0.0.2/32\", \"10.1.0.0/16\", \"fd00::2/128\"]},\n"
		       "  {\"publicKey\": \"" PUB4 "\", \"endpoint\": \"[2001:db8::4]:4444\",\n"
		       "   \"allowedIPs\": [\"10.0.0.4/32\", \"10.0.0.2/32\"]}\n"
		       " ]}");
	CHECK_EQ(config_apply(&cfg, js.dev, &js.ops, now), 0);
	config_forget_keys(&cfg);
	CHECK(cfg.set.peers == NULL);
	CHECK(altuntun_key_is_zero(cfg.set.private_key));
	CHECK_EQ(cfg.iface.mtu, 1400); /* the rest stays for the daemon */
	config_free(&cfg);

	hex_of(priv, PRIV1);
	hex_of(pub3, PUB3);
	hex_of(pub4, PUB4);
	hex_of(psk, PSK1);
	snprintf(req, sizeof(req),
		 "private_key=%s\nlisten_port=51820\nfwmark=32\nreplace_peers=true\n"
		 "public_key=%s\npreshared_key=%s\nendpoint=192.0.2.1:51820\n"
		 "persistent_keepalive_interval=25\nreplace_allowed_ips=true\n"
		 "allowed_ip=10.0.0.2/32\nallowed_ip=10.1.0.0/16\nallowed_ip=fd00::2/128\n"
		 "public_key=%s\nendpoint=[2001:db8::4]:4444\nreplace_allowed_ips=true\n"
		 "allowed_ip=10.0.0.4/32\nallowed_ip=10.0.0.2/32\n",
		 priv, pub3, psk, pub4);
	CHECK_EQ(uapi_set_parse(&set, req, strlen(req)), 0);
	CHECK_EQ(uapi_set_apply(ua.dev, &ua.ops, now, &set), 0);
	uapi_set_free(&set);

	a = get_text(&js);
	b = get_text(&ua);
	if (strcmp(a, b))
		test_fail(__FILE__, __LINE__, "JSON:\n%s\nUAPI:\n%s", a, b);
	CHECK(strstr(a, "listen_port=51820\nfwmark=32\n") != NULL);
	CHECK(strstr(a, "allowed_ip=10.0.0.2/32\n") != NULL);
	CHECK_EQ(altuntun_peer_count(js.dev), 2);
	/* 10.0.0.2/32 moved to the second peer, as in the UAPI. */
	{
		uint8_t pk[ALTUNTUN_KEY_LEN];
		struct in_addr ip = { htonl(0x0a000002) };
		altuntun_peer *p = altuntun_allowed_ip_lookup(js.dev, AF_INET, &ip);

		CHECK(p != NULL);
		altuntun_peer_get_public_key(p, pk);
		key_of(stale, PUB4);
		CHECK_MEM(pk, stale, sizeof(pk));
	}
	CHECK_EQ(js.iface.port_calls, 1);
	CHECK_EQ(js.iface.fwmark_calls, 1);
	CHECK_EQ(js.iface.changed_calls, 1);
	free(a);
	free(b);
	altuntun_device_free(js.dev);
	altuntun_device_free(ua.dev);
}

/* A listen port that cannot be bound fails the apply and changes nothing. */
TEST(config_apply_port_in_use)
{
	static const struct altuntun_now now = { 1, 1 };
	struct side s;
	struct config cfg;

	side_init(&s);
	s.iface.port_ret = -EADDRINUSE;
	PARSE_OK(&cfg, "{\"privateKey\": \"" PRIV1 "\", \"listenPort\": 51820,\n"
		       " \"peers\": [{\"publicKey\": \"" PUB3 "\"}]}");
	CHECK_EQ(config_apply(&cfg, s.dev, &s.ops, now), -EADDRINUSE);
	CHECK_EQ(altuntun_peer_count(s.dev), 0);
	CHECK(!altuntun_device_get_public_key(s.dev, (uint8_t[ALTUNTUN_KEY_LEN]){ 0 }));
	config_free(&cfg);
	altuntun_device_free(s.dev);
}

/* ---- the example configurations ---- */

/* configs/ of the source tree: from the current directory (make unit runs
 * from the top) or next to this file. */
static const char *configs_dir(char *buf, size_t cap)
{
	struct stat st;
	const char *slash;

	if (!stat("configs", &st) && S_ISDIR(st.st_mode))
		return "configs";
	slash = strrchr(__FILE__, '/');
	snprintf(buf, cap, "%.*s/../../configs", slash ? (int)(slash - __FILE__) : 1,
		 slash ? __FILE__ : ".");
	return buf;
}

/* Every .json file of configs/ loads: those named cni-*.json as a CNI network
 * configuration (and not as an altuntun-cli one), the others for altuntun-cli. */
TEST(config_examples_load)
{
	static const char *const expected[] = { "minimal.json", "full.json", "ipv6.json",
						"cni-basic.json", NULL };
	char buf[512], path[1024], err[1024];
	const char *dir = configs_dir(buf, sizeof(buf));
	unsigned found = 0, seen_expected = 0;
	struct dirent *e;
	DIR *d = opendir(dir);

	CHECK(d != NULL);
	while ((e = readdir(d))) {
		size_t n = strlen(e->d_name);
		bool cni = !strncmp(e->d_name, "cni-", 4);
		struct config cfg;

		if (n < 6 || strcmp(e->d_name + n - 5, ".json"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (config_load_file(&cfg, path, cni ? CONFIG_MODE_CNI : CONFIG_MODE_AGENT, err,
				     sizeof(err))) {
			closedir(d);
			test_fail(__FILE__, __LINE__, "%s", err);
		}
		/* Something is configured: a key or a peer at least. */
		CHECK(cfg.set.n_peers > 0);
		config_free(&cfg);
		if (cni) {
			CHECK_EQ(config_load_file(&cfg, path, CONFIG_MODE_AGENT, err, sizeof(err)),
				 -EINVAL);
			CHECK(strstr(err, "accepted only by altuntun-cni") != NULL);
		}
		for (size_t i = 0; expected[i]; i++)
			seen_expected += !strcmp(e->d_name, expected[i]);
		found++;
	}
	closedir(d);
	CHECK(found >= 4);
	CHECK_EQ(seen_expected, 4);
}

/* full.json has every field. */
TEST(config_example_full)
{
	char buf[512], path[1024], err[1024];
	struct config cfg;
	uint8_t k[ALTUNTUN_KEY_LEN];

	snprintf(path, sizeof(path), "%s/full.json", configs_dir(buf, sizeof(buf)));
	CHECK_EQ(config_load_file(&cfg, path, CONFIG_MODE_AGENT, err, sizeof(err)), 0);
	CHECK_EQ(cfg.set.flags, UAPI_DEV_HAS_PRIVATE_KEY | UAPI_DEV_HAS_LISTEN_PORT |
					UAPI_DEV_HAS_FWMARK | UAPI_DEV_REPLACE_PEERS);
	key_of(k, PRIV2); /* configs/example.key */
	CHECK_MEM(cfg.set.private_key, k, sizeof(k));
	CHECK_EQ(cfg.iface.flags, CONFIG_IFACE_HAS_LISTEN_PORT | CONFIG_IFACE_HAS_FWMARK |
					  CONFIG_IFACE_HAS_MTU | CONFIG_IFACE_HAS_NETNS);
	CHECK_EQ(cfg.iface.fwmark, 0xca6c);
	CHECK_EQ(cfg.iface.n_addresses, 2);
	CHECK_EQ(cfg.iface.n_routes, 2);
	CHECK_EQ(cfg.iface.routes[1].mtu, 1380);
	CHECK(!strcmp(cfg.iface.netns, "blue"));
	CHECK_EQ(cfg.set.n_peers, 2);
	CHECK_EQ(cfg.set.peers[0].flags, UAPI_PEER_HAS_PRESHARED_KEY | UAPI_PEER_HAS_ENDPOINT |
						 UAPI_PEER_HAS_KEEPALIVE |
						 UAPI_PEER_REPLACE_ALLOWED_IPS);
	CHECK_EQ(cfg.set.peers[1].flags, UAPI_PEER_HAS_PRESHARED_KEY | UAPI_PEER_HAS_ENDPOINT |
						 UAPI_PEER_REPLACE_ALLOWED_IPS);
	config_free(&cfg);
}

/* ---- altuntun-cli --config ---- */

static int parse_options(struct agent_options *o, char *err, size_t errlen, int argc, char **argv)
{
	return options_parse(o, argc, argv, err, errlen);
}

#define OPTIONS(o, err, ...)                                                               \
	parse_options(o, err, sizeof(err), (int)(sizeof((char *[]){ __VA_ARGS__ }) / sizeof(char *)), \
		      (char *[]){ __VA_ARGS__, NULL })

/* The file's mtu and netns count unless the command line gives them. */
TEST(config_options)
{
	struct agent_options o;
	struct config cfg;
	char err[512];
	int fd;

	unsetenv("WG_TUN_FD");
	unsetenv("WG_UAPI_FD");
	CHECK_EQ(OPTIONS(&o, err, "altuntun-cli", "--config", "c.json", "wg0"), OPTIONS_RUN);
	CHECK(!strcmp(o.config_path, "c.json"));
	CHECK(o.config == NULL);
	CHECK_EQ(OPTIONS(&o, err, "altuntun-cli", "--config=", "wg0"), -EINVAL);
	CHECK(!strcmp(err, "--config: empty file name"));

	PARSE_OK(&cfg, "{\"mtu\": 1380, \"netns\": \"blue\"}");
	CHECK_EQ(OPTIONS(&o, err, "altuntun-cli", "--config", "c.json", "wg0"), OPTIONS_RUN);
	CHECK_EQ(options_use_config(&o, &cfg, err, sizeof(err)), 0);
	CHECK(o.config == &cfg);
	CHECK_EQ(o.mtu, 1380);
	CHECK(o.mtu_set);
	CHECK(!strcmp(o.netns, "blue"));
	CHECK(!strcmp(o.netns_path, "/var/run/netns/blue"));

	CHECK_EQ(OPTIONS(&o, err, "altuntun-cli", "--mtu", "1300", "--netns", "pid:1", "wg0"),
		 OPTIONS_RUN);
	CHECK_EQ(options_use_config(&o, &cfg, err, sizeof(err)), 0);
	CHECK_EQ(o.mtu, 1300);
	CHECK(!strcmp(o.netns, "pid:1"));
	CHECK(!strcmp(o.netns_path, "/proc/1/ns/net"));

	/* An interface handed over with WG_TUN_FD already has its namespace. */
	fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	CHECK(fd >= 0);
	snprintf(err, sizeof(err), "%d", fd);
	setenv("WG_TUN_FD", err, 1);
	CHECK_EQ(OPTIONS(&o, err, "altuntun-cli", "wg0"), OPTIONS_RUN);
	unsetenv("WG_TUN_FD");
	close(fd);
	CHECK_EQ(options_use_config(&o, &cfg, err, sizeof(err)), -EINVAL);
	CHECK(!strcmp(err, "c.json:1:24: netns: cannot be used with WG_TUN_FD (the device already "
			   "exists)"));
	config_free(&cfg);
}
