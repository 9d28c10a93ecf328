// SPDX-License-Identifier: BSD-3-Clause
/*
 * fuzz_receive: a sequence of datagrams (and a few inner packets to send)
 * at fake times into a device with one or two peers; the input format is in
 * rx_world.h. Seeds from make-corpus hold whole valid exchanges (handshakes,
 * cookie replies, data), which the fuzzer then bends.
 */
#include "rx_world.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_init();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size)
		rxw_play(data, size, NULL);
	return 0;
}
