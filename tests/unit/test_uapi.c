// SPDX-License-Identifier: BSD-3-Clause
/*
 * The userspace API: exact get output, set semantics as wireguard-go has
 * them, atomic rejection of invalid requests, request framing, and large
 * configurations.
 */
#include <errno.h>
#include <stdlib.h>
#include <time.h>

#include "altuntun.h"
#include "fake_iface.h"
#include "test.h"
#include "uapi.h"
#include "uapi_internal.h"

struct fixture {
	altuntun_device *dev;
	struct fake_iface iface;
	struct uapi_iface_ops ops;
	struct altuntun_now now;
};

/* Sends fail, so byte counters stay 0 and the output is predictable. */
static int fail_send(void *ctx, altuntun_peer *peer, const struct altuntun_endpoint *to,
		     const uint8_t *data, size_t len)
{
	(void)ctx, (void)peer, (void)to, (void)data, (void)len;
	return -ENETUNREACH;
}

static void fx_init(struct fixture *fx)
{
	static const struct altuntun_callbacks cb = { .send = fail_send };

	memset(fx, 0, sizeof(*fx));
	fx->dev = altuntun_device_new(&cb);
	CHECK(fx->dev != NULL);
	fx->ops = fake_iface_ops(&fx->iface);
	fx->now.mono_ns = 100ull * 1000000000ull;
	fx->now.wall_ns = 1700000000ull * 1000000000ull;
}

/* Returns the malloc'd, NUL-terminated response to req. */
static char *roundtrip(struct fixture *fx, const char *req, size_t len)
{
	char *resp, *copy;
	size_t resp_len;

	CHECK_EQ(uapi_handle(fx->dev, &fx->ops, fx->now, req, len, &resp, &resp_len), 0);
	CHECK(resp_len >= strlen("errno=0\n\n"));
	CHECK_MEM(resp + resp_len - 2, "\n\n", 2);
	copy = malloc(resp_len + 1);
	CHECK(copy != NULL);
	memcpy(copy, resp, resp_len);
	copy[resp_len] = '\0';
	free(resp);
	return copy;
}

static char *do_get(struct fixture *fx)
{
	return roundtrip(fx, "get=1\n\n", 7);
}

/* Sends "set=1\n<body>\n" and returns the errno of the answer. */
static int do_set(struct fixture *fx, const char *body)
{
	size_t n = strlen(body);
	char *req = malloc(n + 8), *resp;
	int err;

	CHECK(req != NULL);
	memcpy(req, "set=1\n", 6);
	memcpy(req + 6, body, n);
	req[6 + n] = '\n';
	resp = roundtrip(fx, req, n + 7);
	free(req);
	CHECK(!strncmp(resp, "errno=", 6));
	err = atoi(resp + 6);
	CHECK(!strcmp(strchr(resp, '\n'), "\n\n"));
	free(resp);
	return err;
}

static void to_hex(char out[65], const uint8_t key[ALTUNTUN_KEY_LEN])
{
	for (int i = 0; i < ALTUNTUN_KEY_LEN; i++)
		sprintf(out + 2 * i, "%02x", key[i]);
}

struct keypair {
	uint8_t priv[ALTUNTUN_KEY_LEN];
	uint8_t pub[ALTUNTUN_KEY_LEN];
	char priv_hex[65];
	char pub_hex[65];
};

static void make_keypair(struct keypair *k)
{
	altuntun_generate_private_key(k->priv);
	CHECK_EQ(altuntun_public_key(k->pub, k->priv), 0);
	to_hex(k->priv_hex, k->priv);
	to_hex(k->pub_hex, k->pub);
}

static unsigned count_lines(const char *s, const char *prefix)
{
	size_t n = strlen(prefix);
	unsigned count = 0;

	for (const char *p = s; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : p)
		count += !strncmp(p, prefix, n);
	return count;
}

static const char zero_hex[] =
	"0000000000000000000000000000000000000000000000000000000000000000";

TEST(uapi_get_empty_device)
{
	struct fixture fx;
	char *out;

	fx_init(&fx);
	out = do_get(&fx);
	CHECK(!strcmp(out, "errno=0\n\n"));
	free(out);

	fx.iface.port = 51820;
	fx.iface.fwmark = 0x20;
	out = do_get(&fx);
	CHECK(!strcmp(out, "listen_port=51820\nfwmark=32\nerrno=0\n\n"));
	free(out);
	CHECK_EQ(fx.iface.changed_calls, 0);
	altuntun_device_free(fx.dev);
}

TEST(uapi_private_key_clamped)
{
	struct fixture fx;
	char expect[256], *out;

	fx_init(&fx);
	CHECK_EQ(do_set(&fx, "private_key=ffffffffffffffffffffffffffffffff"
			     "ffffffffffffffffffffffffffffffff"), 0);
	out = do_get(&fx);
	snprintf(expect, sizeof(expect), "private_key=f8%.60s7f\nerrno=0\n\n",
		 "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff");
	CHECK(!strcmp(out, expect));
	free(out);
	CHECK_EQ(fx.iface.changed_calls, 1);

	/* Upper-case hex is accepted (Go's hex.DecodeString); all zeroes removes. */
	CHECK_EQ(do_set(&fx, "private_key=0123456789ABCDEF0123456789ABCDEF"
			     "0123456789ABCDEF0123456789ABCDEF"), 0);
	out = do_get(&fx);
	CHECK(!strcmp(out, "private_key=0023456789abcdef0123456789abcdef"
			   "0123456789abcdef0123456789abcd6f\nerrno=0\n\n"));
	free(out);
	snprintf(expect, sizeof(expect), "private_key=%s", zero_hex);
	CHECK_EQ(do_set(&fx, expect), 0);
	out = do_get(&fx);
	CHECK(!strcmp(out, "errno=0\n\n"));
	free(out);
	altuntun_device_free(fx.dev);
}

TEST(uapi_peers_all_fields)
{
	struct fixture fx;
	struct keypair me, a, b;
	uint8_t psk[ALTUNTUN_KEY_LEN];
	char psk_hex[65], req[2048], expect[4096], *out;

	fx_init(&fx);
	fx.iface.port = 51820;
	make_keypair(&me);
	make_keypair(&a);
	make_keypair(&b);
	for (int i = 0; i < ALTUNTUN_KEY_LEN; i++)
		psk[i] = (uint8_t)(0xa0 + i);
	to_hex(psk_hex, psk);
	snprintf(req, sizeof(req),
		 "private_key=%s\n"
		 "public_key=%s\n"
		 "preshared_key=%s\n"
		 "protocol_version=1\n"
		 "endpoint=192.0.2.1:51821\n"
		 "persistent_keepalive_interval=25\n"
		 "allowed_ip=10.0.0.0/24\n"
		 "allowed_ip=fd00::/64\n"
		 "public_key=%s\n"
		 "endpoint=[fe80::1%%3]:7\n"
		 "allowed_ip=10.0.1.7/32\n",
		 me.priv_hex, a.pub_hex, psk_hex, b.pub_hex);
	CHECK_EQ(do_set(&fx, req), 0);
	out = do_get(&fx);
	snprintf(expect, sizeof(expect),
		 "private_key=%s\n"
		 "listen_port=51820\n"
		 "public_key=%s\n"
		 "preshared_key=%s\n"
		 "protocol_version=1\n"
		 "endpoint=192.0.2.1:51821\n"
		 "last_handshake_time_sec=0\n"
		 "last_handshake_time_nsec=0\n"
		 "tx_bytes=0\n"
		 "rx_bytes=0\n"
		 "persistent_keepalive_interval=25\n"
		 "allowed_ip=10.0.0.0/24\n"
		 "allowed_ip=fd00::/64\n"
		 "public_key=%s\n"
		 "preshared_key=%s\n"
		 "protocol_version=1\n"
		 "endpoint=[fe80::1%%3]:7\n"
		 "last_handshake_time_sec=0\n"
		 "last_handshake_time_nsec=0\n"
		 "tx_bytes=0\n"
		 "rx_bytes=0\n"
		 "persistent_keepalive_interval=0\n"
		 "allowed_ip=10.0.1.7/32\n"
		 "errno=0\n\n",
		 me.priv_hex, a.pub_hex, psk_hex, b.pub_hex, zero_hex);
	if (strcmp(out, expect))
		fprintf(stderr, "got:\n%s\nexpected:\n%s\n", out, expect);
	CHECK(!strcmp(out, expect));
	free(out);

	/* Updating an existing peer: new endpoint (IPv6), psk removed, keepalive off. */
	snprintf(req, sizeof(req),
		 "public_key=%s\npreshared_key=%s\nendpoint=[2001:db8::1]:443\n"
		 "persistent_keepalive_interval=0\n",
		 a.pub_hex, zero_hex);
	CHECK_EQ(do_set(&fx, req), 0);
	out = do_get(&fx);
	snprintf(expect, sizeof(expect),
		 "public_key=%s\npreshared_key=%s\nprotocol_version=1\nendpoint=[2001:db8::1]:443\n",
		 a.pub_hex, zero_hex);
	CHECK(strstr(out, expect) != NULL);
	CHECK_EQ(count_lines(out, "persistent_keepalive_interval=0"), 2);
	CHECK_EQ(count_lines(out, "allowed_ip="), 3);
	free(out);
	CHECK_EQ(altuntun_peer_count(fx.dev), 2);
	altuntun_device_free(fx.dev);
}

static void add_peer(struct fixture *fx, const struct keypair *k, const char *extra)
{
	char req[1024];

	snprintf(req, sizeof(req), "public_key=%s\n%s", k->pub_hex, extra);
	CHECK_EQ(do_set(fx, req), 0);
}

static bool has_peer(struct fixture *fx, const struct keypair *k)
{
	return altuntun_peer_lookup(fx->dev, k->pub) != NULL;
}

TEST(uapi_replace_peers)
{
	struct fixture fx;
	struct keypair a, b, c;
	char req[512], *out;

	fx_init(&fx);
	make_keypair(&a);
	make_keypair(&b);
	make_keypair(&c);
	add_peer(&fx, &a, "allowed_ip=10.0.0.1/32\n");
	add_peer(&fx, &b, "allowed_ip=10.0.0.2/32\n");
	snprintf(req, sizeof(req), "replace_peers=true\npublic_key=%s\nallowed_ip=10.0.0.1/32\n",
		 c.pub_hex);
	CHECK_EQ(do_set(&fx, req), 0);
	CHECK(!has_peer(&fx, &a));
	CHECK(!has_peer(&fx, &b));
	CHECK(has_peer(&fx, &c));
	out = do_get(&fx);
	CHECK_EQ(count_lines(out, "public_key="), 1);
	CHECK_EQ(count_lines(out, "allowed_ip=10.0.0.1/32"), 1);
	free(out);

	/* replace_peers alone empties the device. */
	CHECK_EQ(do_set(&fx, "replace_peers=true\n"), 0);
	CHECK_EQ(altuntun_peer_count(fx.dev), 0);
	altuntun_device_free(fx.dev);
}

TEST(uapi_remove_peer)
{
	struct fixture fx;
	struct keypair a, b, c;
	char req[512];

	fx_init(&fx);
	make_keypair(&a);
	make_keypair(&b);
	make_keypair(&c);
	add_peer(&fx, &a, "allowed_ip=10.0.0.1/32\n");
	add_peer(&fx, &b, "");
	/* Lines after remove=true are checked but have no effect. */
	snprintf(req, sizeof(req), "public_key=%s\nremove=true\nallowed_ip=10.9.9.9/32\n",
		 a.pub_hex);
	CHECK_EQ(do_set(&fx, req), 0);
	CHECK(!has_peer(&fx, &a));
	CHECK(has_peer(&fx, &b));
	CHECK(altuntun_allowed_ip_lookup(fx.dev, AF_INET, "\x0a\x00\x00\x01") == NULL);
	CHECK(altuntun_allowed_ip_lookup(fx.dev, AF_INET, "\x0a\x09\x09\x09") == NULL);
	/* Removing an unknown peer is fine and creates nothing. */
	add_peer(&fx, &c, "remove=true\n");
	CHECK(!has_peer(&fx, &c));
	CHECK_EQ(altuntun_peer_count(fx.dev), 1);
	/* Remove, then re-add in the same request: the later section wins. */
	snprintf(req, sizeof(req), "public_key=%s\nremove=true\npublic_key=%s\n", b.pub_hex,
		 b.pub_hex);
	CHECK_EQ(do_set(&fx, req), 0);
	CHECK(has_peer(&fx, &b));
	altuntun_device_free(fx.dev);
}

TEST(uapi_update_only)
{
	struct fixture fx;
	struct keypair a, b;
	struct altuntun_endpoint ep;
	char *out;

	fx_init(&fx);
	make_keypair(&a);
	make_keypair(&b);
	add_peer(&fx, &a, "update_only=true\nallowed_ip=10.0.0.1/32\nendpoint=192.0.2.9:9\n");
	CHECK_EQ(altuntun_peer_count(fx.dev), 0);
	out = do_get(&fx);
	CHECK(!strcmp(out, "errno=0\n\n"));
	free(out);

	add_peer(&fx, &b, "");
	add_peer(&fx, &b, "update_only=true\nendpoint=192.0.2.9:9\n");
	CHECK_EQ(altuntun_peer_count(fx.dev), 1);
	CHECK(altuntun_peer_get_endpoint(altuntun_peer_lookup(fx.dev, b.pub), &ep));
	CHECK_EQ(ep.addr.sa.sa_family, AF_INET);
	CHECK_EQ(ntohs(ep.addr.in4.sin_port), 9);
	altuntun_device_free(fx.dev);
}

TEST(uapi_replace_allowed_ips)
{
	struct fixture fx;
	struct keypair a;
	char *out;

	fx_init(&fx);
	make_keypair(&a);
	add_peer(&fx, &a, "allowed_ip=10.0.0.0/8\nallowed_ip=fd00::/8\n");
	/* Prefixes before replace_allowed_ips in the same section go too. */
	add_peer(&fx, &a, "allowed_ip=10.1.0.0/16\nreplace_allowed_ips=true\n"
			  "allowed_ip=192.168.0.0/24\n");
	out = do_get(&fx);
	CHECK_EQ(count_lines(out, "allowed_ip="), 1);
	CHECK(strstr(out, "\nallowed_ip=192.168.0.0/24\n") != NULL);
	free(out);
	add_peer(&fx, &a, "replace_allowed_ips=true\n");
	CHECK_EQ(altuntun_peer_allowed_ip_count(altuntun_peer_lookup(fx.dev, a.pub)), 0);
	altuntun_device_free(fx.dev);
}

TEST(uapi_allowed_ip_removal)
{
	struct fixture fx;
	struct keypair a, b;
	char *out;

	fx_init(&fx);
	make_keypair(&a);
	make_keypair(&b);
	add_peer(&fx, &a, "allowed_ip=10.0.0.0/24\nallowed_ip=10.0.1.0/24\nallowed_ip=fd00::/64\n");
	add_peer(&fx, &b, "allowed_ip=10.0.2.0/24\n");
	/* Host bits are ignored; a prefix of another peer or none is left alone. */
	add_peer(&fx, &a, "allowed_ip=-10.0.0.5/24\nallowed_ip=-fd00::/64\n"
			  "allowed_ip=-10.0.2.0/24\nallowed_ip=-172.16.0.0/12\n");
	out = do_get(&fx);
	CHECK_EQ(count_lines(out, "allowed_ip="), 2);
	CHECK(strstr(out, "\nallowed_ip=10.0.1.0/24\n") != NULL);
	CHECK(strstr(out, "\nallowed_ip=10.0.2.0/24\n") != NULL);
	free(out);
	CHECK(altuntun_allowed_ip_lookup(fx.dev, AF_INET, "\x0a\x00\x02\x01") ==
	      altuntun_peer_lookup(fx.dev, b.pub));
	/* Order within a section matters: add then remove leaves nothing. */
	add_peer(&fx, &a, "allowed_ip=10.5.0.0/16\nallowed_ip=-10.5.0.0/16\n");
	CHECK_EQ(altuntun_peer_allowed_ip_count(altuntun_peer_lookup(fx.dev, a.pub)), 1);
	altuntun_device_free(fx.dev);
}

TEST(uapi_own_public_key_ignored)
{
	struct fixture fx;
	struct keypair me, a;
	char req[1024], *out;

	fx_init(&fx);
	make_keypair(&me);
	make_keypair(&a);
	snprintf(req, sizeof(req),
		 "private_key=%s\npublic_key=%s\nallowed_ip=10.0.0.1/32\nendpoint=192.0.2.1:1\n"
		 "public_key=%s\nallowed_ip=10.0.0.2/32\n",
		 me.priv_hex, me.pub_hex, a.pub_hex);
	CHECK_EQ(do_set(&fx, req), 0);
	CHECK_EQ(altuntun_peer_count(fx.dev), 1);
	CHECK(!has_peer(&fx, &me));
	out = do_get(&fx);
	CHECK_EQ(count_lines(out, "public_key="), 1);
	CHECK(strstr(out, me.pub_hex) == NULL);
	CHECK(strstr(out, "allowed_ip=10.0.0.1/32") == NULL);
	free(out);
	/* ...and removing it is no error either. */
	add_peer(&fx, &me, "remove=true\n");

	/* Taking a peer's key as our own removes that peer (Linux does too). */
	snprintf(req, sizeof(req), "private_key=%s\n", a.priv_hex);
	CHECK_EQ(do_set(&fx, req), 0);
	CHECK_EQ(altuntun_peer_count(fx.dev), 0);
	altuntun_device_free(fx.dev);
}

/* A configured device; every invalid request must leave it exactly so. */
static void setup_configured(struct fixture *fx, struct keypair *me, struct keypair *a)
{
	char req[1024];

	fx_init(fx);
	fx->iface.port = 51820;
	make_keypair(me);
	make_keypair(a);
	snprintf(req, sizeof(req),
		 "private_key=%s\nfwmark=7\npublic_key=%s\nendpoint=192.0.2.1:51820\n"
		 "persistent_keepalive_interval=15\nallowed_ip=10.0.0.0/24\n",
		 me->priv_hex, a->pub_hex);
	CHECK_EQ(do_set(fx, req), 0);
}

TEST(uapi_invalid_requests_change_nothing)
{
	static const char *const bad[] = {
		"private_key=zz",
		"private_key=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde",
		"private_key=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0",
		"private_key=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdeg",
		"bogus=1",
		"listen_port=70000",
		"listen_port=-1",
		"listen_port=",
		"listen_port= 80",
		"listen_port=0x10",
		"fwmark=4294967296",
		"fwmark=",
		"replace_peers=false",
		"replace_peers=TRUE",
		"replace_peers=",
		"allowed_ip=10.0.0.0/8",
		"endpoint=192.0.2.1:1",
		"remove=true",
		"preshared_key=" "0000000000000000000000000000000000000000000000000000000000000000",
		"public_key=abc",
		"public_key=",
		"@peer persistent_keepalive_interval=65536",
		"@peer persistent_keepalive_interval=-1",
		"@peer endpoint=192.0.2.1",
		"@peer endpoint=192.0.2.1:",
		"@peer endpoint=192.0.2.1:65536",
		"@peer endpoint=2001:db8::1:80",
		"@peer endpoint=[2001:db8::1]",
		"@peer endpoint=[2001:db8::1]80",
		"@peer endpoint=[192.0.2.1]:80",
		"@peer endpoint=[fe80::1%]:80",
		"@peer endpoint=example.com:51820",
		"@peer endpoint=",
		"@peer allowed_ip=10.0.0.0/33",
		"@peer allowed_ip=fd00::/129",
		"@peer allowed_ip=10.0.0.0",
		"@peer allowed_ip=10.0.0.0/",
		"@peer allowed_ip=10.0.0.0/08",
		"@peer allowed_ip=10.0.0.0/+8",
		"@peer allowed_ip=10.0.0/8",
		"@peer allowed_ip=010.0.0.0/8",
		"@peer allowed_ip=fe80::1%1/64",
		"@peer allowed_ip=--10.0.0.0/8",
		"@peer allowed_ip=",
		"@peer protocol_version=2",
		"@peer protocol_version=0",
		"@peer protocol_version=",
		"@peer remove=yes",
		"@peer remove=1",
		"@peer update_only=false",
		"@peer replace_allowed_ips=yes",
		"@peer preshared_key=1234",
		"@peer private_key=" "0000000000000000000000000000000000000000000000000000000000000000",
		"@peer listen_port=1",
		"@peer replace_peers=true",
		"@peer last_handshake_time_sec=0",
		"@peer remove=true\nallowed_ip=10.0.0.0/99",
	};
	struct fixture fx;
	struct keypair me, a, b;
	char *before, *after, req[1024];

	setup_configured(&fx, &me, &a);
	make_keypair(&b);
	before = do_get(&fx);
	CHECK(count_lines(before, "public_key=") == 1);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *line = bad[i];
		unsigned changed = fx.iface.changed_calls;

		/* Each bad line comes after valid changes that must not happen. */
		if (!strncmp(line, "@peer ", 6))
			snprintf(req, sizeof(req),
				 "listen_port=1000\nreplace_peers=true\npublic_key=%s\n"
				 "allowed_ip=10.0.0.0/24\npublic_key=%s\n%s\npublic_key=%s\n",
				 b.pub_hex, a.pub_hex, line + 6, b.pub_hex);
		else
			snprintf(req, sizeof(req), "private_key=%s\nfwmark=9\n%s\n", a.priv_hex, line);
		if (do_set(&fx, req) != -EINVAL)
			test_fail(__FILE__, __LINE__, "not EINVAL: %s", line);
		after = do_get(&fx);
		if (strcmp(before, after))
			test_fail(__FILE__, __LINE__, "device changed by: %s", line);
		free(after);
		CHECK_EQ(fx.iface.changed_calls, changed);
	}
	CHECK_EQ(fx.iface.port_calls, 0);
	CHECK_EQ(fx.iface.fwmark_calls, 1);

	/* A line without '=' is a protocol error, as wireguard-go answers. */
	snprintf(req, sizeof(req), "private_key=%s\nhello", a.priv_hex);
	CHECK_EQ(do_set(&fx, req), -EPROTO);
	after = do_get(&fx);
	CHECK(!strcmp(before, after));
	free(after);
	free(before);
	altuntun_device_free(fx.dev);
}

TEST(uapi_bad_operations)
{
	struct fixture fx;
	char *out;

	fx_init(&fx);
	out = roundtrip(&fx, "get=1\nx", 7);
	CHECK(!strcmp(out, "errno=-22\n\n"));
	free(out);
	out = roundtrip(&fx, "put=1\n\n", 7);
	CHECK(!strcmp(out, "errno=-22\n\n"));
	free(out);
	/* A line longer than any valid one. */
	{
		size_t n = UAPI_MAX_LINE + 100;
		char *req = malloc(n + 8);

		CHECK(req != NULL);
		memcpy(req, "set=1\nfwmark=", 13);
		memset(req + 13, '1', n - 13);
		memcpy(req + n, "\n\n", 2);
		out = roundtrip(&fx, req, n + 2);
		CHECK(!strcmp(out, "errno=-22\n\n"));
		free(out);
		free(req);
	}
	/* An empty set changes nothing and reports nothing. */
	out = roundtrip(&fx, "set=1\n\n", 7);
	CHECK(!strcmp(out, "errno=0\n\n"));
	free(out);
	CHECK_EQ(fx.iface.changed_calls, 0);
	altuntun_device_free(fx.dev);
}

TEST(uapi_request_length)
{
	static const char get[] = "get=1\n\n";
	static const char set[] = "set=1\nlisten_port=1\n\n";
	char *big;

	for (size_t i = 0; i < strlen(get); i++)
		CHECK_EQ(uapi_request_length(get, i), 0);
	CHECK_EQ(uapi_request_length(get, 7), 7);
	CHECK_EQ(uapi_request_length("get=1\n\nget=1\n\n", 14), 7);
	for (size_t i = 0; i < strlen(set); i++)
		CHECK_EQ(uapi_request_length(set, i), 0);
	CHECK_EQ(uapi_request_length(set, strlen(set)), strlen(set));
	CHECK_EQ(uapi_request_length("set=1\n\nget=1\n\n", 14), 7);
	CHECK_EQ(uapi_request_length("set=1\nfwmark=1\n\nset=1\n", 22), 16);
	CHECK_EQ(uapi_request_length("", 0), 0);
	CHECK_EQ(uapi_request_length(NULL, 0), 0);
	CHECK_EQ(uapi_request_length("x", 1), -EINVAL);
	CHECK_EQ(uapi_request_length("gex", 3), -EINVAL);
	CHECK_EQ(uapi_request_length("GET=1\n\n", 7), -EINVAL);
	CHECK_EQ(uapi_request_length("get=2\n\n", 7), -EINVAL);
	CHECK_EQ(uapi_request_length("set=1\r\n\r\n", 9), -EINVAL);
	CHECK_EQ(uapi_request_length("\n\n", 2), -EINVAL);
	CHECK_EQ(uapi_request_length("hello world\n\n", 13), -EINVAL);

	/* Against a plain search, on buffers dense with newlines. */
	srand(7);
	for (int iter = 0; iter < 20000; iter++) {
		char buf[80];
		size_t n = 6 + (size_t)rand() % 70;
		const char *end;
		ssize_t want;

		memcpy(buf, "set=1\n", 6);
		for (size_t i = 6; i < n; i++)
			buf[i] = rand() % 3 ? 'a' : '\n';
		end = memmem(buf + 5, n - 5, "\n\n", 2);
		want = end ? end + 2 - buf : 0;
		CHECK_EQ(uapi_request_length(buf, n), want);
	}

	/* Over UAPI_MAX_REQUEST without an end: refused. */
	big = malloc(UAPI_MAX_REQUEST + 2);
	CHECK(big != NULL);
	memcpy(big, "set=1\n", 6);
	memset(big + 6, 'a', UAPI_MAX_REQUEST + 2 - 6);
	CHECK_EQ(uapi_request_length(big, UAPI_MAX_REQUEST), 0);
	CHECK_EQ(uapi_request_length(big, UAPI_MAX_REQUEST + 1), -EINVAL);
	/* Ending exactly at the limit is fine; one byte past it is not. */
	big[UAPI_MAX_REQUEST - 2] = big[UAPI_MAX_REQUEST - 1] = '\n';
	CHECK_EQ(uapi_request_length(big, UAPI_MAX_REQUEST + 2), UAPI_MAX_REQUEST);
	big[UAPI_MAX_REQUEST - 2] = 'a';
	big[UAPI_MAX_REQUEST] = '\n';
	CHECK_EQ(uapi_request_length(big, UAPI_MAX_REQUEST + 2), -EINVAL);
	free(big);
}

static double elapsed(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

/* 130,560 allowed IPs on one peer: set in one request, read back whole. */
TEST(uapi_many_allowed_ips)
{
	enum { N = 130560 };
	struct fixture fx;
	struct keypair a;
	struct uapi_buf req = { 0 };
	struct timespec t0;
	char *out;
	ssize_t len;

	fx_init(&fx);
	make_keypair(&a);
	uapi_buf_printf(&req, "set=1\npublic_key=%s\nreplace_allowed_ips=true\n", a.pub_hex);
	for (unsigned i = 0; i < N; i++) {
		if (i % 2)
			uapi_buf_printf(&req, "allowed_ip=10.%u.%u.%u/32\n", i >> 16 & 0xff,
					i >> 8 & 0xff, i & 0xff);
		else
			uapi_buf_printf(&req, "allowed_ip=fd00::%x:%x/128\n", i >> 16, i & 0xffff);
	}
	uapi_buf_append(&req, "\n", 1);
	CHECK(!req.failed);

	clock_gettime(CLOCK_MONOTONIC, &t0);
	/* Framing as the daemon does it: re-checked after every 64 KiB read. */
	for (size_t have = 4096; have < req.len; have += 65536)
		CHECK_EQ(uapi_request_length(req.data, have), 0);
	len = uapi_request_length(req.data, req.len);
	CHECK_EQ(len, req.len);
	out = roundtrip(&fx, req.data, req.len);
	CHECK(!strcmp(out, "errno=0\n\n"));
	free(out);
	fprintf(stderr, "    set of %u allowed IPs (%zu bytes): %.3f s\n", N, req.len,
		elapsed(&t0));
	CHECK(elapsed(&t0) < 20.0);
	CHECK_EQ(altuntun_peer_allowed_ip_count(altuntun_peer_lookup(fx.dev, a.pub)), N);

	clock_gettime(CLOCK_MONOTONIC, &t0);
	out = do_get(&fx);
	fprintf(stderr, "    get: %.3f s, %zu bytes\n", elapsed(&t0), strlen(out));
	CHECK(elapsed(&t0) < 10.0);
	CHECK_EQ(count_lines(out, "allowed_ip="), N);
	CHECK(strstr(out, "\nallowed_ip=10.0.255.255/32\n") != NULL);
	CHECK(strstr(out, "\nallowed_ip=fd00::1:fdfe/128\n") != NULL);
	CHECK(!strcmp(out + strlen(out) - 10, "\nerrno=0\n\n"));
	free(out);
	uapi_buf_free(&req);
	altuntun_device_free(fx.dev);
}

TEST(uapi_many_peers)
{
	enum { N = 10000 };
	struct fixture fx;
	struct uapi_buf req = { 0 };
	struct timespec t0;
	uint8_t key[ALTUNTUN_KEY_LEN] = { 0 };
	char hex[65], *out;

	fx_init(&fx);
	uapi_buf_printf(&req, "set=1\nreplace_peers=true\n");
	for (unsigned i = 0; i < N; i++) {
		key[0] = 1;
		key[1] = (uint8_t)(i >> 8);
		key[2] = (uint8_t)i;
		to_hex(hex, key);
		uapi_buf_printf(&req,
				"public_key=%s\nendpoint=192.0.2.%u:%u\n"
				"allowed_ip=10.%u.%u.0/24\npersistent_keepalive_interval=25\n",
				hex, i % 250 + 1, 1024 + i, i >> 8, i & 0xff);
	}
	uapi_buf_append(&req, "\n", 1);
	CHECK(!req.failed);

	clock_gettime(CLOCK_MONOTONIC, &t0);
	out = roundtrip(&fx, req.data, req.len);
	CHECK(!strcmp(out, "errno=0\n\n"));
	free(out);
	CHECK_EQ(altuntun_peer_count(fx.dev), N);
	out = do_get(&fx);
	fprintf(stderr, "    set + get of %u peers: %.3f s\n", N, elapsed(&t0));
	CHECK(elapsed(&t0) < 20.0);
	CHECK_EQ(count_lines(out, "public_key="), N);
	CHECK_EQ(count_lines(out, "allowed_ip="), N);
	CHECK_EQ(count_lines(out, "persistent_keepalive_interval=25"), N);
	free(out);
	uapi_buf_free(&req);
	altuntun_device_free(fx.dev);
}

TEST(uapi_iface_ops)
{
	struct fixture fx;
	struct keypair me, a;
	char req[512], *out;

	fx_init(&fx);
	make_keypair(&me);
	make_keypair(&a);
	CHECK_EQ(do_set(&fx, "listen_port=51820\nfwmark=4294967295\n"), 0);
	CHECK_EQ(fx.iface.port_calls, 1);
	CHECK_EQ(fx.iface.ports_set[0], 51820);
	CHECK_EQ(fx.iface.fwmark, 0xffffffffu);
	CHECK_EQ(fx.iface.changed_calls, 1);
	out = do_get(&fx);
	CHECK(!strcmp(out, "listen_port=51820\nfwmark=4294967295\nerrno=0\n\n"));
	free(out);
	/* fwmark=0 removes it; leading zeroes parse as in Go. */
	CHECK_EQ(do_set(&fx, "fwmark=0\nlisten_port=0051821\n"), 0);
	CHECK_EQ(fx.iface.fwmark, 0);
	CHECK_EQ(fx.iface.port, 51821);
	CHECK_EQ(fx.iface.changed_calls, 2);

	/* A port that cannot be bound: its errno, and nothing else applied. */
	fx.iface.port_ret = -EADDRINUSE;
	snprintf(req, sizeof(req), "private_key=%s\nlisten_port=80\nfwmark=5\npublic_key=%s\n",
		 me.priv_hex, a.pub_hex);
	CHECK_EQ(do_set(&fx, req), -EADDRINUSE);
	CHECK_EQ(fx.iface.port, 51821);
	CHECK_EQ(fx.iface.fwmark, 0);
	CHECK_EQ(altuntun_peer_count(fx.dev), 0);
	CHECK(!altuntun_device_get_private_key(fx.dev, me.priv));
	CHECK_EQ(fx.iface.changed_calls, 2);
	fx.iface.port_ret = 0;

	/* A failing fwmark: its errno, and the port is put back. */
	fx.iface.fwmark_ret = -EPERM;
	snprintf(req, sizeof(req), "listen_port=80\nfwmark=5\npublic_key=%s\n", a.pub_hex);
	CHECK_EQ(do_set(&fx, req), -EPERM);
	CHECK_EQ(fx.iface.port, 51821);
	CHECK_EQ(fx.iface.port_calls, 5);
	CHECK_EQ(fx.iface.ports_set[3], 80);
	CHECK_EQ(altuntun_peer_count(fx.dev), 0);
	CHECK_EQ(fx.iface.changed_calls, 2);
	altuntun_device_free(fx.dev);

	/* NULL ops: get works, set of peers works. */
	fx_init(&fx);
	{
		char *resp;
		size_t resp_len;

		snprintf(req, sizeof(req), "set=1\npublic_key=%s\n\n", a.pub_hex);
		CHECK_EQ(uapi_handle(fx.dev, NULL, fx.now, req, strlen(req), &resp, &resp_len), 0);
		CHECK(resp_len == 9 && !memcmp(resp, "errno=0\n\n", 9));
		free(resp);
		CHECK_EQ(uapi_handle(fx.dev, NULL, fx.now, "get=1\n\n", 7, &resp, &resp_len), 0);
		CHECK(resp_len > 9 && !memcmp(resp, "public_key=", 11));
		free(resp);
	}
	altuntun_device_free(fx.dev);
}

TEST(uapi_value_parsers)
{
	struct uapi_prefix p;
	struct uapi_peer_change pc;
	uint64_t v;

	CHECK_EQ(uapi_parse_prefix(&p, "10.1.2.3/8"), 0);
	CHECK_EQ(p.family, AF_INET);
	CHECK_EQ(p.cidr, 8);
	CHECK_MEM(&p.addr.v4, "\x0a\x00\x00\x00", 4);
	CHECK(!p.remove);
	CHECK_EQ(uapi_parse_prefix(&p, "-fd00:1234:5678::ff/33"), 0);
	CHECK_EQ(p.family, AF_INET6);
	CHECK(p.remove);
	CHECK_MEM(&p.addr.v6, "\xfd\x00\x12\x34\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00", 16);
	CHECK_EQ(uapi_parse_prefix(&p, "0.0.0.0/0"), 0);
	CHECK_EQ(uapi_parse_prefix(&p, "::/0"), 0);
	CHECK_EQ(uapi_parse_prefix(&p, "::ffff:10.0.0.1/128"), 0);
	CHECK_EQ(p.family, AF_INET6);

	CHECK_EQ(uapi_parse_endpoint(&pc, "[::ffff:192.0.2.1]:1"), 0);
	CHECK_EQ(pc.endpoint.sa.sa_family, AF_INET6);
	CHECK_EQ(uapi_parse_endpoint(&pc, "[fe80::1%lo]:5"), 0);
	CHECK(pc.endpoint.in6.sin6_scope_id != 0);
	CHECK_EQ(uapi_parse_endpoint(&pc, "[fe80::1%no-such-if0]:5"), -EINVAL);
	CHECK_EQ(uapi_parse_endpoint(&pc, "192.0.2.1:0"), 0);
	CHECK_EQ(pc.endpoint_len, sizeof(struct sockaddr_in));

	CHECK_EQ(uapi_parse_uint(&v, "18446744073709551615", UINT64_MAX), 0);
	CHECK(v == UINT64_MAX);
	CHECK_EQ(uapi_parse_uint(&v, "18446744073709551616", UINT64_MAX), -EINVAL);
	CHECK_EQ(uapi_parse_uint(&v, "65535", 65535), 0);
	CHECK_EQ(uapi_parse_uint(&v, "65536", 65535), -EINVAL);
	CHECK_EQ(uapi_parse_uint(&v, "+1", 65535), -EINVAL);
}
