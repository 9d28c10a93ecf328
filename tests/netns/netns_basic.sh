#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# shellcheck disable=SC2317  # functions are called through scenario()
#
# altuntun-cli --netns NS IFNAME: the interface lives in NS, the daemon and
# its UDP sockets stay where it was started (WireGuard's "birthplace" rule):
#
#   C (container)  lo + IF 10.211.0.1/24 only   <- altuntun-cli --netns C, run in H
#   H (home)       veth 10.210.0.1/24, the daemon and its UDP socket
#   P (peer)       veth 10.210.0.2/24, wireguard-go IFP 10.211.0.2/24
#
# Namespaces named by name, by path (/proc/PID/ns/net of a process in an
# `unshare -n`, a bind mount in /var/run/netns) and by pid:PID; where each
# piece ends up (links, UDP, every socket of the daemon, namespace fds); a
# ping from C through the tunnel; MTU changes in C followed; an IFNAME
# that exists in C refused cleanly; two daemons with wg0 each in its own
# namespace, told apart by --uapi-name. The daemon's end when its
# namespace goes is in netns_teardown.sh.

# shellcheck source=tests/netns/lib.sh
. "$(dirname "$0")/lib.sh"
require_root
require_cmd wg ip ping ss unshare nsenter timeout stat

CLI=$ALTUNTUN_CLI
[[ -x $CLI ]] || fail "$CLI not built (make all)"

OUT_H=10.210.0.1 OUT_P=10.210.0.2
IN_C=10.211.0.1 IN_P=10.211.0.2
PORT_H=51820 PORT_P=51821

# ---- helpers -------------------------------------------------------------------

link_here() { ip link show "$1" >/dev/null 2>&1; }
no_process() { ! pgrep -f -- "$1" >/dev/null; }
mtu_of() { ip -n "$1" -o link show "$2" | sed -n 's/.* mtu \([0-9]*\) .*/\1/p'; }
# inode of a namespace file or of a process's network namespace
ns_ino() { stat -L -c %i "$1"; }

# No temporary TUN ("att" + 8 hex digits) left in namespace NS ("" = here).
no_temp_tun() {
	local out
	if [[ -n $1 ]]; then out=$(ip -n "$1" -o link show); else out=$(ip -o link show); fi
	! grep -qE '^[0-9]+: att[0-9a-f]{8}[:@]' <<<"$out"
}

# Interface names of NS, sorted, on one line.
links_of() { ip -n "$1" -o link show | awk -F': ' '{ sub(/@.*/, "", $2); print $2 }' | sort | tr '\n' ' '; }

# The socket inodes of process PID.
pid_sockets() {
	local f
	for f in /proc/"$1"/fd/*; do readlink "$f" 2>/dev/null; done |
		sed -n 's/^socket:\[\([0-9]*\)\]$/\1/p' | sort -u
}

# The inodes of every socket that lives in the namespace the command
# prefix ARGS... runs in: netlink, UDP, TCP, raw, unix and packet sockets,
# from its /proc/net.
ns_sockets() {
	# shellcheck disable=SC2016  # awk's $10 is for awk
	"$@" sh -c '
		for f in netlink udp udp6 tcp tcp6 raw raw6; do
			tail -n +2 /proc/net/$f 2>/dev/null | awk "{ print \$10 }"
		done
		tail -n +2 /proc/net/unix | awk "{ print \$7 }"
		tail -n +2 /proc/net/packet 2>/dev/null | awk "{ print \$9 }"' | grep -E '^[0-9]+$' | sort -u
}

# How many of PID's sockets live where the command prefix ARGS... runs.
sockets_of_pid_in() {
	local pid=$1
	shift
	comm -12 <(pid_sockets "$pid") <(ns_sockets "$@") | wc -l
}

# How many fds of PID are namespace NSINO (nsfs files: net:[INO]).
ns_fds_of_pid() {
	local f n=0
	for f in /proc/"$1"/fd/*; do
		[[ $(readlink "$f" 2>/dev/null) == "net:[$2]" ]] && n=$((n + 1))
	done
	echo "$n"
}

# UDP sockets of PID in namespace NS (ss -unlp).
udp_of_pid_in() {
	local run=()
	[[ -n $1 ]] && run=(ip netns exec "$1")
	"${run[@]}" ss -Hunlp | grep -c "pid=$2," || true
}

# Where things are for a daemon PID whose interface IF is in the namespace
# with file NSFILE (reached with RUN_IN, a command prefix), started in H.
check_placement() {
	local pid=$1 ifc=$2 nsfile=$3 h=$4
	shift 4
	local run_in=("$@") ino h_ino n p
	ino=$(ns_ino "$nsfile")
	h_ino=$(ns_ino "/var/run/netns/$h")
	check "$ifc exists in the target namespace" quiet "${run_in[@]}" ip link show "$ifc"
	check "$ifc is not in the home namespace" no_link_in "$h" "$ifc"
	check "no temporary TUN left at home" no_temp_tun "$h"
	check "no temporary TUN left in the target" bash -c "! ${run_in[*]} ip -o link show | grep -qE '^[0-9]+: att[0-9a-f]{8}[:@]'"
	check "the daemon runs in the home namespace" test "$(ns_ino "/proc/$pid/ns/net")" = "$h_ino"
	n=$(udp_of_pid_in "$h" "$pid")
	check "ss -unlp at home shows the daemon's UDP sockets ($n)" test "$n" -ge 1
	n=$("${run_in[@]}" ss -Hunlp | grep -c "pid=$pid," || true)
	check "ss -unlp in the target shows none of them ($n)" test "$n" = 0
	n=$(sockets_of_pid_in "$pid" ip netns exec "$h")
	check "the daemon's sockets live at home ($n of them)" test "$n" -ge 4
	n=$(sockets_of_pid_in "$pid" "${run_in[@]}")
	check "none of the daemon's sockets lives in the target ($n)" test "$n" = 0
	for p in $(pgrep -P "$pid"); do
		n=$(sockets_of_pid_in "$p" "${run_in[@]}")
		check "none of its child $p's ($(cat "/proc/$p/comm")) sockets lives in the target ($n)" test "$n" = 0
		n=$(ns_fds_of_pid "$p" "$ino")
		check "its child $p holds no fd of the target namespace ($n)" test "$n" = 0
	done
	n=$(ns_fds_of_pid "$pid" "$ino")
	check "the daemon holds no fd of the target namespace ($n)" test "$n" = 0
}

# topo: H, C, P, veth H<->P, wireguard-go in P. Sets H C P IFP.
topo() {
	H=$(ns_name h)
	C=$(ns_name c)
	P=$(ns_name p)
	IFP=$(if_name p)
	ns_new "$H"
	ns_new "$C"
	ns_new "$P"
	veth_pair "$H" "$(if_name vh)" "$P" "$(if_name vp)"
	addr "$H" "$(if_name vh)" "$OUT_H/24"
	addr "$P" "$(if_name vp)" "$OUT_P/24"
	start_wggo "$P" "$IFP" debian
}

# tunnel IF: keys, peers, addresses between altuntun's IF (in C) and IFP.
tunnel() {
	local ifc=$1 ka kp
	ka=$(genkey)
	kp=$(genkey)
	PUB_A=$(pubkey "$ka")
	PUB_P=$(pubkey "$kp")
	wg set "$ifc" private-key "$(keyfile "$ka")" listen-port "$PORT_H" \
		peer "$PUB_P" endpoint "$OUT_P:$PORT_P" allowed-ips "$IN_P/32" ||
		fail "wg set $ifc failed"
	wg_in "$P" set "$IFP" private-key "$(keyfile "$kp")" listen-port "$PORT_P" \
		peer "$PUB_A" endpoint "$OUT_H:$PORT_H" allowed-ips "$IN_C/32" ||
		fail "wg set $IFP failed"
	addr "$C" "$ifc" "$IN_C/24"
	addr "$P" "$IFP" "$IN_P/24"
}

ping_check() {
	local what=$1 ns=$2 dst=$3 count=${4:-5} out
	if out=$(ping_stats "$ns" "$dst" "$count"); then
		pass "$what: $out"
	else
		soft_fail "$what: $out"
	fi
}

# The altuntun-cli processes (not the protocol process) running in NS.
daemon_pids() {
	local p
	for p in $(ip netns pids "$1" 2>/dev/null); do
		[[ $(cat "/proc/$p/comm" 2>/dev/null) == altuntun-cli ]] && echo "$p"
	done
	return 0
}

# A process alone in a new network namespace (unshare -n), started in H.
# Sets SLEEPER.
sleeper() {
	local h=$1 i
	bg_in "$h" "sleeper-$RANDOM" unshare -n sleep 600
	SLEEPER=$AT_LAST_PID
	for ((i = 0; i < 50; i++)); do
		[[ $(readlink "/proc/$SLEEPER/ns/net" 2>/dev/null) != "$(readlink "/proc/self/ns/net")" &&
			$(readlink "/proc/$SLEEPER/exe" 2>/dev/null) == */sleep ]] && return 0
		sleep 0.1
	done
	fail "unshare -n sleep did not start"
}

# ---- scenarios -------------------------------------------------------------------

# By name: placement, a ping from the container, MTU changes followed.
sc_by_name() {
	local ifc pid log out
	topo
	ifc=$(if_name a)
	start_altuntun "$H" "$ifc" --netns "$C" -v
	pid=$AT_LAST_PID
	log=$AT_TMP/altuntun-$ifc.log
	check_placement "$pid" "$ifc" "/var/run/netns/$C" "$H" ip netns exec "$C"
	check "default MTU 1420 in the target" test "$(mtu_of "$C" "$ifc")" = 1420
	check "an nsid for C was assigned at home" bash -c "ip -n '$H' netns list-id | grep -q ."

	tunnel "$ifc"
	check "the container holds only lo and $ifc" test "$(links_of "$C")" = "$ifc lo "
	ping_check "ping C -> P through the tunnel" "$C" "$IN_P"
	ping_check "ping P -> C through the tunnel" "$P" "$IN_C"
	check "handshake with wireguard-go" handshake_done "$ifc" "$PUB_P"

	ip -n "$C" link set "$ifc" mtu 1300 || fail "ip link set mtu 1300 in C failed"
	check "MTU 1300 set in C is followed (log)" wait_for 5 file_has "$log" "MTU of $ifc is now 1300"
	ping_check "ping C -> P at MTU 1300 (1272-byte payload)" "$C" "$IN_P" 3
	if out=$(ip netns exec "$C" ping -c 1 -W 2 -s 1272 -M "do" "$IN_P" 2>&1); then
		pass "a 1300-byte packet crosses"
	else
		soft_fail "a 1300-byte packet does not cross: $out"
	fi
	ip -n "$C" link set "$ifc" mtu 1420
	check "MTU 1420 back (log)" wait_for 5 file_has "$log" "MTU of $ifc is now 1420"
	check "the daemon still runs" at_alive "$pid"
}

# Without -f: returns once the link exists in the namespace.
sc_daemon_mode() {
	local h c ifc out rc=0 pid
	h=$(ns_name h)
	c=$(ns_name c)
	ifc=$(if_name d)
	ns_new "$h"
	ns_new "$c"
	at_check_socket_free "$ifc"
	AT_SOCKS+=("$ifc")
	out=$(ip netns exec "$h" "$CLI" --netns "$c" "$ifc" 2>&1) || rc=$?
	((rc == 0)) || fail "altuntun-cli --netns $c $ifc returned $rc: $out"
	pid=$(daemon_pids "$h" | head -n 1)
	[[ -n $pid ]] || fail "no daemon in $h after a successful start"
	AT_PIDS+=("$pid")
	check "daemon mode: $ifc is in $c when it returns" link_in "$c" "$ifc"
	check "daemon mode: socket exists when it returns" test -S "$WG_RUN_DIR/$ifc.sock"
	check "daemon mode: nothing at home" no_link_in "$h" "$ifc"
	kill -TERM "$pid"
	check "SIGTERM: the daemon ends" wait_for 5 bash -c "! kill -0 $pid"
	check "SIGTERM: $ifc is gone from $c" wait_for 5 no_link_in "$c" "$ifc"
	check "SIGTERM: socket removed" no_file "$WG_RUN_DIR/$ifc.sock"
}

# By path: /proc/PID/ns/net of a process in an `unshare -n`, and the bind
# mount ip-netns makes.
sc_by_path() {
	local h c ifc ifc2 pid
	h=$(ns_name h)
	c=$(ns_name c)
	ns_new "$h"
	ns_new "$c"
	sleeper "$h"
	ifc=$(if_name f)
	start_altuntun "$h" "$ifc" --netns "/proc/$SLEEPER/ns/net"
	pid=$AT_LAST_PID
	check_placement "$pid" "$ifc" "/proc/$SLEEPER/ns/net" "$h" nsenter -t "$SLEEPER" -n

	ifc2=$(if_name m)
	start_altuntun "$h" "$ifc2" --netns "/var/run/netns/$c"
	check_placement "$AT_LAST_PID" "$ifc2" "/var/run/netns/$c" "$h" ip netns exec "$c"
	# A relative path, from the daemon's working directory at start.
	stop_pid "$AT_LAST_PID"
	check "$ifc2 gone after SIGTERM" wait_for 5 no_link_in "$c" "$ifc2"
	cd /var/run
	start_altuntun "$h" "$ifc2" --netns "netns/$c"
	cd - >/dev/null
	check "relative path netns/$c from /var/run: $ifc2 in $c" link_in "$c" "$ifc2"
}

# By pid:PID.
sc_by_pid() {
	local h ifc
	h=$(ns_name h)
	ns_new "$h"
	sleeper "$h"
	ifc=$(if_name g)
	start_altuntun "$h" "$ifc" --netns "pid:$SLEEPER"
	check_placement "$AT_LAST_PID" "$ifc" "/proc/$SLEEPER/ns/net" "$h" nsenter -t "$SLEEPER" -n
}

# IFNAME already exists in the target: a clean failure.
sc_exists() {
	local h c ifc peer out rc=0 t mode
	h=$(ns_name h)
	c=$(ns_name c)
	ns_new "$h"
	ns_new "$c"
	ifc=$(if_name e)
	peer=$(if_name ep)
	ip -n "$c" link add "$ifc" type veth peer name "$peer" || fail "cannot create veth $ifc in $c"
	at_check_socket_free "$ifc"
	AT_SOCKS+=("$ifc")
	for mode in -f ""; do
		rc=0
		t=$(date +%s%N)
		# shellcheck disable=SC2086  # $mode is one word or none
		out=$(timeout 20 ip netns exec "$h" "$CLI" $mode --netns "$c" "$ifc" 2>&1) || rc=$?
		t=$((($(date +%s%N) - t) / 1000000))
		check "${mode:-daemon mode}: refused (status $rc, ${t} ms)" test "$rc" = 1
		check "${mode:-daemon mode}: says why" contains "$out" "an interface named $ifc already exists in the namespace"
		log "message: $out"
		check "${mode:-daemon mode}: the existing $ifc is untouched (still a veth)" \
			bash -c "ip -n '$c' -d link show '$ifc' | grep -q veth"
		check "${mode:-daemon mode}: no temporary TUN at home" no_temp_tun "$h"
		check "${mode:-daemon mode}: no temporary TUN in $c" no_temp_tun "$c"
		check "${mode:-daemon mode}: no socket left" no_file "$WG_RUN_DIR/$ifc.sock"
		check "${mode:-daemon mode}: no daemon left" no_process "--netns $c $ifc"
	done
	rc=0
	out=$(timeout 20 ip netns exec "$h" "$CLI" -f --netns "$(ns_name nope)" "$ifc" 2>&1) || rc=$?
	check "a namespace that does not exist: refused ($rc)" test "$rc" = 1
	check "... and said so" contains "$out" "no namespace of that name"
	rc=0
	out=$(timeout 20 ip netns exec "$h" "$CLI" -f --netns /etc/hostname "$ifc" 2>&1) || rc=$?
	check "a file that is not a namespace: refused ($rc)" test "$rc" = 1
	check "... and said so" contains "$out" "is not a network namespace"
}

# Two daemons, wg0 each in its own namespace, told apart by --uapi-name.
sc_two_agents() {
	local h c1 c2 c3 u1 u2 p1 p2 k1 k2 out rc=0 same
	h=$(ns_name h)
	c1=$(ns_name c1)
	c2=$(ns_name c2)
	c3=$(ns_name c3)
	ns_new "$h"
	ns_new "$c1"
	ns_new "$c2"
	ns_new "$c3"
	u1=$(if_name u1)
	u2=$(if_name u2)
	start_altuntun "$h" wg0 --netns "$c1" --uapi-name "$u1"
	p1=$AT_LAST_PID
	start_altuntun "$h" wg0 --netns "$c2" --uapi-name "$u2"
	p2=$AT_LAST_PID
	check "wg0 in $c1" link_in "$c1" wg0
	check "wg0 in $c2" link_in "$c2" wg0
	check "no wg0 at home" no_link_in "$h" wg0
	check "two daemons run" bash -c "kill -0 $p1 && kill -0 $p2"
	check "two distinct sockets" test -S "$WG_RUN_DIR/$u1.sock" -a -S "$WG_RUN_DIR/$u2.sock"
	k1=$(genkey)
	k2=$(genkey)
	wg set "$u1" private-key "$(keyfile "$k1")" || fail "wg set $u1 failed"
	wg set "$u2" private-key "$(keyfile "$k2")" || fail "wg set $u2 failed"
	check "$u1 serves the first daemon" test "$(wg show "$u1" public-key)" = "$(pubkey "$k1")"
	check "$u2 serves the second daemon" test "$(wg show "$u2" public-key)" = "$(pubkey "$k2")"
	ip -n "$c1" link set wg0 mtu 1380
	check "an MTU change of wg0 in $c1 reaches only the first daemon" \
		wait_for 5 file_has "$AT_TMP/altuntun-$u1.log" "MTU of wg0 is now 1380"
	sleep 0.3
	check "... not the second" bash -c "! grep -qF 'MTU of wg0 is now 1380' '$AT_TMP/altuntun-$u2.log'"

	# A third for a socket name already served: refused before anything.
	out=$(timeout 20 ip netns exec "$h" "$CLI" -f --netns "$c3" --uapi-name "$u1" wg0 2>&1) || rc=$?
	check "same --uapi-name again: refused ($rc)" test "$rc" = 1
	check "... with a clear error" contains "$out" "already served by a running process"
	log "message: $out"
	check "... and nothing made in $c3" no_link_in "$c3" wg0
	check "... nor at home" no_temp_tun "$h"

	# Without --uapi-name: the interface's name is the socket's.
	same=$(if_name s)
	start_altuntun "$h" "$same" --netns "$c1"
	rc=0
	out=$(timeout 20 ip netns exec "$h" "$CLI" -f --netns "$c2" "$same" 2>&1) || rc=$?
	check "a second $same (other namespace, no --uapi-name): refused ($rc)" test "$rc" = 1
	check "... with a clear error" contains "$out" "use --uapi-name to pick another name"
	log "message: $out"
	check "... and nothing made in $c2" no_link_in "$c2" "$same"
	start_altuntun "$h" "$same" --netns "$c2" --uapi-name "$(if_name s2)"
	check "with --uapi-name it runs: $same in $c2" link_in "$c2" "$same"
	check "... and $same in $c1 still" link_in "$c1" "$same"
}

scenario "--netns NAME: placement, ping from the container, MTU" sc_by_name
scenario "--netns without -f" sc_daemon_mode
scenario "--netns PATH (/proc/PID/ns/net of unshare -n, bind mount, relative)" sc_by_path
scenario "--netns pid:PID" sc_by_pid
scenario "IFNAME already in the namespace, and bad namespaces" sc_exists
scenario "two daemons, wg0 in two namespaces, --uapi-name" sc_two_agents
finish
