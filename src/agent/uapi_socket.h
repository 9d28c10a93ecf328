/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The UAPI socket file /var/run/wireguard/NAME.sock: its directory (created
 * 0700 when missing, used as it is otherwise), refusing a name a live process
 * serves, replacing a stale one, binding it 0600, watching it (deleting the
 * file stops the daemon) and removing it on exit only while it is still ours.
 */
#ifndef ALTUNTUN_UAPI_SOCKET_H
#define ALTUNTUN_UAPI_SOCKET_H

#include <stdbool.h>
#include <sys/stat.h>
#include <sys/un.h>

#define UAPI_SOCKET_DIR "/var/run/wireguard"
#define UAPI_SOCKET_PATH_MAX sizeof(((struct sockaddr_un *)0)->sun_path)

struct uapi_socket {
	int fd;            /* listening, non-blocking */
	int watch_fd;      /* inotify on the directory, or -1 */
	bool have_file;    /* path/st describe the socket file we bound */
	char path[UAPI_SOCKET_PATH_MAX];
	struct stat st;
};

/* /var/run/wireguard/NAME.sock; -ENAMETOOLONG if it does not fit. */
int uapi_socket_path(char out[UAPI_SOCKET_PATH_MAX], const char *name);
/* DIR/NAME.sock (socket_dir.h picks DIR). */
int uapi_socket_path_in(char out[UAPI_SOCKET_PATH_MAX], const char *dir, const char *name);
/*
 * Makes sure nothing live serves `path`: 0 if it is free (a stale socket is
 * removed), -EADDRINUSE if a process answers on it, -EEXIST if it is not a
 * socket, or another negative errno. Creates the directory if missing.
 */
int uapi_socket_check(const char *path);
/* Binds and listens on `path` (mode 0600). */
int uapi_socket_listen(struct uapi_socket *s, const char *path);
/*
 * Takes an inherited listening socket (WG_UAPI_FD). Its file, if it has one
 * (else `fallback_path`, if that exists and is a socket), is watched and
 * removed on exit.
 */
int uapi_socket_adopt(struct uapi_socket *s, int fd, const char *fallback_path);
/* Starts watching the socket file (inotify); 0 or a negative errno. Without
 * a file there is nothing to watch and 0 is returned with watch_fd -1. */
int uapi_socket_watch(struct uapi_socket *s);
/* Reads the inotify events; returns false once the file is gone or was
 * replaced by another. */
bool uapi_socket_still_there(struct uapi_socket *s);
/* Closes everything and removes the file if it is still ours. */
void uapi_socket_close(struct uapi_socket *s);

#endif
