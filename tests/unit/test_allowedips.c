/* SPDX-License-Identifier: BSD-3-Clause */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <sys/socket.h>

#include "allowedips.h"
#include "test.h"

/* xorshift64*, fixed seeds so that failures reproduce. */
static uint64_t rng_state;

static void rng_seed(uint64_t seed)
{
	rng_state = seed ? seed : 1;
}

static uint64_t rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545F4914F6CDD1DULL;
}

static uint32_t rnd_below(uint32_t n)
{
	return (uint32_t)((rnd() >> 32) % n);
}

static void rnd_bytes(uint8_t *b, size_t n)
{
	while (n--)
		*b++ = (uint8_t)(rnd() >> 56);
}

static int family_of(const char *s)
{
	return strchr(s, ':') ? AF_INET6 : AF_INET;
}

static void parse(const char *s, uint8_t *out)
{
	if (inet_pton(family_of(s), s, out) != 1)
		test_fail(__FILE__, __LINE__, "bad address %s", s);
}

static int ins(struct allowedips *t, const char *s, uint8_t cidr, struct allowedips_owner *o)
{
	uint8_t a[16];

	parse(s, a);
	return allowedips_insert(t, family_of(s), a, cidr, o);
}

static int rem(struct allowedips *t, const char *s, uint8_t cidr, struct allowedips_owner *o)
{
	uint8_t a[16];

	parse(s, a);
	return allowedips_remove(t, family_of(s), a, cidr, o);
}

static struct allowedips_owner *look(struct allowedips *t, const char *s)
{
	uint8_t a[16];

	parse(s, a);
	return allowedips_lookup(t, family_of(s), a);
}

static struct allowedips_owner *look6(struct allowedips *t, const char *s)
{
	uint8_t a[16];

	parse(s, a);
	return allowedips_lookup(t, AF_INET6, a);
}

/* foreach into "a/n b/n ..." in listing order. */
struct listing {
	char buf[1024];
	int calls;
	int stop_at;
	int stop_ret;
};

static int list_cb(void *ctx, int family, const void *addr, uint8_t cidr)
{
	struct listing *l = ctx;
	char ip[INET6_ADDRSTRLEN];
	size_t len = strlen(l->buf);

	if (!inet_ntop(family, addr, ip, sizeof(ip)))
		return -1;
	snprintf(l->buf + len, sizeof(l->buf) - len, "%s%s/%u", len ? " " : "", ip, cidr);
	if (++l->calls == l->stop_at)
		return l->stop_ret;
	return 0;
}

static const char *listing(const struct allowedips_owner *o)
{
	static struct listing l;

	memset(&l, 0, sizeof(l));
	if (allowedips_foreach(o, list_cb, &l) != 0)
		return "(foreach failed)";
	return l.buf;
}

#define CHECK_STR(a, b)                                                        \
	do {                                                                   \
		const char *check_sa_ = (a), *check_sb_ = (b);                 \
		if (strcmp(check_sa_, check_sb_) != 0)                         \
			test_fail(__FILE__, __LINE__, "%s == \"%s\" (got \"%s\")", \
				  #a, check_sb_, check_sa_);                   \
	} while (0)

TEST(allowedips_default_routes)
{
	struct allowedips t;
	struct allowedips_owner a = {0}, b = {0};

	allowedips_init(&t);
	CHECK(look(&t, "1.2.3.4") == NULL);
	CHECK(look(&t, "::1") == NULL);
	CHECK_EQ(ins(&t, "1.2.3.4", 0, &a), 0);
	CHECK(look(&t, "1.2.3.4") == &a);
	CHECK(look(&t, "0.0.0.0") == &a);
	CHECK(look(&t, "255.255.255.255") == &a);
	CHECK(look(&t, "::1") == NULL);
	CHECK_EQ(ins(&t, "ffff::1", 0, &b), 0);
	CHECK(look(&t, "::") == &b);
	CHECK(look(&t, "2001:db8::1") == &b);
	CHECK(look(&t, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff") == &b);
	CHECK(look(&t, "9.9.9.9") == &a);
	CHECK_STR(listing(&a), "0.0.0.0/0");
	CHECK_STR(listing(&b), "::/0");
	CHECK_EQ(t.count, 2);

	/* A more specific route beats the default, in both directions. */
	CHECK_EQ(ins(&t, "128.0.0.0", 1, &b), 0);
	CHECK(look(&t, "128.0.0.1") == &b);
	CHECK(look(&t, "127.255.255.255") == &a);
	CHECK_EQ(rem(&t, "0.0.0.0", 0, &a), 0);
	CHECK(look(&t, "127.255.255.255") == NULL);
	CHECK(look(&t, "200.0.0.1") == &b);
	CHECK_EQ(rem(&t, "::", 0, &b), 0);
	CHECK(look(&t, "::1") == NULL);
	CHECK_EQ(rem(&t, "128.0.0.0", 1, &b), 0);
	CHECK_EQ(t.count, 0);
	CHECK(t.root4 == NULL && t.root6 == NULL);
	allowedips_free(&t);
}

TEST(allowedips_hosts)
{
	struct allowedips t;
	struct allowedips_owner a = {0}, b = {0}, c = {0};

	allowedips_init(&t);
	CHECK_EQ(ins(&t, "10.0.0.1", 32, &a), 0);
	CHECK_EQ(ins(&t, "10.0.0.2", 32, &b), 0);
	CHECK(look(&t, "10.0.0.1") == &a);
	CHECK(look(&t, "10.0.0.2") == &b);
	CHECK(look(&t, "10.0.0.0") == NULL);
	CHECK(look(&t, "10.0.0.3") == NULL);
	CHECK_EQ(ins(&t, "10.0.0.0", 31, &c), 0);
	CHECK(look(&t, "10.0.0.0") == &c);
	CHECK(look(&t, "10.0.0.1") == &a);
	CHECK(look(&t, "10.0.0.3") == NULL);
	CHECK_EQ(ins(&t, "255.255.255.255", 32, &c), 0);
	CHECK(look(&t, "255.255.255.255") == &c);
	CHECK(look(&t, "255.255.255.254") == NULL);
	CHECK_EQ(ins(&t, "0.0.0.0", 32, &c), 0);
	CHECK(look(&t, "0.0.0.0") == &c);
	CHECK(look(&t, "0.0.0.1") == NULL);

	CHECK_EQ(ins(&t, "2001:db8::1", 128, &a), 0);
	CHECK_EQ(ins(&t, "2001:db8::", 128, &b), 0);
	CHECK_EQ(ins(&t, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 128, &c), 0);
	CHECK(look(&t, "2001:db8::1") == &a);
	CHECK(look(&t, "2001:db8::") == &b);
	CHECK(look(&t, "2001:db8::2") == NULL);
	CHECK(look(&t, "2001:db8::1:0:0:1") == NULL);
	CHECK(look(&t, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff") == &c);
	CHECK(look(&t, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe") == NULL);
	CHECK_STR(listing(&a), "10.0.0.1/32 2001:db8::1/128");
	CHECK_EQ(t.count, 8);
	allowedips_free(&t);
	CHECK_EQ(t.count, 0);
	CHECK(t.root4 == NULL && t.root6 == NULL);
}

TEST(allowedips_nested)
{
	struct allowedips t;
	struct allowedips_owner a = {0}, b = {0}, c = {0}, d = {0};

	allowedips_init(&t);
	/* Deliberately not in order of length. */
	CHECK_EQ(ins(&t, "10.1.2.0", 24, &c), 0);
	CHECK_EQ(ins(&t, "10.0.0.0", 8, &a), 0);
	CHECK_EQ(ins(&t, "10.1.2.128", 25, &d), 0);
	CHECK_EQ(ins(&t, "10.1.0.0", 16, &b), 0);
	CHECK(look(&t, "10.200.0.1") == &a);
	CHECK(look(&t, "10.1.200.1") == &b);
	CHECK(look(&t, "10.1.2.1") == &c);
	CHECK(look(&t, "10.1.2.127") == &c);
	CHECK(look(&t, "10.1.2.128") == &d);
	CHECK(look(&t, "10.1.2.255") == &d);
	CHECK(look(&t, "11.1.2.128") == NULL);
	CHECK(look(&t, "9.255.255.255") == NULL);

	CHECK_EQ(rem(&t, "10.1.0.0", 16, &b), 0);
	CHECK(look(&t, "10.1.200.1") == &a);
	CHECK(look(&t, "10.1.2.1") == &c);
	CHECK(look(&t, "10.1.2.200") == &d);
	CHECK_EQ(rem(&t, "10.0.0.0", 8, &a), 0);
	CHECK(look(&t, "10.1.200.1") == NULL);
	CHECK(look(&t, "10.1.2.1") == &c);
	CHECK_EQ(rem(&t, "10.1.2.0", 24, &c), 0);
	CHECK(look(&t, "10.1.2.1") == NULL);
	CHECK(look(&t, "10.1.2.129") == &d);
	CHECK_EQ(t.count, 1);

	CHECK_EQ(ins(&t, "2001:db8:1:2::", 64, &c), 0);
	CHECK_EQ(ins(&t, "2001:db8::", 32, &a), 0);
	CHECK_EQ(ins(&t, "2001:db8:1:2:8000::", 65, &d), 0);
	CHECK_EQ(ins(&t, "2001:db8:1::", 48, &b), 0);
	CHECK_EQ(ins(&t, "2001:db8:1:2:8000::1", 128, &a), 0);
	CHECK(look(&t, "2001:db8:ffff::1") == &a);
	CHECK(look(&t, "2001:db8:1:ffff::1") == &b);
	CHECK(look(&t, "2001:db8:1:2::1") == &c);
	CHECK(look(&t, "2001:db8:1:2:8000::") == &d);
	CHECK(look(&t, "2001:db8:1:2:8000::1") == &a);
	CHECK(look(&t, "2001:db9::") == NULL);
	CHECK_EQ(rem(&t, "2001:db8:1::", 48, &b), 0);
	CHECK(look(&t, "2001:db8:1:ffff::1") == &a);
	CHECK(look(&t, "2001:db8:1:2:8000::2") == &d);
	allowedips_remove_owner(&t, &a);
	allowedips_remove_owner(&t, &c);
	allowedips_remove_owner(&t, &d);
	CHECK_EQ(t.count, 0);
	CHECK(t.root4 == NULL && t.root6 == NULL);
	allowedips_free(&t);
}

TEST(allowedips_overlap_across_owners)
{
	struct allowedips t;
	struct allowedips_owner a = {0}, b = {0}, c = {0};

	allowedips_init(&t);
	CHECK_EQ(ins(&t, "192.168.0.0", 16, &a), 0);
	CHECK_EQ(ins(&t, "192.168.1.0", 24, &b), 0);
	CHECK_EQ(ins(&t, "192.168.0.0", 23, &c), 0);
	CHECK_EQ(ins(&t, "192.168.1.7", 32, &a), 0);
	CHECK_EQ(ins(&t, "192.168.2.0", 24, &b), 0);
	CHECK(look(&t, "192.168.0.1") == &c);
	CHECK(look(&t, "192.168.1.1") == &b);
	CHECK(look(&t, "192.168.1.7") == &a);
	CHECK(look(&t, "192.168.2.1") == &b);
	CHECK(look(&t, "192.168.3.1") == &a);
	CHECK_EQ(a.count, 2);
	CHECK_EQ(b.count, 2);
	CHECK_EQ(c.count, 1);
	allowedips_remove_owner(&t, &b);
	CHECK(b.head == NULL);
	CHECK_EQ(b.count, 0);
	CHECK_EQ(t.count, 3);
	CHECK(look(&t, "192.168.1.1") == &c);
	CHECK(look(&t, "192.168.1.7") == &a);
	CHECK(look(&t, "192.168.2.1") == &a);
	allowedips_remove_owner(&t, &c);
	CHECK(look(&t, "192.168.1.1") == &a);
	CHECK(look(&t, "192.168.0.1") == &a);
	CHECK_STR(listing(&a), "192.168.0.0/16 192.168.1.7/32");
	allowedips_remove_owner(&t, &a);
	CHECK_EQ(t.count, 0);
	CHECK(t.root4 == NULL);
	allowedips_free(&t);
}

TEST(allowedips_host_bits_cleared)
{
	struct allowedips t;
	struct allowedips_owner a = {0};

	allowedips_init(&t);
	CHECK_EQ(ins(&t, "10.1.2.3", 8, &a), 0);
	CHECK_STR(listing(&a), "10.0.0.0/8");
	CHECK_EQ(ins(&t, "10.9.9.9", 8, &a), 0); /* same prefix, same owner */
	CHECK_EQ(a.count, 1);
	CHECK_EQ(t.count, 1);
	CHECK_EQ(ins(&t, "255.255.255.255", 1, &a), 0);
	CHECK_EQ(ins(&t, "1.2.3.4", 0, &a), 0);
	CHECK_EQ(ins(&t, "192.168.77.200", 30, &a), 0);
	CHECK_EQ(ins(&t, "2001:db8:ffff::1", 32, &a), 0);
	CHECK_EQ(ins(&t, "2001:db8:1:2:3:4:5:ffff", 127, &a), 0);
	CHECK_EQ(ins(&t, "ffff::ffff", 0, &a), 0);
	CHECK_STR(listing(&a), "10.0.0.0/8 128.0.0.0/1 0.0.0.0/0 192.168.77.200/30 "
			       "2001:db8::/32 2001:db8:1:2:3:4:5:fffe/127 ::/0");
	CHECK(look(&t, "192.168.77.203") == &a);
	/* Removal clears host bits the same way. */
	CHECK_EQ(rem(&t, "10.200.0.0", 8, &a), 0);
	CHECK_EQ(rem(&t, "2001:db8:1:2:3:4:5:ffff", 127, &a), 0);
	CHECK_EQ(rem(&t, "8.8.8.8", 0, &a), 0);
	CHECK_STR(listing(&a), "128.0.0.0/1 192.168.77.200/30 2001:db8::/32 ::/0");
	CHECK_EQ(a.count, 4);
	CHECK_EQ(t.count, 4);
	allowedips_free(&t);
}

TEST(allowedips_move_between_owners)
{
	struct allowedips t;
	struct allowedips_owner a = {0}, b = {0};

	allowedips_init(&t);
	CHECK_EQ(ins(&t, "10.0.0.0", 8, &a), 0);
	CHECK_EQ(ins(&t, "10.1.0.0", 16, &a), 0);
	CHECK_EQ(ins(&t, "fd00::", 8, &a), 0);
	CHECK_EQ(ins(&t, "10.5.5.5", 8, &b), 0);
	CHECK_EQ(a.count, 2);
	CHECK_EQ(b.count, 1);
	CHECK_EQ(t.count, 3);
	CHECK_STR(listing(&a), "10.1.0.0/16 fd00::/8");
	CHECK_STR(listing(&b), "10.0.0.0/8");
	CHECK(look(&t, "10.2.3.4") == &b);
	CHECK(look(&t, "10.1.3.4") == &a);
	CHECK_EQ(rem(&t, "10.0.0.0", 8, &a), -ENOENT);
	CHECK_EQ(t.count, 3);

	/* Move the tail, the head and back again; the lists must stay sound. */
	CHECK_EQ(ins(&t, "fd00::", 8, &b), 0);
	CHECK_STR(listing(&a), "10.1.0.0/16");
	CHECK_STR(listing(&b), "10.0.0.0/8 fd00::/8");
	CHECK_EQ(ins(&t, "10.1.0.0", 16, &b), 0);
	CHECK(a.head == NULL);
	CHECK_EQ(a.count, 0);
	CHECK_STR(listing(&b), "10.0.0.0/8 fd00::/8 10.1.0.0/16");
	CHECK_EQ(ins(&t, "fd00::", 8, &a), 0);
	CHECK_STR(listing(&b), "10.0.0.0/8 10.1.0.0/16");
	CHECK_EQ(ins(&t, "10.0.0.0", 8, &a), 0);
	CHECK_STR(listing(&a), "fd00::/8 10.0.0.0/8");
	CHECK_STR(listing(&b), "10.1.0.0/16");
	CHECK_EQ(ins(&t, "10.0.0.0", 8, &a), 0);
	CHECK_EQ(a.count, 2);
	CHECK_EQ(b.count, 1);
	CHECK_EQ(t.count, 3);
	CHECK(look(&t, "10.2.3.4") == &a);
	CHECK(look6(&t, "fd00::1") == &a);

	CHECK_EQ(rem(&t, "10.1.0.0", 16, &a), -ENOENT);
	CHECK_EQ(rem(&t, "10.1.0.0", 16, &b), 0);
	CHECK(look(&t, "10.1.3.4") == &a);
	allowedips_remove_owner(&t, &b);
	CHECK_EQ(t.count, 2);
	allowedips_remove_owner(&t, &a);
	CHECK_EQ(t.count, 0);
	CHECK(t.root4 == NULL && t.root6 == NULL);
	allowedips_free(&t);
}

TEST(allowedips_remove_not_held)
{
	struct allowedips t;
	struct allowedips_owner a = {0}, b = {0};

	allowedips_init(&t);
	CHECK_EQ(ins(&t, "10.0.0.0", 24, &a), 0);
	CHECK_EQ(ins(&t, "10.0.1.0", 24, &a), 0);
	CHECK_EQ(rem(&t, "10.0.0.0", 24, &b), -ENOENT);
	CHECK_EQ(rem(&t, "10.0.0.0", 24, NULL), -ENOENT);
	CHECK_EQ(rem(&t, "10.0.0.0", 25, &a), -ENOENT);
	CHECK_EQ(rem(&t, "10.0.0.0", 16, &a), -ENOENT);
	CHECK_EQ(rem(&t, "10.0.2.0", 24, &a), -ENOENT);
	CHECK_EQ(rem(&t, "11.0.0.0", 24, &a), -ENOENT);
	CHECK_EQ(rem(&t, "::", 24, &a), -ENOENT);
	/* 10.0.0.0/23 exists in the trie only to branch: nobody holds it. */
	CHECK_EQ(rem(&t, "10.0.0.0", 23, &a), -ENOENT);
	CHECK_EQ(rem(&t, "10.0.0.0", 23, NULL), -ENOENT);
	CHECK(look(&t, "10.0.0.1") == &a);
	CHECK(look(&t, "10.0.1.1") == &a);
	CHECK_EQ(t.count, 2);
	CHECK_EQ(a.count, 2);
	CHECK_EQ(b.count, 0);
	/* ... until someone does. */
	CHECK_EQ(ins(&t, "10.0.0.0", 23, &b), 0);
	CHECK_EQ(t.count, 3);
	CHECK_EQ(rem(&t, "10.0.0.0", 24, &a), 0);
	CHECK(look(&t, "10.0.0.1") == &b);
	CHECK_EQ(rem(&t, "10.0.0.0", 24, &a), -ENOENT);
	CHECK_EQ(rem(&t, "10.0.0.0", 23, &b), 0);
	CHECK(look(&t, "10.0.0.1") == NULL);
	CHECK(look(&t, "10.0.1.1") == &a);
	CHECK_EQ(rem(&t, "10.0.1.0", 24, &a), 0);
	CHECK_EQ(t.count, 0);
	CHECK(t.root4 == NULL);
	CHECK_EQ(rem(&t, "10.0.1.0", 24, &a), -ENOENT);
	allowedips_free(&t);
}

TEST(allowedips_ipv4_mapped_separate)
{
	struct allowedips t;
	struct allowedips_owner a = {0}, b = {0}, c = {0};
	uint8_t v4[4] = {10, 0, 0, 1};

	allowedips_init(&t);
	CHECK_EQ(ins(&t, "10.0.0.0", 8, &a), 0);
	CHECK(look6(&t, "::ffff:10.0.0.1") == NULL);
	CHECK(look6(&t, "::10.0.0.1") == NULL);
	CHECK(look6(&t, "a00:1::") == NULL);
	CHECK_EQ(ins(&t, "::ffff:0:0", 96, &b), 0);
	CHECK(look6(&t, "::ffff:10.0.0.1") == &b);
	CHECK(look(&t, "10.0.0.1") == &a);
	CHECK(allowedips_lookup(&t, AF_INET, v4) == &a);
	CHECK_EQ(rem(&t, "::ffff:0:0", 96, &b), 0);
	CHECK(look6(&t, "::ffff:10.0.0.1") == NULL);

	CHECK_EQ(ins(&t, "::ffff:10.0.0.0", 104, &c), 0);
	CHECK(look6(&t, "::ffff:10.0.0.1") == &c);
	CHECK(look(&t, "10.0.0.1") == &a);
	CHECK_EQ(rem(&t, "10.0.0.0", 8, &a), 0);
	CHECK(look(&t, "10.0.0.1") == NULL);
	CHECK(look6(&t, "::ffff:10.0.0.1") == &c);
	/* The IPv4 trie does not see IPv6 prefixes with the same leading bytes. */
	CHECK_EQ(ins(&t, "a00::", 8, &b), 0);
	CHECK(look(&t, "10.0.0.1") == NULL);
	CHECK(look6(&t, "a00::1") == &b);
	/* Nor does removal cross families. */
	CHECK_EQ(allowedips_remove(&t, AF_INET, v4, 8, &b), -ENOENT);
	CHECK_EQ(ins(&t, "0.0.0.0", 0, &a), 0);
	CHECK(look6(&t, "::1") == NULL);
	CHECK(look(&t, "10.0.0.1") == &a);
	allowedips_free(&t);
}

TEST(allowedips_invalid)
{
	struct allowedips t;
	struct allowedips_owner a = {0};
	uint8_t addr[16] = {10};

	allowedips_init(&t);
	CHECK_EQ(allowedips_insert(&t, AF_UNIX, addr, 8, &a), -EINVAL);
	CHECK_EQ(allowedips_insert(&t, AF_UNSPEC, addr, 0, &a), -EINVAL);
	CHECK_EQ(allowedips_insert(&t, AF_PACKET, addr, 8, &a), -EINVAL);
	CHECK_EQ(allowedips_insert(&t, AF_INET, addr, 33, &a), -EINVAL);
	CHECK_EQ(allowedips_insert(&t, AF_INET, addr, 64, &a), -EINVAL);
	CHECK_EQ(allowedips_insert(&t, AF_INET, addr, 128, &a), -EINVAL);
	CHECK_EQ(allowedips_insert(&t, AF_INET6, addr, 129, &a), -EINVAL);
	CHECK_EQ(allowedips_insert(&t, AF_INET6, addr, 255, &a), -EINVAL);
	CHECK_EQ(allowedips_remove(&t, AF_UNIX, addr, 8, &a), -EINVAL);
	CHECK_EQ(allowedips_remove(&t, AF_INET, addr, 33, &a), -EINVAL);
	CHECK_EQ(allowedips_remove(&t, AF_INET6, addr, 129, &a), -EINVAL);
	CHECK(allowedips_lookup(&t, AF_UNIX, addr) == NULL);
	CHECK_EQ(t.count, 0);
	CHECK_EQ(a.count, 0);
	CHECK(t.root4 == NULL && t.root6 == NULL);
	CHECK_EQ(allowedips_insert(&t, AF_INET, addr, 32, &a), 0);
	CHECK_EQ(allowedips_insert(&t, AF_INET6, addr, 128, &a), 0);
	CHECK_EQ(t.count, 2);
	CHECK_EQ(a.count, 2);
	CHECK(allowedips_lookup(&t, AF_UNIX, addr) == NULL);
	allowedips_free(&t);
}

TEST(allowedips_foreach_stops)
{
	struct allowedips t;
	struct allowedips_owner a = {0}, empty = {0};
	struct listing l;

	allowedips_init(&t);
	for (int i = 0; i < 5; i++) {
		uint8_t addr[4] = {10, (uint8_t)i, 0, 0};

		CHECK_EQ(allowedips_insert(&t, AF_INET, addr, 16, &a), 0);
	}
	memset(&l, 0, sizeof(l));
	l.stop_at = 3;
	l.stop_ret = 42;
	CHECK_EQ(allowedips_foreach(&a, list_cb, &l), 42);
	CHECK_EQ(l.calls, 3);
	CHECK_STR(l.buf, "10.0.0.0/16 10.1.0.0/16 10.2.0.0/16");
	memset(&l, 0, sizeof(l));
	l.stop_at = 1;
	l.stop_ret = -7;
	CHECK_EQ(allowedips_foreach(&a, list_cb, &l), -7);
	CHECK_EQ(l.calls, 1);
	memset(&l, 0, sizeof(l));
	l.stop_at = 5;
	l.stop_ret = 1;
	CHECK_EQ(allowedips_foreach(&a, list_cb, &l), 1);
	CHECK_EQ(l.calls, 5);
	memset(&l, 0, sizeof(l));
	CHECK_EQ(allowedips_foreach(&a, list_cb, &l), 0);
	CHECK_EQ(l.calls, 5);
	memset(&l, 0, sizeof(l));
	CHECK_EQ(allowedips_foreach(&empty, list_cb, &l), 0);
	CHECK_EQ(l.calls, 0);
	allowedips_free(&t);
}

struct remove_ctx {
	struct allowedips *t;
	struct allowedips_owner *owner;
	int calls;
};

static int remove_cb(void *ctx, int family, const void *addr, uint8_t cidr)
{
	struct remove_ctx *c = ctx;

	c->calls++;
	return allowedips_remove(c->t, family, addr, cidr, c->owner);
}

TEST(allowedips_foreach_removing_current)
{
	struct allowedips t;
	struct allowedips_owner a = {0}, b = {0};
	struct remove_ctx c = {&t, &a, 0};

	allowedips_init(&t);
	CHECK_EQ(ins(&t, "10.0.0.0", 24, &a), 0);
	CHECK_EQ(ins(&t, "10.0.1.0", 24, &b), 0);
	CHECK_EQ(ins(&t, "10.0.2.0", 24, &a), 0);
	CHECK_EQ(ins(&t, "10.0.0.0", 16, &a), 0);
	CHECK_EQ(ins(&t, "2001:db8::", 32, &a), 0);
	CHECK_EQ(allowedips_foreach(&a, remove_cb, &c), 0);
	CHECK_EQ(c.calls, 4);
	CHECK(a.head == NULL);
	CHECK_EQ(t.count, 1);
	CHECK(look(&t, "10.0.1.1") == &b);
	CHECK(look(&t, "10.0.0.1") == NULL);
	CHECK(look(&t, "2001:db8::1") == NULL);
	allowedips_free(&t);
}

TEST(allowedips_remove_owner_empty)
{
	struct allowedips t;
	struct allowedips_owner a = {0}, none = {0};

	allowedips_init(&t);
	allowedips_remove_owner(&t, &none);
	CHECK_EQ(t.count, 0);
	CHECK_EQ(ins(&t, "10.0.0.0", 8, &a), 0);
	CHECK_EQ(ins(&t, "2001:db8::", 32, &a), 0);
	allowedips_remove_owner(&t, &none);
	CHECK(none.head == NULL);
	CHECK_EQ(none.count, 0);
	CHECK_EQ(t.count, 2);
	CHECK(look(&t, "10.1.1.1") == &a);
	allowedips_remove_owner(&t, &a);
	allowedips_remove_owner(&t, &a);
	CHECK_EQ(t.count, 0);
	CHECK(look(&t, "10.1.1.1") == NULL);
	CHECK(t.root4 == NULL && t.root6 == NULL);
	/* The table and the owner are usable again. */
	CHECK_EQ(ins(&t, "10.0.0.0", 8, &a), 0);
	CHECK_STR(listing(&a), "10.0.0.0/8");
	allowedips_free(&t);
	CHECK_EQ(t.count, 0);
	CHECK(t.root4 == NULL && t.root6 == NULL);
}

/*
 * Random prefixes against a reference model: a plain array of the distinct
 * prefixes, looked up by brute force.
 */
#define N_OWNERS 50
#define N_RANDOM 100000
#define N_LOOKUPS 2000

struct ref {
	uint8_t v6;
	uint8_t addr[16]; /* host bits clear; bytes 4.. zero for IPv4 */
	uint8_t cidr;
	uint8_t owner;
	uint8_t live;
	uint32_t seq;
	uint32_t seen;
};

static struct allowedips_owner owners[N_OWNERS];

static void clear_host_bits(uint8_t *a, unsigned int len, unsigned int cidr)
{
	for (unsigned int i = 0; i < len; i++) {
		if (cidr <= i * 8)
			a[i] = 0;
		else if (cidr < i * 8 + 8)
			a[i] &= (uint8_t)(0xff << (8 - (cidr - i * 8)));
	}
}

/* Sets the host bits of a/cidr at random. */
static void random_host_bits(uint8_t *a, unsigned int len, unsigned int cidr)
{
	uint8_t r[16], keep[16];

	rnd_bytes(r, len);
	memset(keep, 0xff, len);
	clear_host_bits(keep, len, cidr);
	for (unsigned int i = 0; i < len; i++)
		a[i] = (uint8_t)((a[i] & keep[i]) | (r[i] & ~keep[i]));
}

/*
 * Addresses (4 bytes written for IPv4, 16 for IPv6) clustered enough that
 * prefixes nest, overlap and repeat.
 */
static void random_addr(int v6, uint8_t *a)
{
	if (!v6) {
		rnd_bytes(a, 4);
		switch (rnd_below(4)) {
		case 0:
			a[0] = 10;
			break;
		case 1:
			a[0] = 192;
			a[1] = 168;
			break;
		case 2:
			a[0] = 172;
			a[1] = (uint8_t)(16 + rnd_below(16));
			break;
		}
		return;
	}
	rnd_bytes(a, 16);
	switch (rnd_below(5)) {
	case 0:
		memcpy(a, "\x20\x01\x0d\xb8\x00", 5);
		a[5] = (uint8_t)rnd_below(4);
		break;
	case 1:
		memcpy(a, "\x20\x01\x0d\xb8\x00\x00\x00\x00\x00", 9);
		break;
	case 2:
		a[0] = 0xfd;
		a[1] = (uint8_t)rnd_below(4);
		break;
	case 3: /* IPv4-mapped, next to the IPv4 prefixes above */
		memset(a, 0, 10);
		a[10] = a[11] = 0xff;
		random_addr(0, a + 12);
		break;
	}
}

static unsigned int random_cidr(int v6)
{
	unsigned int max = v6 ? 128 : 32;

	switch (rnd_below(3)) {
	case 0:
		return rnd_below(max + 1);
	case 1:
		return max / 2 + rnd_below(max / 2 + 1);
	default:
		return max - max / 4 + rnd_below(max / 4 + 1);
	}
}

static int ref_cmp_prefix(const struct ref *x, const struct ref *y)
{
	int c;

	if (x->v6 != y->v6)
		return x->v6 - y->v6;
	c = memcmp(x->addr, y->addr, 16);
	if (c)
		return c;
	return x->cidr - y->cidr;
}

static int ref_cmp_seq(const void *a, const void *b)
{
	const struct ref *x = a, *y = b;
	int c = ref_cmp_prefix(x, y);

	if (c)
		return c;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int ref_cmp(const void *a, const void *b)
{
	return ref_cmp_prefix(a, b);
}

/* The reference's view of a prefix: 128 bits as two words, and a mask. */
struct scan_entry {
	uint64_t hi, lo, mhi, mlo;
	uint8_t cidr, owner;
};

static void to_words(const uint8_t *a, unsigned int len, uint64_t *hi, uint64_t *lo)
{
	uint8_t b[16] = {0};

	memcpy(b, a, len);
	*hi = *lo = 0;
	for (int i = 0; i < 8; i++) {
		*hi = *hi << 8 | b[i];
		*lo = *lo << 8 | b[8 + i];
	}
}

static uint64_t mask64(int bits)
{
	if (bits <= 0)
		return 0;
	return bits >= 64 ? ~0ULL : ~0ULL << (64 - bits);
}

struct model {
	struct ref *ref;
	size_t n;
	uint32_t epoch;
	/* Live prefixes as a plain array per family, rebuilt for each check. */
	struct scan_entry *scan[2];
	size_t nscan[2];
};

static void build_scan(struct model *m)
{
	for (int f = 0; f < 2; f++) {
		free(m->scan[f]);
		m->scan[f] = malloc((m->n + 1) * sizeof(*m->scan[f]));
		CHECK(m->scan[f]);
		m->nscan[f] = 0;
	}
	for (size_t i = 0; i < m->n; i++) {
		const struct ref *r = &m->ref[i];
		struct scan_entry *e;

		if (!r->live)
			continue;
		e = &m->scan[r->v6][m->nscan[r->v6]++];
		to_words(r->addr, 16, &e->hi, &e->lo);
		e->mhi = mask64(r->cidr);
		e->mlo = mask64(r->cidr - 64);
		e->cidr = r->cidr;
		e->owner = r->owner;
	}
}

static struct allowedips_owner *brute_lookup(const struct model *m, int v6, const uint8_t *a)
{
	const struct scan_entry *e = m->scan[v6], *best = NULL;
	uint64_t hi, lo;

	to_words(a, v6 ? 16 : 4, &hi, &lo);
	for (size_t i = 0; i < m->nscan[v6]; i++, e++) {
		if (((hi ^ e->hi) & e->mhi) || ((lo ^ e->lo) & e->mlo))
			continue;
		if (!best || e->cidr > best->cidr)
			best = e;
	}
	return best ? &owners[best->owner] : NULL;
}

struct fe_check {
	struct model *m;
	unsigned int owner;
	size_t calls;
};

/* Each listed prefix must be live in the model, this owner's, and new. */
static int fe_check_cb(void *ctx, int family, const void *addr, uint8_t cidr)
{
	struct fe_check *c = ctx;
	struct ref key = {0}, *r;

	key.v6 = family == AF_INET6;
	if (family != AF_INET && family != AF_INET6)
		return 1;
	memcpy(key.addr, addr, key.v6 ? 16 : 4);
	key.cidr = cidr;
	r = bsearch(&key, c->m->ref, c->m->n, sizeof(*r), ref_cmp);
	if (!r || !r->live || r->owner != c->owner)
		return 2;
	if (r->seen == c->m->epoch)
		return 3;
	r->seen = c->m->epoch;
	c->calls++;
	return 0;
}

static void check_model(struct allowedips *t, struct model *m)
{
	size_t per_owner[N_OWNERS] = {0}, live = 0;
	uint8_t a[16];

	for (size_t i = 0; i < m->n; i++) {
		if (m->ref[i].live) {
			per_owner[m->ref[i].owner]++;
			live++;
		}
	}
	CHECK_EQ(t->count, live);
	build_scan(m);
	for (unsigned int o = 0; o < N_OWNERS; o++) {
		struct fe_check c = {m, o, 0};

		CHECK_EQ(owners[o].count, per_owner[o]);
		m->epoch++;
		CHECK_EQ(allowedips_foreach(&owners[o], fe_check_cb, &c), 0);
		CHECK_EQ(c.calls, per_owner[o]);
	}
	for (int i = 0; i < N_LOOKUPS; i++) {
		int v6 = (int)rnd_below(2);

		random_addr(v6, a);
		CHECK(allowedips_lookup(t, v6 ? AF_INET6 : AF_INET, a) == brute_lookup(m, v6, a));
	}
	/* Addresses inside known prefixes, live or not. */
	for (int i = 0; i < N_LOOKUPS; i++) {
		const struct ref *r = &m->ref[rnd_below((uint32_t)m->n)];

		memcpy(a, r->addr, 16);
		random_host_bits(a, r->v6 ? 16 : 4, r->cidr);
		CHECK(allowedips_lookup(t, r->v6 ? AF_INET6 : AF_INET, a) ==
		      brute_lookup(m, r->v6, a));
	}
}

static int ref_insert(struct allowedips *t, struct ref *r, unsigned int owner)
{
	uint8_t a[16];

	memcpy(a, r->addr, 16);
	random_host_bits(a, r->v6 ? 16 : 4, r->cidr);
	r->owner = (uint8_t)owner;
	r->live = 1;
	return allowedips_insert(t, r->v6 ? AF_INET6 : AF_INET, a, r->cidr, &owners[owner]);
}

static int ref_remove(struct allowedips *t, struct ref *r, unsigned int owner)
{
	uint8_t a[16];

	memcpy(a, r->addr, 16);
	random_host_bits(a, r->v6 ? 16 : 4, r->cidr);
	return allowedips_remove(t, r->v6 ? AF_INET6 : AF_INET, a, r->cidr, &owners[owner]);
}

static void shuffle(uint32_t *idx, size_t n)
{
	for (size_t i = n; i > 1; i--) {
		size_t j = rnd_below((uint32_t)i);
		uint32_t tmp = idx[i - 1];

		idx[i - 1] = idx[j];
		idx[j] = tmp;
	}
}

TEST(allowedips_random_vs_reference)
{
	struct allowedips t;
	struct model m = {0};
	struct ref *raw;
	uint32_t *idx = NULL;
	size_t n = 0;

	rng_seed(0x616c74756e74756eULL);
	memset(owners, 0, sizeof(owners));
	allowedips_init(&t);
	raw = calloc(N_RANDOM, sizeof(*raw));
	CHECK(raw);

	/* Insert, keeping every insertion; the last one of a prefix wins. */
	for (uint32_t i = 0; i < N_RANDOM; i++) {
		struct ref *r = &raw[i];

		r->v6 = (uint8_t)rnd_below(2);
		random_addr(r->v6, r->addr);
		r->cidr = (uint8_t)random_cidr(r->v6);
		clear_host_bits(r->addr, 16, r->cidr);
		r->seq = i;
		CHECK_EQ(ref_insert(&t, r, rnd_below(N_OWNERS)), 0);
	}
	qsort(raw, N_RANDOM, sizeof(*raw), ref_cmp_seq);
	for (size_t i = 0; i < N_RANDOM; i++) {
		if (i + 1 < N_RANDOM && ref_cmp_prefix(&raw[i], &raw[i + 1]) == 0)
			continue;
		raw[n++] = raw[i];
	}
	m.ref = raw;
	m.n = n;
	/* Enough repeats that moves happened, enough left to be a big table. */
	CHECK(n < N_RANDOM - 5000);
	CHECK(n > N_RANDOM / 2);
	check_model(&t, &m);

	/* Remove a random half, trying the wrong owner first now and then. */
	idx = malloc(n * sizeof(*idx));
	CHECK(idx);
	for (uint32_t i = 0; i < n; i++)
		idx[i] = i;
	shuffle(idx, n);
	for (size_t i = 0; i < n / 2; i++) {
		struct ref *r = &raw[idx[i]];

		if (i % 4 == 0)
			CHECK_EQ(ref_remove(&t, r, (r->owner + 1 + rnd_below(N_OWNERS - 1)) % N_OWNERS),
				 -ENOENT);
		CHECK_EQ(ref_remove(&t, r, r->owner), 0);
		r->live = 0;
		if (i % 8 == 1)
			CHECK_EQ(ref_remove(&t, r, r->owner), -ENOENT);
	}
	check_model(&t, &m);

	/* Churn: re-insert removed prefixes and move live ones. */
	for (int i = 0; i < 30000; i++)
		CHECK_EQ(ref_insert(&t, &raw[rnd_below((uint32_t)n)], rnd_below(N_OWNERS)), 0);
	for (int i = 0; i < 10000; i++) {
		struct ref *r = &raw[rnd_below((uint32_t)n)];

		CHECK_EQ(ref_remove(&t, r, r->owner), r->live ? 0 : -ENOENT);
		r->live = 0;
	}
	check_model(&t, &m);

	/* Drop some owners whole. */
	for (unsigned int o = 0; o < N_OWNERS; o += 5) {
		allowedips_remove_owner(&t, &owners[o]);
		CHECK(owners[o].head == NULL);
		CHECK_EQ(owners[o].count, 0);
		for (size_t i = 0; i < n; i++)
			if (raw[i].owner == o)
				raw[i].live = 0;
	}
	check_model(&t, &m);

	/* Dropping everyone must leave nothing behind. */
	for (unsigned int o = 0; o < N_OWNERS; o++)
		allowedips_remove_owner(&t, &owners[o]);
	CHECK_EQ(t.count, 0);
	CHECK(t.root4 == NULL && t.root6 == NULL);
	for (size_t i = 0; i < n; i++)
		raw[i].live = 0;
	check_model(&t, &m);
	allowedips_free(&t);
	free(m.scan[0]);
	free(m.scan[1]);
	free(idx);
	free(raw);
}

TEST(allowedips_churn_prunes)
{
	struct allowedips t;
	struct allowedips_owner a = {0};
	uint8_t addrs[2000][16], cidrs[2000];

	rng_seed(12345);
	allowedips_init(&t);
	for (int round = 0; round < 5; round++) {
		size_t added = 0;

		for (int i = 0; i < 2000; i++) {
			int v6 = i & 1;

			random_addr(v6, addrs[i]);
			cidrs[i] = (uint8_t)random_cidr(v6);
			CHECK_EQ(allowedips_insert(&t, v6 ? AF_INET6 : AF_INET, addrs[i], cidrs[i], &a), 0);
		}
		added = a.count;
		CHECK_EQ(t.count, added);
		/* Remove in a different order from insertion; repeats give -ENOENT. */
		for (int i = 1999; i >= 0; i--) {
			int err = allowedips_remove(&t, i & 1 ? AF_INET6 : AF_INET, addrs[i], cidrs[i], &a);

			CHECK(err == 0 || err == -ENOENT);
		}
		CHECK_EQ(a.count, 0);
		CHECK(a.head == NULL);
		CHECK_EQ(t.count, 0);
		CHECK(t.root4 == NULL && t.root6 == NULL);
	}
	allowedips_free(&t);
}

/* 130,560 distinct prefixes for one owner, each listed exactly once. */
#define SCALE_V4 65280
#define SCALE_N 130560

struct scale_ctx {
	uint8_t *seen;
	size_t calls;
	int bad;
};

static void scale_prefix(uint32_t i, int *family, uint8_t *a, uint8_t *cidr)
{
	memset(a, 0, 16);
	if (i < SCALE_V4) {
		*family = AF_INET;
		a[0] = 10;
		a[1] = (uint8_t)(i >> 8);
		a[2] = (uint8_t)i;
		a[3] = (uint8_t)i; /* host bits, cleared on insert */
		*cidr = 24;
		return;
	}
	i -= SCALE_V4;
	*family = AF_INET6;
	memcpy(a, "\x20\x01\x0d\xb8", 4);
	a[4] = (uint8_t)(i >> 8);
	a[5] = (uint8_t)i;
	a[15] = 1;
	*cidr = 48;
}

static int scale_cb(void *ctx, int family, const void *addr, uint8_t cidr)
{
	struct scale_ctx *c = ctx;
	const uint8_t *a = addr;
	uint32_t i;

	c->calls++;
	if (family == AF_INET && cidr == 24 && a[0] == 10 && a[3] == 0 && a[1] < 255) {
		i = (uint32_t)a[1] << 8 | a[2];
	} else if (family == AF_INET6 && cidr == 48 && !memcmp(a, "\x20\x01\x0d\xb8", 4) &&
		   !memcmp(a + 6, "\0\0\0\0\0\0\0\0\0\0", 10)) {
		i = SCALE_V4 + ((uint32_t)a[4] << 8 | a[5]);
		if (i >= SCALE_N)
			return 1;
	} else {
		return 1;
	}
	if (c->seen[i]++)
		c->bad++;
	return 0;
}

TEST(allowedips_scale_one_owner)
{
	struct allowedips t;
	struct allowedips_owner a = {0}, b = {0};
	struct scale_ctx c = {0};
	uint8_t addr[16], cidr;
	int family;

	allowedips_init(&t);
	for (uint32_t i = 0; i < SCALE_N; i++) {
		scale_prefix(i, &family, addr, &cidr);
		CHECK_EQ(allowedips_insert(&t, family, addr, cidr, &a), 0);
	}
	CHECK_EQ(a.count, SCALE_N);
	CHECK_EQ(t.count, SCALE_N);
	c.seen = calloc(SCALE_N, 1);
	CHECK(c.seen);
	CHECK_EQ(allowedips_foreach(&a, scale_cb, &c), 0);
	CHECK_EQ(c.calls, SCALE_N);
	CHECK_EQ(c.bad, 0);
	for (uint32_t i = 0; i < SCALE_N; i++)
		CHECK_EQ(c.seen[i], 1);
	free(c.seen);
	for (uint32_t i = 0; i < SCALE_N; i += 997) {
		scale_prefix(i, &family, addr, &cidr);
		CHECK(allowedips_lookup(&t, family, addr) == &a);
	}
	CHECK(look(&t, "10.255.0.1") == NULL);
	CHECK(look(&t, "2001:db8:ff00::") == NULL);
	/* Moving one prefix out of the big list and back. */
	CHECK_EQ(ins(&t, "10.77.1.0", 24, &b), 0);
	CHECK_EQ(a.count, SCALE_N - 1);
	CHECK(look(&t, "10.77.1.9") == &b);
	CHECK_EQ(ins(&t, "10.77.1.0", 24, &a), 0);
	CHECK(b.head == NULL);
	CHECK_EQ(a.count, SCALE_N);
	allowedips_remove_owner(&t, &a);
	CHECK_EQ(t.count, 0);
	CHECK(t.root4 == NULL && t.root6 == NULL);
	allowedips_free(&t);
}
