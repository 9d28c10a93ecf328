#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# The systemd unit template installs cleanly and `systemd-analyze verify`
# accepts an instance of it (binaries installed into a temporary prefix).
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

make -s -C "$root" install PREFIX="$tmp/prefix" >/dev/null
mkdir -p "$tmp/units"
sed "s|/usr/local/bin/altuntun-cli|$tmp/prefix/bin/altuntun-cli|" \
	"$root/configs/systemd/altuntun@.service" >"$tmp/units/altuntun@wg7.service"
if ! out=$(systemd-analyze verify --man=no "$tmp/units/altuntun@wg7.service" 2>&1); then
	echo "FAIL: systemd-analyze verify:"
	echo "$out"
	exit 1
fi
if [[ -n $out ]]; then
	echo "FAIL: systemd-analyze verify printed warnings:"
	echo "$out"
	exit 1
fi
for f in bin/altuntun-cli bin/altuntun-cni lib/libaltuntun.a lib/libaltuntun.so \
	include/altuntun.h share/man/man8/altuntun-cli.8 share/man/man8/altuntun-cni.8; do
	[[ -e $tmp/prefix/$f ]] || { echo "FAIL: make install did not install $f"; exit 1; }
done
echo "PASS: systemd unit verifies; make install installs every file"
