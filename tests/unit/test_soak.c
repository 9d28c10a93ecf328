/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Soak: two in-process peers on the fake clock for two simulated hours of
 * traffic both ways (a packet each way every second), through about sixty
 * rekeys, a roaming endpoint, a loss spell, a new private key on one side
 * and a new endpoint for the other. Nothing sent outside the loss spell may
 * be lost, sessions must come back after each event, and the tables must
 * not grow; `make unit-asan` runs it with the leak checker on.
 */
#include <arpa/inet.h>
#include <string.h>

#include "device_internal.h"
#include "pair.h"
#include "test.h"

#define SEC 1000000000ULL
#define SOAK_SECONDS 7200

static struct pair S;

struct phase_count {
	uint64_t sent_a, sent_b, got_a, got_b;
};

static void phase_start(struct phase_count *c)
{
	memset(c, 0, sizeof(*c));
	c->got_a = S.a.delivered;
	c->got_b = S.b.delivered;
}

/* Nothing lost since phase_start(). */
static void phase_check_lossless(const struct phase_count *c)
{
	CHECK_EQ(S.b.delivered - c->got_b, c->sent_a);
	CHECK_EQ(S.a.delivered - c->got_a, c->sent_b);
}

/* One second: a packet each way, then timers and the wire every 100 ms
 * (fine enough for the retransmission jitter to part two peers that
 * initiate on the same tick). */
static void second(struct phase_count *c)
{
	CHECK(pair_send_ip(&S, &S.a, 200) >= 0);
	CHECK(pair_send_ip(&S, &S.b, 200) >= 0);
	c->sent_a++;
	c->sent_b++;
	for (int i = 0; i < 10; i++) {
		pair_flush(&S);
		pair_advance(&S, SEC / 10);
		pair_tick(&S);
	}
	pair_flush(&S);
}

/* A side that moved speaks first, so that the other learns its new
 * endpoint before it answers: datagrams to the old address are lost on
 * this wire, as on a real one. */
static void announce(struct side *s)
{
	CHECK(pair_send_ip(&S, s, 200) >= 0);
	pair_flush(&S);
}

static void run(struct phase_count *c, unsigned seconds)
{
	for (unsigned i = 0; i < seconds; i++)
		second(c);
}

/* What must stay small however long it runs. */
static void check_bounded(const struct side *s)
{
	CHECK_EQ(s->dev->peer_count, 1);
	/* a handshake and three keypairs at most */
	CHECK(s->dev->indices.count <= 4);
	CHECK_EQ(s->peer->staged_count, 0);
}

static bool endpoint_is(const altuntun_peer *peer, const struct altuntun_endpoint *want)
{
	struct altuntun_endpoint ep;

	return altuntun_peer_get_endpoint(peer, &ep) &&
	       ep.addr.in4.sin_addr.s_addr == want->addr.in4.sin_addr.s_addr &&
	       ep.addr.in4.sin_port == want->addr.in4.sin_port;
}

/* The operator gives B a new private key and tells A its new public key
 * (`wg set A peer OLD remove peer NEW endpoint ... allowed-ips ...`). */
static void rekey_identity_of_b(void)
{
	uint8_t net[4] = { 10, 0, 0, 2 };
	int err;

	altuntun_generate_private_key(S.b.priv);
	CHECK_EQ(altuntun_public_key(S.b.pub, S.b.priv), ALTUNTUN_OK);
	CHECK_EQ(altuntun_device_set_private_key(S.b.dev, S.b.priv), ALTUNTUN_OK);
	altuntun_peer_remove(S.a.dev, S.a.peer);
	S.a.peer = altuntun_peer_add(S.a.dev, S.b.pub, &err);
	CHECK(S.a.peer);
	CHECK_EQ(altuntun_peer_set_endpoint(S.a.peer, &S.b.addr.addr.sa, sizeof(S.b.addr.addr.in4)),
		 ALTUNTUN_OK);
	CHECK_EQ(altuntun_peer_add_allowed_ip(S.a.dev, S.a.peer, AF_INET, net, 32), ALTUNTUN_OK);
}

TEST(soak_two_hours_rekeys_roaming_loss_and_key_change)
{
	struct phase_count c;
	uint64_t hs_before;
	unsigned t = 0;

	pair_init(&S);

	/* 0-30 min: steady traffic, a rekey every REKEY_AFTER_TIME. */
	phase_start(&c);
	run(&c, 1800);
	t += 1800;
	phase_check_lossless(&c);
	CHECK(S.a.out.initiations + S.b.out.initiations >= 14);
	check_bounded(&S.a);
	check_bounded(&S.b);

	/* 30-60 min: A roams to another address and port; B follows it
	 * from A's next authenticated packet. */
	S.a.addr.addr.in4.sin_addr.s_addr = htonl(0xc000020bu); /* 192.0.2.11 */
	S.a.addr.addr.in4.sin_port = htons(40000);
	announce(&S.a);
	phase_start(&c);
	run(&c, 1800);
	t += 1800;
	phase_check_lossless(&c);
	CHECK(endpoint_is(S.b.peer, &S.a.addr));
	check_bounded(&S.a);
	check_bounded(&S.b);

	/* 60-61 min: A's datagrams to B are lost for 40 s; A's handshake
	 * retries until the path is back. */
	S.drop_a_to_b = true;
	phase_start(&c);
	run(&c, 40);
	S.drop_a_to_b = false;
	run(&c, 20);
	t += 60;
	CHECK_EQ(S.a.delivered - c.got_a, c.sent_b); /* B -> A was never cut */
	CHECK(S.b.delivered - c.got_b < c.sent_a);
	/* and from then on the session carries everything again */
	phase_start(&c);
	run(&c, 1740);
	t += 1740;
	phase_check_lossless(&c);
	check_bounded(&S.a);
	check_bounded(&S.b);

	/* 90 min: B gets a new private key, A the new public key; the old
	 * sessions go, new ones carry every packet from the next second. */
	hs_before = S.a.out.initiations + S.b.out.initiations;
	rekey_identity_of_b();
	phase_start(&c);
	run(&c, 900);
	t += 900;
	phase_check_lossless(&c);
	CHECK(S.a.out.initiations + S.b.out.initiations > hs_before);
	check_bounded(&S.a);
	check_bounded(&S.b);

	/* 105-120 min: B moves; A follows. */
	S.b.addr.addr.in4.sin_addr.s_addr = htonl(0xc0000216u); /* 192.0.2.22 */
	S.b.addr.addr.in4.sin_port = htons(40001);
	announce(&S.b);
	phase_start(&c);
	run(&c, 900);
	t += 900;
	phase_check_lossless(&c);
	CHECK(endpoint_is(S.a.peer, &S.b.addr));
	check_bounded(&S.a);
	check_bounded(&S.b);

	CHECK_EQ(t, SOAK_SECONDS);
	/* About one handshake per REKEY_AFTER_TIME (60 in two hours), a few
	 * more for the loss spell and the new key; never one per packet. */
	CHECK(S.a.out.initiations + S.b.out.initiations >= 55);
	CHECK(S.a.out.initiations + S.b.out.initiations <= 90);
	pair_free(&S);
}
