/* SPDX-License-Identifier: BSD-3-Clause */
#include <setjmp.h>
#include <stdarg.h>
#include <stdlib.h>

#include "altuntun.h"
#include "test.h"

static struct test_case *tests_head;
static jmp_buf test_jump;

void test_register(struct test_case *tc)
{
	/* Constructors run in link order reversed per file; keep a stable
	 * order by appending. */
	struct test_case **p = &tests_head;
	while (*p)
		p = &(*p)->next;
	*p = tc;
}

void test_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "    %s:%d: ", file, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	longjmp(test_jump, 1);
}

size_t test_unhex(uint8_t *out, size_t cap, const char *hex)
{
	size_t n = 0;
	int hi = -1;
	for (; *hex; hex++) {
		int v;
		if (*hex >= '0' && *hex <= '9')
			v = *hex - '0';
		else if (*hex >= 'a' && *hex <= 'f')
			v = *hex - 'a' + 10;
		else if (*hex >= 'A' && *hex <= 'F')
			v = *hex - 'A' + 10;
		else
			continue;
		if (hi < 0) {
			hi = v;
		} else {
			if (n >= cap)
				abort();
			out[n++] = (uint8_t)(hi << 4 | v);
			hi = -1;
		}
	}
	return n;
}

int main(int argc, char **argv)
{
	const char *filter = argc > 1 ? argv[1] : NULL;
	/* static: setjmp/longjmp must not clobber them */
	static unsigned passed, failed;

	if (altuntun_init() != 0) {
		fprintf(stderr, "altuntun_init failed\n");
		return 1;
	}
	for (struct test_case *tc = tests_head; tc; tc = tc->next) {
		if (filter && !strstr(tc->name, filter))
			continue;
		if (setjmp(test_jump) == 0) {
			tc->fn();
			printf("ok   %s\n", tc->name);
			passed++;
		} else {
			printf("FAIL %s\n", tc->name);
			failed++;
		}
		fflush(stdout);
	}
	printf("%u passed, %u failed\n", passed, failed);
	return failed ? 1 : 0;
}
