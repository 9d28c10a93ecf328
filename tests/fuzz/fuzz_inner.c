// SPDX-License-Identifier: BSD-3-Clause
/*
 * fuzz_inner: what a peer sends us is, once decrypted, bytes of its
 * choosing (the library checks only the IP version and length and the
 * allowed source); what the TUN gives us may be a super-packet with any
 * virtio-net header. This target feeds both to the agent's packet code
 * (src/agent/offload.c, icmp_error.c, loop_guard.c) and checks what comes
 * out (inner_coalesce.c, inner_split.c, inner_icmp.c, inner_loop.c say
 * what). Input: up to 64 records, each
 *
 *   sel:u8, then by sel % 4 (fuzz_inner.h):
 *
 *   0 coalesce  count:u8, then count (at most 128) packets of
 *                 mode:u8 len:u16le data
 *               a batch of decrypted packets, coalesced for a TUN write.
 *               mode < 0x80: len bytes of data (a pattern where the input
 *               runs short); mode >= 0x80: the TCP segment that follows
 *               packet i-1-((mode >> 4) & 7) of the batch, with its headers,
 *               len payload bytes (a pattern: no data follows), IP length,
 *               IPv4 identification + 1, sequence number and checksums
 *               made to fit, and its TCP flags XORed with mode & 0x0f
 *               (FIN SYN RST PSH); as with mode < 0x80 (data follows) when
 *               that packet is not TCP.
 *   1 split     flags:u8 gso_type:u8 hdr_len:u16le gso_size:u16le
 *               csum_start:u16le csum_offset:u16le opt:u8 len:u16le data
 *               a packet read from the TUN with that virtio-net header, of
 *               len + (opt & 0x1f) bytes (the TUN gives up to 64 KiB + 31),
 *               split; opt & 0x20: first offered a buffer one byte short.
 *   2 icmp      dt:u8 len:u16le data
 *               a packet nobody takes, dt * 50 ms after the previous one:
 *               the ICMP error for it (a rate limiter per input).
 *   3 loop      port:u16le len:u16le data
 *               a packet read from the TUN: one of our own datagrams
 *               (listen port `port`) coming back? (inner_loop.c's device)
 *
 * Multi-byte fields of the virtio-net header are in the machine's order,
 * as the TUN gives them (little endian here).
 */
#include "fuzz_inner.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_init();
	inner_loop_init();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_reader r = { data, size };

	inner_icmp_reset();
	for (unsigned n = 0; n < INNER_MAX_RECORDS && r.left; n++) {
		switch (fuzz_take_u8(&r) % INNER_KINDS) {
		case INNER_COALESCE:
			inner_coalesce(&r);
			break;
		case INNER_SPLIT:
			inner_split(&r);
			break;
		case INNER_ICMP:
			inner_icmp(&r);
			break;
		default:
			inner_loop(&r);
			break;
		}
	}
	return 0;
}
