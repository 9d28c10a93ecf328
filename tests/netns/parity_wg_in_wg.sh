#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# shellcheck disable=SC2317  # functions are called through scenario()
#
# WireGuard through WireGuard and routing through peers, as the Linux
# driver's selftest (netns.sh) checks them, with our agent always started
# with --netns and wireguard-go (modern build; PEER_KIND=debian for Debian's)
# on the other ends. Outer
# tunnel as in parity_common.bash (X = our IF1 in N1, W = wireguard-go IF2
# in N2, both sockets on N0's loopback).
#
# 1. An inner tunnel Y-Z through it: Y = our agent started in N1 (its UDP
#    there, on the outer tunnel) with --netns N3; Z = wireguard-go started
#    in N2, TUN moved to N4; endpoints [fd00::1]:5 and [fd00::2]:5 (inside
#    the outer tunnel), MTU 1340, 192.168.242.0/24 and fd00:242::/64 inside.
#    Ping floods both ways, v4 and v6, TCP and UDP (-b 0) iperf3.
#    Y's interface moved to N5 (`ip link set IF netns N5`): still carries
#    floods. Then, as the selftest does, Y's interface is moved into N0
#    (where X's socket lives) and X's endpoint for W is pointed at Z's inner
#    address: X's UDP now enters Y, whose UDP enters X, a routing loop. Ten
#    flood pings are sent into it; Y must send under 70,000 bytes in the
#    flood and 1 s after (the selftest's bound); both agents must survive
#    and, X's endpoint restored, both tunnels carry floods again.
# 2. Onion routing A -> B -> C: A = our IF1, B = W with forwarding on and
#    a second peer C (wireguard-go, socket in N0, TUN in N3); A pings C's
#    tunnel address through B. Then a loop of it: 192.168.250.0/24 is routed
#    by A to B and by B back to A, both forwarding; pings from N5 (behind
#    A, over a veth) circle until their TTL runs out. No crash, and both
#    A -> B and A -> B -> C work after.

# shellcheck source=tests/netns/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/netns/parity_common.bash
. "$(dirname "$0")/parity_common.bash"
require_root
require_cmd wg ip ping iperf3 python3 ss timeout

FLOOD_N=${FLOOD_N:-10}
PEER_KIND=${PEER_KIND:-modern}
IN1=192.168.242.1 IN2=192.168.242.2 IN1_6=fd00:242::1 IN2_6=fd00:242::2
INNER_PORT=5

tx_of() { wg show "$1" transfer | awk -v p="$2" '$1 == p { print $3 }'; }

sc_wg_in_wg() {
	local n3 n4 n5 if3 if4 k3 k4 p3 p4 before after
	bp_pair "$PEER_KIND" w
	bp_endpoints 4
	flood_check "outer tunnel: flood N1 -> N2" "$N1" "$IP2" 10
	n3=$(ns_name 3w) n4=$(ns_name 4w) n5=$(ns_name 5w)
	if3=$(if_name 3w) if4=$(if_name 4w)
	ns_new "$n3"
	ns_new "$n4"
	ns_new "$n5"
	bp_start_peer "$P1_KIND" "$N1" "$n3" "$if3"
	local pid3=$AT_LAST_PID
	bp_start_peer "$PEER_KIND" "$N2" "$n4" "$if4"
	local pid4=$AT_LAST_PID
	k3=$(genkey) k4=$(genkey) p3=$(pubkey "$k3") p4=$(pubkey "$k4")
	wg set "$if3" private-key "$(keyfile "$k3")" listen-port "$INNER_PORT" \
		peer "$p4" allowed-ips "$IN2/32,$IN2_6/128" endpoint "[$IP2_6]:$INNER_PORT" ||
		fail "wg set $if3"
	wg set "$if4" private-key "$(keyfile "$k4")" listen-port "$INNER_PORT" \
		peer "$p3" allowed-ips "$IN1/32,$IN1_6/128" endpoint "[$IP1_6]:$INNER_PORT" ||
		fail "wg set $if4"
	ip -n "$n3" link set "$if3" mtu 1340
	ip -n "$n4" link set "$if4" mtu 1340
	addr "$n3" "$if3" "$IN1/24"
	addr "$n3" "$if3" "$IN1_6/64"
	addr "$n4" "$if4" "$IN2/24"
	addr "$n4" "$if4" "$IN2_6/64"

	flood_check "inner: flood N3 -> N4, IPv4" "$n3" "$IN2" "$FLOOD_N"
	flood_check "inner: flood N4 -> N3, IPv4" "$n4" "$IN1" "$FLOOD_N"
	flood_check "inner: flood N3 -> N4, IPv6" "$n3" "$IN2_6" "$FLOOD_N"
	flood_check "inner: flood N4 -> N3, IPv6" "$n4" "$IN1_6" "$FLOOD_N"
	iperf_check "inner: TCP N3 -> N4, IPv4" "$n4" "$IN2" "$n3"
	iperf_check "inner: UDP -b 0 N4 -> N3, IPv6" "$n3" "$IN1_6" "$n4" -u -b 0
	check "inner: Y's handshake with Z" handshake_done "$if3" "$p4"

	ip -n "$n3" link set "$if3" netns "$n5" || fail "cannot move $if3 to N5"
	addr "$n5" "$if3" "$IN1/24"
	addr "$n5" "$if3" "$IN1_6/64"
	flood_check "inner interface moved to N5: flood N5 -> N4, IPv4" "$n5" "$IN2" "$FLOOD_N"
	flood_check "inner interface moved to N5: flood N5 -> N4, IPv6" "$n5" "$IN2_6" "$FLOOD_N"
	flood_check "inner interface moved to N5: flood N4 -> N5, IPv4" "$n4" "$IN1" "$FLOOD_N"

	# The selftest's cross-namespace routing loop.
	ip -n "$n5" link set "$if3" netns "$N0" || fail "cannot move $if3 to N0"
	addr "$N0" "$if3" "$IN1/24"
	flood_check "inner interface moved to N0: flood N0 -> N4" "$N0" "$IN2" "$FLOOD_N"
	wg set "$IF1" peer "$PUB2" endpoint "$IN2:7" || fail "X's endpoint into Y"
	before=$(tx_of "$if3" "$p4")
	ip netns exec "$N0" timeout 10 ping -n -q -f -c 10 -W 1 "$IN2" >/dev/null 2>&1 || true
	sleep 1
	after=$(tx_of "$if3" "$p4")
	log "MEASURE routing loop: Y sent $((after - before)) bytes in the flood and 1 s after (selftest: < 70000)"
	# Each ping circles, growing by both tunnels' overhead, until X's
	# datagram no longer fits Y's MTU and is dropped (not fragmented into
	# the tunnel): bounded as in Linux.
	check "routing loop: Y sent $((after - before)) bytes (selftest: < 70000)" \
		test "$((after - before))" -lt 70000
	check "routing loop: our outer agent survived" at_alive "$PID1"
	check "routing loop: our inner agent survived" at_alive "$pid3"
	check "routing loop: wireguard-go (W) survived" at_alive "$PID2"
	check "routing loop: wireguard-go (Z) survived" at_alive "$pid4"
	wg set "$IF1" peer "$PUB2" endpoint "127.0.0.1:$PORT2" || fail "X's endpoint restored"
	# What still sits in the queues drains first (seconds at most).
	check "after the loop: a ping N1 -> N2 answered within 10 s" \
		wait_for 10 ip netns exec "$N1" ping -n -c 1 -W 1 "$IP2"
	flood_check "after the loop: outer flood N1 -> N2" "$N1" "$IP2" "$FLOOD_N"
	flood_check "after the loop: outer flood N2 -> N1, IPv6" "$N2" "$IP1_6" "$FLOOD_N"
	flood_check "after the loop: inner flood N0 -> N4" "$N0" "$IN2" "$FLOOD_N"
	flood_check "after the loop: inner flood N4 -> N0" "$n4" "$IN1" "$FLOOD_N"
}

sc_onion() {
	local n3 if3 k3 p3 n5 out rx0 rx1
	bp_pair "$PEER_KIND" n
	bp_endpoints 4
	n3=$(ns_name 3n) if3=$(if_name 3n)
	ns_new "$n3"
	bp_start_peer "$PEER_KIND" "$N0" "$n3" "$if3"
	local pid3=$AT_LAST_PID
	k3=$(genkey) p3=$(pubkey "$k3")
	wg set "$if3" private-key "$(keyfile "$k3")" listen-port 30000 \
		peer "$PUB2" allowed-ips 192.168.241.0/24 endpoint "127.0.0.1:$PORT2" || fail "wg set C"
	wg set "$IF2" peer "$p3" allowed-ips 192.168.243.0/24 endpoint 127.0.0.1:30000 || fail "wg set B"
	wg set "$IF1" peer "$PUB2" allowed-ips "$IP2/32,$IP2_6/128,192.168.243.0/24" || fail "wg set A"
	addr "$n3" "$if3" 192.168.243.3/24
	ip -n "$n3" route add 192.168.241.0/24 dev "$if3"
	ip -n "$N1" route add 192.168.243.0/24 dev "$IF1"
	ip -n "$N2" route add 192.168.243.0/24 dev "$IF2"
	ip netns exec "$N2" sysctl -qw net.ipv4.ip_forward=1
	flood_check "onion A -> B -> C: flood N1 -> 192.168.243.3" "$N1" 192.168.243.3 "$FLOOD_N"
	flood_check "onion C -> B -> A: flood N3 -> $IP1" "$n3" "$IP1" "$FLOOD_N"

	# A loop of it: 192.168.250.0/24 goes A -> B -> A -> B ... until TTL.
	n5=$(ns_name 5n)
	ns_new "$n5"
	veth_pair "$N1" "$(if_name v1n)" "$n5" "$(if_name v5n)"
	addr "$N1" "$(if_name v1n)" 10.9.0.1/24
	addr "$n5" "$(if_name v5n)" 10.9.0.2/24
	ip -n "$n5" route add default via 10.9.0.1
	ip netns exec "$N1" sysctl -qw net.ipv4.ip_forward=1
	wg set "$IF1" peer "$PUB2" allowed-ips "$IP2/32,$IP2_6/128,192.168.243.0/24,192.168.250.0/24,10.9.0.0/24" ||
		fail "wg set A (loop)"
	wg set "$IF2" peer "$PUB1" allowed-ips "$IP1/32,$IP1_6/128,10.9.0.0/24,192.168.250.0/24" ||
		fail "wg set B (loop)"
	ip -n "$N1" route add 192.168.250.0/24 dev "$IF1"
	ip -n "$N2" route add 192.168.250.0/24 dev "$IF2"
	ip -n "$N2" route add 10.9.0.0/24 dev "$IF2"
	# (the kernel answers some with a redirect, the rest with "Time to live
	# exceeded", rate-limited; the loop is seen in A's counters)
	rx0=$(peer_rx "$IF1" "$PUB2")
	out=$(ip netns exec "$n5" timeout 20 ping -n -f -c 20 -W 1 192.168.250.9 2>&1 || true)
	rx1=$(peer_rx "$IF1" "$PUB2")
	log "MEASURE onion loop: 20 pings, A received $((rx1 - rx0)) bytes from B;" \
		"$(grep 'packets transmitted' <<<"$out")"
	# 20 pings of 128 bytes on the wire, each at least 10 times round
	check "onion loop: the pings circled (A received $((rx1 - rx0)) bytes, want > 25600)" \
		test "$((rx1 - rx0))" -gt 25600
	check "onion loop: our agent survived" at_alive "$PID1"
	check "onion loop: wireguard-go B survived" at_alive "$PID2"
	check "onion loop: wireguard-go C survived" at_alive "$pid3"
	check "after the onion loop: a ping A -> B -> C answered within 10 s" \
		wait_for 10 ip netns exec "$N1" ping -n -c 1 -W 1 192.168.243.3
	flood_check "after the onion loop: flood N1 -> N2" "$N1" "$IP2" "$FLOOD_N"
	flood_check "after the onion loop: flood N5 -> B through A" "$n5" "$IP2" "$FLOOD_N"
	flood_check "after the onion loop: flood A -> B -> C" "$N1" 192.168.243.3 "$FLOOD_N"
}

scenario "WireGuard through WireGuard, moved, looped (vs wireguard-go $PEER_KIND)" sc_wg_in_wg
scenario "onion routing through a peer, and a loop of it" sc_onion
finish
