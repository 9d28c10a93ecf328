/* SPDX-License-Identifier: BSD-3-Clause */
/* make-corpus's seeds for fuzz_inner (inner_seeds.c). */
#ifndef ALTUNTUN_FUZZ_INNER_SEEDS_H
#define ALTUNTUN_FUZZ_INNER_SEEDS_H

#include <stddef.h>

/* Writes data as OUTDIR/target/name. */
typedef void (*inner_seed_writer)(const char *target, const char *name, const void *data,
				  size_t len);

void inner_seeds(inner_seed_writer write);

#endif
