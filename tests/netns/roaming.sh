#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# shellcheck disable=SC2317  # functions are called through scenario()
#
# Roaming, with altuntun-cli (A) against wireguard-go (B; Debian's and the
# modern build), pings running while things move:
#
#   A  veth 192.168.160.1/24 fd00::1/64   tunnel 10.160.0.1/24 fd00:160::1/64
#   B  veth 192.168.160.2/24 fd00::2/64   tunnel 10.160.0.2/24 fd00:160::2/64
#
# (a) the peer moves: B changes its listen port, then its address, while B
#     pings A; A's endpoint for B follows (`wg show`) and no ping is lost.
# (b) we move our port: `wg set A listen-port N`; B sees the new endpoint
#     after one packet; again in the middle of a running ping.
# (c) our address changes while A pings B: a new address is added on the
#     same veth and the old one removed; then the address is removed and
#     only then another added (a few ms without a route: at most
#     MAX_GAP_LOST=1 ping may be lost; the same allowance for Debian's
#     wireguard-go in (a), see there). Each time A clears its sticky
#     source, B sees the new address, and B's packets to it are answered
#     from it.
# (d) IPv6 outer endpoints ([fd00::1]:port, [fd00::2]:port) carrying IPv4
#     and IPv6 inner traffic; then (a) and (c) over IPv6.
#
# A background ping of PING_N packets every 0.2 s runs through each move
# (made 0.9 s in, halfway between two pings); at most MAX_LOST of them may go unanswered (default
# 0), the lost sequence numbers are reported. Address moves add the new
# address before removing the old one, except where said.

# shellcheck source=tests/netns/lib.sh
. "$(dirname "$0")/lib.sh"
require_root
require_cmd wg ip ping

FLAVOURS=${FLAVOURS:-debian modern}
PING_N=${PING_N:-10}
MAX_LOST=${MAX_LOST:-0}
MAX_GAP_LOST=${MAX_GAP_LOST:-1}

OUT4_A=192.168.160.1 OUT4_B=192.168.160.2 OUT4_A2=192.168.160.5 OUT4_B2=192.168.160.6
OUT4_A3=192.168.160.7
OUT6_A=fd00::1 OUT6_B=fd00::2 OUT6_A2=fd00::5 OUT6_B2=fd00::6
IN4_A=10.160.0.1 IN4_B=10.160.0.2
IN6_A=fd00:160::1 IN6_B=fd00:160::2
PORT_A=51820 PORT_B=51821

# pair FLAVOUR TAG FAMILY(4|6): sets NS_A NS_B IF_A IF_B VA VB PUB_A PUB_B
# LOG_A, endpoints of FAMILY configured on both sides.
pair() {
	local flavour=$1 tag=$2 fam=$3 ka kb epa epb
	NS_A=$(ns_name "a$tag") NS_B=$(ns_name "b$tag")
	IF_A=$(if_name "a$tag") IF_B=$(if_name "b$tag")
	VA=$(if_name "va$tag") VB=$(if_name "vb$tag")
	ns_new "$NS_A"
	ns_new "$NS_B"
	veth_pair "$NS_A" "$VA" "$NS_B" "$VB"
	addr "$NS_A" "$VA" "$OUT4_A/24"
	addr "$NS_B" "$VB" "$OUT4_B/24"
	addr "$NS_A" "$VA" "$OUT6_A/64"
	addr "$NS_B" "$VB" "$OUT6_B/64"
	ip netns exec "$NS_A" sysctl -qw "net.ipv4.conf.$VA.promote_secondaries=1"
	ip netns exec "$NS_B" sysctl -qw "net.ipv4.conf.$VB.promote_secondaries=1"
	start_altuntun "$NS_A" "$IF_A" -v
	LOG_A=$AT_TMP/altuntun-$IF_A.log
	start_wggo "$NS_B" "$IF_B" "$flavour"
	ka=$(genkey) kb=$(genkey)
	PUB_A=$(pubkey "$ka") PUB_B=$(pubkey "$kb")
	if [[ $fam == 6 ]]; then
		epa="[$OUT6_A]:$PORT_A" epb="[$OUT6_B]:$PORT_B"
	else
		epa="$OUT4_A:$PORT_A" epb="$OUT4_B:$PORT_B"
	fi
	wg_in "$NS_A" set "$IF_A" private-key "$(keyfile "$ka")" listen-port "$PORT_A" \
		peer "$PUB_B" allowed-ips "$IN4_B/32,$IN6_B/128" endpoint "$epb" ||
		fail "wg set on A failed"
	wg_in "$NS_B" set "$IF_B" private-key "$(keyfile "$kb")" listen-port "$PORT_B" \
		peer "$PUB_A" allowed-ips "$IN4_A/32,$IN6_A/128" endpoint "$epa" ||
		fail "wg set on B ($flavour) failed"
	addr "$NS_A" "$IF_A" "$IN4_A/24"
	addr "$NS_A" "$IF_A" "$IN6_A/64"
	addr "$NS_B" "$IF_B" "$IN4_B/24"
	addr "$NS_B" "$IF_B" "$IN6_B/64"
}

ping_check() { # LABEL NS DEST [COUNT]
	local out
	if out=$(ping_stats "$2" "$3" "${4:-3}"); then pass "$1: $out"; else soft_fail "$1: $out"; fi
}

endpoint_is() { [[ $(peer_endpoint "$1" "$2") == "$3" ]]; }

# check_endpoint LABEL IF PEER WANT: waits up to 2 s for it.
check_endpoint() {
	if wait_for 2 endpoint_is "$2" "$3" "$4"; then
		pass "$1: $4"
	else
		soft_fail "$1: want $4, wg show says '$(peer_endpoint "$2" "$3")'"
	fi
}

# moving_ping LABEL NS DEST CMD...: PING_N pings every 0.2 s from NS to
# DEST; CMD runs 0.9 s in. Checks the losses (at most $MAX_LOST, or
# $MOVE_MAX_LOST when set).
moving_ping() {
	local label=$1 ns=$2 dst=$3 name recv sent lost max=${MOVE_MAX_LOST:-$MAX_LOST}
	shift 3
	name=ping-$RANDOM
	ping_bg "$ns" "$name" "$dst" "$PING_N" 0.2
	local pid=$AT_LAST_PID
	sleep 0.9 # halfway between two pings (sent every 0.2 s from 0)
	"$@" || soft_fail "$label: the move itself failed: $*"
	wait "$pid" 2>/dev/null || true
	read -r recv sent <<<"$(ping_log_result "$name")"
	lost=$(ping_log_lost "$name")
	if ((sent == PING_N && sent - recv <= max)); then
		pass "$label: $recv/$sent replies${lost:+ (lost icmp_seq $lost)}"
	else
		soft_fail "$label: $recv/$sent replies${lost:+ (lost icmp_seq $lost)}"
	fi
}

add_addr() { # NS IF ADDR PLEN
	if [[ $3 == *:* ]]; then
		ip -n "$1" addr add "$3/$4" dev "$2" nodad
	else
		ip -n "$1" addr add "$3/$4" dev "$2"
	fi
}

# An address move on the same veth, same prefix: the new address is added,
# then the old one removed (IPv4: promote_secondaries is set in pair(), so
# the new one survives). The prefix stays routed throughout: no packet has
# a reason to be lost, and the old address is gone for good.
move_addr() { # NS IF OLD NEW PLEN
	add_addr "$1" "$2" "$4" "$5" && ip -n "$1" addr del "$3/$5" dev "$2"
}

# The same the other way round: the old address is removed, then the new
# one added. For the few ms in between there is no route to the peer, so a
# packet sent then is lost whoever sends it (MAX_GAP_LOST allows for it).
move_addr_gap() { # NS IF OLD NEW PLEN
	ip -n "$1" addr del "$3/$5" dev "$2" && add_addr "$1" "$2" "$4" "$5"
}

set_port() { wg_in "$1" set "$2" listen-port "$3"; }

move_addr_port() { # NS VETH OLD NEW PLEN WGIF PORT
	move_addr "$1" "$2" "$3" "$4" "$5" && set_port "$1" "$6" "$7"
}


sc_ipv4() {
	local flavour=$1 tag=$2 n
	pair "$flavour" "$tag" 4
	ping_check "ping A -> B ($flavour), handshake" "$NS_A" "$IN4_B" 3

	log "(a) the peer moves"
	moving_ping "(a) B pings A while B's listen port becomes 51831" "$NS_B" "$IN4_A" \
		set_port "$NS_B" "$IF_B" 51831
	check_endpoint "(a) A follows B's new port" "$IF_A" "$PUB_B" "$OUT4_B:51831"
	ping_check "(a) ping A -> B after B's port change" "$NS_A" "$IN4_B" 3
	if [[ $flavour == debian ]]; then
		# Debian's wireguard-go keeps sending from its cached source
		# address once it is gone (IPv4 sendmsg fails with ENETUNREACH;
		# it clears the source only on EINVAL, and its route listener
		# sees the same interface), so it never moves by itself. A new
		# listen port makes it rebind and forget the source: the peer
		# moves address and port at once, as behind a NAT. What B sends
		# between the address removal and the rebind (a few ms) is lost
		# on B's side, hence MAX_GAP_LOST.
		log "(a) Debian's wireguard-go cannot leave a deleted IPv4 source by itself;" \
			"moving its address and its port together"
		MOVE_MAX_LOST=$MAX_GAP_LOST moving_ping \
			"(a) B pings A while B's address moves $OUT4_B -> $OUT4_B2 (and port -> 51833)" \
			"$NS_B" "$IN4_A" move_addr_port "$NS_B" "$VB" "$OUT4_B" "$OUT4_B2" 24 "$IF_B" 51833
		check_endpoint "(a) A follows B's new address" "$IF_A" "$PUB_B" "$OUT4_B2:51833"
	else
		moving_ping "(a) B pings A while B's address moves $OUT4_B -> $OUT4_B2" "$NS_B" "$IN4_A" \
			move_addr "$NS_B" "$VB" "$OUT4_B" "$OUT4_B2" 24
		check_endpoint "(a) A follows B's new address" "$IF_A" "$PUB_B" "$OUT4_B2:51831"
	fi
	ping_check "(a) ping A -> B after B's address change" "$NS_A" "$IN4_B" 3

	log "(b) our listen port moves"
	set_port "$NS_A" "$IF_A" 51900 || fail "wg set $IF_A listen-port 51900 failed"
	check "(b) wg show $IF_A listen-port: 51900" test "$(wg show "$IF_A" listen-port)" = 51900
	ping_check "(b) one ping A -> B from the new port" "$NS_A" "$IN4_B" 1
	check_endpoint "(b) B saw our new port after one packet" "$IF_B" "$PUB_A" "$OUT4_A:51900"
	moving_ping "(b) A pings B while A's listen port becomes 51901" "$NS_A" "$IN4_B" \
		set_port "$NS_A" "$IF_A" 51901
	check_endpoint "(b) B follows our second port change" "$IF_B" "$PUB_A" "$OUT4_A:51901"
	ping_check "(b) ping B -> A on our new port" "$NS_B" "$IN4_A" 3

	log "(c) our address moves"
	ping_check "(c) ping B -> A (A's sticky source becomes $OUT4_A)" "$NS_B" "$IN4_A" 2
	n=$(grep -cF "no longer usable, cleared" "$LOG_A" || true)
	moving_ping "(c) A pings B while A's address moves $OUT4_A -> $OUT4_A2" "$NS_A" "$IN4_B" \
		move_addr "$NS_A" "$VA" "$OUT4_A" "$OUT4_A2" 24
	check "(c) A logged that the stale source was cleared" \
		test "$(grep -cF "no longer usable, cleared" "$LOG_A" || true)" -gt "$n"
	check_endpoint "(c) B sees our new address" "$IF_B" "$PUB_A" "$OUT4_A2:51901"
	ping_check "(c) ping B -> A at our new address" "$NS_B" "$IN4_A" 3
	check_endpoint "(c) ... answered from the new address (B's endpoint unchanged)" \
		"$IF_B" "$PUB_A" "$OUT4_A2:51901"
	n=$(grep -cF "no longer usable, cleared" "$LOG_A" || true)
	MOVE_MAX_LOST=$MAX_GAP_LOST moving_ping \
		"(c) A pings B while A's address is removed, then $OUT4_A3 added" "$NS_A" "$IN4_B" \
		move_addr_gap "$NS_A" "$VA" "$OUT4_A2" "$OUT4_A3" 24
	check "(c) A logged that the stale source was cleared again" \
		test "$(grep -cF "no longer usable, cleared" "$LOG_A" || true)" -gt "$n"
	check_endpoint "(c) B sees our new address" "$IF_B" "$PUB_A" "$OUT4_A3:51901"
	ping_check "(c) ping B -> A at our new address" "$NS_B" "$IN4_A" 3
}

sc_ipv6() {
	local flavour=$1 tag=$2 n
	pair "$flavour" "$tag" 6
	log "(d) IPv6 endpoints"
	ping_check "(d) ping A -> B, IPv4 inner over IPv6" "$NS_A" "$IN4_B" 3
	ping_check "(d) ping6 A -> B, IPv6 inner over IPv6" "$NS_A" "$IN6_B" 3
	ping_check "(d) ping B -> A, IPv4 inner over IPv6" "$NS_B" "$IN4_A" 3
	ping_check "(d) ping6 B -> A, IPv6 inner over IPv6" "$NS_B" "$IN6_A" 3
	check_endpoint "(d) A's endpoint for B" "$IF_A" "$PUB_B" "[$OUT6_B]:$PORT_B"
	check_endpoint "(d) B's endpoint for A" "$IF_B" "$PUB_A" "[$OUT6_A]:$PORT_A"
	moving_ping "(d) B pings6 A while B's listen port becomes 51832" "$NS_B" "$IN6_A" \
		set_port "$NS_B" "$IF_B" 51832
	check_endpoint "(d) A follows B's new port" "$IF_A" "$PUB_B" "[$OUT6_B]:51832"
	moving_ping "(d) B pings6 A while B's address moves $OUT6_B -> $OUT6_B2" "$NS_B" "$IN6_A" \
		move_addr "$NS_B" "$VB" "$OUT6_B" "$OUT6_B2" 64
	check_endpoint "(d) A follows B's new address" "$IF_A" "$PUB_B" "[$OUT6_B2]:51832"
	n=$(grep -cF "no longer usable, cleared" "$LOG_A" || true)
	moving_ping "(d) A pings6 B while A's address moves $OUT6_A -> $OUT6_A2" "$NS_A" "$IN6_B" \
		move_addr "$NS_A" "$VA" "$OUT6_A" "$OUT6_A2" 64
	check "(d) A logged that the stale IPv6 source was cleared" \
		test "$(grep -cF "no longer usable, cleared" "$LOG_A" || true)" -gt "$n"
	check_endpoint "(d) B sees our new address" "$IF_B" "$PUB_A" "[$OUT6_A2]:$PORT_A"
	ping_check "(d) ping B -> A, IPv4 inner, at our new address" "$NS_B" "$IN4_A" 3
}

i=0
for f in $FLAVOURS; do
	i=$((i + 1))
	scenario "IPv4 roaming against wireguard-go ($f)" sc_ipv4 "$f" "$i"
	scenario "IPv6 endpoints and roaming against wireguard-go ($f)" sc_ipv6 "$f" "${i}6"
done
finish
