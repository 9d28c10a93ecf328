// SPDX-License-Identifier: BSD-3-Clause
/*
 * A test tool, not part of the daemon: LD_PRELOAD it to count the heap
 * allocations of a process and of the processes it forks
 * (tests/netns/alloc_steady.sh, docs/performance.md "Memory").
 *
 *     ALLOC_COUNT_FILE=/tmp/counts LD_PRELOAD=build/alloc_count.so CMD
 *
 * malloc, calloc, realloc, reallocarray and the aligned allocations are
 * counted and handed on to glibc (__libc_malloc & co., so free stays
 * glibc's). The counters live in ALLOC_COUNT_FILE, mapped shared when the
 * library loads: they can be read at any time from outside, also from a
 * process that has since changed its user and closed every descriptor
 * behind a seccomp filter (altuntun-cli's protocol process). Each process
 * takes a slot of its own, the first at load time, a forked child at the
 * fork (pthread_atfork).
 *
 * The file: struct alloc_count_file below, little-endian, 8-byte fields.
 */
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#define ALLOC_COUNT_MAGIC 0x616c6c6f63637431ull /* "allocct1" */
#define ALLOC_COUNT_SLOTS 64

struct alloc_count_slot {
	_Atomic int64_t pid;     /* 0: free */
	_Atomic uint64_t malloc_calls, calloc_calls, realloc_calls, aligned_calls;
	_Atomic uint64_t free_calls;
};

struct alloc_count_file {
	uint64_t magic;
	uint64_t nslots;
	_Atomic uint64_t used;
	uint64_t reserved;
	struct alloc_count_slot slot[ALLOC_COUNT_SLOTS];
};

void *__libc_malloc(size_t size);
void *__libc_calloc(size_t n, size_t size);
void *__libc_realloc(void *p, size_t size);
void *__libc_memalign(size_t align, size_t size);
void __libc_free(void *p);

static struct alloc_count_file *file;
static struct alloc_count_slot *me;

static void take_slot(void)
{
	uint64_t i;

	me = NULL;
	if (!file)
		return;
	i = atomic_fetch_add(&file->used, 1);
	if (i >= ALLOC_COUNT_SLOTS)
		return; /* full: this process is not counted */
	atomic_store(&file->slot[i].pid, (int64_t)getpid());
	me = &file->slot[i];
}

__attribute__((constructor)) static void alloc_count_init(void)
{
	const char *path = getenv("ALLOC_COUNT_FILE");
	struct alloc_count_file *f;
	int fd;

	if (!path || !*path)
		return;
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return;
	/* Only grows: the first process sizes it, later ones find it sized. */
	if (lseek(fd, 0, SEEK_END) < (off_t)sizeof(*f) && ftruncate(fd, sizeof(*f)) < 0) {
		close(fd);
		return;
	}
	f = mmap(NULL, sizeof(*f), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (f == MAP_FAILED)
		return;
	f->magic = ALLOC_COUNT_MAGIC;
	f->nslots = ALLOC_COUNT_SLOTS;
	file = f;
	take_slot();
	pthread_atfork(NULL, NULL, take_slot);
}

#define COUNT(field)                                                              \
	do {                                                                      \
		if (me)                                                           \
			atomic_fetch_add_explicit(&me->field, 1, memory_order_relaxed); \
	} while (0)

void *malloc(size_t size)
{
	COUNT(malloc_calls);
	return __libc_malloc(size);
}

void *calloc(size_t n, size_t size)
{
	COUNT(calloc_calls);
	return __libc_calloc(n, size);
}

void *realloc(void *p, size_t size)
{
	COUNT(realloc_calls);
	return __libc_realloc(p, size);
}

void *reallocarray(void *p, size_t n, size_t size)
{
	size_t total;

	COUNT(realloc_calls);
	if (__builtin_mul_overflow(n, size, &total)) {
		errno = ENOMEM;
		return NULL;
	}
	return __libc_realloc(p, total);
}

void free(void *p)
{
	if (p)
		COUNT(free_calls);
	__libc_free(p);
}

void *memalign(size_t align, size_t size)
{
	COUNT(aligned_calls);
	return __libc_memalign(align, size);
}

void *aligned_alloc(size_t align, size_t size)
{
	COUNT(aligned_calls);
	return __libc_memalign(align, size);
}

int posix_memalign(void **out, size_t align, size_t size)
{
	void *p;

	if (align < sizeof(void *) || (align & (align - 1)))
		return EINVAL;
	COUNT(aligned_calls);
	p = __libc_memalign(align, size);
	if (!p && size)
		return ENOMEM;
	*out = p;
	return 0;
}
