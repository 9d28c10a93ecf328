// SPDX-License-Identifier: BSD-3-Clause
/*
 * fuzz_send: inner packets of any content, length, MTU and buffer size
 * through altuntun_send() (or the batch call, or the split data path) on a
 * device "A" whose session with peer B was set up once, by a handshake
 * through memory (input format: fuzz_common.h).
 * Every datagram A produces for B is decrypted by B, which must give back
 * the very packet that went in. The clock stands still, so the session
 * never ages and every input meets the same state (counters aside).
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"

#define SEND_SEED 0x5eed5e4dULL
#define MAX_RECORDS 64
#define MAX_INFLIGHT 8
#define INFLIGHT_MAX_LEN 2048

enum { KEY_A = 11, KEY_B = 12, KEY_C = 13 };

struct inflight {
	uint8_t data[MAX_INFLIGHT][INFLIGHT_MAX_LEN];
	size_t len[MAX_INFLIGHT];
	size_t count;
};

static struct {
	altuntun_device *a, *b;
	altuntun_peer *a_b, *a_c, *b_a;
	struct altuntun_endpoint addr_a, addr_b, addr_c;
	struct altuntun_now now;
	struct fuzz_rng rng;
	altuntun_aead *aead; /* A's, for the split path; B's is NULL */
	bool setting_up;
	struct inflight to_a, to_b; /* during set-up only */
} sw;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_datagram(const uint8_t *data, size_t len)
{
	FUZZ_CHECK(len >= 4 && data[0] >= 1 && data[0] <= 4 && !data[1] && !data[2] && !data[3]);
}

static void queue(struct inflight *q, const uint8_t *data, size_t len)
{
	FUZZ_CHECK(q->count < MAX_INFLIGHT && len <= INFLIGHT_MAX_LEN);
	memcpy(q->data[q->count], data, len);
	q->len[q->count++] = len;
}

/* After set-up, A only sends initiations to C (who never answers). */
static int a_send(void *ctx, altuntun_peer *peer, const struct altuntun_endpoint *to,
		  const uint8_t *data, size_t len)
{
	(void)ctx;
	(void)to;
	check_datagram(data, len);
	if (sw.setting_up)
		queue(&sw.to_b, data, len);
	else
		FUZZ_CHECK(peer == sw.a_c && data[0] == 1);
	return 0;
}

static int b_send(void *ctx, altuntun_peer *peer, const struct altuntun_endpoint *to,
		  const uint8_t *data, size_t len)
{
	(void)ctx;
	(void)peer;
	(void)to;
	check_datagram(data, len);
	FUZZ_CHECK(sw.setting_up);
	queue(&sw.to_a, data, len);
	return 0;
}

static altuntun_device *new_device(int (*send)(void *, altuntun_peer *,
					       const struct altuntun_endpoint *,
					       const uint8_t *, size_t),
				   unsigned key)
{
	struct altuntun_callbacks cb = {.send = send};
	uint8_t priv[ALTUNTUN_KEY_LEN], pub[ALTUNTUN_KEY_LEN];
	altuntun_device *dev = altuntun_device_new(&cb);

	FUZZ_CHECK(dev);
	fuzz_key(key, priv, pub);
	FUZZ_CHECK(altuntun_device_set_private_key(dev, priv) == ALTUNTUN_OK);
	return dev;
}

static altuntun_peer *add_peer(altuntun_device *dev, unsigned key,
			       const struct altuntun_endpoint *ep)
{
	uint8_t priv[ALTUNTUN_KEY_LEN], pub[ALTUNTUN_KEY_LEN];
	altuntun_peer *peer;

	fuzz_key(key, priv, pub);
	peer = altuntun_peer_add(dev, pub, NULL);
	FUZZ_CHECK(peer);
	fuzz_peer_set_endpoint(peer, ep);
	return peer;
}

static void build_devices(void)
{
	fuzz_endpoint4(&sw.addr_a, 0xc0000201, 51820);
	fuzz_endpoint4(&sw.addr_b, 0xc0000202, 51820);
	fuzz_endpoint4(&sw.addr_c, 0xc0000203, 51820);
	sw.a = new_device(a_send, KEY_A);
	sw.b = new_device(b_send, KEY_B);
	sw.a_b = add_peer(sw.a, KEY_B, &sw.addr_b);
	fuzz_allow(sw.a, sw.a_b, "0.0.0.0/1");
	fuzz_allow(sw.a, sw.a_b, "::/1");
	sw.a_c = add_peer(sw.a, KEY_C, &sw.addr_c);
	fuzz_allow(sw.a, sw.a_c, "128.0.0.0/2");
	fuzz_allow(sw.a, sw.a_c, "8000::/2");
	sw.b_a = add_peer(sw.b, KEY_A, &sw.addr_a);
	fuzz_allow(sw.b, sw.b_a, "0.0.0.0/0");
	fuzz_allow(sw.b, sw.b_a, "::/0");
}

/* Empties q into a device (its answers queue up the other way). */
static void deliver(struct inflight *q, altuntun_device *to, const struct altuntun_endpoint *from)
{
	static struct inflight copy;
	struct altuntun_out out;

	copy = *q;
	q->count = 0;
	for (size_t i = 0; i < copy.count; i++)
		altuntun_receive(to, sw.now, from, copy.data[i], copy.len[i], &out);
}

/* Hands every queued datagram to its receiver until none is left. */
static void pump(void)
{
	while (sw.to_a.count || sw.to_b.count) {
		deliver(&sw.to_b, sw.b, &sw.addr_a);
		deliver(&sw.to_a, sw.a, &sw.addr_b);
	}
}

static int send_to_b(size_t len)
{
	static uint8_t buf[ALTUNTUN_HEADROOM + 100 + ALTUNTUN_TAILROOM];
	const uint8_t src[4] = {10, 0, 0, 1}, dst[4] = {10, 0, 0, 2};
	struct altuntun_out out;

	fuzz_ipv4_packet(buf + ALTUNTUN_HEADROOM, len, src, dst);
	return altuntun_send(sw.a, sw.now, buf, len, sizeof(buf), 0, &out);
}

static void handshake(void)
{
	sw.setting_up = true;
	FUZZ_CHECK(send_to_b(100) == ALTUNTUN_QUEUED);
	pump();
	FUZZ_CHECK(send_to_b(100) == ALTUNTUN_OK);
	sw.setting_up = false;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_init();
	fuzz_rng_seed(&sw.rng, SEND_SEED);
	fuzz_rng_use(&sw.rng);
	sw.now.mono_ns = FUZZ_START_MONO;
	sw.now.wall_ns = FUZZ_START_WALL;
	build_devices();
	handshake();
	sw.aead = altuntun_aead_new();
	FUZZ_CHECK(sw.aead);
	sw.now.mono_ns += FUZZ_NS_PER_SEC;
	sw.now.wall_ns += FUZZ_NS_PER_SEC;
	return 0;
}

/* Padding as the protocol wants it: to a multiple of 16, never past the
 * MTU (unless the packet itself is longer). */
static void check_padding(size_t len, size_t mtu, size_t padded)
{
	size_t full = (len + 15) & ~(size_t)15;

	FUZZ_CHECK(padded >= len && padded - len < 16);
	if (!mtu || full <= mtu)
		FUZZ_CHECK(padded == full);
	else
		FUZZ_CHECK(padded <= (mtu > len ? mtu : len));
}

static bool same_endpoint(const struct altuntun_endpoint *a, const struct altuntun_endpoint *b)
{
	return a->addr.in4.sin_family == b->addr.in4.sin_family &&
	       a->addr.in4.sin_port == b->addr.in4.sin_port &&
	       a->addr.in4.sin_addr.s_addr == b->addr.in4.sin_addr.s_addr;
}

static bool is_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

/* B's receive, whole or in its three steps. */
static int receive_at_b(uint8_t mode, uint8_t *buf, size_t len, struct altuntun_out *out)
{
	struct altuntun_crypt c;
	int ret;

	if (!(mode & SEND_MODE_SPLIT))
		return altuntun_receive(sw.b, sw.now, &sw.addr_a, buf, len, out);
	ret = altuntun_receive_prepare(sw.b, sw.now, &sw.addr_a, buf, len, out, &c);
	FUZZ_CHECK(ret == ALTUNTUN_DECRYPT);
	altuntun_crypt_open(NULL, &c);
	FUZZ_CHECK(c.ok && is_zero(c.key, sizeof(c.key)));
	return altuntun_receive_finish(sw.b, sw.now, &sw.addr_a, buf, len, out, &c);
}

/*
 * B must decrypt the datagram into the packet A was given, followed by zero
 * padding: B trusts the length in the IP header, which may claim more than
 * the packet had (then the padding is delivered too) or less.
 */
static void check_roundtrip(uint8_t mode, const struct altuntun_out *sent, const uint8_t *pkt,
			    size_t len)
{
	size_t padded = sent->len - ALTUNTUN_DATA_OVERHEAD;
	uint8_t *buf = malloc(sent->len);
	struct altuntun_out out;
	int ret;

	FUZZ_CHECK(buf);
	memcpy(buf, sent->data, sent->len);
	ret = receive_at_b(mode, buf, sent->len, &out);
	FUZZ_CHECK(ret == ALTUNTUN_DELIVER || ret == ALTUNTUN_ERR_BAD_INNER_PACKET);
	if (ret == ALTUNTUN_DELIVER) {
		FUZZ_CHECK(out.peer == sw.b_a && out.len <= padded);
		FUZZ_CHECK(!memcmp(out.data, pkt, out.len < len ? out.len : len));
		for (size_t i = len; i < out.len; i++)
			FUZZ_CHECK(out.data[i] == 0);
	}
	free(buf);
}

static void check_sent(uint8_t mode, int ret, const struct altuntun_out *out,
		       const uint8_t *buf, size_t len, size_t cap, size_t mtu, const uint8_t *pkt)
{
	FUZZ_CHECK(ret == ALTUNTUN_OK || ret == ALTUNTUN_QUEUED || ret == ALTUNTUN_ERR_NO_ROUTE ||
		   ret == ALTUNTUN_ERR_BAD_INNER_PACKET || ret == ALTUNTUN_ERR_BUFFER_TOO_SMALL);
	if (ret == ALTUNTUN_QUEUED)
		FUZZ_CHECK(out->peer == sw.a_c);
	if (ret != ALTUNTUN_OK)
		return;
	FUZZ_CHECK(out->peer == sw.a_b && out->data == buf);
	FUZZ_CHECK(out->len >= ALTUNTUN_DATA_OVERHEAD && out->len <= cap);
	FUZZ_CHECK(same_endpoint(&out->endpoint, &sw.addr_b));
	check_padding(len, mtu, out->len - ALTUNTUN_DATA_OVERHEAD);
	check_roundtrip(mode, out, pkt, len);
}

/* altuntun_send_prepare(), then the AEAD step as another thread would. */
static int send_split(uint8_t *buf, size_t len, size_t cap, size_t mtu, struct altuntun_out *out)
{
	struct altuntun_crypt c;
	int ret;

	ret = altuntun_send_prepare(sw.a, sw.now, buf, len, cap, mtu, out, &c);
	if (ret != ALTUNTUN_OK)
		return ret;
	FUZZ_CHECK(c.data == buf + ALTUNTUN_HEADROOM && c.len + ALTUNTUN_DATA_OVERHEAD == out->len);
	altuntun_crypt_seal(sw.aead, &c);
	FUZZ_CHECK(is_zero(c.key, sizeof(c.key)));
	return ret;
}

static int send_packet(uint8_t mode, uint8_t *buf, size_t len, size_t cap, size_t mtu,
		       struct altuntun_out *out)
{
	struct altuntun_packet p = {.buf = buf, .len = len, .cap = cap, .mtu = mtu};

	if (mode & SEND_MODE_SPLIT)
		return send_split(buf, len, cap, mtu, out);
	if (!(mode & SEND_MODE_BATCH))
		return altuntun_send(sw.a, sw.now, buf, len, cap, mtu, out);
	altuntun_send_batch(sw.a, sw.now, &p, 1);
	*out = p.out;
	return p.result;
}

static void send_record(uint16_t len, uint16_t mtu, uint8_t mode, const uint8_t *data, size_t got)
{
	size_t slack = mode & SEND_MODE_SLACK;
	size_t tail = (mode & SEND_MODE_SHORT_TAIL) ? slack : ALTUNTUN_TAILROOM + slack;
	size_t cap = ALTUNTUN_HEADROOM + len + tail;
	/* Exactly cap bytes: ASan sees a write past what the library was given. */
	uint8_t *buf = malloc(cap), *pkt = malloc(len ? len : 1);
	struct altuntun_out out;
	int ret;

	FUZZ_CHECK(buf && pkt);
	if (got)
		memcpy(pkt, data, got);
	for (size_t i = got; i < len; i++)
		pkt[i] = (uint8_t)(i * 13);
	if (len)
		memcpy(buf + ALTUNTUN_HEADROOM, pkt, len);
	ret = send_packet(mode, buf, len, cap, mtu, &out);
	if (tail < ALTUNTUN_TAILROOM)
		FUZZ_CHECK(ret < 0);
	check_sent(mode, ret, &out, buf, len, cap, mtu, pkt);
	free(buf);
	free(pkt);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_reader r = {data, size};

	fuzz_rng_use(&sw.rng);
	for (unsigned n = 0; n < MAX_RECORDS && r.left >= SEND_RECORD_HEADER; n++) {
		uint16_t len = fuzz_take_u16(&r);
		uint16_t mtu = fuzz_take_u16(&r);
		uint8_t mode = fuzz_take_u8(&r);
		const uint8_t *p;
		size_t got;

		p = fuzz_take(&r, len, &got);
		send_record(len, mtu, mode, p, got);
	}
	return 0;
}
