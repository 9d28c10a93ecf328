#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# shellcheck disable=SC2317  # functions are called through phase()
#
# No heap allocation per packet in the steady state (docs/performance.md,
# "Memory"): both ends are altuntun-cli with build/alloc_count.so preloaded
# (tests/netns/tools/alloc_count.c), which counts malloc, calloc, realloc
# and the aligned allocations of every process in a shared file that the
# test reads from outside. The preload survives the monitor's fork and the
# protocol process's privilege drop and seccomp filter, so the default
# privilege-separated daemon is measured. After a warm-up (handshake,
# first packets of each size, a first TCP burst), 1,000 pings, then 10,000
# pings, then a 2 s iperf3 TCP burst and a 1 s UDP one go through the
# tunnel; no process may allocate more than a small fixed amount in any
# of these phases, however many packets it moved. Last, a UAPI request
# must show up in the protocol process's count (the counter is live).
#
#   A  veth 10.246.0.1/24   tunnel 10.247.0.1/24   altuntun-cli + alloc_count.so
#   B  veth 10.246.0.2/24   tunnel 10.247.0.2/24   altuntun-cli + alloc_count.so

# shellcheck source=tests/netns/lib.sh
. "$(dirname "$0")/lib.sh"
require_root
require_cmd wg ip ping iperf3 od awk pgrep

COUNTER=${ALLOC_COUNT_SO:-$AT_REPO_ROOT/build/alloc_count.so}
[[ -f $COUNTER ]] || fail "$COUNTER not built (make all)"
[[ -x $ALTUNTUN_CLI ]] || fail "$ALTUNTUN_CLI not built (make all)"

OUT_A=10.246.0.1 OUT_B=10.246.0.2
IN_A=10.247.0.1 IN_B=10.247.0.2
PORT_A=51830 PORT_B=51831
# Allocations a process may make in one phase whatever its packet count:
# none are expected; the margin is for rare timer work (none is due in
# these 30 s: no rekey, no keepalive without persistent keepalive).
BOUND=50

# counted_cli NAME: a wrapper that starts altuntun-cli with the counter
# preloaded, counting into $AT_TMP/counts-NAME; prints its path.
counted_cli() {
	local w="$AT_TMP/altuntun-counted-$1"
	cat >"$w" <<-WRAPPER
		#!/bin/sh
		exec env LD_PRELOAD="$COUNTER" ALLOC_COUNT_FILE="$AT_TMP/counts-$1" "$ALTUNTUN_CLI" "\$@"
	WRAPPER
	chmod 0755 "$w"
	echo "$w"
}

# allocs NAME PID: the allocations PID made so far (empty if it has no
# slot). The file: a 32-byte header, then 64 slots of six 8-byte fields
# (pid; malloc, calloc, realloc, aligned and free calls).
allocs() {
	od -An -v -t d8 -w48 -j32 "$AT_TMP/counts-$1" |
		awk -v pid="$2" '$1 == pid && !n++ { print $2 + $3 + $4 + $5 }'
}

NS_A=$(ns_name a) NS_B=$(ns_name b)
IF_A=$(if_name a) IF_B=$(if_name b)
ns_new "$NS_A"
ns_new "$NS_B"
veth_pair "$NS_A" "$(if_name va)" "$NS_B" "$(if_name vb)"
addr "$NS_A" "$(if_name va)" "$OUT_A/24"
addr "$NS_B" "$(if_name vb)" "$OUT_B/24"
REAL_CLI=$ALTUNTUN_CLI
# ALLOC_DAEMON_ARGS: more options for both daemons (e.g. "--threads 2",
# "--no-offload"), for measuring other data paths by hand.
read -r -a EXTRA <<<"${ALLOC_DAEMON_ARGS:-}"
ALTUNTUN_CLI=$(counted_cli a) start_altuntun "$NS_A" "$IF_A" "${EXTRA[@]}"
MON_A=$AT_LAST_PID
ALTUNTUN_CLI=$(counted_cli b) start_altuntun "$NS_B" "$IF_B" "${EXTRA[@]}"
MON_B=$AT_LAST_PID
ALTUNTUN_CLI=$REAL_CLI
ka=$(genkey) kb=$(genkey)
wg_in "$NS_A" set "$IF_A" private-key "$(keyfile "$ka")" listen-port "$PORT_A" \
	peer "$(pubkey "$kb")" endpoint "$OUT_B:$PORT_B" allowed-ips "$IN_B/32" ||
	fail "wg set on A failed"
wg_in "$NS_B" set "$IF_B" private-key "$(keyfile "$kb")" listen-port "$PORT_B" \
	peer "$(pubkey "$ka")" endpoint "$OUT_A:$PORT_A" allowed-ips "$IN_A/32" ||
	fail "wg set on B failed"
addr "$NS_A" "$IF_A" "$IN_A/24"
addr "$NS_B" "$IF_B" "$IN_B/24"

wait_for 10 proto_of "$MON_A" || fail "no protocol process under A's monitor $MON_A"
wait_for 10 proto_of "$MON_B" || fail "no protocol process under B's monitor $MON_B"
PROTO_A=$(proto_of "$MON_A") PROTO_B=$(proto_of "$MON_B")
# "NAME PID LABEL" of every process watched.
PROCS=("a $PROTO_A A-protocol" "b $PROTO_B B-protocol" "a $MON_A A-monitor" "b $MON_B B-monitor")
for p in "${PROCS[@]}"; do
	read -r name pid label <<<"$p"
	n=$(allocs "$name" "$pid")
	[[ -n $n ]] || fail "$label (pid $pid) has no counter slot: the preload did not reach it"
	pass "$label (pid $pid) is counted: $n allocations up to now"
done
check "A's protocol process dropped its privileges (uids $(uids "$PROTO_A"))" \
	test "$(status "$PROTO_A" Uid)" != 0

iperf_ok() { ns_exec "$NS_A" iperf3 -c "$IN_B" "$@" >>"$AT_TMP/iperf3-client.log" 2>&1; }
bg_in "$NS_B" iperf3-server iperf3 -s -B "$IN_B"
wait_for 10 tcp_listening "$NS_B" 5201 || fail "iperf3 server did not start"

# Warm-up: the handshake, the first packet of each path (small packets go
# through libsodium, large ones through OpenSSL's context of the session),
# TCP with offloads (A splits, B coalesces), UDP.
ping_stats "$NS_A" "$IN_B" 3 >/dev/null || fail "no ping through the tunnel"
ns_exec "$NS_A" ping -q -f -c 200 -s 1200 "$IN_B" >/dev/null || fail "warm-up pings failed"
ns_exec "$NS_B" ping -q -f -c 200 "$IN_A" >/dev/null || fail "warm-up pings failed"
iperf_ok -t 1 || fail "warm-up iperf3 failed"
iperf_ok -t 1 -u -b 100M -l 1372 || fail "warm-up iperf3 -u failed"
sleep 0.5

declare -A LAST
snapshot() {
	local p name pid label
	for p in "${PROCS[@]}"; do
		read -r name pid label <<<"$p"
		LAST[$label]=$(allocs "$name" "$pid")
	done
}

# Bytes on A's veth, both ways (not through the UAPI: that would allocate
# in the process measured).
moved() {
	ns_exec "$NS_A" cat "/sys/class/net/$(if_name va)/statistics/rx_bytes" \
		"/sys/class/net/$(if_name va)/statistics/tx_bytes" | awk '{ n += $1 } END { printf "%.0f\n", n }'
}

# phase TITLE PACKETS CMD...: runs CMD, then checks every process's growth
# (PACKETS empty: counted from the bytes moved).
# Namespaces made and deleted all the time, as other tests and container
# runtimes do: every one is a mount change that the monitors' home watch
# reads the mount table for (src/agent/home_watch.c), which must not
# allocate either. Stopped by killing it; the namespace is removed after.
mount_churn() {
	while :; do
		ip netns add "$AT_PREFIX-churn" 2>/dev/null
		ip netns del "$AT_PREFIX-churn" 2>/dev/null
		sleep 0.05
	done
}

phase() {
	local title=$1 packets=$2 p name pid label now grew b0 churn
	shift 2
	snapshot
	b0=$(moved)
	mount_churn &
	churn=$!
	AT_PIDS+=("$churn") # stopped by cleanup too if the phase fails
	"$@" || fail "$title: traffic failed"
	kill "$churn" 2>/dev/null
	wait "$churn" 2>/dev/null || true
	ip netns del "$AT_PREFIX-churn" 2>/dev/null || true
	sleep 0.3
	[[ -n $packets ]] || packets="at least $((($(moved) - b0) / 1514)) datagrams"
	for p in "${PROCS[@]}"; do
		read -r name pid label <<<"$p"
		now=$(allocs "$name" "$pid")
		[[ -n $now ]] || fail "$label (pid $pid) is gone"
		grew=$((now - ${LAST[$label]}))
		if ((grew <= BOUND)); then
			pass "$title: $label made $grew allocations ($packets through A; bound $BOUND)"
		else
			soft_fail "$title: $label made $grew allocations for $packets through A (bound $BOUND)"
		fi
	done
}

flood() { ns_exec "$NS_A" ping -q -f -c "$1" -s "$2" "$IN_B" >/dev/null; }
pings() { flood "$(($1 / 2))" 56 && flood "$(($1 / 2))" 1200; }

# The counts of packets are through A, both ways: each ping is a request
# and a reply; the iperf3 runs move at least (bytes on the veth / 1514)
# datagrams.
phase "1,000 pings" "2,000 packets" pings 1000
phase "10,000 pings" "20,000 packets" pings 10000
phase "2 s iperf3 TCP" "" iperf_ok -t 2
phase "1 s iperf3 UDP, 1372-byte datagrams" "" iperf_ok -t 1 -u -b 300M -l 1372

# The counter is live in the protocol process: a UAPI request allocates.
before=$(allocs a "$PROTO_A")
wg show "$IF_A" >/dev/null
after=$(allocs a "$PROTO_A")
if ((after > before)); then
	pass "the counter is live: one 'wg show' made $((after - before)) allocations in A's protocol process"
else
	soft_fail "a 'wg show' made no allocation in A's protocol process: is the counter running?"
fi
finish
