/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Reading /proc/self/mountinfo (proc(5)) for what the home watch needs
 * (home_watch.h): which mounts name a network namespace, and whether the
 * proc mount hides processes.
 *
 * A network namespace has a "name" while an nsfs file of it is mounted
 * somewhere: `ip netns add` and `ip netns attach` bind-mount it at
 * /var/run/netns/NAME, container runtimes elsewhere. Such a mount shows up
 * in mountinfo with file system type "nsfs" and root "net:[INODE]", INODE
 * being the namespace's (what stat(2) of /proc/PID/ns/net gives).
 *
 * The text is outside input: lines that do not have the documented shape
 * are skipped, numbers are parsed strictly. Pure functions, no I/O except
 * mountinfo_read().
 */
#ifndef ALTUNTUN_MOUNTINFO_H
#define ALTUNTUN_MOUNTINFO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MOUNTINFO_PATH "/proc/self/mountinfo"
/* Largest mountinfo text read (a host with very many mounts is refused). */
#define MOUNTINFO_MAX (16u << 20)

/* One line's fields; the strings point into the line, unescaped (\040 and
 * the other octal escapes of the kernel) in place. */
struct mountinfo_entry {
	const char *root;        /* field 4: root of the mount in its file system */
	const char *mount_point; /* field 5 */
	const char *fstype;      /* after the " - " separator */
	const char *source;
	const char *super_opts;  /* super block options, "rw,hidepid=2,..." */
};

/* Splits one line (without its newline) in place. 0, or -EINVAL when it
 * does not have the fields of a mountinfo line. */
int mountinfo_parse_line(char *line, struct mountinfo_entry *e);

/* The network namespace inode a mount names: 1 and *ino when fstype is
 * "nsfs" and root is exactly "net:[DIGITS]", else 0. */
int mountinfo_netns_of(const struct mountinfo_entry *e, uint64_t *ino);

/*
 * How many mounts in text (a whole mountinfo file, NUL-terminated) name
 * network namespace ino. The first one's mount point is copied to
 * first[cap] (when not NULL; "" if there is none).
 */
unsigned mountinfo_netns_names(const char *text, uint64_t ino, char *first, size_t cap);

/*
 * True when the proc file system mounted at /proc hides processes from
 * some readers (hidepid= other than 0 or "off"): then not every process
 * can be seen. False when /proc is not in text at all (the caller learns
 * that otherwise).
 */
bool mountinfo_proc_hides_pids(const char *text);

/* The buffer mountinfo_read() starts with. */
#define MOUNTINFO_FIRST_CAP 65536

/* Reads a whole mountinfo file into *buf (malloc'd, *cap bytes; kept by the
 * caller between calls and grown as needed, so that reading again at every
 * mount change allocates nothing), NUL-terminated, *len bytes. 0 or a
 * negative errno (-EFBIG above MOUNTINFO_MAX). */
int mountinfo_read(const char *path, char **buf, size_t *cap, size_t *len);

#endif
