/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The interface side of the UAPI (uapi_iface_ops) for unit tests: a listen
 * port and fwmark in memory, what was asked of them, and answers to give.
 */
#ifndef ALTUNTUN_TEST_FAKE_IFACE_H
#define ALTUNTUN_TEST_FAKE_IFACE_H

#include <stdint.h>

#include "uapi.h"

struct fake_iface {
	uint16_t port;
	uint32_t fwmark;
	int port_ret;   /* what set_listen_port answers for a new port */
	int fwmark_ret; /* what set_fwmark answers */
	unsigned port_calls;
	unsigned fwmark_calls;
	unsigned changed_calls;
	uint16_t ports_set[4]; /* the first ports asked for */
};

/* Operations that act on f. */
struct uapi_iface_ops fake_iface_ops(struct fake_iface *f);

#endif
