// SPDX-License-Identifier: BSD-3-Clause
/*
 * fuzz_uapi: the input as the bytes a client writes to the UAPI socket.
 * Requests are framed with uapi_request_length() and handled one after the
 * other (a trailing incomplete set request too) by a fresh device with two
 * peers. Checked: the framing is consistent, every response is key=value
 * lines ending in "errno=N\n\n", a get succeeds, a set request that does
 * not parse changes nothing at all, and the configuration get=1 reports
 * in the end, given to set=1, configures an empty device alike.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fake_iface.h"
#include "fuzz_common.h"
#include "uapi.h"
#include "uapi_internal.h"

#define UAPI_SEED 0x5eeda9a1ULL
#define MAX_REQUESTS 8
#define OP_LEN 6 /* "get=1\n", "set=1\n" */

enum { KEY_DEV = 21, KEY_PEER1 = 22, KEY_PEER2 = 23 };

struct uapi_world {
	altuntun_device *dev;
	struct fake_iface iface;
	struct uapi_iface_ops ops;
	struct altuntun_now now;
	struct fuzz_rng rng;
};

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Keepalives and initiations the set requests cause go nowhere. */
static int drop_send(void *ctx, altuntun_peer *peer, const struct altuntun_endpoint *to,
		     const uint8_t *data, size_t len)
{
	(void)ctx;
	(void)peer;
	(void)to;
	FUZZ_CHECK(len >= 4 && data[0] >= 1 && data[0] <= 4);
	return 0;
}

static altuntun_peer *add_peer(struct uapi_world *u, unsigned key,
			       const struct altuntun_endpoint *ep)
{
	uint8_t priv[ALTUNTUN_KEY_LEN], pub[ALTUNTUN_KEY_LEN];
	altuntun_peer *peer;

	fuzz_key(key, priv, pub);
	peer = altuntun_peer_add(u->dev, pub, NULL);
	FUZZ_CHECK(peer);
	fuzz_peer_set_endpoint(peer, ep);
	return peer;
}

/* A device without key, peers, port or fwmark. */
static void world_init_empty(struct uapi_world *u)
{
	static const struct altuntun_callbacks cb = {.send = drop_send};

	memset(u, 0, sizeof(*u));
	fuzz_rng_seed(&u->rng, UAPI_SEED);
	fuzz_rng_use(&u->rng);
	u->now.mono_ns = FUZZ_START_MONO;
	u->now.wall_ns = FUZZ_START_WALL;
	u->ops = fake_iface_ops(&u->iface);
	u->dev = altuntun_device_new(&cb);
	FUZZ_CHECK(u->dev);
}

/* The device the requests go to: a key, port 51820 and two peers. */
static void world_init(struct uapi_world *u)
{
	static const uint8_t addr6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 3};
	uint8_t priv[ALTUNTUN_KEY_LEN], pub[ALTUNTUN_KEY_LEN], psk[ALTUNTUN_KEY_LEN];
	struct altuntun_endpoint ep;
	altuntun_peer *p;

	world_init_empty(u);
	u->iface.port = 51820;
	fuzz_key(KEY_DEV, priv, pub);
	FUZZ_CHECK(altuntun_device_set_private_key(u->dev, priv) == ALTUNTUN_OK);

	fuzz_endpoint4(&ep, 0xc0000202, 51820);
	p = add_peer(u, KEY_PEER1, &ep);
	memset(psk, 0x42, sizeof(psk));
	altuntun_peer_set_preshared_key(p, psk);
	fuzz_allow(u->dev, p, "10.0.0.2/32");
	fuzz_allow(u->dev, p, "fd00::/64");

	fuzz_endpoint6(&ep, addr6, 51821);
	p = add_peer(u, KEY_PEER2, &ep);
	fuzz_allow(u->dev, p, "0.0.0.0/0");
	altuntun_peer_set_persistent_keepalive(u->dev, p, 25, u->now);
}

/* The N of "errno=N" in [p, end): 0 or a negative number, digits only. */
static long parse_errno(const char *p, const char *end)
{
	long v = 0;

	FUZZ_CHECK(end - p >= 6 && !memcmp(p, "errno=", 6));
	p += 6;
	if (p < end && *p == '-')
		p++;
	FUZZ_CHECK(p < end && end - p < 10);
	for (; p < end; p++) {
		FUZZ_CHECK(*p >= '0' && *p <= '9');
		v = v * 10 + (*p - '0');
	}
	return -v;
}

/*
 * Checks the shape of a response: key=value lines, the last "errno=N" with
 * N 0 or negative, then the empty line. Returns N.
 */
static long check_response(const char *resp, size_t len)
{
	const char *last, *p;
	long err;

	FUZZ_CHECK(resp && len >= strlen("errno=0\n\n"));
	FUZZ_CHECK(resp[len - 1] == '\n' && resp[len - 2] == '\n');
	FUZZ_CHECK(!memchr(resp, '\0', len));
	last = memrchr(resp, '\n', len - 2);
	last = last ? last + 1 : resp;
	err = parse_errno(last, resp + len - 2);
	for (p = resp; p < last;) {
		const char *nl = memchr(p, '\n', (size_t)(last - p));

		FUZZ_CHECK(nl && nl > p && *p != '=' && memchr(p, '=', (size_t)(nl - p)));
		p = nl + 1;
	}
	return err;
}

/* Handles req and returns the errno the response carries; the response
 * goes to *resp_out and *len_out, or is freed when resp_out is NULL. */
static long roundtrip(struct uapi_world *u, const char *req, size_t len, char **resp_out,
		      size_t *len_out)
{
	size_t resp_len;
	char *resp;
	long err;

	FUZZ_CHECK(uapi_handle(u->dev, &u->ops, u->now, req, len, &resp, &resp_len) == 0);
	err = check_response(resp, resp_len);
	if (resp_out) {
		*resp_out = resp;
		*len_out = resp_len;
	} else {
		free(resp);
	}
	return err;
}

struct response {
	char *text;
	size_t len;
};

static void get_config(struct uapi_world *u, struct response *r)
{
	FUZZ_CHECK(roundtrip(u, "get=1\n\n", 7, &r->text, &r->len) == 0);
}

/* A set request that does not parse must be answered with the parse error
 * and leave the device (and the sockets) as they were. */
static void handle_set(struct uapi_world *u, const char *req, size_t len)
{
	struct fake_iface iface_before = u->iface;
	struct response before, after;
	struct uapi_set set;
	long err;
	int parse_err;

	parse_err = uapi_set_parse(&set, req + OP_LEN, len - OP_LEN);
	if (!parse_err) {
		uapi_set_free(&set);
		err = roundtrip(u, req, len, NULL, NULL);
		FUZZ_CHECK(err == 0 || err == -EINVAL || err == -ENOMEM);
		return;
	}
	FUZZ_CHECK(parse_err == -EINVAL || parse_err == -EPROTO || parse_err == -ENOMEM);
	get_config(u, &before);
	err = roundtrip(u, req, len, NULL, NULL);
	get_config(u, &after);
	FUZZ_CHECK(err == parse_err);
	FUZZ_CHECK(before.len == after.len && !memcmp(before.text, after.text, before.len));
	FUZZ_CHECK(!memcmp(&iface_before, &u->iface, sizeof(iface_before)));
	free(before.text);
	free(after.text);
}

static void handle_request(struct uapi_world *u, const uint8_t *data, size_t len)
{
	/* A copy of exactly len bytes, for ASan to see reads past the end. */
	char *req = malloc(len);
	long err;

	FUZZ_CHECK(req);
	memcpy(req, data, len);
	if (!memcmp(req, "set=1\n", OP_LEN)) {
		handle_set(u, req, len);
	} else {
		err = roundtrip(u, req, len, NULL, NULL);
		FUZZ_CHECK(err == (req[OP_LEN] == '\n' ? 0 : -EINVAL));
	}
	free(req);
}

/* Lines of a get response that a set request cannot take back (counters,
 * times) or that are not configuration (errno). */
static bool is_config_line(const char *line, size_t n)
{
	static const char *const skip[] = {
		"last_handshake_time_sec=", "last_handshake_time_nsec=", "tx_bytes=",
		"rx_bytes=", "errno=",
	};

	for (size_t i = 0; i < sizeof(skip) / sizeof(skip[0]); i++)
		if (n >= strlen(skip[i]) && !memcmp(line, skip[i], strlen(skip[i])))
			return false;
	return true;
}

/* The configuration lines of a get response, each with its newline. */
static void config_lines(const struct response *r, struct uapi_buf *out)
{
	const char *p = r->text, *end = r->text + r->len;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = (size_t)(nl - p) + 1;

		if (n > 1 && is_config_line(p, n))
			uapi_buf_append(out, p, n);
		p += n;
	}
}

/*
 * What get=1 reports, given back as a set=1 request to an empty device,
 * must configure it the same: the two halves of the protocol agree (on
 * endpoint and prefix syntax, key encoding, which keys exist...).
 */
static void check_get_set(struct uapi_world *u)
{
	struct uapi_buf want = {0}, req = {0}, got = {0};
	struct response orig, copy;
	struct uapi_world fresh;

	get_config(u, &orig);
	config_lines(&orig, &want);
	uapi_buf_append(&req, "set=1\n", OP_LEN);
	if (want.len)
		uapi_buf_append(&req, want.data, want.len);
	uapi_buf_append(&req, "\n", 1);
	FUZZ_CHECK(!want.failed && !req.failed);

	world_init_empty(&fresh);
	FUZZ_CHECK(roundtrip(&fresh, req.data, req.len, NULL, NULL) == 0);
	get_config(&fresh, &copy);
	config_lines(&copy, &got);
	FUZZ_CHECK(!got.failed && got.len == want.len);
	FUZZ_CHECK(!want.len || !memcmp(got.data, want.data, want.len));

	altuntun_device_free(fresh.dev);
	fuzz_rng_use(&u->rng);
	free(orig.text);
	free(copy.text);
	uapi_buf_free(&want);
	uapi_buf_free(&req);
	uapi_buf_free(&got);
}

/* The length of the first request in data, checked for consistency. */
static ssize_t frame(const uint8_t *data, size_t len)
{
	ssize_t n = uapi_request_length((const char *)data, len);

	FUZZ_CHECK(n == 0 || n == -EINVAL || (n > OP_LEN && (size_t)n <= len));
	if (n > 0) {
		/* No shorter prefix is a complete request. */
		FUZZ_CHECK(uapi_request_length((const char *)data, (size_t)n - 1) == 0);
		/* A set request ends with its empty line; get=1 is 7 bytes. */
		if (data[0] == 's')
			FUZZ_CHECK(data[n - 1] == '\n' && data[n - 2] == '\n');
		else
			FUZZ_CHECK(n == OP_LEN + 1);
	}
	return n;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_init();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct uapi_world u;

	world_init(&u);
	for (unsigned i = 0; i < MAX_REQUESTS && size; i++) {
		ssize_t n = frame(data, size);

		if (n < 0)
			break;
		if (n == 0) {
			/* The daemon would wait for more; the handler must
			 * still cope with a set request cut short. */
			if (size > OP_LEN && !memcmp(data, "set=1\n", OP_LEN))
				handle_request(&u, data, size);
			break;
		}
		handle_request(&u, data, (size_t)n);
		data += n;
		size -= (size_t)n;
	}
	check_get_set(&u);
	altuntun_device_free(u.dev);
	fuzz_rng_use(NULL);
	return 0;
}
