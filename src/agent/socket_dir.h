/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Where the UAPI socket goes (docs/namespaces.md, "Rootless"):
 * /var/run/wireguard when we may write there (or create it), else
 * $XDG_RUNTIME_DIR/wireguard (created 0700), as for a user without root
 * (a file capability, a user namespace).
 */
#ifndef ALTUNTUN_SOCKET_DIR_H
#define ALTUNTUN_SOCKET_DIR_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Writes the directory to `out`. 0 and *is_user false for
 * /var/run/wireguard, *is_user true for $XDG_RUNTIME_DIR/wireguard; a
 * negative errno when neither is usable, with a sentence in `why`.
 */
int socket_dir_pick(char *out, size_t size, bool *is_user, char *why, size_t why_size);

#endif
