#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# shellcheck disable=SC2317  # functions are called through scenario()
#
# Traffic as the Linux driver's selftest (tools/testing/selftests/wireguard/
# netns.sh) runs it, in its topology (parity_common.bash): our agent with
# --netns (UDP on N0's loopback, interface in N1) against wireguard-go
# (socket in N0, TUN moved to N2).
#
# 1. Counters: on a fresh pair, after ten flood pings, the side that pinged
#    first (and so initiated) reads `wg show transfer` 1372 received and
#    1428 or 1460 sent (148-byte initiation + 10 x 128, 92-byte response +
#    10 x 128, maybe one 32-byte keepalive), the other side the mirror:
#    once with our agent pinging first, once with wireguard-go.
# 2. The selftest's tests() against the modern wireguard-go, over IPv4 and
#    then IPv6 outer transport, each at the default MTU and at 34,736: ping
#    floods both ways (IPv4 and IPv6 inside), iperf3 TCP both ways, UDP at
#    unlimited rate (-b 0) both ways, 4, 5 and 50 parallel TCP streams
#    (three iperf3 clients at once with -P 4, -P 5 and -P 50).
#    A subset against Debian's wireguard-go: over IPv4 outer the four
#    floods, TCP one way, UDP the other; over IPv6 outer two floods.
# 3. `ping -I IF`, packets marked by nft (`meta mark set` on every output
#    packet in N1, so the route is looked up again, plain and with -I; our
#    UDP marked in N0), and wg-quick's policy routing in N1 (fwmark 51820, `not
#    fwmark` rule, `suppress_prefixlength 0`, default route in table 51820)
#    under ping floods, IPv4 and IPv6.
#
# Floods are FLOOD_N pings (ping -f -c, each waited for 1 s at most; at
# most FLOOD_MAX_LOST=1 unanswered, none for the counters);
# iperf3 runs IPERF_T (1) seconds each.

# shellcheck source=tests/netns/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/netns/parity_common.bash
. "$(dirname "$0")/parity_common.bash"
require_root
require_cmd wg ip ping iperf3 python3 ss nft timeout

FLOOD_N=${FLOOD_N:-10}
BIG_MTU=34736 # 34816 - 1500 + 1420, as the selftest computes it

# ---- 1. counters ----------------------------------------------------------------

transfer_of() { wg show "$1" transfer | awk -v p="$2" '$1 == p { print $2, $3 }'; }

# counters_ok RX TX ROLE: ROLE initiator (rx 1372, tx 1428|1460) or responder.
counters_ok() {
	local rx=$1 tx=$2
	if [[ $3 == initiator ]]; then
		((rx == 1372 && (tx == 1428 || tx == 1460)))
	else
		((tx == 1372 && (rx == 1428 || rx == 1460)))
	fi
}

sc_counters() {
	local first=$1 kind=$2 rx tx prx ptx role
	bp_pair "$kind" "c$first"
	bp_endpoints 4
	if [[ $first == ours ]]; then
		# (exact byte counts: every ping must be answered)
		FLOOD_MAX_LOST=0 flood_check "counters: 10 flood pings from our side" "$N1" "$IP2" 10
		role=initiator
	else
		FLOOD_MAX_LOST=0 flood_check "counters: 10 flood pings from $kind's side" "$N2" "$IP1" 10
		role=responder
	fi
	read -r rx tx <<<"$(transfer_of "$IF1" "$PUB2")"
	read -r prx ptx <<<"$(transfer_of "$IF2" "$PUB1")"
	log "MEASURE counters ($first pinged first): ours rx $rx tx $tx; $kind rx $prx tx $ptx"
	check "counters: ours ($role) reads rx $rx tx $tx, as Linux" counters_ok "$rx" "$tx" "$role"
	check "counters: handshake recorded" handshake_done "$IF1" "$PUB2"
}

# ---- 2. the selftest's tests() --------------------------------------------------

# tests LABEL: the selftest's tests() function, extended with -P 5 and -P 50.
tests() {
	local l=$1 n
	flood_check "$l: flood N2 -> N1, IPv4" "$N2" "$IP1" "$FLOOD_N"
	flood_check "$l: flood N1 -> N2, IPv4" "$N1" "$IP2" "$FLOOD_N"
	flood_check "$l: flood N2 -> N1, IPv6" "$N2" "$IP1_6" "$FLOOD_N"
	flood_check "$l: flood N1 -> N2, IPv6" "$N1" "$IP2_6" "$FLOOD_N"
	iperf_check "$l: TCP N1 -> N2, IPv4" "$N2" "$IP2" "$N1"
	if [[ ${SUBSET:-0} == 1 ]]; then
		iperf_check "$l: UDP -b 0 N1 -> N2, IPv6" "$N2" "$IP2_6" "$N1" -u -b 0
		return 0
	fi
	iperf_check "$l: TCP N2 -> N1, IPv6" "$N1" "$IP1_6" "$N2"
	iperf_check "$l: UDP -b 0 N2 -> N1, IPv4" "$N1" "$IP1" "$N2" -u -b 0
	iperf_check "$l: UDP -b 0 N1 -> N2, IPv6" "$N2" "$IP2_6" "$N1" -u -b 0
	IPERF_CONCURRENT="4 5 50" iperf_check "$l: TCP 4, 5 and 50 streams at once N1 -> N2, IPv4" \
		"$N2" "$IP2" "$N1"
}

set_mtus() {
	ip -n "$N1" link set "$IF1" mtu "$1" || fail "MTU $1 on $IF1 refused"
	ip -n "$N2" link set "$IF2" mtu "$1" || fail "MTU $1 on $IF2 refused"
}

sc_tests() {
	local kind=$1 orig
	bp_pair "$kind" "t${kind:0:1}"
	orig=$(ip -n "$N1" -o link show "$IF1" | sed -n 's/.* mtu \([0-9]*\) .*/\1/p')
	bp_endpoints 4
	flood_check "$kind, IPv4 outer: first flood (handshake)" "$N1" "$IP2" 10
	tests "$kind, IPv4 outer, MTU $orig"
	if [[ ${SUBSET:-0} != 1 ]]; then
		set_mtus "$BIG_MTU"
		tests "$kind, IPv4 outer, MTU $BIG_MTU"
		set_mtus "$orig"
	fi
	bp_endpoints 6
	if [[ ${SUBSET:-0} == 1 ]]; then
		flood_check "$kind, IPv6 outer: flood N1 -> N2, IPv4" "$N1" "$IP2" "$FLOOD_N"
		flood_check "$kind, IPv6 outer: flood N2 -> N1, IPv6" "$N2" "$IP1_6" "$FLOOD_N"
		return 0
	fi
	tests "$kind, IPv6 outer, MTU $orig"
	if [[ ${SUBSET:-0} != 1 ]]; then
		set_mtus "$BIG_MTU"
		tests "$kind, IPv6 outer, MTU $BIG_MTU"
		set_mtus "$orig"
	fi
	check "$kind: our agent still runs" at_alive "$PID1"
	[[ ${SUBSET:-0} == 1 ]] || marks_policy
}

# ---- 3. ping -I, nft marks, wg-quick's policy routing ------------------------------

# marks_policy: on the pair sc_tests made (IPv4 outer again).
marks_policy() {
	bp_endpoints 4
	flood_check "ping -I $IF1 -f, IPv4" "$N1" "$IP2" "$FLOOD_N" -I "$IF1"
	flood_check "ping -I $IF1 -f, IPv6" "$N1" "$IP2_6" "$FLOOD_N" -I "$IF1"

	ip netns exec "$N1" nft -f - <<NFT || fail "nft in N1 failed"
add table inet pmark
add chain inet pmark out { type route hook output priority mangle; }
add rule inet pmark out meta mark set 0x1 counter
NFT
	ip netns exec "$N0" nft -f - <<NFT || fail "nft in N0 failed"
add table inet pmark
add chain inet pmark out { type route hook output priority mangle; }
add rule inet pmark out udp dport { $PORT1, $PORT2 } meta mark set 0xca6c counter
NFT
	flood_check "inner packets marked 0x1 by nft (N1), outer 0xca6c (N0): flood IPv4" "$N1" "$IP2" "$FLOOD_N"
	flood_check "... flood IPv6" "$N1" "$IP2_6" "$FLOOD_N"
	flood_check "... ping -I $IF1 -f (rerouted by the mark, bound to the device)" "$N1" "$IP2" "$FLOOD_N" -I "$IF1"
	flood_check "... flood back, IPv4" "$N2" "$IP1" "$FLOOD_N"
	check "nft in N1 marked packets" bash -c \
		"ip netns exec '$N1' nft list chain inet pmark out | grep -q 'counter packets [1-9]'"
	check "nft in N0 marked our UDP" bash -c \
		"ip netns exec '$N0' nft list chain inet pmark out | grep -q 'counter packets [1-9]'"
	ip netns exec "$N1" nft delete table inet pmark
	ip netns exec "$N0" nft delete table inet pmark

	# wg-quick's full tunnel, as the selftest builds it by hand.
	wg set "$IF1" fwmark 51820 peer "$PUB2" allowed-ips 0.0.0.0/0,::/0 || fail "wg set fwmark"
	check "wg show fwmark: 0xca6c" test "$(wg show "$IF1" fwmark)" = 0xca6c
	addr "$N2" "$IF2" 192.168.99.7/32
	addr "$N2" "$IF2" abab::1111/128
	local f
	for f in 4 6; do
		ip -n "$N1" "-$f" rule add not fwmark 51820 table 51820 || fail "ip -$f rule"
		ip -n "$N1" "-$f" rule add table main suppress_prefixlength 0 || fail "ip -$f rule"
		ip -n "$N1" "-$f" route add default dev "$IF1" table 51820 || fail "ip -$f route"
	done
	flood_check "policy routing (fwmark 51820): flood 192.168.99.7" "$N1" 192.168.99.7 100
	flood_check "policy routing (fwmark 51820): flood abab::1111" "$N1" abab::1111 100
	flood_check "policy routing: flood back N2 -> N1" "$N2" "$IP1" "$FLOOD_N"
	check "our agent still runs" at_alive "$PID1"
}

# Two fresh pairs, one after the other, in one scenario.
sc_counters_both() {
	sc_counters ours modern
	sc_counters peer modern
}

scenario "counters on fresh pairs, each side pinging first (vs wireguard-go modern)" sc_counters_both
scenario "tests() vs wireguard-go modern, IPv4/IPv6 outer, MTU 1420/$BIG_MTU; ping -I, nft marks, policy routing" \
	sc_tests modern
SUBSET=1 scenario "tests() subset vs Debian's wireguard-go" sc_tests debian
finish
