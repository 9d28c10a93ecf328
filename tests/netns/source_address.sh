#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Which source address our datagrams leave from, as the Linux selftest
# (netns.sh, "saddr routing is sticky but not too sticky") checks it, with
# altuntun-cli in H (--netns C) against wireguard-go in B:
#
#   C  IF 192.168.241.1/24            B  PIF 192.168.241.2/24 (wireguard-go)
#   H  veth1, veth3 (and d0)  <->        veth2, veth4
#
# (a) not too sticky: our address is replaced (10.0.0.1 -> 10.0.0.10,
#     fd00:aa::1 -> fd00:aa::10) and the next packet leaves from the new one.
# (b) reply to sender: H holds 10.0.0.1 and 10.0.0.2 (and fd00:aa::1, ::2);
#     whichever B writes to is the one our replies come from (B's endpoint
#     for us does not move).
# (c) the same when the address B writes to sits on another interface
#     (d0 10.50.0.1/24), not the one the packets use.
# (d) a better route with another src: 10.0.0.0/24 via veth1 src 10.0.0.1
#     metric 2, then via veth3 src 10.0.0.3 metric 1: our next packet
#     leaves from 10.0.0.3.
# Roaming while pings run is in roaming.sh. A_IMPL=debian|modern measures
# wireguard-go in our place (not part of the test).

# shellcheck source=tests/netns/lib.sh
. "$(dirname "$0")/lib.sh"
require_root
require_cmd wg ip ping

# Debian's wireguard-go by default: upstream 0.0.20250522, told a new IPv6
# endpoint after an IPv4 one, first sends to the IPv6 endpoint it had
# before (measured: in (b) our replies then rightly come from fd00:aa::1,
# the address it wrote to, and its endpoint shows that).
FLAVOUR=${FLAVOUR:-debian}
PA=51871 PB=51872

H=$(ns_name h) C=$(ns_name c) B=$(ns_name b)
IF=$(if_name a) PIF=$(if_name b)
V1=$(if_name v1) V2=$(if_name v2) V3=$(if_name v3) V4=$(if_name v4) D0=$(if_name d0)
ns_new "$H"
ns_new "$C"
ns_new "$B"
veth_pair "$H" "$V1" "$B" "$V2"
for ns in "$H" "$B"; do
	ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
done
ip netns exec "$H" sysctl -qw "net.ipv4.conf.$V1.promote_secondaries=1"

# Reference mode: A_IMPL=debian|modern puts wireguard-go in our place (in H,
# its interface too: it cannot split them).
if [[ ${A_IMPL:-altuntun} == altuntun ]]; then
	start_altuntun "$H" "$IF" --netns "$C" -v
else
	C=$H
	start_wggo "$H" "$IF" "$A_IMPL"
fi
start_wggo "$B" "$PIF" "$FLAVOUR"
ka=$(genkey) kb=$(genkey)
PUB_A=$(pubkey "$ka") PUB_B=$(pubkey "$kb")
wg_in "$H" set "$IF" private-key "$(keyfile "$ka")" listen-port "$PA" \
	peer "$PUB_B" allowed-ips 192.168.241.2/32 || fail "wg set $IF failed"
wg_in "$B" set "$PIF" private-key "$(keyfile "$kb")" listen-port "$PB" \
	peer "$PUB_A" allowed-ips 192.168.241.1/32 || fail "wg set $PIF failed"
addr "$C" "$IF" 192.168.241.1/24
addr "$B" "$PIF" 192.168.241.2/24

# Up to three pings, one answer is enough: upstream wireguard-go loses its
# first replies after an endpoint changes from IPv4 to IPv6 (README.md).
ping1() { ip netns exec "$1" ping -n -c 3 -i 0.2 -w 3 -W 1 "$2" >/dev/null 2>&1; }
# shellcheck disable=SC2317  # called through wait_for
b_sees() { [[ $(peer_endpoint "$PIF" "$PUB_A") == "$1" ]]; }

# expect LABEL PINGNS DEST WANT: one ping from PINGNS answered, and B's
# endpoint for us is WANT.
expect() {
	local label=$1 ns=$2 dst=$3 want=$4 got
	if ! ping1 "$ns" "$dst"; then
		soft_fail "$label: ping from $ns to $dst unanswered"
		return 0
	fi
	if wait_for 2 b_sees "$want"; then
		pass "$label: B sees $want"
	else
		got=$(peer_endpoint "$PIF" "$PUB_A")
		soft_fail "$label: B sees ${got:-nothing}, want $want"
	fi
}

log "(a) not too sticky"
addr "$H" "$V1" 10.0.0.1/24
addr "$H" "$V1" fd00:aa::1/96
addr "$B" "$V2" 10.0.0.2/24
addr "$B" "$V2" fd00:aa::2/96
wg_in "$H" set "$IF" peer "$PUB_B" endpoint "10.0.0.2:$PB"
expect "(a) first packet" "$C" 192.168.241.2 "10.0.0.1:$PA"
ip -n "$H" addr add 10.0.0.10/24 dev "$V1"
ip -n "$H" addr del 10.0.0.1/24 dev "$V1"
expect "(a) after 10.0.0.1 is replaced by 10.0.0.10" "$C" 192.168.241.2 "10.0.0.10:$PA"
wg_in "$H" set "$IF" peer "$PUB_B" endpoint "[fd00:aa::2]:$PB"
expect "(a) IPv6 endpoint" "$C" 192.168.241.2 "[fd00:aa::1]:$PA"
ip -n "$H" addr add fd00:aa::10/96 dev "$V1" nodad
ip -n "$H" addr del fd00:aa::1/96 dev "$V1"
expect "(a) after fd00:aa::1 is replaced by fd00:aa::10" "$C" 192.168.241.2 "[fd00:aa::10]:$PA"

log "(b) replies leave from the address the peer wrote to"
ip -n "$H" addr flush dev "$V1"
ip -n "$B" addr flush dev "$V2"
for a in 10.0.0.1/24 10.0.0.2/24 fd00:aa::1/96 fd00:aa::2/96; do addr "$H" "$V1" "$a"; done
addr "$B" "$V2" 10.0.0.3/24
addr "$B" "$V2" fd00:aa::3/96
for ep in 10.0.0.1 "[fd00:aa::1]" 10.0.0.2 "[fd00:aa::2]"; do
	wg_in "$B" set "$PIF" peer "$PUB_A" endpoint "$ep:$PA"
	expect "(b) B writes to $ep" "$B" 192.168.241.1 "$ep:$PA"
done

log "(c) the address the peer writes to is on another interface"
# (no dummy module here: a veth whose peer stays in H, up, does as well)
ip -n "$H" link add "$D0" type veth peer name "${D0}p"
ip -n "$H" link set "${D0}p" up
addr "$H" "$D0" 10.50.0.1/24
ip -n "$B" route add 10.50.0.0/24 dev "$V2"
wg_in "$B" set "$PIF" peer "$PUB_A" endpoint "10.50.0.1:$PA"
expect "(c) B writes to 10.50.0.1 (on $D0)" "$B" 192.168.241.1 "10.50.0.1:$PA"
ip -n "$H" link del "$D0"
ip -n "$H" addr flush dev "$V1"
ip -n "$B" addr flush dev "$V2"
ip -n "$H" route flush dev "$V1"
ip -n "$B" route flush dev "$V2"

log "(d) a better route with another src is followed"
veth_pair "$H" "$V3" "$B" "$V4"
addr "$H" "$V1" 10.0.0.1/24
addr "$B" "$V2" 10.0.0.2/24
addr "$H" "$V3" 10.0.0.3/24
ip -n "$H" route flush dev "$V1"
ip -n "$H" route flush dev "$V3"
ip -n "$H" route add 10.0.0.0/24 dev "$V1" src 10.0.0.1 metric 2
wg_in "$H" set "$IF" peer "$PUB_B" endpoint "10.0.0.2:$PB"
expect "(d) route via $V1 src 10.0.0.1" "$C" 192.168.241.2 "10.0.0.1:$PA"
ip -n "$H" route add 10.0.0.0/24 dev "$V3" src 10.0.0.3 metric 1
ip netns exec "$H" sysctl -qw "net.ipv4.conf.$V1.rp_filter=0" net.ipv4.conf.all.rp_filter=0
ip netns exec "$B" sysctl -qw "net.ipv4.conf.$V4.rp_filter=0" net.ipv4.conf.all.rp_filter=0
expect "(d) better route via $V3 src 10.0.0.3" "$C" 192.168.241.2 "10.0.0.3:$PA"
finish
