#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Random datagrams at the listen port: altuntun-cli (A) with a live tunnel to
# the modern wireguard-go (B) while a third host (C, its own veth to A) runs
# tools/udp_garbage.c against A's port for FLOOD_SEC seconds: messages of
# types 1-4 with right and wrong lengths, set reserved bytes, other types,
# random bytes, empty datagrams and sizes up to 65507, from 8 source ports,
# as fast as it can. A pings B through the tunnel all the while. Checks: the
# same protocol process runs afterwards (no crash, no restart), its RSS grew
# by at most MAX_GROWTH_KB, and by at most MAX_HALF2_GROWTH_KB during the
# flood's second half (what grows is warm-up, not a leak), at least
# MIN_DURING_PCT of the pings during the flood were answered, and every
# ping after it is.
#
#   A  veth 192.168.234.1 (to B)   192.168.235.1 (to C)   tunnel 10.234.0.1
#   B  veth 192.168.234.2                                 tunnel 10.234.0.2
#   C  veth                        192.168.235.2
#
# at-run-alone: the flood keeps both cores busy; a test beside it would lose
# packets and its timings, and this one its pings.

# shellcheck source=tests/netns/lib.sh
. "$(dirname "$0")/lib.sh"
require_root
require_cmd wg ip ping

FLOOD_SEC=${FLOOD_SEC:-8}
MAX_GROWTH_KB=${MAX_GROWTH_KB:-4096}
MAX_HALF2_GROWTH_KB=${MAX_HALF2_GROWTH_KB:-256}
MIN_DURING_PCT=${MIN_DURING_PCT:-80}
SENDER=${UDP_GARBAGE:-$AT_REPO_ROOT/build/tests/netns/tools/udp_garbage}
[[ -x $SENDER ]] || fail "$SENDER not built (make all)"

tunnel_pair g 234 modern
NS_C=$(ns_name cg)
ns_new "$NS_C"
veth_pair "$TP_NS_A" "$(if_name vac)" "$NS_C" "$(if_name vc)"
addr "$TP_NS_A" "$(if_name vac)" 192.168.235.1/24
addr "$NS_C" "$(if_name vc)" 192.168.235.2/24
tunnel_up 15 || fail "no traffic through the tunnel before the flood"
pass "tunnel up: $(ping_stats "$TP_NS_A" "$TP_IN_B" 3)"
pid=$(proto_of "$TP_PID_A")
[[ -n $pid ]] || fail "no altuntun protocol process in $TP_NS_A"
rss0=$(status "$pid" VmRSS)

# Two halves: what the first one grows (buffers touched for the first time)
# the second must not grow again.
pings=$((FLOOD_SEC * 10))
ping_bg "$TP_NS_A" ping-flood "$TP_IN_B" "$pings" 0.1
ping_pid=$AT_LAST_PID
rss=("$rss0")
for half in 1 2; do
	out=$(ip netns exec "$NS_C" "$SENDER" 192.168.235.1 "$TP_PORT_A" "$((FLOOD_SEC / 2))" 2>&1) ||
		fail "udp_garbage failed: $out"
	printf '    %s\n' "${out//$'\n'/$'\n'    }"
	rate=$(sed -n 's/^sent \([0-9]*\) datagrams in \([0-9.]*\) s (\([0-9]*\) per second).*/\1 datagrams, \3 per second/p' <<<"$out")
	check "flood, half $half: $rate" test -n "$rate"
	at_alive "$pid" && rss+=("$(status "$pid" VmRSS)")
done
wait "$ping_pid" 2>/dev/null || true

check "the same protocol process (pid $pid) survived the flood" at_alive "$pid"
check "the daemon is still running" at_alive "$TP_PID_A"
rss1=${rss[2]:-0}
check "RSS $rss0 KiB before, ${rss[1]:-?} KiB after half 1, $rss1 KiB after half 2: grew by at most $MAX_GROWTH_KB KiB" \
	test $((rss1 - rss0)) -le "$MAX_GROWTH_KB"
check "half 2 grew RSS by at most $MAX_HALF2_GROWTH_KB KiB ($((rss1 - ${rss[1]:-0})) KiB)" \
	test $((rss1 - ${rss[1]:-0})) -le "$MAX_HALF2_GROWTH_KB"
read -r recv sent <<<"$(ping_log_result ping-flood)"
check "pings through the tunnel during the flood: $recv/$sent answered (at least $MIN_DURING_PCT%)" \
	test $((recv * 100)) -ge $((sent * MIN_DURING_PCT))
check "tunnel after the flood: $(ping_stats "$TP_NS_A" "$TP_IN_B" 5)" ping_stats "$TP_NS_A" "$TP_IN_B" 5
check "no crash or restart in the log" bash -c "! grep -Ei 'killed by signal|restart' '$AT_TMP/altuntun-$TP_IF_A.log'"
finish
