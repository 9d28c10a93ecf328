#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# shellcheck disable=SC2317  # functions are called through scenario()
#
# Routing loops must not amplify. Two namespaces joined by a veth pair:
#
#   A  veth 10.210.0.1/24 (fd00:210::1/64)   B  veth 10.210.0.2/24 (fd00:210::2/64)
#
# (a) one tunnel, A 10.211.0.1 <-> B 10.211.0.2, A's peer allowing
#     everything (0.0.0.0/0, ::/0); once the session is up, A routes B's
#     endpoint address into its own tunnel: every datagram A sends comes
#     back out of A's TUN, to be encrypted again. Over an IPv4 and an IPv6
#     endpoint.
# (b) two stacked tunnels: an outer one (A1 10.211.0.1 <-> B1 10.211.0.2,
#     over the veth) and an inner one (A2 10.212.0.1 <-> B2 10.212.0.2,
#     whose endpoint is B1's tunnel address); then A routes the outer
#     tunnel's endpoint into the inner tunnel: A1's datagrams go into A2,
#     A2's into A1, each pass 60-odd bytes larger.
#
# Ten pings into the loop, then the bytes through A's interfaces (tunnel
# interfaces and veth, both directions) are counted for three seconds more.
# AltunTun must keep running, carry traffic again once the loop route is
# gone, leave nothing circulating after the pings, and move at most:
# (a) 70 KB in all (the Linux driver's figure): our own datagram coming
#     back out of the TUN is dropped at once (src/agent/loop_guard.c);
# (b) what ten packets can grow to when no datagram is ever fragmented
#     (udp_linux.c): each pass through a tunnel adds at least 60 bytes to a
#     84-byte ping, and the pass that would exceed the other tunnel's MTU
#     (1420) is refused, so at most 23 passes of 84, 144, ... 1404 bytes
#     (17,112) a ping. Fragmenting instead doubles the packets every 22
#     passes, for ever. The same
# topology with Debian's wireguard-go on side A is measured for
# docs/security.md (LOOP_REFERENCE=1; its numbers are printed, never
# asserted: it loops at hundreds of megabytes a second).

# shellcheck source=tests/netns/lib.sh
. "$(dirname "$0")/lib.sh"
require_root
require_cmd wg ip ping

OUT_A=10.210.0.1 OUT_B=10.210.0.2 OUT6_A=fd00:210::1 OUT6_B=fd00:210::2
IN1_A=10.211.0.1 IN1_B=10.211.0.2 IN2_A=10.212.0.1 IN2_B=10.212.0.2
PORT_A1=51830 PORT_B1=51831 PORT_A2=51832 PORT_B2=51833
LIMIT_SELF=$((70 * 1024))
# 10 pings of at most sum(84 + 60 k, k = 0..22) bytes, and 4 KB for handshakes.
LIMIT_STACKED=$((10 * (23 * 84 + 60 * 22 * 23 / 2) + 4096))
WINDOW=3

# hosts: namespaces A and B with the veth between them.
hosts() {
	NS_A=$(ns_name a)
	NS_B=$(ns_name b)
	VA=$(if_name va)
	VB=$(if_name vb)
	ns_new "$NS_A"
	ns_new "$NS_B"
	veth_pair "$NS_A" "$VA" "$NS_B" "$VB"
	addr "$NS_A" "$VA" "$OUT_A/24"
	addr "$NS_B" "$VB" "$OUT_B/24"
	addr "$NS_A" "$VA" "$OUT6_A/64"
	addr "$NS_B" "$VB" "$OUT6_B/64"
}

# tunnel KIND_A IF_A IF_B PORT_A PORT_B ENDPOINT_OF_B IN_A IN_B ALLOWED_A:
# interface IF_A (KIND_A) in A and IF_B (altuntun) in B, configured; pings
# through it once so the session is up. Sets PUB_B_OF[IF_A].
declare -A PUB_B_OF=()
tunnel() {
	local kind=$1 ifa=$2 ifb=$3 pa=$4 pb=$5 ep_b=$6 ina=$7 inb=$8 allowed=$9 ka kb out
	start_impl "$kind" "$NS_A" "$ifa"
	start_altuntun "$NS_B" "$ifb"
	ka=$(genkey)
	kb=$(genkey)
	PUB_B_OF[$ifa]=$(pubkey "$kb")
	wg_in "$NS_A" set "$ifa" private-key "$(keyfile "$ka")" listen-port "$pa" \
		peer "${PUB_B_OF[$ifa]}" endpoint "$ep_b:$pb" allowed-ips "$allowed" ||
		fail "wg set on $ifa failed"
	wg_in "$NS_B" set "$ifb" private-key "$(keyfile "$kb")" listen-port "$pb" \
		peer "$(pubkey "$ka")" allowed-ips "$ina/32" || fail "wg set on $ifb failed"
	addr "$NS_A" "$ifa" "$ina/24"
	addr "$NS_B" "$ifb" "$inb/24"
	out=$(ping_stats "$NS_A" "$inb" 1) || fail "no traffic through $ifa -> $ifb before the loop: $out"
}

# Bytes through the interfaces of A (both directions, all of them).
bytes_a() {
	local sum=0 ifc v
	for ifc in "$@"; do
		for v in rx_bytes tx_bytes; do
			sum=$((sum + $(ip netns exec "$NS_A" cat "/sys/class/net/$ifc/statistics/$v")))
		done
	done
	echo "$sum"
}

# loop_run KIND LABEL PING_DST ROUTE_ADD_ARGS -- IFACES...: ten pings into the
# loop the route makes, then WINDOW seconds; checks (altuntun) or reports
# (reference) the bytes moved, then removes the route.
loop_run() {
	local kind=$1 label=$2 limit=$3 dst=$4 route=$5
	shift 5
	local before after during total pids p
	# shellcheck disable=SC2086  # the route arguments are words
	ip -n "$NS_A" route add $route || fail "ip route add $route failed"
	before=$(bytes_a "$@")
	ip netns exec "$NS_A" ping -n -q -c 10 -i 0.2 -W 1 "$dst" >/dev/null 2>&1 || true
	during=$(($(bytes_a "$@") - before))
	sleep "$WINDOW"
	after=$(bytes_a "$@")
	total=$((after - before))
	log "$label ($kind): $total bytes through A's interfaces from the first ping to" \
		"${WINDOW} s after the last ($during during the pings, $((after - before - during)) after)"
	if [[ $kind == altuntun ]]; then
		check "$label: $total bytes moved, under $limit" test "$total" -lt "$limit"
		# Nothing left circulating once the pings stop.
		check "$label: nothing moves after the pings ($((total - during)) bytes in ${WINDOW} s)" \
			test $((total - during)) -lt 4096
		mapfile -t pids < <(pids_named "$NS_A" altuntun-cli)
		((${#pids[@]} > 0)) || soft_fail "$label: no altuntun-cli left in A"
		for p in "${pids[@]}"; do
			at_alive "$p" || soft_fail "$label: altuntun-cli $p is gone"
		done
		for p in "${AT_LOGS[@]}"; do
			if grep -qiE 'AddressSanitizer|segfault|restart' "$p"; then
				soft_fail "$label: $(basename "$p") reports a crash or restart"
			fi
		done
	else
		log "$label ($kind, reference, not asserted): $total bytes in about $((WINDOW + 2)) s"
	fi
	# shellcheck disable=SC2086
	ip -n "$NS_A" route del $route || fail "ip route del $route failed"
}

alive_in_a() {
	local p ok=1
	for p in $(pids_named "$NS_A" altuntun-cli); do at_alive "$p" || ok=0; done
	((ok))
}

recovered() {
	local label=$1 dst=$2 out i
	# A loop in a reference implementation may take a moment to drain.
	for ((i = 0; i < 10; i++)); do
		if out=$(ping_stats "$NS_A" "$dst" 3); then
			pass "$label: the tunnel works again without the loop: $out"
			return 0
		fi
	done
	soft_fail "$label: no traffic after the loop route was removed: $out"
}

# (a) the peer's endpoint routed into the tunnel itself: an IPv4 endpoint,
# then (FAMILIES "4 6") the same peer moved to an IPv6 endpoint.
sc_self() {
	local kind=$1 families=$2 ifa fam ep route out
	hosts
	ifa=$(if_name a1)
	tunnel "$kind" "$ifa" "$(if_name b1)" "$PORT_A1" "$PORT_B1" "$OUT_B" "$IN1_A" "$IN1_B" \
		"0.0.0.0/0,::/0"
	for fam in $families; do
		if [[ $fam == 6 ]]; then
			ep="[$OUT6_B]" route="$OUT6_B/128 dev $ifa"
			wg_in "$NS_A" set "$ifa" peer "${PUB_B_OF[$ifa]}" endpoint "$ep:$PORT_B1" ||
				fail "wg set endpoint $ep failed"
			out=$(ping_stats "$NS_A" "$IN1_B" 1) ||
				fail "no traffic over the IPv6 endpoint before the loop: $out"
		else
			route="$OUT_B/32 dev $ifa"
		fi
		loop_run "$kind" "IPv$fam endpoint routed into its own tunnel" "$LIMIT_SELF" \
			"$IN1_B" "$route" "$ifa" "$VA"
		[[ $kind == altuntun ]] && check "altuntun-cli still runs" alive_in_a
		recovered "IPv$fam self loop ($kind)" "$IN1_B"
	done
}

# (b) two stacked tunnels routed into each other.
sc_stacked() {
	local kind=$1 a1 a2
	hosts
	a1=$(if_name a1)
	a2=$(if_name a2)
	tunnel "$kind" "$a1" "$(if_name b1)" "$PORT_A1" "$PORT_B1" "$OUT_B" "$IN1_A" "$IN1_B" \
		"10.211.0.0/24"
	tunnel "$kind" "$a2" "$(if_name b2)" "$PORT_A2" "$PORT_B2" "$IN1_B" "$IN2_A" "$IN2_B" \
		"10.212.0.0/24,$OUT_B/32"
	loop_run "$kind" "stacked tunnels routed into each other" "$LIMIT_STACKED" "$IN2_B" "$OUT_B/32 dev $a2" \
		"$a1" "$a2" "$VA"
	[[ $kind == altuntun ]] && check "both altuntun-cli still run" alive_in_a
	recovered "stacked loop ($kind)" "$IN2_B"
}

scenario "(a) IPv4, then IPv6 endpoint routed into its own tunnel" sc_self altuntun "4 6"
scenario "(b) two stacked tunnels routed into each other" sc_stacked altuntun
if [[ -n ${LOOP_REFERENCE:-} ]]; then
	scenario "reference: Debian's wireguard-go, own tunnel" sc_self debian 4
	scenario "reference: Debian's wireguard-go, stacked" sc_stacked debian
fi
finish
