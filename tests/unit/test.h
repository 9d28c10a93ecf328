/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The unit test runner: each test file declares tests with TEST(name); they
 * register themselves at start-up and tests/unit/main.c runs them (all, or
 * those whose name contains the first argument). A failed CHECK ends its
 * test and is reported with file and line.
 */
#ifndef ALTUNTUN_TEST_H
#define ALTUNTUN_TEST_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

struct test_case {
	const char *name;
	void (*fn)(void);
	struct test_case *next;
};

void test_register(struct test_case *tc);
void test_fail(const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4), noreturn));
/* Parses a hex string (whitespace ignored) into out; returns its length. */
size_t test_unhex(uint8_t *out, size_t cap, const char *hex);

#define TEST(name)                                                        \
	static void test_fn_##name(void);                                 \
	static struct test_case test_case_##name = {#name, test_fn_##name, \
						    NULL};                \
	__attribute__((constructor)) static void test_reg_##name(void)    \
	{                                                                 \
		test_register(&test_case_##name);                         \
	}                                                                 \
	static void test_fn_##name(void)

#define CHECK(cond)                                                           \
	do {                                                                  \
		if (!(cond))                                                  \
			test_fail(__FILE__, __LINE__, "CHECK(%s)", #cond);    \
	} while (0)

#define CHECK_EQ(a, b)                                                         \
	do {                                                                   \
		long long check_a_ = (long long)(a), check_b_ = (long long)(b); \
		if (check_a_ != check_b_)                                      \
			test_fail(__FILE__, __LINE__, "%s == %s (%lld != %lld)", \
				  #a, #b, check_a_, check_b_);                 \
	} while (0)

#define CHECK_MEM(a, b, n)                                                    \
	do {                                                                  \
		if (memcmp((a), (b), (n)) != 0)                               \
			test_fail(__FILE__, __LINE__, "memcmp(%s, %s, %s)",   \
				  #a, #b, #n);                                \
	} while (0)

#endif
