/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The world the configuration parsers see while fuzzed (fuzz_config_json,
 * fuzz_cni): they read key files and resolve host names, so a fixed
 * directory of key files stands in for the file system and host names
 * resolve without the network.
 */
#ifndef ALTUNTUN_FUZZ_OFFLINE_H
#define ALTUNTUN_FUZZ_OFFLINE_H

/*
 * Makes a temporary directory (removed at exit) holding example.key (a
 * private key, mode 0600), example.psk (a key, mode 0644: a warning),
 * bad.key (not a key) and dir/ (a directory), and points stdin at
 * /dev/null so that no path makes a read wait. Returns the directory;
 * aborts on failure. Call once.
 */
const char *fuzz_offline_init(void);

/*
 * getaddrinfo() is replaced for the fuzz binaries: "localhost" resolves
 * through the C library (files only, never the network), every other host
 * name fails with EAI_NONAME at once. Numeric addresses never get here
 * (the parser reads them itself).
 */

#endif
