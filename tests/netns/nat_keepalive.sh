#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Behind a NAT with persistent keepalive: the peer learns the NAT's address,
# and the mapping is kept alive past the conntrack timeout. Two agents in H
# (UDP sockets there, interfaces in C1 and C2 with --netns) reach one
# wireguard-go peer P through a masquerading router R whose UDP conntrack
# timeouts are CT_TIMEOUT seconds (per namespace):
#
#   C1  IF1 10.63.0.1/24  <- altuntun-cli --netns C1, persistent keepalive 1 s
#   C2  IF2 10.63.0.3/24  <- altuntun-cli --netns C2, no keepalive (control)
#   H   veth 192.168.63.2/24, default via R
#   R   192.168.63.1/24 | 198.51.100.1/24, masquerade out to P
#   P   198.51.100.2/24, wireguard-go PIF 10.63.0.2/24, no endpoints set
#
# Both agents ping P first; P must show the NAT's address as both
# endpoints. After WAIT seconds of quiet (past the timeout, before the
# 10-second passive keepalive of the control would reopen its mapping),
# P pings both: the agent with keepalive answers; the control must not (its
# mapping is gone: proof that the test can fail).

# shellcheck source=tests/netns/lib.sh
. "$(dirname "$0")/lib.sh"
require_root
require_cmd wg ip ping nft sysctl

FLAVOUR=${FLAVOUR:-modern}
CT_TIMEOUT=${CT_TIMEOUT:-3}
WAIT=${WAIT:-6}
NAT=198.51.100.1

H=$(ns_name h) R=$(ns_name r) P=$(ns_name p) C1=$(ns_name c1) C2=$(ns_name c2)
IF1=$(if_name w1) IF2=$(if_name w2) PIF=$(if_name wp)
for ns in "$H" "$R" "$P" "$C1" "$C2"; do ns_new "$ns"; done
veth_pair "$H" "$(if_name vh)" "$R" "$(if_name vrh)"
veth_pair "$R" "$(if_name vrp)" "$P" "$(if_name vp)"
addr "$H" "$(if_name vh)" 192.168.63.2/24
addr "$R" "$(if_name vrh)" 192.168.63.1/24
addr "$R" "$(if_name vrp)" "$NAT/24"
addr "$P" "$(if_name vp)" 198.51.100.2/24
ip -n "$H" route add default via 192.168.63.1
ip netns exec "$R" sysctl -qw net.ipv4.ip_forward=1

ip netns exec "$R" nft -f - <<EOF || fail "nft masquerade in R failed"
table ip atnat {
	chain post {
		type nat hook postrouting priority srcnat;
		oifname "$(if_name vrp)" masquerade
	}
}
EOF
host_before=$(sysctl -n net.netfilter.nf_conntrack_udp_timeout 2>/dev/null || echo "not loaded")
ip netns exec "$R" sysctl -qw "net.netfilter.nf_conntrack_udp_timeout=$CT_TIMEOUT" \
	"net.netfilter.nf_conntrack_udp_timeout_stream=$CT_TIMEOUT" ||
	fail "cannot set the UDP conntrack timeouts in R"
host_after=$(sysctl -n net.netfilter.nf_conntrack_udp_timeout 2>/dev/null || echo "not loaded")
check "the UDP conntrack timeout is per namespace: R $CT_TIMEOUT s, host $host_after s (was $host_before)" \
	test "$(ip netns exec "$R" sysctl -n net.netfilter.nf_conntrack_udp_timeout)" = "$CT_TIMEOUT" \
	-a "$host_before" = "$host_after" -a "$host_after" != "$CT_TIMEOUT"

start_wggo "$P" "$PIF" "$FLAVOUR"
start_altuntun "$H" "$IF1" --netns "$C1"
start_altuntun "$H" "$IF2" --netns "$C2"
kp=$(genkey) k1=$(genkey) k2=$(genkey)
PUB_P=$(pubkey "$kp") PUB_1=$(pubkey "$k1") PUB_2=$(pubkey "$k2")
wg_in "$P" set "$PIF" private-key "$(keyfile "$kp")" listen-port 51864 \
	peer "$PUB_1" allowed-ips 10.63.0.1/32 peer "$PUB_2" allowed-ips 10.63.0.3/32 ||
	fail "wg set on P failed"
wg_in "$H" set "$IF1" private-key "$(keyfile "$k1")" listen-port 51861 \
	peer "$PUB_P" allowed-ips 10.63.0.2/32 endpoint 198.51.100.2:51864 persistent-keepalive 1 ||
	fail "wg set $IF1 failed"
wg_in "$H" set "$IF2" private-key "$(keyfile "$k2")" listen-port 51862 \
	peer "$PUB_P" allowed-ips 10.63.0.2/32 endpoint 198.51.100.2:51864 ||
	fail "wg set $IF2 failed"
addr "$P" "$PIF" 10.63.0.2/24
addr "$C1" "$IF1" 10.63.0.1/24
addr "$C2" "$IF2" 10.63.0.3/24

ping_check() { # LABEL NS DEST
	local out
	if out=$(ping_stats "$2" "$3" 2); then pass "$1: $out"; else soft_fail "$1: $out"; fi
}

ping_check "C1 -> P through the NAT" "$C1" 10.63.0.2
ping_check "C2 -> P through the NAT" "$C2" 10.63.0.2
ep1=$(peer_endpoint "$PIF" "$PUB_1") ep2=$(peer_endpoint "$PIF" "$PUB_2")
check "P learned the NAT's address for the agent with keepalive: $ep1" test "${ep1%:*}" = "$NAT"
check "P learned the NAT's address for the control: $ep2" test "${ep2%:*}" = "$NAT"

log "quiet for $WAIT s (UDP conntrack timeout in R: $CT_TIMEOUT s)"
sleep "$WAIT"
ping_bg "$P" ping-1 10.63.0.1 3 0.3
pid1=$AT_LAST_PID
ping_bg "$P" ping-2 10.63.0.3 3 0.3
wait "$pid1" "$AT_LAST_PID" 2>/dev/null || true
read -r r1 s1 <<<"$(ping_log_result ping-1)"
read -r r2 s2 <<<"$(ping_log_result ping-2)"
check "after $WAIT s, P -> C1 (persistent keepalive 1 s) still works: $r1/$s1 replies" \
	test "$s1" = 3 -a "$r1" = 3
check "after $WAIT s, P -> C2 (no keepalive) fails, its mapping expired: $r2/$s2 replies" \
	test "$s2" = 3 -a "$r2" = 0
rx=$(peer_rx "$PIF" "$PUB_1")
log "P received $rx bytes from C1's agent (keepalives included)"
finish
