#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Rekeying across REKEY_AFTER_TIME (120 s), the one long test (~140 s):
# altuntun-cli (A) pings Debian's wireguard-go (B) every 0.2 s for 135 s.
# A initiated the session, so A starts the new handshake when it sends on
# a session older than 120 s. Not one ping may be lost, and
# `wg show A latest-handshakes` must change once, about 120 s after the
# first handshake (B's too).
#
#   A  veth 192.168.190.1/24   tunnel 10.190.0.1/24   altuntun-cli
#   B  veth 192.168.190.2/24   tunnel 10.190.0.2/24   wireguard-go (Debian)
#
# Environment: REKEY_PEER (debian or modern, default debian).

# shellcheck source=tests/netns/lib.sh
. "$(dirname "$0")/lib.sh"
require_root
require_cmd wg ip ping

REKEY_PEER=${REKEY_PEER:-debian}
COUNT=660 # x 0.2 s = 132 s, ~135 s with ping's drift
OUT_A=192.168.190.1 OUT_B=192.168.190.2
IN_A=10.190.0.1 IN_B=10.190.0.2
PORT_A=51820 PORT_B=51821

NS_A=$(ns_name a) NS_B=$(ns_name b)
IF_A=$(if_name a) IF_B=$(if_name b)
ns_new "$NS_A"
ns_new "$NS_B"
veth_pair "$NS_A" "$(if_name va)" "$NS_B" "$(if_name vb)"
addr "$NS_A" "$(if_name va)" "$OUT_A/24"
addr "$NS_B" "$(if_name vb)" "$OUT_B/24"
start_altuntun "$NS_A" "$IF_A" -v
start_wggo "$NS_B" "$IF_B" "$REKEY_PEER"
KA=$(genkey) KB=$(genkey)
PUB_A=$(pubkey "$KA") PUB_B=$(pubkey "$KB")
wg_in "$NS_A" set "$IF_A" private-key "$(keyfile "$KA")" listen-port "$PORT_A" \
	peer "$PUB_B" allowed-ips "$IN_B/32" endpoint "$OUT_B:$PORT_B" || fail "wg set on A failed"
wg_in "$NS_B" set "$IF_B" private-key "$(keyfile "$KB")" listen-port "$PORT_B" \
	peer "$PUB_A" allowed-ips "$IN_A/32" endpoint "$OUT_A:$PORT_A" || fail "wg set on B failed"
addr "$NS_A" "$IF_A" "$IN_A/24"
addr "$NS_B" "$IF_B" "$IN_B/24"

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

log "pinging $IN_B from A every 0.2 s, $COUNT pings (~$((COUNT / 5)) s), against wireguard-go ($REKEY_PEER)"
T0=$(now)
ping_bg "$NS_A" rekey-ping "$IN_B" "$COUNT" 0.2
PING_PID=$AT_LAST_PID

wait_for 3 handshake_done "$IF_A" "$PUB_B" || fail "no first handshake within 3 s"
HS0=$(latest_handshake "$IF_A" "$PUB_B")
HSB0=$(latest_handshake "$IF_B" "$PUB_A")
log "first handshake: A $HS0, B $HSB0 (at +$(elapsed "$T0") s)"

# Watch A's and B's latest handshakes until the ping ends.
changes=() last=$HS0 lastb=$HSB0 b_changes=()
while at_alive "$PING_PID"; do
	hs=$(latest_handshake "$IF_A" "$PUB_B")
	hsb=$(latest_handshake "$IF_B" "$PUB_A")
	if [[ $hs != "$last" ]]; then
		changes+=("$((hs - HS0))")
		log "A's latest handshake changed: $last -> $hs (+$((hs - HS0)) s after the first; seen at +$(elapsed "$T0") s)"
		last=$hs
	fi
	if [[ $hsb != "$lastb" ]]; then
		b_changes+=("$((hsb - HSB0))")
		log "B's latest handshake changed: $lastb -> $hsb (+$((hsb - HSB0)) s after the first)"
		lastb=$hsb
	fi
	sleep 0.5
done
wait "$PING_PID" 2>/dev/null || true
log "ping ended at +$(elapsed "$T0") s"

read -r recv sent <<<"$(ping_log_result rekey-ping)"
lost=$(ping_log_lost rekey-ping)
rtt=$(sed -n 's/^rtt .* = \(.*\)$/\1/p' "$AT_TMP/rekey-ping.log")
if [[ $sent == "$COUNT" && $recv == "$sent" ]]; then
	pass "no ping lost across the rekey: $recv/$sent replies (rtt min/avg/max/mdev $rtt)"
else
	soft_fail "pings lost across the rekey: $recv/$sent replies${lost:+, lost icmp_seq $lost}"
fi
if ((${#changes[@]} == 1 && changes[0] >= 119 && changes[0] <= 126)); then
	pass "A rekeyed once, ${changes[0]} s after the first handshake (REKEY_AFTER_TIME 120 s)"
else
	soft_fail "A's handshakes after the first, in seconds: '${changes[*]}' (want one at ~120)"
fi
if ((${#b_changes[@]} == 1 && b_changes[0] >= 119 && b_changes[0] <= 126)); then
	pass "B saw the new handshake too, ${b_changes[0]} s after the first"
else
	soft_fail "B's handshakes after the first, in seconds: '${b_changes[*]}' (want one at ~120)"
fi
check "A's log reports no failed send" bash -c "! grep -q 'not sent' '$AT_TMP/altuntun-$IF_A.log'"
finish
