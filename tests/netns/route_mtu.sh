#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# shellcheck disable=SC2317  # functions are called through scenario()
#
# Padding follows the MTU of the route to the destination inside the
# interface's namespace, as the Linux driver pads to dst_mtu(): a /32 route
# with `mtu 1299` on a 1300 link sends a 1297-byte inner packet as 1299
# bytes of plaintext (+ 32 of data header and tag), never 1300; route
# changes and deletions made inside the namespace are followed; IPv4 and
# IPv6 inner packets. The agent runs with --netns (UDP in H, the interface
# in C), the peer is wireguard-go (P: the modern build, and Debian's for the
# route cases), which must decrypt every packet and
# answer: the sizes are read from nft counters on P's veth.
. "$(dirname "$0")/lib.sh"
require_root
require_cmd wg ip nft ping

OUT_H=192.168.246.1 OUT_P=192.168.246.2
IN_C=10.246.0.1 IN_P=10.246.0.2
IN6_C=fd00:246::1 IN6_P=fd00:246::2
PORT_H=51846 PORT_P=51847
LINK_MTU=1300
# Outer UDP length = plaintext + 16 (data header) + 16 (tag) + 8 (UDP).
OVERHEAD=40

# MODE netns (default): the agent in H with --netns C. MODE home: the agent
# started inside C (wg-quick in a namespace), UDP and interface both there.
setup() {
	local mode=${1:-netns} peer=${2:-modern} ka kp n
	H=$(ns_name h) C=$(ns_name c) P=$(ns_name p)
	IF=$(if_name a) IFP=$(if_name p)
	ns_new "$H"
	ns_new "$C"
	ns_new "$P"
	veth_pair "$H" "$(if_name vh)" "$P" "$(if_name vp)"
	addr "$P" "$(if_name vp)" "$OUT_P/24"
	start_wggo "$P" "$IFP" "$peer"
	if [[ $mode == config ]]; then
		# The route with its MTU comes from the file: added by the
		# bootstrap before the protocol process exists.
		printf '{"routes": [{"dst": "%s/32", "mtu": 1299}]}\n' "$IN_P" >"$AT_TMP/c.json"
		start_altuntun "$H" "$IF" --netns "$C" --mtu "$LINK_MTU" --config "$AT_TMP/c.json" -v
	elif [[ $mode == home ]]; then
		ip -n "$H" link set "$(if_name vh)" netns "$C"
		H=$C
		start_altuntun "$C" "$IF" --mtu "$LINK_MTU" -v
	else
		start_altuntun "$H" "$IF" --netns "$C" --mtu "$LINK_MTU" -v
	fi
	MON=$AT_LAST_PID
	addr "$H" "$(if_name vh)" "$OUT_H/24"
	ka=$(genkey) kp=$(genkey)
	wg set "$IF" private-key "$(keyfile "$ka")" listen-port "$PORT_H" \
		peer "$(pubkey "$kp")" endpoint "$OUT_P:$PORT_P" \
		allowed-ips "$IN_P/32,$IN6_P/128" || fail "wg set $IF failed"
	wg_in "$P" set "$IFP" private-key "$(keyfile "$kp")" listen-port "$PORT_P" \
		peer "$(pubkey "$ka")" endpoint "$OUT_H:$PORT_H" \
		allowed-ips "$IN_C/32,$IN6_C/128" || fail "wg set $IFP failed"
	addr "$C" "$IF" "$IN_C/24"
	addr "$P" "$IFP" "$IN_P/24"
	ip -n "$C" -6 addr add "$IN6_C/64" dev "$IF" nodad
	ip -n "$P" -6 addr add "$IN6_P/64" dev "$IFP" nodad
	ip -n "$P" link set "$IFP" mtu 1420
	# One counter per outer size from our port, where the peer receives.
	{
		echo "table netdev at_rmtu {"
		echo "  chain in { type filter hook ingress device \"$(if_name vp)\" priority 0; }"
		echo "}"
		for ((n = LINK_MTU - 40 + OVERHEAD; n <= LINK_MTU + 20 + OVERHEAD; n++)); do
			echo "add rule netdev at_rmtu in udp sport $PORT_H udp length $n counter"
		done
	} | ip netns exec "$P" nft -f - || fail "nft counters in $P failed"
	ping_stats "$C" "$IN_P" 2 >/dev/null || fail "no tunnel: ping $IN_P"
}

# Every counted outer UDP length with its count so far, as "LEN COUNT" lines.
counters() {
	ip netns exec "$P" nft list table netdev at_rmtu |
		awk '/udp length/ { for (i = 1; i <= NF; i++) { if ($i == "length") l = $(i + 1); if ($i == "packets") c = $(i + 1) } print l, c }'
}

# The lengths counted since snapshot BEFORE (counters' output), "LEN:N ...".
sizes_since() {
	join <(printf '%s\n' "$1") <(counters) | awk '$3 > $2 { printf "%s:%d ", $1, $3 - $2 }'
}

# Sends COUNT pings with an inner packet of SIZE bytes (v4 or v6) from C to
# P, answered; then the plaintext sizes seen must all be WANT.
expect_padded() {
	local what=$1 fam=$2 size=$3 want=$4 dst payload seen before
	before=$(counters)
	if [[ $fam == 6 ]]; then
		dst=$IN6_P payload=$((size - 48))
	else
		dst=$IN_P payload=$((size - 28))
	fi
	if ! ip netns exec "$C" ping -"$fam" -c 3 -i 0.2 -W 2 -M do -s "$payload" "$dst" >/dev/null 2>&1; then
		soft_fail "$what: $size-byte pings to $dst not answered"
		return
	fi
	seen=$(sizes_since "$before")
	# Each request (ours) has UDP length want + OVERHEAD; keepalives and
	# handshakes are outside the counted range.
	check "$what: a $size-byte inner packet left padded to $want (outer UDP lengths seen: ${seen:-none})" \
		test "$seen" = "$((want + OVERHEAD)):3 "
}

# PEER: which wireguard-go decrypts (and so accepts) the padded packets.
sc_route_mtu() {
	setup netns "$1"
	expect_padded "no route MTU: padded to the link's MTU" 4 1297 "$LINK_MTU"
	ip -n "$C" route add "$IN_P/32" dev "$IF" mtu 1299 || fail "ip route add failed"
	expect_padded "route $IN_P/32 mtu 1299" 4 1297 1299
	expect_padded "... a 1280-byte packet: padded to 1280 (16-byte multiple)" 4 1280 1280
	ip -n "$C" route change "$IN_P/32" dev "$IF" mtu 1290 || fail "ip route change failed"
	expect_padded "route changed to mtu 1290" 4 1285 1290
	ip -n "$C" route del "$IN_P/32" dev "$IF" || fail "ip route del failed"
	expect_padded "route deleted" 4 1285 1296
	ip -n "$C" route add "10.246.0.0/25" dev "$IF" mtu 1291 table 51820 ||
		fail "ip route add table 51820 failed"
	ip -n "$C" rule add to "10.246.0.0/25" lookup 51820 priority 100
	expect_padded "route in table 51820 (policy routing) mtu 1291" 4 1285 1291
	ip -n "$C" rule del to "10.246.0.0/25" lookup 51820 priority 100
	ip -n "$C" route del "10.246.0.0/25" dev "$IF" table 51820

	ip -n "$C" -6 route add "$IN6_P/128" dev "$IF" mtu 1289 || fail "ip -6 route add failed"
	expect_padded "IPv6: route $IN6_P/128 mtu 1289" 6 1285 1289
	ip -n "$C" -6 route del "$IN6_P/128" dev "$IF"
	expect_padded "IPv6: route deleted" 6 1285 1296

	ip -n "$C" route add "$IN_P/32" dev "$IF" mtu 1299
	ip -n "$C" link set "$IF" down
	ip -n "$C" link set "$IF" up
	ip -n "$C" route replace "$IN_P/32" dev "$IF"
	expect_padded "link down/up, route back without an MTU" 4 1297 "$LINK_MTU"
	ip -n "$C" link set "$IF" mtu 1288
	wait_for 5 grep -qF "MTU of $IF is now 1288" "$AT_TMP/altuntun-$IF.log" ||
		soft_fail "link MTU change not logged"
	expect_padded "link MTU 1288" 4 1285 1288
}

# Routes made before the agent (re)starts are read, not only followed.
sc_restart_and_home() {
	local mode=$1 proto
	setup "$mode"
	if [[ $mode != config ]]; then
		ip -n "$C" route add "$IN_P/32" dev "$IF" mtu 1299 || fail "ip route add failed"
	fi
	expect_padded "$mode: route $IN_P/32 mtu 1299" 4 1297 1299
	proto=$(proto_of "$MON")
	[[ -n $proto ]] || fail "no protocol process under $MON"
	kill -KILL "$proto"
	wait_for 10 bash -c "p=\$(pgrep -P $MON -x altuntun-proto); [[ -n \$p && \$p != $proto ]]" ||
		fail "the protocol process was not restarted"
	wait_for 10 ping_stats "$C" "$IN_P" 1 >/dev/null || fail "no tunnel after the restart"
	expect_padded "$mode: after a restart of the protocol process, the route read again" \
		4 1297 1299
}

scenario "padding follows the route MTU inside the namespace (modern wireguard-go)" sc_route_mtu modern
scenario "padding follows the route MTU inside the namespace (Debian's wireguard-go)" sc_route_mtu debian
scenario "a restarted protocol process reads the routes (--netns)" sc_restart_and_home netns
scenario "a restarted protocol process reads the routes (in the namespace itself)" \
	sc_restart_and_home home
scenario "a route with an MTU from --config, then a restart" sc_restart_and_home config
finish
