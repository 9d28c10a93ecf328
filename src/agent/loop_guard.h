/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Routing loops: when a peer's endpoint is routed into our own tunnel,
 * every datagram we send comes back out of our TUN as an inner packet.
 * Encrypting it again would send it round once more, 60-odd bytes larger,
 * for ever (docs/security.md, "Routing loops").
 */
#ifndef ALTUNTUN_LOOP_GUARD_H
#define ALTUNTUN_LOOP_GUARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "altuntun.h"

/*
 * True when the IP packet pkt (len bytes, as read from the TUN) is one of
 * our own outer datagrams: UDP from our listen port to the endpoint of the
 * very peer whose allowed IPs would take it. Such a packet must be dropped.
 */
bool loop_guard_own_datagram(const altuntun_device *dev, uint16_t listen_port, const uint8_t *pkt,
			     size_t len);

#endif
