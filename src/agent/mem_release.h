/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Giving back the memory that start-up touched and the steady state does
 * not need (docs/performance.md, "Memory"): the free pages of the heap
 * (malloc_trim) and the clean pages of mapped files, the code and
 * read-only data of the libraries that set-up ran through (libnl, NSS,
 * libseccomp, OpenSSL's initialisation, ...). Those pages stay in the page
 * cache, shared with every other process that maps them; this process
 * just stops holding them, and faults back in, from the cache, what it
 * runs again.
 */
#ifndef ALTUNTUN_MEM_RELEASE_H
#define ALTUNTUN_MEM_RELEASE_H

#include <stddef.h>

struct mem_release_stats {
	size_t rss_kib;  /* resident before (the sum over the mappings) */
	size_t file_kib; /* clean file pages unmapped */
	size_t mappings; /* mappings they came from */
};

/* Opens /proc/self/smaps for mem_release(): a descriptor, or a negative
 * errno. Open it before a seccomp filter forbids open(). */
int mem_release_open(void);

/*
 * Unmaps (MADV_DONTNEED) the resident pages of every file mapping that is
 * not writable and holds no anonymous (copied-on-write) page, so that no
 * content can change: a later access reads the same bytes back from the
 * page cache. Then trims the heap. Reads smaps_fd (from mem_release_open,
 * not read yet) with read(2) only, and closes it. No other thread may
 * map, unmap or change the protection of memory meanwhile. Returns 0 or a
 * negative errno; stats may be NULL.
 */
int mem_release(int smaps_fd, struct mem_release_stats *stats);

/* Both at once. */
int mem_release_startup(struct mem_release_stats *stats);

#endif
