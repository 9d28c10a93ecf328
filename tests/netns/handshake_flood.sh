#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# shellcheck disable=SC2317  # functions are called through scenario()
#
# A flood of valid handshake initiations (MAC1 right; unknown keys and one
# key the responder knows) from one source, at about 115,000 a second
# (build/bench/hsgen), against the responder's port, while a legitimate
# wireguard-go peer from another address handshakes and pings through it.
# AltunTun demands cookies only from sources over their fair share
# (src/proto/load.c), so the peer must get through at once: within
# FLOOD_BOUND seconds (3), the time measured and printed; the flooder gets
# cookie replies only at its rate limit (20/s).
#
# Then the same rate from FLOOD_SOURCES (1000) addresses (10.88.0.1.., as
# spoofed ones would be): every source, the legitimate peer's included, must
# pay the cookie round trip (its retransmission comes REKEY_TIMEOUT, 5 s,
# plus up to 1/3 s after the cookie). The responder must survive it (no
# restart), answer every source with cookies, let the peer in within
# FLOOD_MANY_BOUND seconds (12: one lost round trip and 2 s of a loaded
# machine to spare) and then carry at least FLOOD_MANY_PINGS (8) of 10
# pings while the flood goes on.
#
#   flooder 192.168.77.1 --- 192.168.77.2  responder  192.168.78.2 --- 192.168.78.1 legit
#   (and 10.88.0.0/16)                     10.77.0.1 (tunnel)          10.77.0.2
#
# Measurements (bench/handshake-flood sets them; not in `make check`):
# FLOOD_COMPARE=1 runs both floods against both wireguard-go builds as
# responders too and prints their times (not asserted: they demand cookies
# from everyone), each given FLOOD_WGGO_WAIT seconds (9, and 12 for the
# many-source flood). FLOOD_MANY_WAIT=S waits up to S seconds (default the
# bound) for the legitimate peer under the many-source flood. FLOOD_RATE
# (115000) sets the flood's rate.
#
# at-run-alone: the flood takes a whole core for up to 16 s, which would
# disturb a test beside it, and a test beside it would slow the responder.
# shellcheck source=tests/netns/lib.sh
. "$(dirname "$0")/lib.sh"
require_root
require_cmd wg ping ip awk

HSGEN=${HSGEN:-$AT_REPO_ROOT/build/bench/hsgen}
RATE=${FLOOD_RATE:-115000}
BOUND=${FLOOD_BOUND:-3}
WGGO_WAIT=${FLOOD_WGGO_WAIT:-9}
SOURCES=${FLOOD_SOURCES:-1000}
MANY_BOUND=${FLOOD_MANY_BOUND:-12}
MANY_WAIT=${FLOOD_MANY_WAIT:-$MANY_BOUND}
MANY_PINGS=${FLOOD_MANY_PINGS:-8}
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

# no_line PATTERN FILE: FILE has no line matching PATTERN (grep).
no_line() { ! grep -q "$1" "$2"; }

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
	# Traffic is a check for AltunTun: every ping under the one-source
	# flood (no hsgen arguments), MANY_PINGS of 10 under the many-source one.
	if [[ $impl == altuntun && $result != none ]]; then
		local stats
		if stats=$(ping_stats "$L" 10.77.0.1 10); then
			pass "traffic flows during the flood: $stats"
		elif (($# > 0)); then
			check "traffic flows during the flood ($*): $stats (at least $MANY_PINGS of 10)" \
				test "${stats%%/*}" -ge "$MANY_PINGS"
		else
			soft_fail "traffic flows during the flood: $stats"
		fi
	fi
	if [[ $impl == altuntun ]]; then
		check "the protocol process survived the flood (no restart)" \
			no_line 'was killed\|restarting the protocol process' "$AT_TMP/altuntun-$rif.log"
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

ip -n "$F" route add local 10.88.0.0/16 dev lo
ip -n "$R" route add 10.88.0.0/16 via 192.168.77.1
many_args=(--sources "$SOURCES" --src-net 10.88.0.0)
scenario "altuntun under a flood from $SOURCES sources, legitimate peer" flood_round altuntun \
	"$MANY_WAIT" "${many_args[@]}"
many_line=$(cat "$AT_TMP/blast-altuntun.log")
many_time=$(cat "$AT_TMP/result-altuntun" 2>/dev/null || echo none)
log "altuntun, $SOURCES sources: $many_line"
check "the flood ran: $(kv sent "$many_line") initiations from $SOURCES sources in $(kv seconds "$many_line") s ($(kv sent_per_s "$many_line")/s)" \
	awk -v r="$(kv sent_per_s "$many_line")" 'BEGIN { exit !(r > 10000) }'
check "every source over its share gets cookie replies: $(kv cookies "$many_line") for $(kv sent "$many_line") initiations" \
	test "$(kv cookies "$many_line")" -gt "$SOURCES"
check "the legitimate peer paid one cookie round trip and got through in $many_time s (bound $MANY_BOUND s)" \
	awk -v t="$many_time" -v b="$MANY_BOUND" 'BEGIN { exit !(t != "none" && t + 0 <= b) }'

if [[ ${FLOOD_COMPARE:-0} != 0 ]]; then
	for impl in modern debian; do
		scenario "wireguard-go $impl under the same one-source flood" flood_round "$impl" "$WGGO_WAIT"
		line=$(cat "$AT_TMP/blast-$impl.log")
		t=$(cat "$AT_TMP/result-$impl" 2>/dev/null || echo none)
		log "wireguard-go $impl: $line"
		log "MEASURED wireguard-go $impl: legitimate peer through after ${t/none/more than $WGGO_WAIT} s" \
			"(sent/s $(kv sent_per_s "$line"), cookie replies $(kv cookies "$line")," \
			"responses $(kv responses "$line"))"
		scenario "wireguard-go $impl under the same $SOURCES-source flood" flood_round "$impl" \
			"$MANY_WAIT" "${many_args[@]}"
		line=$(cat "$AT_TMP/blast-$impl.log")
		t=$(cat "$AT_TMP/result-$impl" 2>/dev/null || echo none)
		log "wireguard-go $impl, $SOURCES sources: $line"
		log "MEASURED wireguard-go $impl, $SOURCES sources: legitimate peer through after" \
			"${t/none/more than $MANY_WAIT} s (sent/s $(kv sent_per_s "$line"), cookie replies" \
			"$(kv cookies "$line"))"
	done
fi
log "MEASURED altuntun: legitimate peer through after $at_time s (sent/s $(kv sent_per_s "$at_line")," \
	"cookie replies $(kv cookies "$at_line"), responses $(kv responses "$at_line"))"
log "MEASURED altuntun, $SOURCES sources: legitimate peer through after" \
	"${many_time/none/more than $MANY_WAIT} s (sent/s $(kv sent_per_s "$many_line"), cookie replies" \
	"$(kv cookies "$many_line"))"
finish
