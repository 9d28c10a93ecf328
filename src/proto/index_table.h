/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The receiver indices we hand out in handshakes: a random 32-bit value per
 * pending handshake and per keypair, mapped back to it when a response,
 * cookie reply or data message names it.
 */
#ifndef ALTUNTUN_INDEX_TABLE_H
#define ALTUNTUN_INDEX_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct altuntun_peer;
struct keypair;

enum index_kind { INDEX_HANDSHAKE = 1, INDEX_KEYPAIR = 2 };

struct index_entry {
	uint32_t index;
	bool in_table;
	enum index_kind kind;
	struct altuntun_peer *peer;
	struct keypair *keypair; /* INDEX_KEYPAIR only */
	struct index_entry *next;
};

struct index_table {
	struct index_entry **buckets;
	size_t bucket_count; /* power of two */
	size_t count;
};

int index_table_init(struct index_table *t);
void index_table_free(struct index_table *t);
/* Gives the entry a fresh random index not in use and inserts it. */
int index_table_insert(struct index_table *t, struct index_entry *e);
void index_table_remove(struct index_table *t, struct index_entry *e);
/* Puts `to` in the table under from's index, removing `from`. */
void index_table_replace(struct index_table *t, struct index_entry *from, struct index_entry *to);
/* The entry with this index whose kind is in `kinds` (a mask), or NULL. */
struct index_entry *index_table_lookup(const struct index_table *t, uint32_t index, unsigned kinds);

#endif
