#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# interop_wireguard_go.sh with AltunTun's offloads off (ALTUNTUN_NO_OFFLOAD=1,
# the same as --no-offload): a TUN without a virtio-net header, one UDP
# datagram per system call, no coalescing; against AltunTun (also without
# offloads), Debian's wireguard-go and the modern wireguard-go (which still
# sends its own GSO batches). The interop script checks that the daemon
# logged "offloads off".
export ALTUNTUN_NO_OFFLOAD=1
exec bash "$(dirname "$0")/interop_wireguard_go.sh" "$@"
