#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# shellcheck disable=SC2317  # functions are called through scenario()
#
# Persistent keepalive as the peer sees it: altuntun-cli (A) against
# wireguard-go (B; Debian's and the modern build), no traffic at all:
#
#   A  veth 192.168.170.1/24   tunnel 10.170.0.1/24   altuntun-cli
#   B  veth 192.168.170.2/24   tunnel 10.170.0.2/24   wireguard-go -f
#
# `wg set A peer B persistent-keepalive 1` alone must start a session (a
# keepalive is sent at once, which needs a handshake), then one keepalive a
# second reaches B: B's `wg show transfer` rx grows by 32 bytes each, and an
# nft counter in B counts one 32-byte WireGuard datagram (UDP length 40) per
# keepalive and nothing else. `persistent-keepalive 0` stops them.

# shellcheck source=tests/netns/lib.sh
. "$(dirname "$0")/lib.sh"
require_root
require_cmd wg ip nft

FLAVOURS=${FLAVOURS:-debian modern}
ON_S=${ON_S:-4}   # seconds watched with keepalives on
OFF_S=${OFF_S:-3} # ... and off

OUT_A=192.168.170.1 OUT_B=192.168.170.2
IN_A=10.170.0.1 IN_B=10.170.0.2
PORT_A=51820 PORT_B=51821

pair() { # FLAVOUR TAG
	local flavour=$1 tag=$2 ka kb
	NS_A=$(ns_name "a$tag") NS_B=$(ns_name "b$tag")
	IF_A=$(if_name "a$tag") IF_B=$(if_name "b$tag")
	ns_new "$NS_A"
	ns_new "$NS_B"
	veth_pair "$NS_A" "$(if_name "va$tag")" "$NS_B" "$(if_name "vb$tag")"
	addr "$NS_A" "$(if_name "va$tag")" "$OUT_A/24"
	addr "$NS_B" "$(if_name "vb$tag")" "$OUT_B/24"
	start_altuntun "$NS_A" "$IF_A"
	start_wggo "$NS_B" "$IF_B" "$flavour"
	ka=$(genkey) kb=$(genkey)
	PUB_A=$(pubkey "$ka") PUB_B=$(pubkey "$kb")
	wg_in "$NS_A" set "$IF_A" private-key "$(keyfile "$ka")" listen-port "$PORT_A" \
		peer "$PUB_B" allowed-ips "$IN_B/32" endpoint "$OUT_B:$PORT_B" ||
		fail "wg set on A failed"
	wg_in "$NS_B" set "$IF_B" private-key "$(keyfile "$kb")" listen-port "$PORT_B" \
		peer "$PUB_A" allowed-ips "$IN_A/32" || fail "wg set on B ($flavour) failed"
	addr "$NS_A" "$IF_A" "$IN_A/24"
	addr "$NS_B" "$IF_B" "$IN_B/24"
	# Datagrams reaching B's port: keepalives (UDP length 8 + 32), all.
	ip netns exec "$NS_B" nft -f - <<NFT || fail "nft counters in B"
table inet atka {
	chain in {
		type filter hook input priority 0;
		udp dport $PORT_B udp length 40 counter
		udp dport $PORT_B counter
	}
}
NFT
}

# Prints "KEEPALIVES ALL": B's nft packet counters.
wire_counts() {
	ip netns exec "$NS_B" nft list chain inet atka in |
		sed -n 's/.*counter packets \([0-9]*\) .*/\1/p' | paste -sd ' '
}

abs() { echo $(($1 < 0 ? -$1 : $1)); }

# Samples at once: B's rx from A, A's tx to B, wire counters.
sample() {
	local rx tx w
	rx=$(peer_rx "$IF_B" "$PUB_A")
	tx=$(peer_tx "$IF_A" "$PUB_B")
	w=$(wire_counts)
	echo "$rx $tx $w"
}

sc_keepalive() {
	local flavour=$1 tag=$2 rx0 tx0 k0 all0 rx1 tx1 k1 all1 drx dtx dk dall lo hi pk
	pair "$flavour" "$tag"
	check "no handshake before the keepalive is set" test "$(latest_handshake "$IF_B" "$PUB_A")" = 0

	wg_in "$NS_A" set "$IF_A" peer "$PUB_B" persistent-keepalive 1 ||
		fail "wg set persistent-keepalive 1 failed"
	pk=$(peer_field "$IF_A" "$PUB_B" persistent-keepalive)
	check "wg show $IF_A persistent-keepalive: $pk" test "$pk" = 1
	if wait_for 2 handshake_done "$IF_B" "$PUB_A"; then
		pass "setting the keepalive started a session at once (B has a handshake)"
	else
		fail "no handshake within 2 s of setting persistent-keepalive 1"
	fi
	sleep 1.5 # past the handshake and its confirming keepalive

	read -r rx0 tx0 k0 all0 <<<"$(sample)"
	sleep "$ON_S"
	read -r rx1 tx1 k1 all1 <<<"$(sample)"
	drx=$((rx1 - rx0)) dtx=$((tx1 - tx0)) dk=$((k1 - k0)) dall=$((all1 - all0))
	lo=$((ON_S - 1)) hi=$((ON_S + 1))
	log "$ON_S s with persistent-keepalive 1: B rx +$drx bytes, A tx +$dtx bytes," \
		"wire: $dk keepalive datagrams of $dall"
	check "B's rx grew in 32-byte steps: +$drx = $((drx / 32)) x 32" \
		test "$((drx % 32))" = 0 -a "$drx" -gt 0
	check "one keepalive a second: $((drx / 32)) in $ON_S s (want $lo..$hi)" \
		test "$((drx / 32))" -ge "$lo" -a "$((drx / 32))" -le "$hi"
	# The counters are read a few ms apart: one keepalive may fall in
	# between, hence the tolerance of one.
	check "on the wire: $dk datagrams of UDP length 40, as many as B counted (+-1)" \
		test "$(abs $((dk - drx / 32)))" -le 1
	check "on the wire: nothing but keepalives reached B ($dall datagrams)" test "$dall" = "$dk"
	check "A counts 32 bytes sent per keepalive too (+$dtx, +-32)" \
		test "$(abs $((dtx - drx)))" -le 32 -a "$((dtx % 32))" = 0

	wg_in "$NS_A" set "$IF_A" peer "$PUB_B" persistent-keepalive 0 ||
		fail "wg set persistent-keepalive 0 failed"
	pk=$(peer_field "$IF_A" "$PUB_B" persistent-keepalive)
	check "wg show $IF_A persistent-keepalive: $pk" test "$pk" = off
	sleep 1.2 # one in flight may still arrive
	read -r rx0 tx0 k0 all0 <<<"$(sample)"
	sleep "$OFF_S"
	read -r rx1 tx1 k1 all1 <<<"$(sample)"
	drx=$((rx1 - rx0)) dk=$((k1 - k0)) dall=$((all1 - all0))
	log "$OFF_S s with persistent-keepalive off: B rx +$drx bytes, wire: $dall datagrams"
	check "keepalive off: B's rx is unchanged (+$drx)" test "$drx" = 0
	check "keepalive off: nothing on the wire ($dall datagrams)" test "$dall" = 0
}

i=0
for f in $FLAVOURS; do
	i=$((i + 1))
	scenario "persistent keepalive against wireguard-go ($f)" sc_keepalive "$f" "$i"
done
finish
