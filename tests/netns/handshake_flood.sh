#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# A flood of valid handshake initiations (MAC1 right; unknown keys and one
# key the responder knows) from one source, at about 115,000 a second
# (build/bench/hsgen), against the responder's port, while a legitimate
# wireguard-go peer from another address handshakes and pings through it.
# AltunTun demands cookies only from sources over their fair share
# (src/proto/load.c), so the peer must get through at once: within
# FLOOD_BOUND seconds (3), the time measured and printed; the flooder gets
# cookie replies only at its rate limit (20/s). Then a flood from
# FLOOD_SOURCES (1000) addresses (10.88.0.1.., as spoofed ones would be) for
# two seconds: the responder survives it (no restart) and answers cookies.
#
#   flooder 192.168.77.1 --- 192.168.77.2  responder  192.168.78.2 --- 192.168.78.1 legit
#   (and 10.88.0.0/16)                     10.77.0.1 (tunnel)          10.77.0.2
#
# Measurements (bench/handshake-flood sets them; not in `make check`):
# FLOOD_COMPARE=1 runs the one-source flood against both wireguard-go builds
# as responders too and prints their times (not asserted: they demand
# cookies from everyone), each given FLOOD_WGGO_WAIT seconds (9).
# FLOOD_MANY_WAIT=S waits up to S seconds for the legitimate peer under the
# many-source flood as well (it pays the cookie round trip, over 5 s) and
# prints the time. FLOOD_RATE (115000) sets the flood's rate.
#
# at-run-alone: the flood takes a whole core for about 6 s, which would
# disturb a test beside it, and a test beside it would slow the responder.
. "$(dirname "$0")/lib.sh"
require_root
require_cmd wg ping ip awk

HSGEN=${HSGEN:-$AT_REPO_ROOT/build/bench/hsgen}
RATE=${FLOOD_RATE:-115000}
BOUND=${FLOOD_BOUND:-3}
WGGO_WAIT=${FLOOD_WGGO_WAIT:-9}
[[ -x $HSGEN ]] || fail "$HSGEN not built (make all)"

F=$(ns_name fl) R=$(ns_name rs) L=$(ns_name lg)
ns_new "$F"
ns_new "$R"
ns_new "$L"
veth_pair "$F" "$(if_name vf)" "$R" "$(if_name vr)"
veth_pair "$L" "$(if_name vl)" "$R" "$(if_name vs)"
addr "$F" "$(if_name vf)" 192.168.77.1/24
addr "$R" "$(if_name vr)" 192.168.77.2/24
addr "$L" "$(if_name vl)" 192.168.78.1/24
addr "$R" "$(if_name vs)" 192.168.78.2/24

# 64 client identities, 4 initiations each, all with the responder's MAC1;
# the responder knows client 0 (every 64th initiation), not the others.
POOL=$AT_TMP/flood.pool CONF=$AT_TMP/flood.conf
"$HSGEN" gen --clients 64 --per-client 4 --pool "$POOL" --conf "$CONF" --port 51820 \
	--jobs 2 >"$AT_TMP/gen.log" || fail "hsgen gen: $(cat "$AT_TMP/gen.log")"
RESP_PRIV=$(awk '/^PrivateKey/ { print $3; exit }' "$CONF")
RESP_PUB=$(pubkey "$RESP_PRIV")
KNOWN_PUB=$(awk '/^PublicKey/ { print $3; exit }' "$CONF")
LEGIT_PRIV=$(genkey)
LEGIT_PUB=$(pubkey "$LEGIT_PRIV")

# kv KEY LINE: the value of KEY=VALUE in an hsgen result line.
kv() { tr ' ' '\n' <<<"$2" | sed -n "s/^$1=//p"; }

# flood_round IMPL WAIT [HSGEN ARGS]: IMPL (altuntun, modern, debian)
# responds; writes "SECONDS" (the legitimate peer's first ping answered after
# the flood had run for a second) or "none" to $AT_TMP/result-IMPL, and
# leaves hsgen's line in $AT_TMP/blast-IMPL.log.
flood_round() {
	local impl=$1 wait=$2 rif lif t0 t1 result=none
	shift 2
	rif=$(if_name "r${impl:0:1}") lif=$(if_name "l${impl:0:1}")
	start_impl "$impl" "$R" "$rif"
	local rpid=$AT_LAST_PID
	wg_in "$R" set "$rif" private-key "$(keyfile "$RESP_PRIV")" listen-port 51820 \
		peer "$KNOWN_PUB" \
		peer "$LEGIT_PUB" allowed-ips 10.77.0.2/32
	addr "$R" "$rif" 10.77.0.1/24
	start_wggo "$L" "$lif" modern
	local lpid=$AT_LAST_PID
	wg_in "$L" set "$lif" private-key "$(keyfile "$LEGIT_PRIV")" \
		peer "$RESP_PUB" endpoint 192.168.78.2:51820 allowed-ips 10.77.0.1/32
	addr "$L" "$lif" 10.77.0.2/24

	bg_in "$F" "blast-$impl" "$HSGEN" blast --pool "$POOL" --to 192.168.77.2:51820 \
		--rate "$RATE" --seconds $((wait + 3)) "$@"
	local fpid=$AT_LAST_PID
	sleep 1
	t0=$(date +%s.%N)
	if ip netns exec "$L" ping -c 1 -i 0.1 -W 1 -w "$wait" 10.77.0.1 >"$AT_TMP/ping-$impl.log" 2>&1; then
		t1=$(date +%s.%N)
		result=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
	fi
	# Traffic is a check for AltunTun under the one-source flood (no hsgen
	# arguments); elsewhere it is measured only.
	if [[ $impl == altuntun && $result != none ]]; then
		local stats
		if stats=$(ping_stats "$L" 10.77.0.1 10); then
			pass "traffic flows during the flood: $stats"
		elif (($# > 0)); then
			log "MEASURED traffic during the flood ($*): $stats"
		else
			soft_fail "traffic flows during the flood: $stats"
		fi
	fi
	stop_pid "$fpid"
	stop_pid "$lpid"
	stop_pid "$rpid"
	echo "$result" >"$AT_TMP/result-$impl"
}

scenario "altuntun under a one-source flood" flood_round altuntun "$BOUND"
at_line=$(cat "$AT_TMP/blast-altuntun.log")
at_time=$(cat "$AT_TMP/result-altuntun" 2>/dev/null || echo none)
log "altuntun: $at_line"
at_secs=$(kv seconds "$at_line")
at_cookie_max=$(awk -v s="$at_secs" 'BEGIN { printf "%d", 5 + 20 * (s + 1) }')
check "the flood ran: $(kv sent "$at_line") initiations in $at_secs s ($(kv sent_per_s "$at_line")/s)" \
	awk -v r="$(kv sent_per_s "$at_line")" 'BEGIN { exit !(r > 10000) }'
check "cookie replies to the flooder as its bucket allows: $(kv cookies "$at_line") (1..$at_cookie_max)" \
	awk -v c="$(kv cookies "$at_line")" -v m="$at_cookie_max" 'BEGIN { exit !(c >= 1 && c <= m) }'
check "the flooder got almost nothing else: $(kv responses "$at_line") responses" \
	test "$(kv responses "$at_line")" -le 5
check "the legitimate peer got through under the flood in $at_time s (bound $BOUND s)" \
	test "$at_time" != none

# many_round SOURCES SECONDS: altuntun responds to a flood from SOURCES
# addresses for SECONDS; hsgen's line in $AT_TMP/blast-many.log.
many_round() {
	local sources=$1 secs=$2 rif
	rif=$(if_name rn)
	start_altuntun "$R" "$rif"
	local rpid=$AT_LAST_PID rlog="$AT_TMP/altuntun-$rif.log"
	wg_in "$R" set "$rif" private-key "$(keyfile "$RESP_PRIV")" listen-port 51820 \
		peer "$KNOWN_PUB" peer "$LEGIT_PUB" allowed-ips 10.77.0.2/32
	ip netns exec "$F" "$HSGEN" blast --pool "$POOL" --to 192.168.77.2:51820 --rate "$RATE" \
		--seconds "$secs" --sources "$sources" --src-net 10.88.0.0 >"$AT_TMP/blast-many.log" 2>&1 ||
		fail "hsgen blast: $(cat "$AT_TMP/blast-many.log")"
	check "the protocol process survived the flood from $sources sources (no restart)" \
		bash -c "! grep -q 'was killed\|restarting the protocol process' '$rlog'"
	stop_pid "$rpid"
}

ip -n "$F" route add local 10.88.0.0/16 dev lo
ip -n "$R" route add 10.88.0.0/16 via 192.168.77.1
SOURCES=${FLOOD_SOURCES:-1000}
scenario "altuntun under a flood from $SOURCES sources" many_round "$SOURCES" 2
many_line=$(cat "$AT_TMP/blast-many.log")
log "altuntun, $SOURCES sources: $many_line"
check "every source over its share gets cookie replies: $(kv cookies "$many_line") for $(kv sent "$many_line") initiations" \
	test "$(kv cookies "$many_line")" -gt "$SOURCES"

if [[ ${FLOOD_MANY_WAIT:-0} != 0 ]]; then
	scenario "altuntun under a flood from $SOURCES sources, legitimate peer" flood_round altuntun \
		"$FLOOD_MANY_WAIT" --sources "$SOURCES" --src-net 10.88.0.0
	line=$(cat "$AT_TMP/blast-altuntun.log")
	t=$(cat "$AT_TMP/result-altuntun" 2>/dev/null || echo none)
	log "altuntun, $SOURCES sources, legitimate peer: $line"
	log "MEASURED altuntun, $SOURCES sources: legitimate peer through after" \
		"${t/none/more than $FLOOD_MANY_WAIT} s (sent/s $(kv sent_per_s "$line"), cookie replies $(kv cookies "$line"))"
fi

if [[ ${FLOOD_COMPARE:-0} != 0 ]]; then
	for impl in modern debian; do
		scenario "wireguard-go $impl under the same one-source flood" flood_round "$impl" "$WGGO_WAIT"
		line=$(cat "$AT_TMP/blast-$impl.log")
		t=$(cat "$AT_TMP/result-$impl" 2>/dev/null || echo none)
		log "wireguard-go $impl: $line"
		log "MEASURED wireguard-go $impl: legitimate peer through after ${t/none/more than $WGGO_WAIT} s" \
			"(sent/s $(kv sent_per_s "$line"), cookie replies $(kv cookies "$line")," \
			"responses $(kv responses "$line"))"
	done
fi
log "MEASURED altuntun: legitimate peer through after $at_time s (sent/s $(kv sent_per_s "$at_line")," \
	"cookie replies $(kv cookies "$at_line"), responses $(kv responses "$at_line"))"
finish
