#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# shellcheck disable=SC2317  # functions are called through in_parallel
#
# The peer goes away mid-transfer and the tunnel comes back without anyone
# touching altuntun-cli (A) again. Two pairs, run at the same time, A against
# Debian's wireguard-go (B; FLAVOUR=modern for the other build):
#
# (restart) A initiates and sends a TRANSFER_MB MB file to B over TCP at
#     RATE_KIB KiB/s while pinging B every 0.2 s; MID_KIB KiB in, B is killed
#     (SIGKILL) and a new wireguard-go process is started with the same key,
#     port and peers (A without an endpoint: only A can start the next
#     handshake). A's old session is then useless; A must notice that
#     nothing comes back (KEEPALIVE_TIMEOUT + REKEY_TIMEOUT, 15 s) and
#     handshake again: pings answered again within MAX_RECOVERY_SEC of the
#     kill, the transfer completes and its SHA-256 matches.
# (move) B sends a file to A over TCP and pings A; MID_KIB KiB in, B moves to
#     another address (the old one removed) and another port at once. A
#     must follow B's first packet from there (roaming): its endpoint for B
#     becomes the new one within MAX_RECOVERY_SEC, the transfer completes and
#     its SHA-256 matches, and A reaches B at the new endpoint.
#     (roaming.sh makes these moves under pings only, no transfer.)
#
#   A  veth 192.168.238.1 / .239.1   tunnel 10.238.0.1 / 10.239.0.1
#   B  veth 192.168.238.2 / .239.2   tunnel 10.238.0.2 / 10.239.0.2
#      moved to 192.168.239.3, port 51831

# shellcheck source=tests/netns/lib.sh
. "$(dirname "$0")/lib.sh"
require_root
require_cmd wg ip ping python3 sha256sum

FLAVOUR=${FLAVOUR:-debian}
TRANSFER_MB=${TRANSFER_MB:-2}
RATE_KIB=${RATE_KIB:-1024}
# The peer goes away once this much of the transfer has been sent.
MID_KIB=${MID_KIB:-512}
MAX_RECOVERY_SEC=${MAX_RECOVERY_SEC:-20}

# sent_over IF PEER BYTES: IF has sent PEER more than BYTES.
sent_over() { (($(peer_tx "$1" "$2") > $3)); }

# replied_after LOGNAME SEQ: a ping in LOGNAME was answered after icmp_seq SEQ.
replied_after() { (($(ping_log_last_seq "$1") > $2)); }

run_restart() {
	local t_kill seq res waited hs0
	eval "${PAIR[restart]}"
	# TCP doubles its retransmission timeout through the 15 s without a
	# session and would wait up to 25 s to try again; what is measured here
	# is the tunnel, so cap it (this namespace only) at 1 s, and let it try
	# more often before it gives up.
	ip netns exec "$TP_NS_A" sysctl -qw net.ipv4.tcp_rto_max_ms=1000 net.ipv4.tcp_retries2=60 >/dev/null ||
		result FAIL "restart: cannot set net.ipv4.tcp_rto_max_ms and tcp_retries2"
	head -c $((TRANSFER_MB << 20)) /dev/urandom >"$AT_TMP/data-restart"
	ping_bg "$TP_NS_A" ping-restart "$TP_IN_B" 200 0.2
	(tcp_transfer "$TP_NS_A" "$TP_NS_B" "$TP_IN_B" 5003 "$AT_TMP/data-restart" 90 "$RATE_KIB" \
		>"$AT_TMP/transfer-restart" 2>&1; echo "rc=$?" >>"$AT_TMP/transfer-restart") &
	local tpid=$!
	wait_for 15 sent_over "$TP_IF_A" "$TP_PUB_B" $((MID_KIB << 10)) ||
		result FAIL "restart: the transfer did not start within 15 s"
	hs0=$(latest_handshake "$TP_IF_A" "$TP_PUB_B")
	seq=$(ping_log_last_seq ping-restart)
	kill -KILL "$TP_PID_B"
	t_kill=$SECONDS
	wait "$TP_PID_B" 2>/dev/null || true
	# wireguard-go leaves its socket behind when killed; its TUN goes with it,
	# but not always at once: a new one of the same name fails until then.
	rm -f "$WG_RUN_DIR/$TP_IF_B.sock"
	wait_for 5 no_link_in "$TP_NS_B" "$TP_IF_B" ||
		result FAIL "restart: the killed wireguard-go's $TP_IF_B still exists after 5 s"
	start_wggo "$TP_NS_B" "$TP_IF_B" "$FLAVOUR"
	tunnel_pair_config_b
	addr "$TP_NS_B" "$TP_IF_B" "$TP_IN_B/24"
	result PASS "restart: wireguard-go killed at icmp_seq $seq, a new one (pid $AT_LAST_PID) configured after $((SECONDS - t_kill)) s"
	# One reply still in flight may be counted: look 5 pings (1 s) further.
	if wait_for "$MAX_RECOVERY_SEC" replied_after ping-restart $((seq + 5)); then
		waited=$((SECONDS - t_kill))
		result PASS "restart: pings answered again $waited s after the kill (at most $MAX_RECOVERY_SEC s), $(ping_log_longest_gap ping-restart) in a row lost"
	else
		result FAIL "restart: no ping answered within $MAX_RECOVERY_SEC s of the kill"
	fi
	if (($(latest_handshake "$TP_IF_A" "$TP_PUB_B") > hs0)); then
		result PASS "restart: A made a new handshake"
	else
		result FAIL "restart: A made no new handshake"
	fi
	wait "$tpid" || true
	res=$(cat "$AT_TMP/transfer-restart")
	if [[ $res == *"rc=0"* ]]; then
		read -r _ _ waited <<<"$res"
		result PASS "restart: $TRANSFER_MB MB at $RATE_KIB KiB/s through the restart in $waited s, SHA-256 ${res:0:16}... on both ends"
	else
		result FAIL "restart: the transfer through the restart failed: $res"
	fi
}

run_move() {
	local t_move new_ep res waited
	eval "${PAIR[move]}"
	new_ep=192.168.239.3:51831
	head -c $((TRANSFER_MB << 20)) /dev/urandom >"$AT_TMP/data-move"
	ping_bg "$TP_NS_B" ping-move "$TP_IN_A" 40 0.2
	(tcp_transfer "$TP_NS_B" "$TP_NS_A" "$TP_IN_A" 5004 "$AT_TMP/data-move" 90 "$RATE_KIB" \
		>"$AT_TMP/transfer-move" 2>&1; echo "rc=$?" >>"$AT_TMP/transfer-move") &
	local tpid=$!
	# The new address comes in as a secondary one: keep it when the
	# primary goes.
	ip netns exec "$TP_NS_B" sysctl -qw "net.ipv4.conf.$TP_VB.promote_secondaries=1"
	wait_for 15 sent_over "$TP_IF_B" "$TP_PUB_A" $((MID_KIB << 10)) ||
		result FAIL "move: the transfer did not start within 15 s"
	t_move=$SECONDS
	ip -n "$TP_NS_B" addr add 192.168.239.3/24 dev "$TP_VB"
	ip -n "$TP_NS_B" addr del "$TP_OUT_B/24" dev "$TP_VB"
	wg_in "$TP_NS_B" set "$TP_IF_B" listen-port 51831
	result PASS "move: B moved from $TP_OUT_B:$TP_PORT_B to $new_ep"
	if wait_for "$MAX_RECOVERY_SEC" endpoint_is "$TP_IF_A" "$TP_PUB_B" "$new_ep"; then
		result PASS "move: A's endpoint for B followed to $new_ep within $((SECONDS - t_move)) s"
	else
		result FAIL "move: A's endpoint for B is '$(peer_endpoint "$TP_IF_A" "$TP_PUB_B")' after $MAX_RECOVERY_SEC s, want $new_ep"
	fi
	wait "$tpid" || true
	res=$(cat "$AT_TMP/transfer-move")
	if [[ $res == *"rc=0"* ]]; then
		read -r _ _ waited <<<"$res"
		result PASS "move: $TRANSFER_MB MB from B through the move in $waited s, SHA-256 ${res:0:16}... on both ends"
	else
		result FAIL "move: the transfer through the move failed: $res"
	fi
	wait "$AT_LAST_PID" 2>/dev/null || true
	result PASS "move: B's pings to A: $(ping_log_result ping-move | awk '{ print $1 "/" $2 }') answered, at most $(ping_log_longest_gap ping-move) in a row lost"
	if ping_stats "$TP_NS_A" "$TP_IN_B" 3 >/dev/null; then
		result PASS "move: A reaches B at its new endpoint"
	else
		result FAIL "move: A cannot reach B at its new endpoint"
	fi
}

endpoint_is() { [[ $(peer_endpoint "$1" "$2") == "$3" ]]; }
run() { "run_$1"; }

# Both pairs are made here (so cleanup knows them), then run at once.
declare -A PAIR
tunnel_pair r 238 "$FLAVOUR" -v
tunnel_up 15 || fail "restart pair: no traffic before the restart"
PAIR[restart]=$(tunnel_pair_vars)
tunnel_pair m 239 "$FLAVOUR"
tunnel_up 15 || fail "move pair: no traffic before the move"
PAIR[move]=$(tunnel_pair_vars)
in_parallel run restart move
finish
