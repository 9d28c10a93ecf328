/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * `altuntun-cli wg ARGS...`: runs wg(8) for a user whose UAPI sockets are in
 * $XDG_RUNTIME_DIR/wireguard (socket_dir.h), in a private user + mount
 * namespace where that directory is /var/run/wireguard. As root, or when the
 * directory does not exist, it just runs wg.
 */
#ifndef ALTUNTUN_WG_WRAPPER_H
#define ALTUNTUN_WG_WRAPPER_H

/* argv[0] is "wg". Returns only on failure (an exit status). */
int wg_wrapper_main(int argc, char **argv);

#endif
