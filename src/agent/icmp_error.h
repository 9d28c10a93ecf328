/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The ICMP error for a packet no peer owns the destination of (or whose
 * peer has no endpoint): "host unreachable" (ICMP type 3 code 1) or ICMPv6
 * "address unreachable" (type 1 code 3), as the Linux driver sends with
 * icmp_ndo_send() from wg_xmit() in both cases.
 *
 * Where it goes and where it comes from (docs/parity-notes-icmp.md):
 * the error is written to the TUN, so it enters the interface's namespace
 * from wg0 as if a peer had sent it. Its destination is the source of the
 * original packet as we read it; when that packet was NATed on its way
 * into wg0, the namespace's conntrack finds the error RELATED to the
 * connection and undoes the NAT on the error (outer destination and the
 * quoted header), which is what icmp_ndo_send() does by hand in the kernel.
 * Its source is the original destination: the kernel's choice, an address
 * of its own found by a route lookup toward the sender, would arrive from
 * wg0 as a martian (a local source on a non-loopback device is dropped by
 * fib_validate_source()), while the unreachable address routes back into
 * wg0 and so passes even strict reverse-path filtering.
 *
 * As RFC 1812 4.3.2.7 / RFC 4443 2.4(e) and the kernel: none for an ICMP
 * error, a packet to or from a broadcast, multicast, unspecified or
 * loopback address, or a fragment other than the first; quoted as much of
 * the original as fits in 576 bytes (IPv4, as Linux icmp_send) or 1280
 * (IPv6); rate limited per sender (one a second, bursts of 6, as the
 * kernel's icmp_ratelimit) and in total (1000 a second, bursts of 50, as
 * icmp_msgs_per_sec / icmp_msgs_burst).
 */
#ifndef ALTUNTUN_ICMP_ERROR_H
#define ALTUNTUN_ICMP_ERROR_H

#include <stddef.h>
#include <stdint.h>

#define ICMP_ERROR_V4_MAX 576u  /* IPv4 error size limit (RFC 1812 4.3.2.3) */
#define ICMP_ERROR_V6_MAX 1280u /* IPv6 minimum MTU (RFC 4443 2.4(c)) */
#define ICMP_ERROR_MAX ICMP_ERROR_V6_MAX

#define ICMP_ERROR_SENDERS 64 /* senders tracked by the per-sender limit */

struct icmp_error_bucket {
	uint64_t last_ns;
	uint64_t credit_ns; /* time earned, spent per error */
	int used;
};

struct icmp_error_sender {
	uint8_t family; /* AF_INET or AF_INET6; 0: free */
	uint8_t addr[16];
	struct icmp_error_bucket bucket;
};

struct icmp_error_limiter {
	struct icmp_error_bucket total;
	struct icmp_error_sender senders[ICMP_ERROR_SENDERS];
	uint32_t seed;    /* of the sender hash */
	uint16_t ipv4_id; /* identification of the next IPv4 error */
};

/* Why no error was built. */
enum icmp_error_skip {
	ICMP_ERROR_SENT = 0,
	ICMP_ERROR_MALFORMED,     /* not a whole IPv4/IPv6 header */
	ICMP_ERROR_NOT_UNICAST,   /* broadcast, multicast, unspecified, loopback */
	ICMP_ERROR_FRAGMENT,      /* not the first fragment */
	ICMP_ERROR_ABOUT_ERROR,   /* the packet is an ICMP error itself */
	ICMP_ERROR_RATE_LIMITED,
	ICMP_ERROR_NO_ROOM,       /* out smaller than ICMP_ERROR_MAX */
};

void icmp_error_limiter_init(struct icmp_error_limiter *l, uint32_t seed);

/*
 * Builds the unreachable error for the IP packet pkt[0..len) into out
 * (cap >= ICMP_ERROR_MAX) at monotonic time now_ns. Returns its length, or
 * 0 with *why saying why none is due.
 */
size_t icmp_error_unreachable(struct icmp_error_limiter *l, uint64_t now_ns, const uint8_t *pkt,
			      size_t len, uint8_t *out, size_t cap, enum icmp_error_skip *why);

/* A word for a skip reason, for the log. */
const char *icmp_error_skip_str(enum icmp_error_skip why);

#endif
