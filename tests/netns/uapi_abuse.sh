#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# UAPI abuse with a live tunnel: altuntun-cli (A) against the modern
# wireguard-go (B), A pinging B every 50 ms through the tunnel the whole
# time, while tools/uapi_abuse.py sends A's UAPI socket garbage, lines far
# past every limit (256 MiB), a request past 64 MiB, two of 34 MiB at once
# (past the 128 MiB shared budget), requests cut short by EOF, clients that
# say nothing, and 300 clients at once (150 silent, 150 sending get=1). Every
# client must be answered with errno=-N or dropped, none left waiting, and
# `wg show` from another client must answer within 5 s (10 s with 300
# connected) while the silent ones stay connected. Afterwards: the same
# protocol process still runs (no restart), its RSS is back near where it
# started and its peak stayed bounded, and at most MAX_LOST pings were lost.
#
#   A  veth 192.168.231.1   tunnel 10.231.0.1
#   B  veth 192.168.231.2   tunnel 10.231.0.2

# shellcheck source=tests/netns/lib.sh
. "$(dirname "$0")/lib.sh"
require_root
require_cmd wg ip ping python3

MAX_LOST=${MAX_LOST:-2}
# Peak RSS over the start: UAPI_MAX_BUFFERED (128 MiB) of requests may be
# held for all clients together, plus 8 MiB of slack.
MAX_PEAK_GROWTH_KB=${MAX_PEAK_GROWTH_KB:-$((136 * 1024))}
# What may stay resident once every client is gone.
MAX_END_GROWTH_KB=${MAX_END_GROWTH_KB:-$((8 * 1024))}

tunnel_pair x 231 modern
tunnel_up 15 || fail "no traffic through the tunnel before the abuse"
pass "tunnel up: $(ping_stats "$TP_NS_A" "$TP_IN_B" 3)"
pid=$(proto_of "$TP_PID_A")
[[ -n $pid ]] || fail "no altuntun protocol process in $TP_NS_A"

bg_in "$TP_NS_A" ping-abuse ping -n -i 0.05 -W 1 "$TP_IN_B"
ping_pid=$AT_LAST_PID
sleep 0.5
out=$(ip netns exec "$TP_NS_A" timeout 200 "$AT_PYTHON" "$AT_LIB_DIR/tools/uapi_abuse.py" \
	"$WG_RUN_DIR/$TP_IF_A.sock" "$TP_IF_A" "$pid" 2>&1) || soft_fail "uapi_abuse.py exited with status $?"
kill -INT "$ping_pid" 2>/dev/null || true
wait "$ping_pid" 2>/dev/null || true

while IFS= read -r line; do
	case $line in
	PASS\ *) pass "${line#PASS }" ;;
	FAIL\ *) soft_fail "${line#FAIL }" ;;
	INFO\ *) log "${line#INFO }" ;;
	RSS\ *) read -r _ rss0 rss1 hwm <<<"$line" ;;
	*) log "uapi_abuse.py: $line" ;;
	esac
done <<<"$out"

[[ -n ${rss0:-} ]] || fail "uapi_abuse.py did not finish"
check "peak RSS $hwm KiB, at most $MAX_PEAK_GROWTH_KB KiB over the start ($rss0 KiB)" \
	test $((hwm - rss0)) -le "$MAX_PEAK_GROWTH_KB"
check "RSS at the end $rss1 KiB, at most $MAX_END_GROWTH_KB KiB over the start ($rss0 KiB)" \
	test $((rss1 - rss0)) -le "$MAX_END_GROWTH_KB"
check "the same protocol process (pid $pid) still serves" test "$(proto_of "$TP_PID_A")" = "$pid"
check "the daemon is still running" at_alive "$TP_PID_A"

read -r recv sent <<<"$(ping_log_result ping-abuse)"
lost=$(ping_log_lost ping-abuse)
if ((sent > 0 && sent - recv <= MAX_LOST)); then
	pass "pings through the tunnel during the abuse: $recv/$sent answered${lost:+ (lost icmp_seq $lost)}"
else
	soft_fail "pings through the tunnel during the abuse: $recv/$sent answered${lost:+ (lost icmp_seq $lost)}"
fi
check "tunnel after the abuse: $(ping_stats "$TP_NS_A" "$TP_IN_B" 3)" ping_stats "$TP_NS_A" "$TP_IN_B" 3
finish
