#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# shellcheck disable=SC2317  # functions are called through scenario()
#
# altuntun-cli's data path end to end: two namespaces joined by a veth pair,
#
#   A  veth 10.200.0.1/24   tunnel 10.201.0.1/24   altuntun-cli
#   B  veth 10.200.0.2/24   tunnel 10.201.0.2/24   wireguard-go -f, or altuntun-cli
#
# configured with wg set; ping through the tunnel both ways. Against
# altuntun-cli also: a new listen port and an fwmark while running, and a
# source address that goes away (the daemon must clear it and resend).

# shellcheck source=tests/netns/lib.sh
. "$(dirname "$0")/lib.sh"
require_root
require_cmd wg ip ping

OUT_A=10.200.0.1 OUT_B=10.200.0.2 OUT_A2=10.200.0.3
IN_A=10.201.0.1 IN_B=10.201.0.2
PORT_A=51820 PORT_B=51821

# pair KIND_B: sets NS_A NS_B IF_A IF_B PUB_A PUB_B, tunnel configured.
pair() {
	local kind=$1 ka kb
	NS_A=$(ns_name a)
	NS_B=$(ns_name b)
	IF_A=$(if_name a)
	IF_B=$(if_name b)
	ns_new "$NS_A"
	ns_new "$NS_B"
	veth_pair "$NS_A" "$(if_name va)" "$NS_B" "$(if_name vb)"
	addr "$NS_A" "$(if_name va)" "$OUT_A/24"
	addr "$NS_B" "$(if_name vb)" "$OUT_B/24"
	start_altuntun "$NS_A" "$IF_A" -v
	LOG_A=$AT_TMP/altuntun-$IF_A.log
	start_impl "$kind" "$NS_B" "$IF_B"
	ka=$(genkey)
	kb=$(genkey)
	PUB_A=$(pubkey "$ka")
	PUB_B=$(pubkey "$kb")
	wg_in "$NS_A" set "$IF_A" private-key "$(keyfile "$ka")" listen-port "$PORT_A" \
		peer "$PUB_B" endpoint "$OUT_B:$PORT_B" allowed-ips "$IN_B/32" ||
		fail "wg set on A failed"
	wg_in "$NS_B" set "$IF_B" private-key "$(keyfile "$kb")" listen-port "$PORT_B" \
		peer "$PUB_A" endpoint "$OUT_A:$PORT_A" allowed-ips "$IN_A/32" ||
		fail "wg set on B failed"
	addr "$NS_A" "$IF_A" "$IN_A/24"
	addr "$NS_B" "$IF_B" "$IN_B/24"
}

ping_check() {
	local what=$1 ns=$2 dst=$3 out
	if out=$(ping_stats "$ns" "$dst" 5); then
		pass "$what: $out"
	else
		soft_fail "$what: $out"
	fi
}

transfer_nonzero() {
	local name=$1 peer=$2
	wg show "$name" transfer | awk -v p="$peer" '$1 == p && $2 > 0 && $3 > 0 { f = 1 } END { exit !f }'
}

sc_against() {
	local kind=$1
	pair "$kind"
	ping_check "ping A -> B (altuntun -> $kind)" "$NS_A" "$IN_B"
	ping_check "ping B -> A ($kind -> altuntun)" "$NS_B" "$IN_A"
	check "A reports a handshake" handshake_done "$IF_A" "$PUB_B"
	check "B reports a handshake" handshake_done "$IF_B" "$PUB_A"
	check "A counts bytes both ways" transfer_nonzero "$IF_A" "$PUB_B"
	check "B counts bytes both ways" transfer_nonzero "$IF_B" "$PUB_A"
}

sc_socket_changes() {
	pair altuntun
	ping_check "ping A -> B" "$NS_A" "$IN_B"
	wg_in "$NS_A" set "$IF_A" listen-port 51900 || fail "wg set listen-port 51900 failed"
	check "A now listens on 51900" test "$(wg show "$IF_A" listen-port)" = 51900
	ping_check "ping A -> B after the port change" "$NS_A" "$IN_B"
	check "B learnt A's new port" bash -c "wg show '$IF_B' endpoints | grep -qF '$OUT_A:51900'"
	ping_check "ping B -> A after the port change" "$NS_B" "$IN_A"
	wg_in "$NS_A" set "$IF_A" fwmark 0x42 || fail "wg set fwmark failed"
	check "wg reports fwmark 0x42" test "$(wg show "$IF_A" fwmark)" = 0x42
	ping_check "ping A -> B with an fwmark" "$NS_A" "$IN_B"
}

# A's address moves from .1 to .3: the source A learnt (.1, from B's packets)
# is refused by the kernel; the daemon must clear it and send from .3.
sc_source_gone() {
	local va
	pair altuntun
	va=$(if_name va)
	ping_check "ping B -> A (A learns its local address)" "$NS_B" "$IN_A"
	# Without promote_secondaries, deleting .1 would delete .3 too.
	ip netns exec "$NS_A" sysctl -qw "net.ipv4.conf.$va.promote_secondaries=1"
	ip -n "$NS_A" addr add "$OUT_A2/24" dev "$va"
	ip -n "$NS_A" addr del "$OUT_A/24" dev "$va"
	ip -n "$NS_A" -4 addr show dev "$va" | grep -qF "$OUT_A2/24" ||
		fail "A lost $OUT_A2 when $OUT_A was deleted"
	ping_check "ping A -> B after A's address changed" "$NS_A" "$IN_B"
	check "the cleared source is logged" file_has_text "$LOG_A" "no longer usable, cleared"
	check "B learnt A's new address" bash -c "wg show '$IF_B' endpoints | grep -qF '$OUT_A2:$PORT_A'"
}

file_has_text() { grep -qF -- "$2" "$1"; }

scenario "altuntun <-> wireguard-go (Debian)" sc_against debian
scenario "altuntun <-> altuntun" sc_against altuntun
scenario "listen port and fwmark changes while running" sc_socket_changes
scenario "a source address that goes away" sc_source_gone
finish
