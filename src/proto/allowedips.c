/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Allowed IPs as a path-compressed binary trie, one per address family.
 *
 * A node stands for the prefix key/cidr. Its children hold longer prefixes
 * that extend it: child[b] leads to those whose bit number `cidr` (counting
 * from the most significant bit) is b. The bits between a node and its child
 * are not tested on the way down, so each node met during a walk is compared
 * with the whole address; since all of a node's descendants share its prefix,
 * the first mismatch ends the walk.
 *
 * A node with an owner is a prefix that was inserted. A node without one only
 * exists to branch and always has two children; removal keeps it that way,
 * so the trie holds fewer than two nodes per prefix.
 *
 * Keys are host-order 32-bit words, most significant first, host bits zero.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <stddef.h>
#include <stdlib.h>
#include <sys/socket.h>

#include "allowedips.h"

#define MAX_WORDS 4

struct allowedips_node {
	struct allowedips_node *child[2];
	struct allowedips_node *parent;
	struct allowedips_owner *owner;
	/* The owner's list: next ends with NULL; the head's prev is the tail. */
	struct allowedips_node *next, *prev;
	uint8_t cidr;
	uint8_t words; /* 1 for IPv4, 4 for IPv6 */
	uint32_t key[];
};

static unsigned int family_words(int family)
{
	if (family == AF_INET)
		return 1;
	if (family == AF_INET6)
		return 4;
	return 0;
}

static struct allowedips_node **root_slot(struct allowedips *t, unsigned int words)
{
	return words == 1 ? &t->root4 : &t->root6;
}

static void key_from_bytes(uint32_t *key, const uint8_t *b, unsigned int words)
{
	for (unsigned int i = 0; i < words; i++, b += 4)
		key[i] = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 |
			 (uint32_t)b[2] << 8 | b[3];
}

static void key_to_bytes(uint8_t *b, const uint32_t *key, unsigned int words)
{
	for (unsigned int i = 0; i < words; i++) {
		uint32_t be = htonl(key[i]);

		memcpy(b + 4 * i, &be, sizeof(be));
	}
}

static void key_mask(uint32_t *key, unsigned int words, unsigned int cidr)
{
	for (unsigned int i = 0; i < words; i++) {
		unsigned int first = i * 32;

		if (cidr <= first)
			key[i] = 0;
		else if (cidr < first + 32)
			key[i] &= ~0U << (32 - (cidr - first));
	}
}

static unsigned int key_bit(const uint32_t *key, unsigned int bit)
{
	return key[bit / 32] >> (31 - bit % 32) & 1;
}

/* The number of leading bits a and b have in common. */
static unsigned int common_bits(const uint32_t *a, const uint32_t *b, unsigned int words)
{
	for (unsigned int i = 0; i < words; i++) {
		uint32_t x = a[i] ^ b[i];

		if (x)
			return i * 32 + (unsigned int)__builtin_clz(x);
	}
	return words * 32;
}

static bool prefix_matches(const struct allowedips_node *n, const uint32_t *key)
{
	unsigned int i, full = n->cidr / 32, rest = n->cidr % 32;

	for (i = 0; i < full; i++)
		if (n->key[i] != key[i])
			return false;
	return !rest || !((n->key[i] ^ key[i]) >> (32 - rest));
}

static struct allowedips_node *node_new(const uint32_t *key, unsigned int words,
					unsigned int cidr)
{
	struct allowedips_node *n;

	n = malloc(offsetof(struct allowedips_node, key) + words * sizeof(n->key[0]));
	if (!n)
		return NULL;
	n->child[0] = n->child[1] = NULL;
	n->parent = NULL;
	n->owner = NULL;
	n->next = n->prev = NULL;
	n->cidr = (uint8_t)cidr;
	n->words = (uint8_t)words;
	for (unsigned int i = 0; i < words; i++)
		n->key[i] = key[i];
	key_mask(n->key, words, cidr);
	return n;
}

static void owner_link(struct allowedips_owner *o, struct allowedips_node *n)
{
	n->owner = o;
	n->next = NULL;
	if (o->head) {
		n->prev = o->head->prev;
		o->head->prev->next = n;
		o->head->prev = n;
	} else {
		n->prev = n;
		o->head = n;
	}
	o->count++;
}

static void owner_unlink(struct allowedips_node *n)
{
	struct allowedips_owner *o = n->owner;

	if (n == o->head) {
		o->head = n->next;
		if (n->next)
			n->next->prev = n->prev;
	} else {
		n->prev->next = n->next;
		if (n->next)
			n->next->prev = n->prev;
		else
			o->head->prev = n->prev;
	}
	o->count--;
	n->owner = NULL;
	n->next = n->prev = NULL;
}

/* Puts `with` (maybe NULL) where `n` hangs, under n's parent or at the root. */
static void replace_node(struct allowedips *t, struct allowedips_node *n,
			 struct allowedips_node *with)
{
	struct allowedips_node *p = n->parent;

	if (p)
		p->child[p->child[1] == n] = with;
	else
		*root_slot(t, n->words) = with;
	if (with)
		with->parent = p;
}

/*
 * Frees `n`, which has just lost its owner, unless it still branches; then
 * frees its parent too if that only branched and now has a single child.
 * Owned nodes are never freed here, so owners' lists stay walkable.
 */
static void prune(struct allowedips *t, struct allowedips_node *n)
{
	struct allowedips_node *p = n->parent, *child;

	if (n->child[0] && n->child[1])
		return;
	child = n->child[0] ? n->child[0] : n->child[1];
	replace_node(t, n, child);
	free(n);
	if (child || !p || p->owner)
		return;
	replace_node(t, p, p->child[0] ? p->child[0] : p->child[1]);
	free(p);
}

static void node_set_owner(struct allowedips *t, struct allowedips_node *n,
			   struct allowedips_owner *owner)
{
	if (n->owner == owner)
		return;
	if (n->owner)
		owner_unlink(n);
	else
		t->count++;
	owner_link(owner, n);
}

/*
 * Hangs a new node for key/cidr at *slot, above the node already there if any
 * (which does not lie inside key/cidr's path, or the walk would have gone on),
 * with a branching node above both when neither prefix contains the other.
 */
static int insert_at(struct allowedips *t, struct allowedips_node **slot,
		     struct allowedips_node *parent, const uint32_t *key,
		     unsigned int words, unsigned int cidr, struct allowedips_owner *owner)
{
	struct allowedips_node *old = *slot, *n, *top;
	unsigned int common;

	n = node_new(key, words, cidr);
	if (!n)
		return -ENOMEM;
	top = n;
	if (old) {
		common = common_bits(old->key, key, words);
		if (common >= cidr) {
			n->child[key_bit(old->key, cidr)] = old;
		} else {
			top = node_new(key, words, common);
			if (!top) {
				free(n);
				return -ENOMEM;
			}
			top->child[key_bit(key, common)] = n;
			top->child[key_bit(old->key, common)] = old;
			n->parent = top;
		}
		old->parent = top;
	}
	top->parent = parent;
	*slot = top;
	owner_link(owner, n);
	t->count++;
	return 0;
}

void allowedips_init(struct allowedips *t)
{
	t->root4 = NULL;
	t->root6 = NULL;
	t->count = 0;
}

static void free_subtree(struct allowedips_node *n)
{
	while (n) {
		struct allowedips_node *next = n->child[1];

		free_subtree(n->child[0]);
		free(n);
		n = next;
	}
}

void allowedips_free(struct allowedips *t)
{
	free_subtree(t->root4);
	free_subtree(t->root6);
	allowedips_init(t);
}

int allowedips_insert(struct allowedips *t, int family, const void *addr, uint8_t cidr,
		      struct allowedips_owner *owner)
{
	unsigned int words = family_words(family);
	struct allowedips_node **slot, *n, *parent = NULL;
	uint32_t key[MAX_WORDS];

	if (!words || cidr > words * 32 || !addr || !owner)
		return -EINVAL;
	key_from_bytes(key, addr, words);
	key_mask(key, words, cidr);
	slot = root_slot(t, words);
	while ((n = *slot)) {
		unsigned int common = common_bits(n->key, key, words);

		if (common > cidr)
			common = cidr;
		if (common < n->cidr)
			break;
		if (n->cidr == cidr) {
			node_set_owner(t, n, owner);
			return 0;
		}
		parent = n;
		slot = &n->child[key_bit(key, n->cidr)];
	}
	return insert_at(t, slot, parent, key, words, cidr, owner);
}

int allowedips_remove(struct allowedips *t, int family, const void *addr, uint8_t cidr,
		      struct allowedips_owner *owner)
{
	unsigned int words = family_words(family);
	uint32_t key[MAX_WORDS];
	struct allowedips_node *n;

	if (!words || cidr > words * 32 || !addr)
		return -EINVAL;
	key_from_bytes(key, addr, words);
	key_mask(key, words, cidr);
	for (n = *root_slot(t, words); n && n->cidr < cidr; n = n->child[key_bit(key, n->cidr)])
		if (!prefix_matches(n, key))
			return -ENOENT;
	if (!n || n->cidr != cidr || !prefix_matches(n, key) || !owner || n->owner != owner)
		return -ENOENT;
	owner_unlink(n);
	t->count--;
	prune(t, n);
	return 0;
}

void allowedips_remove_owner(struct allowedips *t, struct allowedips_owner *owner)
{
	struct allowedips_node *n, *next;

	if (!owner)
		return;
	for (n = owner->head; n; n = next) {
		next = n->next;
		n->owner = NULL;
		prune(t, n);
	}
	t->count -= owner->count;
	owner->head = NULL;
	owner->count = 0;
}

struct allowedips_owner *allowedips_lookup(const struct allowedips *t, int family, const void *addr)
{
	unsigned int words = family_words(family);
	struct allowedips_owner *best = NULL;
	const struct allowedips_node *n;
	uint32_t key[MAX_WORDS];

	if (!words || !addr)
		return NULL;
	key_from_bytes(key, addr, words);
	n = words == 1 ? t->root4 : t->root6;
	while (n && prefix_matches(n, key)) {
		if (n->owner)
			best = n->owner;
		if (n->cidr == words * 32)
			break;
		n = n->child[key_bit(key, n->cidr)];
	}
	return best;
}

int allowedips_foreach(const struct allowedips_owner *owner,
		       int (*fn)(void *ctx, int family, const void *addr, uint8_t cidr), void *ctx)
{
	const struct allowedips_node *n, *next;
	uint8_t addr[MAX_WORDS * 4];
	int ret;

	for (n = owner->head; n; n = next) {
		next = n->next;
		key_to_bytes(addr, n->key, n->words);
		ret = fn(ctx, n->words == 1 ? AF_INET : AF_INET6, addr, n->cidr);
		if (ret)
			return ret;
	}
	return 0;
}
