#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# shellcheck disable=SC2317  # functions are called through scenario()
#
# altuntun-cli --netns NS: the daemon must never keep NS alive, and must end
# cleanly when its interface goes:
#   - `ip netns del NS` under a running daemon (after traffic through the
#     tunnel): NS is really destroyed, the daemon is gone within 5 s, with
#     its socket, and nothing is left in any namespace;
#   - the last process of an `unshare -n` namespace (--netns pid:PID) exits;
#   - `ip -n NS link del IF`;
#   - the interface moved to yet other namespaces (and home): followed, it
#     keeps carrying traffic and its MTU changes are seen; then its new
#     namespace is deleted.
#
#   C (container)  IF 10.211.0.1/24        <- altuntun-cli --netns C, run in H
#   H (home)       veth 10.210.0.1/24, the daemon and its UDP socket
#   P (peer)       veth 10.210.0.2/24, wireguard-go IFP 10.211.0.2/24

# shellcheck source=tests/netns/lib.sh
. "$(dirname "$0")/lib.sh"
require_root
require_cmd wg ip ping unshare nsenter stat

CLI=$ALTUNTUN_CLI
[[ -x $CLI ]] || fail "$CLI not built (make all)"

OUT_H=10.210.0.1 OUT_P=10.210.0.2
IN_C=10.211.0.1 IN_P=10.211.0.2
PORT_H=51820 PORT_P=51821
LIMIT_MS=5000

no_link_here() { ! ip link show "$1" >/dev/null 2>&1; }
no_process() { ! pgrep -f -- "$1" >/dev/null; }
ms_now() { date +%s%3N; }
ns_ino() { stat -L -c %i "$1"; }

# No temporary TUN ("att" + 8 hex digits) in namespace NS ("" = here).
no_temp_tun() {
	local out
	if [[ -n $1 ]]; then out=$(ip -n "$1" -o link show); else out=$(ip -o link show); fi
	! grep -qE '^[0-9]+: att[0-9a-f]{8}[:@]' <<<"$out"
}

# True while some process has network namespace INO.
ns_in_use() {
	local f
	for f in /proc/[0-9]*/ns/net; do
		[[ $(readlink "$f" 2>/dev/null) == "net:[$1]" ]] && return 0
	done
	return 1
}
ns_unused() { ! ns_in_use "$1"; }

# Waits up to LIMIT_MS for PID to end. Sets EXIT_MS (time since T0_MS) and
# EXIT_RC (its status); fails the test if it is still running.
wait_exit() {
	local pid=$1 what=$2
	while at_alive "$pid"; do
		if (($(ms_now) - T0_MS > LIMIT_MS)); then
			soft_fail "$what: the daemon still runs after $((LIMIT_MS / 1000)) s"
			fail "giving up"
		fi
		sleep 0.01
	done
	EXIT_MS=$(($(ms_now) - T0_MS))
	EXIT_RC=0
	wait "$pid" 2>/dev/null || EXIT_RC=$?
	pass "$what: the daemon exited after $EXIT_MS ms (status $EXIT_RC)"
	log "MEASURE $what: ${EXIT_MS} ms"
}

# Nothing of daemon PID (interface IF, socket SOCK) is left anywhere.
nothing_left() {
	local pid=$1 ifc=$2 sock=$3 ns
	check "status 0" test "$EXIT_RC" = 0
	check "socket $sock.sock removed" no_file "$WG_RUN_DIR/$sock.sock"
	check "no process: ls -l /proc/$pid/ns/net finds nothing" \
		bash -c "! ls -l /proc/$pid/ns/net 2>/dev/null"
	check "no altuntun-cli for $ifc left" no_process "altuntun-cli .*$ifc\$"
	check "no $ifc on the host" no_link_here "$ifc"
	check "no temporary TUN on the host" no_temp_tun ""
	for ns in "${AT_NS[@]}"; do
		check "no $ifc in $ns" no_link_in "$ns" "$ifc"
		check "no temporary TUN in $ns" no_temp_tun "$ns"
	done
}

ping_check() {
	local what=$1 ns=$2 dst=$3 count=${4:-5} out
	if out=$(ping_stats "$ns" "$dst" "$count"); then
		pass "$what: $out"
	else
		soft_fail "$what: $out"
	fi
}

# H, C and P, the veth, wireguard-go in P, the daemon with IF in C (extra
# daemon options in ARGS) and the tunnel up. Sets H C P IFP IF PID LOG PUB_P.
setup() {
	local ka kp pub_a
	H=$(ns_name h)
	C=$(ns_name c)
	P=$(ns_name p)
	IFP=$(if_name p)
	IF=$(if_name a)
	ns_new "$H"
	ns_new "$C"
	ns_new "$P"
	veth_pair "$H" "$(if_name vh)" "$P" "$(if_name vp)"
	addr "$H" "$(if_name vh)" "$OUT_H/24"
	addr "$P" "$(if_name vp)" "$OUT_P/24"
	start_wggo "$P" "$IFP" debian
	start_altuntun "$H" "$IF" --netns "$C" -v "$@"
	PID=$AT_LAST_PID
	LOG=$AT_TMP/altuntun-$IF.log
	ka=$(genkey)
	kp=$(genkey)
	pub_a=$(pubkey "$ka")
	PUB_P=$(pubkey "$kp")
	wg set "$IF" private-key "$(keyfile "$ka")" listen-port "$PORT_H" \
		peer "$PUB_P" endpoint "$OUT_P:$PORT_P" allowed-ips "$IN_P/32" ||
		fail "wg set $IF failed"
	wg_in "$P" set "$IFP" private-key "$(keyfile "$kp")" listen-port "$PORT_P" \
		peer "$pub_a" endpoint "$OUT_H:$PORT_H" allowed-ips "$IN_C/32" ||
		fail "wg set $IFP failed"
	addr "$C" "$IF" "$IN_C/24"
	addr "$P" "$IFP" "$IN_P/24"
}

# Deletes namespace NS as `ip netns del` does, forgetting it for cleanup.
netns_del() {
	local ns=$1 i
	ip netns del "$ns" || fail "ip netns del $ns failed"
	for i in "${!AT_NS[@]}"; do
		[[ ${AT_NS[$i]} == "$ns" ]] && unset 'AT_NS[i]'
	done
	AT_NS=("${AT_NS[@]}")
}

# ---- scenarios -------------------------------------------------------------------

sc_netns_del() {
	local ino nsid
	setup
	ping_check "ping C -> P through the tunnel" "$C" "$IN_P"
	ino=$(ns_ino "/var/run/netns/$C")
	nsid=$(ip -n "$H" netns list-id | awk -v n="$C)" '$NF == n { print $2 }')
	check "H has an nsid for C (${nsid:-none})" test -n "$nsid"
	T0_MS=$(ms_now)
	netns_del "$C"
	wait_exit "$PID" "ip netns del $C"
	check "it said why" file_has "$LOG" "stopping: the interface was deleted"
	nothing_left "$PID" "$IF" "$IF"
	# The namespace itself was destroyed, not just unnamed: no process is
	# in it and home's nsid for it is gone (nsids go with the namespace).
	check "namespace C (inode $ino) is not in use by any process" ns_unused "$ino"
	check "H's nsid $nsid for C is gone (C was destroyed)" \
		wait_for 5 bash -c "! ip -n '$H' netns list-id | grep -q '^nsid $nsid '"
	ping_check "wireguard-go in P still runs (its own tunnel address)" "$P" "$IN_P" 1
}

sc_sleeper_exits() {
	local h ifc pid sleeper i
	h=$(ns_name h)
	ns_new "$h"
	bg_in "$h" sleeper unshare -n sleep 600
	sleeper=$AT_LAST_PID
	for ((i = 0; i < 50; i++)); do
		[[ $(readlink "/proc/$sleeper/exe" 2>/dev/null) == */sleep ]] && break
		sleep 0.1
	done
	ifc=$(if_name s)
	start_altuntun "$h" "$ifc" --netns "pid:$sleeper" -v
	pid=$AT_LAST_PID
	check "$ifc is in the sleeper's namespace" \
		quiet nsenter -t "$sleeper" -n ip link show "$ifc"
	T0_MS=$(ms_now)
	kill -KILL "$sleeper"
	wait "$sleeper" 2>/dev/null || true
	wait_exit "$pid" "the namespace's last process exited"
	nothing_left "$pid" "$ifc" "$ifc"
}

sc_link_del() {
	setup
	ping_check "ping C -> P" "$C" "$IN_P" 2
	T0_MS=$(ms_now)
	ip -n "$C" link del "$IF" || fail "ip -n $C link del $IF failed"
	wait_exit "$PID" "ip -n C link del $IF"
	check "it said why" file_has "$LOG" "stopping: the interface was deleted"
	nothing_left "$PID" "$IF" "$IF"
	check "C itself is still there" bash -c "ip netns list | grep -qw '$C'"
}

# MODE "single": --disable-drop-privileges, one process that follows the
# link everywhere. MODE "privsep" (the default set-up): the protocol process
# has no CAP_NET_ADMIN, so it asks the monitor where the link went
# (link_watch.h: link_watch_set_locator); it must follow just the same.
sc_moved() {
	local mode=$1 d
	if [[ $mode == single ]]; then setup --disable-drop-privileges; else setup; fi
	d=$(ns_name d)
	ns_new "$d"
	ping_check "ping C -> P" "$C" "$IN_P" 2

	ip -n "$C" link set "$IF" netns "$d" || fail "cannot move $IF to $d"
	check "moved to D: followed (log)" wait_for 5 file_has "$LOG" "is now in the namespace with nsid"
	sleep 0.5
	check "moved to D: the daemon keeps running" at_alive "$PID"
	# Addresses do not move with a link.
	addr "$d" "$IF" "$IN_C/24"
	ping_check "moved to D: ping D -> P through the same daemon" "$d" "$IN_P" 3
	ip -n "$d" link set "$IF" mtu 1280
	check "moved to D: MTU 1280 followed (log)" wait_for 5 file_has "$LOG" "MTU of $IF is now 1280"

	ip -n "$d" link set "$IF" netns "$H" || fail "cannot move $IF home"
	check "moved home: followed (log)" wait_for 5 file_has "$LOG" "is now in the home namespace"
	ip -n "$H" link set "$IF" mtu 1300
	check "moved home: MTU 1300 followed (log)" wait_for 5 file_has "$LOG" "MTU of $IF is now 1300"
	check "moved home: the daemon keeps running" at_alive "$PID"

	ip -n "$H" link set "$IF" netns "$d" || fail "cannot move $IF to $d again"
	sleep 0.5
	ip -n "$d" link set "$IF" mtu 1340
	check "back in D: MTU 1340 followed (log)" wait_for 5 file_has "$LOG" "MTU of $IF is now 1340"
	T0_MS=$(ms_now)
	netns_del "$d"
	wait_exit "$PID" "ip netns del D (where the link had moved)"
	nothing_left "$PID" "$IF" "$IF"
}

scenario "ip netns del under a running daemon" sc_netns_del
scenario "the last process of the namespace exits (pid:PID)" sc_sleeper_exits
scenario "ip -n C link del IF" sc_link_del
scenario "the interface moved to other namespaces and home (one process)" sc_moved single
scenario "the interface moved to other namespaces and home (privilege-separated)" sc_moved privsep
finish
