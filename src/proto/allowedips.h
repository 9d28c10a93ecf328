/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Allowed IPs: a binary (path-compressed) trie per address family mapping
 * prefixes to an owner (a peer), for longest-prefix-match lookups of
 * destinations and of decrypted packets' sources. Each owner keeps the list
 * of its own prefixes, so listing or removing one peer's prefixes costs only
 * that peer's prefixes.
 */
#ifndef ALTUNTUN_ALLOWEDIPS_H
#define ALTUNTUN_ALLOWEDIPS_H

#include <stddef.h>
#include <stdint.h>

struct allowedips_node;

/* Embedded in the owner (the peer). Zero-initialised is valid. */
struct allowedips_owner {
	struct allowedips_node *head;
	size_t count;
};

struct allowedips {
	struct allowedips_node *root4;
	struct allowedips_node *root6;
	size_t count; /* prefixes held, all owners together */
};

void allowedips_init(struct allowedips *t);
/*
 * Frees every node and leaves `t` empty and reusable. It never touches the
 * owners, so they may already have been freed; but an owner that still held
 * prefixes is left with a dangling list: it must not be used again (foreach,
 * remove, insert into any table) until zeroed. Teardown is therefore either
 * allowedips_remove_owner() for each owner and then freeing it, or
 * allowedips_free() first and then freeing (or zeroing) the owners.
 */
void allowedips_free(struct allowedips *t);
/*
 * Inserts addr/cidr (host bits cleared) for `owner`; a prefix held by another
 * owner moves to this one (to the end of its list); a prefix the owner holds
 * already is left alone. Returns 0, -EINVAL (family/cidr, NULL owner),
 * -ENOMEM (the table is then unchanged).
 */
int allowedips_insert(struct allowedips *t, int family, const void *addr, uint8_t cidr,
		      struct allowedips_owner *owner);
/* Removes addr/cidr (host bits cleared) if `owner` holds it: 0, or -ENOENT;
 * -EINVAL for a bad family/cidr. */
int allowedips_remove(struct allowedips *t, int family, const void *addr, uint8_t cidr,
		      struct allowedips_owner *owner);
void allowedips_remove_owner(struct allowedips *t, struct allowedips_owner *owner);
/* Longest-prefix match: the owner, or NULL (also for a bad family). An IPv4
 * address only matches IPv4 prefixes, an IPv6 one (IPv4-mapped included) only
 * IPv6 prefixes. */
struct allowedips_owner *allowedips_lookup(const struct allowedips *t, int family, const void *addr);
/* Each prefix of `owner` (addr is 4 or 16 bytes, host bits clear), in the
 * order the owner got them; stops at fn's first non-zero return and returns
 * it. fn may remove the prefix it is given but not otherwise change the table. */
int allowedips_foreach(const struct allowedips_owner *owner,
		       int (*fn)(void *ctx, int family, const void *addr, uint8_t cidr), void *ctx);

#endif
