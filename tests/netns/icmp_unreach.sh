#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# shellcheck disable=SC2317  # functions are called through scenario()
#
# No peer for a destination: the sender gets an ICMP host unreachable
# (ICMPv6 address unreachable), as from the Linux driver (wg_xmit ->
# icmp_ndo_send). altuntun-cli runs in H with --netns R:
#
#   H  the agent and its UDP socket
#   R  IF 10.52.0.1/24 fd00:52::1/64; 10.53.0.0/24 and fd00:53::/64 routed
#      into IF, no peer owns them; veth 192.168.52.1/24 fd00:5200::1/64,
#      forwarding on
#   S  veth 192.168.52.2/24 fd00:5200::2/64, default routes via R
#
# Pings to 10.53.0.9 / fd00:53::9 (and to the peer without an endpoint,
# 10.52.0.2 / fd00:52::2, which Linux answers alike) must see "Destination Host Unreachable" /
# "Address unreachable" (and stop there, not wait for the timeout): from R
# itself (the sender's address is one of IF's own), from S (forwarded),
# and from S with an nft masquerade on IF in R (the agent sees R's address
# as the source; R's conntrack must turn the error back to S).
# The rate limit holds: a burst of 20 pings gets at most 6 errors.
# Then the same layout with wireguard-go in R (FLAVOURS, default modern;
# Debian's behaves alike), shown, not asserted: it drops
# such packets silently.

# shellcheck source=tests/netns/lib.sh
. "$(dirname "$0")/lib.sh"
require_root
require_cmd wg ip ping nft

DST4=10.53.0.9 DST6=fd00:53::9

# topo TAG IMPL: sets H R S IF; the interface in R (IMPL altuntun: the agent
# in H with --netns R; debian|modern: wireguard-go in R).
topo() {
	local tag=$1 impl=$2 vr vs
	H=$(ns_name "h$tag") R=$(ns_name "r$tag") S=$(ns_name "s$tag")
	IF=$(if_name "w$tag") vr=$(if_name "vr$tag") vs=$(if_name "vs$tag")
	ns_new "$H"
	ns_new "$R"
	ns_new "$S"
	veth_pair "$R" "$vr" "$S" "$vs"
	addr "$R" "$vr" 192.168.52.1/24
	addr "$R" "$vr" fd00:5200::1/64
	addr "$S" "$vs" 192.168.52.2/24
	addr "$S" "$vs" fd00:5200::2/64
	ip -n "$S" route add default via 192.168.52.1
	ip -n "$S" -6 route add default via fd00:5200::1
	ip netns exec "$R" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
	if [[ $impl == altuntun ]]; then
		start_altuntun "$H" "$IF" --netns "$R" -v
	else
		start_wggo "$R" "$IF" "$impl"
	fi
	wg_in "$R" set "$IF" private-key "$(keyfile "$(genkey)")" listen-port 51852 \
		peer "$(pubkey "$(genkey)")" allowed-ips 10.52.0.2/32,fd00:52::2/128 ||
		fail "wg set $IF failed"
	addr "$R" "$IF" 10.52.0.1/24
	addr "$R" "$IF" fd00:52::1/64
	ip -n "$R" route add 10.53.0.0/24 dev "$IF"
	ip -n "$R" -6 route add fd00:53::/64 dev "$IF"
}

# ping_once NS DEST [WAIT]: one ping, its output (and the seconds it took)
# in OUT.
ping_once() {
	local t0=$EPOCHREALTIME
	OUT=$(ip netns exec "$1" ping -n -c 1 -W "${3:-5}" "$2" 2>&1) || true
	ELAPSED=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }')
}

# expect_unreach LABEL NS DEST WORDS: the ping reports WORDS from DEST.
expect_unreach() {
	local label=$1 ns=$2 dst=$3 words=$4 line
	ping_once "$ns" "$dst"
	line=$(grep -m1 -F "$words" <<<"$OUT" || true)
	if [[ -n $line && $line == *"From $dst "* ]]; then
		pass "$label: '$line' after ${ELAPSED}s"
	else
		soft_fail "$label: no '$words' from $dst after ${ELAPSED}s: $(tr '\n' ' ' <<<"$OUT")"
	fi
}

sc_altuntun() {
	topo a altuntun
	expect_unreach "ping from R (source: IF's own address)" "$R" "$DST4" \
		"Destination Host Unreachable"
	expect_unreach "ping -6 from R" "$R" "$DST6" "Address unreachable"
	expect_unreach "ping from R to a peer without an endpoint" "$R" 10.52.0.2 \
		"Destination Host Unreachable"
	expect_unreach "ping -6 from R to a peer without an endpoint" "$R" fd00:52::2 \
		"Address unreachable"
	expect_unreach "ping from S, forwarded by R" "$S" "$DST4" "Destination Host Unreachable"
	expect_unreach "ping -6 from S, forwarded by R" "$S" "$DST6" "Address unreachable"

	ip netns exec "$R" nft -f - <<-EOF || fail "nft masquerade in R failed"
		table inet atnat {
			chain post {
				type nat hook postrouting priority srcnat;
				oifname "$IF" counter masquerade
			}
		}
	EOF
	expect_unreach "ping from S, masqueraded into IF by R" "$S" "$DST4" \
		"Destination Host Unreachable"
	expect_unreach "ping -6 from S, masqueraded into IF by R" "$S" "$DST6" \
		"Address unreachable"
	local n
	n=$(ip netns exec "$R" nft list chain inet atnat post | sed -n 's/.*counter packets \([0-9]*\).*/\1/p')
	check "the masquerade rule matched (counter packets ${n:-?})" test "${n:-0}" -ge 2

	# Rate limit: one error a second per sender, bursts of 6 (as the
	# kernel's icmp_ratelimit); S has used 2 of its IPv4 burst above.
	OUT=$(ip netns exec "$S" ping -n -c 20 -i 0.01 -W 1 "$DST4" 2>&1) || true
	n=$(grep -c "Destination Host Unreachable" <<<"$OUT" || true)
	check "rate limit: 20 pings in 0.2 s from S get $n errors (1 to 6)" \
		test "$n" -ge 1 -a "$n" -le 6
}

# wireguard-go in R: what it does with the same pings (shown only).
sc_wggo() {
	local flavour=$1 tag=$2
	topo "$tag" "$flavour"
	ping_once "$R" "$DST4" 1
	log "wireguard-go ($flavour), ping from R: $(grep -E 'received|nreachable' <<<"$OUT" | tr '\n' ' ')(${ELAPSED}s)"
	ping_once "$S" "$DST6" 1
	log "wireguard-go ($flavour), ping -6 from S: $(grep -E 'received|nreachable' <<<"$OUT" | tr '\n' ' ')(${ELAPSED}s)"
	ping_once "$R" 10.52.0.2 1
	log "wireguard-go ($flavour), ping from R to the peer without an endpoint: $(grep -E 'received|nreachable' <<<"$OUT" | tr '\n' ' ')(${ELAPSED}s)"
}

scenario "altuntun-cli --netns: ICMP unreachable for destinations without a peer" sc_altuntun
for f in ${FLAVOURS:-modern}; do
	scenario "wireguard-go ($f), for comparison (not asserted)" sc_wggo "$f" "g${f:0:1}"
done
finish
