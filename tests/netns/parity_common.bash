# shellcheck shell=bash
# shellcheck disable=SC2034  # the variables set here are used by the tests
# SPDX-License-Identifier: BSD-3-Clause
#
# The topology of the Linux driver's selftest (tools/testing/selftests/
# wireguard/netns.sh), shared by the parity_*.sh tests; source it after
# lib.sh:
#
#   N1: IF1 192.168.241.1/24 fd00::1/24   <- altuntun-cli --netns N1, run in N0
#   N0: lo 127.0.0.1 ::1, both UDP sockets (ports 10000 and 20000)
#   N2: IF2 192.168.241.2/24 fd00::2/24   <- the peer, started in N0: our
#       agent with --netns N2, or wireguard-go whose TUN is then moved to N2
#       with `ip link set IF2 netns N2` (as wireguard-go's own port of the
#       test does: its socket stays in N0)

PORT1=10000 PORT2=20000
IP1=192.168.241.1 IP2=192.168.241.2
IP1_6=fd00::1 IP2_6=fd00::2

# bp_pair KIND TAG [ARGS...]: the three namespaces, our agent for IF1 (extra
# altuntun-cli ARGS), KIND (altuntun, debian, modern) for IF2, keys and a
# preshared key on both, no endpoints yet. Sets N0 N1 N2 IF1 IF2 KEY1 KEY2
# PUB1 PUB2 PSK PID1 PID2 LOG1 LOG2.
#
# Reference mode: P1_KIND=debian|modern puts that wireguard-go where our
# agent would be (TUN moved to N1, ARGS ignored), to measure what the
# reference implementations do with the same checks.
P1_KIND=${P1_KIND:-altuntun}
bp_pair() {
	local kind=$1 tag=$2
	shift 2
	N0=$(ns_name "0$tag") N1=$(ns_name "1$tag") N2=$(ns_name "2$tag")
	IF1=$(if_name "1$tag") IF2=$(if_name "2$tag")
	ns_new "$N0"
	ns_new "$N1"
	ns_new "$N2"
	if [[ $P1_KIND == altuntun ]]; then
		start_altuntun "$N0" "$IF1" --netns "$N1" "$@"
		PID1=$AT_LAST_PID LOG1=$AT_TMP/altuntun-$IF1.log
	else
		bp_start_peer "$P1_KIND" "$N0" "$N1" "$IF1"
		PID1=$AT_LAST_PID LOG1=$BP_LOG
	fi
	bp_start_peer "$kind" "$N0" "$N2" "$IF2"
	PID2=$AT_LAST_PID LOG2=$BP_LOG
	KEY1=$(genkey) KEY2=$(genkey)
	PUB1=$(pubkey "$KEY1") PUB2=$(pubkey "$KEY2")
	PSK=$(keyfile "$(genpsk)")
	wg set "$IF1" private-key "$(keyfile "$KEY1")" listen-port "$PORT1" \
		peer "$PUB2" preshared-key "$PSK" allowed-ips "$IP2/32,$IP2_6/128" ||
		fail "wg set $IF1 failed"
	wg set "$IF2" private-key "$(keyfile "$KEY2")" listen-port "$PORT2" \
		peer "$PUB1" preshared-key "$PSK" allowed-ips "$IP1/32,$IP1_6/128" ||
		fail "wg set $IF2 ($kind) failed"
	addr "$N1" "$IF1" "$IP1/24"
	addr "$N1" "$IF1" "$IP1_6/24"
	addr "$N2" "$IF2" "$IP2/24"
	addr "$N2" "$IF2" "$IP2_6/24"
}

# bp_start_peer KIND HOME TARGET IF: KIND's interface IF in TARGET, its
# socket in HOME. Sets AT_LAST_PID and BP_LOG.
bp_start_peer() {
	local kind=$1 home=$2 target=$3 ifc=$4
	case $kind in
	altuntun)
		start_altuntun "$home" "$ifc" --netns "$target"
		BP_LOG=$AT_TMP/altuntun-$ifc.log
		;;
	debian | modern)
		start_wggo "$home" "$ifc" "$kind"
		BP_LOG=$AT_TMP/wggo-$kind-$ifc.log
		ip -n "$home" link set "$ifc" netns "$target" ||
			fail "cannot move wireguard-go's $ifc to $target"
		;;
	*) fail "bp_start_peer: unknown kind '$kind'" ;;
	esac
}

# bp_endpoints 4|6: both peers' endpoints on N0's loopback.
bp_endpoints() {
	local lo=127.0.0.1
	[[ $1 == 6 ]] && lo='[::1]'
	wg set "$IF1" peer "$PUB2" endpoint "$lo:$PORT2" || fail "endpoint on $IF1"
	wg set "$IF2" peer "$PUB1" endpoint "$lo:$PORT1" || fail "endpoint on $IF2"
}

# flood NS DEST [COUNT [PING ARGS...]]: ping -f, bounded (COUNT, default
# 10, each reply waited for at most 1 s); prints "R/S" and succeeds if at
# most FLOOD_MAX_LOST (default 1) went unanswered and at least one was
# answered. (The selftest's ping -f fails only when none is answered; one
# loss is allowed because run-all runs two tests at once on two cores, and
# a flood's ping is never sent again.) NS may be pid:PID (the namespace of
# process PID).
flood() {
	local ns=$1 dst=$2 n=${3:-10} out sent recv run
	shift $(($# < 3 ? $# : 3))
	if [[ $ns == pid:* ]]; then run=(nsenter -t "${ns#pid:}" -n); else run=(ip netns exec "$ns"); fi
	out=$("${run[@]}" timeout 20 ping -n -q -f -c "$n" -W 1 "$@" "$dst" 2>&1) || true
	sent=$(sed -n 's/^\([0-9]*\) packets transmitted.*/\1/p' <<<"$out")
	recv=$(sed -n 's/.* \([0-9]*\) received.*/\1/p' <<<"$out")
	echo "${recv:-0}/${sent:-0}"
	[[ -n $sent ]] && ((sent > 0 && ${recv:-0} > 0 && sent - ${recv:-0} <= ${FLOOD_MAX_LOST:-1}))
}

# flood_check LABEL NS DEST [COUNT [PING ARGS...]]
flood_check() {
	local label=$1 out
	shift
	if out=$(flood "$@"); then pass "$label: $out"; else soft_fail "$label: $out"; fi
}

# iperf_summary JSON_FILE: "ok|bad SUMMARY" of one iperf3 -J result (jq,
# not python: a python start costs seconds on a loaded machine). TCP is ok
# from 1 MB received (8 Mbit/s over a second: a stalled connection is not,
# a loaded machine is), UDP when more datagrams arrived than were lost.
iperf_summary() {
	jq -r 'if .error then "bad iperf3: " + .error
		elif .start.test_start.protocol == "TCP" then .end.sum_received |
			(if .bytes >= 1000000 then "ok " else "bad " end) +
			"\(.bits_per_second / 1e6 | floor) Mbit/s received, \(.bytes) bytes"
		else .end.sum |
			(if .packets > .lost_packets then "ok " else "bad " end) +
			"\(.bits_per_second / 1e6 | floor) Mbit/s, \(.lost_packets)/\(.packets) datagrams lost"
		end' "$1" 2>/dev/null || echo "bad no JSON from iperf3: $(head -c 200 "$1" 2>&1)"
}

# iperf NS_SRV ADDR NS_CLI [CLIENT ARGS...]: one iperf3 test of IPERF_T
# seconds (default 1; whole seconds only) from NS_CLI to a one-off server on
# ADDR in NS_SRV. (Not -n BYTES: at MTU 34,736 a few MiB fit in the socket
# buffers, the client ends before the receiver has counted anything.) Prints a summary (Mbit/s, UDP loss); succeeds if the client ended
# well and the receiver got data.
#
# With IPERF_CONCURRENT="4 5 50" (TCP only) that many clients run at once,
# with -P 4, -P 5 and -P 50, each against its own server, as the selftest
# runs its 4, 5 and 50 parallel connections (there as separate iperf3s).
iperf() {
	local srv=$1 dst=$2 cli=$3 rc=0 i p port res out="" ok=1 par=() spids=() cpids=()
	shift 3
	local me=$BASHPID # (a background job has its own BASHPID)
	read -ra par <<<"${IPERF_CONCURRENT:-}"
	((${#par[@]})) || par=("")
	# Runs inside $(...): the servers are not recorded for cleanup, so they
	# are stopped here (and by the namespace's deletion at the latest).
	for i in "${!par[@]}"; do
		port=$((5201 + i))
		bg_in "$srv" "iperf-s-$port" iperf3 -s -1 -B "$dst" -p "$port"
		spids+=("$AT_LAST_PID")
	done
	for i in "${!par[@]}"; do
		if ! wait_for 10 tcp_listening "$srv" $((5201 + i)); then
			for p in "${spids[@]}"; do stop_pid "$p"; done
			echo "iperf3 server did not listen"
			return 1
		fi
	done
	for i in "${!par[@]}"; do
		port=$((5201 + i))
		# shellcheck disable=SC2086  # no -P when par[i] is empty
		ip netns exec "$cli" timeout 60 iperf3 -J -Z -t "${IPERF_T:-1}" -c "$dst" -p "$port" \
			${par[i]:+-P ${par[i]}} "$@" >"$AT_TMP/iperf-$me-$port.json" 2>&1 &
		cpids+=($!)
	done
	for i in "${!par[@]}"; do
		rc=0
		wait "${cpids[i]}" || rc=$?
		res=$(iperf_summary "$AT_TMP/iperf-$me-$((5201 + i)).json")
		((rc == 0)) || res="bad ${res#* } (iperf3 status $rc)"
		[[ $res == ok* ]] || ok=0
		out+="${out:+; }${par[i]:+-P ${par[i]}: }${res#* }"
	done
	for p in "${spids[@]}"; do stop_pid "$p"; done
	echo "$out"
	((ok))
}

# iperf_check LABEL NS_SRV ADDR NS_CLI [CLIENT ARGS...]
iperf_check() {
	local label=$1 out
	shift
	if out=$(iperf "$@"); then pass "$label: $out"; else soft_fail "$label: $out"; fi
}
