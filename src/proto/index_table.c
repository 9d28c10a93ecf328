/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <stdlib.h>

#include "crypto.h"
#include "index_table.h"

#define INDEX_TABLE_MIN_BUCKETS 64

int index_table_init(struct index_table *t)
{
	t->bucket_count = INDEX_TABLE_MIN_BUCKETS;
	t->count = 0;
	t->buckets = calloc(t->bucket_count, sizeof(*t->buckets));
	return t->buckets ? 0 : -ENOMEM;
}

void index_table_free(struct index_table *t)
{
	free(t->buckets);
	t->buckets = NULL;
	t->bucket_count = 0;
	t->count = 0;
}

static size_t bucket_of(const struct index_table *t, uint32_t index)
{
	/* Indices are random: their low bits are a fine hash. */
	return index & (t->bucket_count - 1);
}

static void grow(struct index_table *t)
{
	size_t n = t->bucket_count * 2;
	struct index_entry **b = calloc(n, sizeof(*b));

	if (!b)
		return; /* keep the longer chains; still correct */
	for (size_t i = 0; i < t->bucket_count; i++) {
		struct index_entry *e = t->buckets[i], *next;
		for (; e; e = next) {
			next = e->next;
			e->next = b[e->index & (n - 1)];
			b[e->index & (n - 1)] = e;
		}
	}
	free(t->buckets);
	t->buckets = b;
	t->bucket_count = n;
}

static bool in_use(const struct index_table *t, uint32_t index)
{
	for (struct index_entry *e = t->buckets[bucket_of(t, index)]; e; e = e->next)
		if (e->index == index)
			return true;
	return false;
}

static void link_entry(struct index_table *t, struct index_entry *e)
{
	size_t b = bucket_of(t, e->index);

	e->next = t->buckets[b];
	t->buckets[b] = e;
	e->in_table = true;
	t->count++;
}

int index_table_insert(struct index_table *t, struct index_entry *e)
{
	uint32_t index;

	if (e->in_table)
		index_table_remove(t, e);
	if (t->count >= t->bucket_count)
		grow(t);
	do
		crypto_random(&index, sizeof(index));
	while (in_use(t, index));
	e->index = index;
	link_entry(t, e);
	return 0;
}

void index_table_remove(struct index_table *t, struct index_entry *e)
{
	struct index_entry **p;

	if (!e->in_table)
		return;
	for (p = &t->buckets[bucket_of(t, e->index)]; *p; p = &(*p)->next) {
		if (*p == e) {
			*p = e->next;
			break;
		}
	}
	e->next = NULL;
	e->in_table = false;
	t->count--;
}

void index_table_replace(struct index_table *t, struct index_entry *from, struct index_entry *to)
{
	if (to->in_table)
		index_table_remove(t, to);
	if (!from->in_table) {
		index_table_insert(t, to);
		return;
	}
	to->index = from->index;
	index_table_remove(t, from);
	link_entry(t, to);
}

struct index_entry *index_table_lookup(const struct index_table *t, uint32_t index, unsigned kinds)
{
	for (struct index_entry *e = t->buckets[bucket_of(t, index)]; e; e = e->next)
		if (e->index == index && (e->kind & kinds))
			return e;
	return NULL;
}
