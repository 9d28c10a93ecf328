/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * An Internet checksum written independently of src/agent/offload.c, to
 * check it and what is built with it: big-endian 16-bit words, one at a time.
 */
#ifndef ALTUNTUN_TEST_REF_CSUM_H
#define ALTUNTUN_TEST_REF_CSUM_H

#include <stddef.h>
#include <stdint.h>

/* Adds the words of p[0..len) to s (an odd last byte padded with zero). */
uint32_t ref_sum(uint32_t s, const uint8_t *p, size_t len);
/* Folds the carries into 16 bits (not complemented). */
uint16_t ref_fold(uint32_t s);

#endif
