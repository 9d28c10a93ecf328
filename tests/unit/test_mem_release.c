// SPDX-License-Identifier: BSD-3-Clause
/* mem_release: clean file pages go, pages that differ from the file stay. */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "mem_release.h"
#include "test.h"

#define MAP_LEN (64 * 1024)

/* Rss (kB) of the mapping that starts at p, from /proc/self/smaps; -1 if none. */
static long rss_of(const void *p)
{
	char want[32], line[512];
	long kib = -1;
	bool in = false;
	FILE *f = fopen("/proc/self/smaps", "re");

	if (!f)
		return -1;
	snprintf(want, sizeof(want), "%lx-", (unsigned long)(uintptr_t)p);
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, want, strlen(want)))
			in = true;
		else if (in && sscanf(line, "Rss: %ld kB", &kib) == 1)
			break;
	}
	fclose(f);
	return kib;
}

static void fill(uint8_t *p, size_t len, uint8_t seed)
{
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)(seed + i * 7);
}

TEST(mem_release_keeps_what_differs_from_the_file)
{
	char path[] = "/tmp/altuntun-mem-release-XXXXXX";
	static uint8_t want[MAP_LEN], changed[MAP_LEN];
	struct mem_release_stats st;
	volatile uint8_t sum = 0;
	uint8_t *clean, *cow;
	int fd = mkstemp(path);

	CHECK(fd >= 0);
	unlink(path);
	fill(want, sizeof(want), 1);
	CHECK_EQ(write(fd, want, sizeof(want)), sizeof(want));
	/* A read-only mapping read through: clean pages of the file. */
	clean = mmap(NULL, MAP_LEN, PROT_READ, MAP_PRIVATE, fd, 0);
	CHECK(clean != MAP_FAILED);
	for (size_t i = 0; i < MAP_LEN; i += 4096)
		sum ^= clean[i];
	/* A private mapping written to, then made read-only (as the dynamic
	 * loader leaves RELRO): its pages are copies that differ from the file. */
	cow = mmap(NULL, MAP_LEN, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	CHECK(cow != MAP_FAILED);
	fill(changed, sizeof(changed), 99);
	memcpy(cow, changed, 4096);
	CHECK_EQ(mprotect(cow, MAP_LEN, PROT_READ), 0);
	close(fd);
	CHECK(rss_of(clean) == MAP_LEN / 1024);

	CHECK_EQ(mem_release_startup(&st), 0);
	/* The clean one is no longer resident (and reads the same). */
	CHECK_EQ(rss_of(clean), 0);
	CHECK(st.file_kib >= MAP_LEN / 1024);
	CHECK(st.mappings >= 1);
	CHECK(st.rss_kib > st.file_kib);
	CHECK_MEM(clean, want, MAP_LEN);
	/* The copied one kept its changed page, and its other pages. */
	CHECK_MEM(cow, changed, 4096);
	CHECK_MEM(cow + 4096, want + 4096, MAP_LEN - 4096);
	(void)sum;
	munmap(clean, MAP_LEN);
	munmap(cow, MAP_LEN);
}

TEST(mem_release_reads_a_descriptor_opened_before)
{
	struct mem_release_stats st;
	int fd = mem_release_open();

	CHECK(fd >= 0);
	CHECK_EQ(mem_release(fd, &st), 0);
	/* Closed by mem_release. */
	CHECK(fcntl(fd, F_GETFD) < 0);
	CHECK(st.rss_kib > 0);
}
