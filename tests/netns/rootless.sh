#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# shellcheck disable=SC2317  # functions are called through scenario()
#
# altuntun-cli started by an ordinary user (docs/namespaces.md, "Rootless"):
#
# * with a file capability (setcap cap_net_admin+ep on a copy of the
#   binary), in a namespace the test made (ip netns exec, then setpriv to
#   the test user): the tunnel is configured from --config (libnl, no
#   `ip`), the UAPI socket lands in $XDG_RUNTIME_DIR/wireguard since
#   /var/run/wireguard is root's, the protocol process holding the TUN has
#   no capability and no_new_privs, and a wireguard-go peer answers pings;
# * `altuntun-cli wg show` as that user lists the tunnel (a private user +
#   mount namespace shows $XDG_RUNTIME_DIR/wireguard as /var/run/wireguard);
# * with a user namespace of its own (unshare -Urn, a sleeper) and no
#   privilege at all: --netns pid:PID creates the TUN there from a child
#   that joins the user namespace (UDP stays home), the tunnel reaches the
#   peer, the sleeper's end ends the daemon;
# * without XDG_RUNTIME_DIR: a clear error, nothing created.
#
#   U  veth 10.230.0.1/24   tunnel 10.231.0.1/24   altuntun-cli (test user)
#   P  veth 10.230.0.2/24   tunnel 10.231.0.2/24   wireguard-go (root)
#
# /dev/net/tun is 0600 on some machines (distributions make it 0666 with
# udev); the test makes it 0666 and restores the mode on any exit, and
# creates the user altuntun-test if missing (removed again on exit).
# at-run-alone: it creates a user and changes the mode of /dev/net/tun.

# shellcheck source=tests/netns/lib.sh
. "$(dirname "$0")/lib.sh"
require_root
require_cmd wg ip ping python3 setpriv setcap useradd userdel findmnt stat unshare nsenter ss

CLI=$ALTUNTUN_CLI
[[ -x $CLI ]] || fail "$CLI not built (make all)"

TUSER=altuntun-test
OUT_U=10.230.0.1 OUT_P=10.230.0.2
IN_U=10.231.0.1 IN_P=10.231.0.2
PORT_P=51831

# ---- machine set-up, undone on any exit ------------------------------------------

RL_CREATED_USER=0
RL_TUN_MODE=$(stat -c %a /dev/net/tun)
rootless_cleanup() {
	local st=$?
	cleanup
	chmod "$RL_TUN_MODE" /dev/net/tun 2>/dev/null || true
	if ((RL_CREATED_USER)); then
		pkill -KILL -u "$TUSER" 2>/dev/null || true
		userdel "$TUSER" 2>/dev/null || true
	fi
	exit "$st"
}
trap rootless_cleanup EXIT

if ! id "$TUSER" >/dev/null 2>&1; then
	useradd -M -s /usr/sbin/nologin "$TUSER" || fail "useradd $TUSER failed"
	RL_CREATED_USER=1
fi
TUID=$(id -u "$TUSER")
TGID=$(id -g "$TUSER")
chmod 0666 /dev/net/tun

chmod 755 "$AT_TMP"
BIN_DIR=$AT_TMP/bin
mkdir -p "$BIN_DIR"
chmod 755 "$BIN_DIR"
case ",$(findmnt -no OPTIONS --target "$BIN_DIR")," in
*,nosuid,*) fail "$BIN_DIR is on a nosuid mount: file capabilities would not work" ;;
esac
FCAP=$BIN_DIR/altuntun-cli
cp "$CLI" "$FCAP"
chmod 755 "$FCAP"
setcap cap_net_admin+ep "$FCAP" || fail "setcap failed"

XDG=$AT_TMP/xdg
mkdir -p "$XDG"
chown "$TUID:$TGID" "$XDG"
chmod 700 "$XDG"

# ---- helpers -----------------------------------------------------------------


# as_user NS CMD...: CMD in NS as the test user, XDG_RUNTIME_DIR set.
as_user() {
	local ns=$1
	shift
	ip netns exec "$ns" env XDG_RUNTIME_DIR="$XDG" \
		setpriv --reuid="$TUID" --regid="$TGID" --clear-groups -- "$@"
}

# The peer: wireguard-go in NS_P, and a JSON configuration for U.
# Sets NS_U NS_P IF_U IF_P CONF.
peer_setup() {
	local ku kp
	NS_U=$(ns_name u)
	NS_P=$(ns_name p)
	IF_U=$(if_name u)
	IF_P=$(if_name p)
	ns_new "$NS_U"
	ns_new "$NS_P"
	veth_pair "$NS_U" "$(if_name vu)" "$NS_P" "$(if_name vp)"
	addr "$NS_U" "$(if_name vu)" "$OUT_U/24"
	addr "$NS_P" "$(if_name vp)" "$OUT_P/24"
	start_wggo "$NS_P" "$IF_P" debian
	ku=$(genkey)
	kp=$(genkey)
	wg_in "$NS_P" set "$IF_P" private-key "$(keyfile "$kp")" listen-port "$PORT_P" \
		peer "$(pubkey "$ku")" allowed-ips "$IN_U/32" || fail "wg set on P failed"
	addr "$NS_P" "$IF_P" "$IN_P/24"
	PUB_P=$(pubkey "$kp")
	CONF=$AT_TMP/u.json
	cat >"$CONF" <<EOF
{
  "privateKey": "$ku",
  "addresses": ["$IN_U/24"],
  "peers": [
    { "publicKey": "$PUB_P", "endpoint": "$OUT_P:$PORT_P", "allowedIPs": ["$IN_P/32"] }
  ]
}
EOF
	chown "$TUID:$TGID" "$CONF"
	chmod 600 "$CONF"
}

# ---- scenarios ---------------------------------------------------------------

sc_file_capability() {
	local pid proto out rc=0 log
	peer_setup
	log=$AT_TMP/fcap-$IF_U.log
	check "the test user cannot write /var/run/wireguard" \
		bash -c "! setpriv --reuid=$TUID --regid=$TGID --clear-groups -- test -w /var/run/wireguard"
	ip netns exec "$NS_U" env XDG_RUNTIME_DIR="$XDG" \
		setpriv --reuid="$TUID" --regid="$TGID" --clear-groups -- \
		"$FCAP" -f -v --config "$CONF" "$IF_U" >"$log" 2>&1 &
	pid=$!
	AT_PIDS+=("$pid")
	wait_for 10 test -S "$XDG/wireguard/$IF_U.sock" || fail "no socket in $XDG/wireguard: $(cat "$log")"
	wait_for 5 has_proto "$pid" || fail "no protocol process: $(cat "$log")"
	proto=$(proto_of "$pid")
	wait_for 5 file_has "$log" "privileges dropped" || true
	check "socket in \$XDG_RUNTIME_DIR/wireguard" test -S "$XDG/wireguard/$IF_U.sock"
	check "... not in /var/run/wireguard" test ! -e "/var/run/wireguard/$IF_U.sock"
	check "... $XDG/wireguard is the user's, mode 0700 ($(stat -c '%u %a' "$XDG/wireguard"))" \
		test "$(stat -c '%u %a' "$XDG/wireguard")" = "$TUID 700"
	check "... and the daemon says where on stderr" file_has "$log" "UAPI socket $XDG/wireguard/$IF_U.sock"
	check "the monitor runs as the user" test "$(uids "$pid")" = "$TUID $TUID $TUID $TUID"
	check "the protocol process runs as the user" test "$(uids "$proto")" = "$TUID $TUID $TUID $TUID"
	check "the protocol process holds the TUN" holds_tun "$proto"
	check "... CapEff 0 ($(status "$proto" CapEff))" is_zero_caps "$(status "$proto" CapEff)"
	check "... CapPrm 0 ($(status "$proto" CapPrm))" is_zero_caps "$(status "$proto" CapPrm)"
	check "... NoNewPrivs 1" test "$(status "$proto" NoNewPrivs)" = 1
	check "... Seccomp 2" test "$(status "$proto" Seccomp)" = 2
	check "the address came from --config" bash -c "ip -n '$NS_U' -4 addr show dev '$IF_U' | grep -qF '$IN_U/24'"
	check "... and the link is up" bash -c "ip -n '$NS_U' link show dev '$IF_U' | grep -q '[<,]UP[,>]'"
	out=$(ip netns exec "$NS_U" ping -c 5 -i 0.2 -W 2 "$IN_P" 2>&1) || rc=$?
	check "ping through the tunnel to wireguard-go (status $rc: $(grep -o '[0-9]* received' <<<"$out"))" \
		test "$rc" = 0

	# altuntun-cli wg: wg(8) sees the user's sockets.
	rc=0
	out=$(as_user "$NS_U" "$FCAP" wg show interfaces 2>&1) || rc=$?
	check "altuntun-cli wg show interfaces lists $IF_U (status $rc: $out)" \
		bash -c "[[ '$rc' == 0 ]] && grep -qw '$IF_U' <<<'$out'"
	rc=0
	out=$(as_user "$NS_U" "$FCAP" wg show "$IF_U" 2>&1) || rc=$?
	check "altuntun-cli wg show $IF_U shows the peer with a handshake (status $rc)" \
		bash -c "[[ '$rc' == 0 ]] && grep -qF '$PUB_P' <<<'$out' && grep -q 'latest handshake' <<<'$out'"
	rc=0
	as_user "$NS_U" "$FCAP" wg set "$IF_U" listen-port 52311 || rc=$?
	check "altuntun-cli wg set listen-port (status $rc)" \
		test "$(as_user "$NS_U" "$FCAP" wg show "$IF_U" listen-port)" = 52311
	out=$(as_user "$NS_U" wg show interfaces 2>&1) || true
	check "plain wg as the user does not see it (${out:-nothing})" bash -c "! grep -qw '$IF_U' <<<'$out'"

	kill -TERM "$pid"
	check "SIGTERM ends the daemon" wait_for 5 bash -c "! kill -0 $pid 2>/dev/null"
	check "... the socket is removed" wait_for 5 test ! -e "$XDG/wireguard/$IF_U.sock"
	check "... and the interface" wait_for 5 no_link_in "$NS_U" "$IF_U"
}

# Rootless: the user's own user + network namespace (unshare -Urn, a
# sleeper), the daemon started by the same user without any privilege,
# --netns pid:PID. "Home" is NS_U, with the veth to the peer.
# Starts the sleeper (SP) and the daemon (PID, its protocol process PROTO,
# its log ULOG) as the user, --netns pid:SP.
userns_start() {
	local plain=$BIN_DIR/altuntun-cli-plain
	peer_setup
	cp "$CLI" "$plain"
	chmod 755 "$plain"
	PLAIN=$plain
	ULOG=$AT_TMP/userns-$IF_U.log
	ip netns exec "$NS_U" setpriv --reuid="$TUID" --regid="$TGID" --clear-groups -- \
		unshare -Urn sleep 600 &
	SP=$!
	AT_PIDS+=("$SP")
	wait_for 5 bash -c "[[ \$(readlink /proc/$SP/ns/user) != \$(readlink /proc/self/ns/user) ]]" ||
		fail "the sleeper has no user namespace of its own"
	check "the sleeper's namespace is the user's (owner uid $(stat -c %u "/proc/$SP"))" \
		test "$(stat -c %u "/proc/$SP")" = "$TUID"
	ip netns exec "$NS_U" env XDG_RUNTIME_DIR="$XDG" \
		setpriv --reuid="$TUID" --regid="$TGID" --clear-groups -- \
		"$plain" -f -v --config "$CONF" --netns "pid:$SP" "$IF_U" >"$ULOG" 2>&1 &
	PID=$!
	AT_PIDS+=("$PID")
	wait_for 10 test -S "$XDG/wireguard/$IF_U.sock" || fail "no socket in $XDG/wireguard: $(cat "$ULOG")"
	wait_for 5 has_proto "$PID" || fail "no protocol process: $(cat "$ULOG")"
	PROTO=$(proto_of "$PID")
	wait_for 5 file_has "$ULOG" "privileges dropped" || true
}

sc_userns() {
	local sp pid proto out rc=0 log plain
	userns_start
	sp=$SP pid=$PID proto=$PROTO log=$ULOG plain=$PLAIN
	check "created from the user namespace" file_has "$log" "from its user namespace (rootless)"
	check "the interface is in the sleeper's namespace" nsenter -t "$sp" -n ip link show "$IF_U"
	check "... not at home" no_link_in "$NS_U" "$IF_U"
	check "... with the address of --config (libnl, from the child)" \
		bash -c "nsenter -t $sp -n ip -4 addr show dev '$IF_U' | grep -qF '$IN_U/24'"
	check "the UDP socket is at home (NS_U)" \
		bash -c "ip netns exec '$NS_U' ss -unap | grep -q 'pid=$proto,'"
	check "socket in \$XDG_RUNTIME_DIR/wireguard" test -S "$XDG/wireguard/$IF_U.sock"
	check "the protocol process runs as the user" test "$(uids "$proto")" = "$TUID $TUID $TUID $TUID"
	check "... holds the TUN" holds_tun "$proto"
	check "... CapEff 0 ($(status "$proto" CapEff))" is_zero_caps "$(status "$proto" CapEff)"
	check "... CapPrm 0 ($(status "$proto" CapPrm))" is_zero_caps "$(status "$proto" CapPrm)"
	check "... NoNewPrivs 1" test "$(status "$proto" NoNewPrivs)" = 1
	check "... Seccomp 2" test "$(status "$proto" Seccomp)" = 2
	check "... and so has the monitor: CapEff $(status "$pid" CapEff)" is_zero_caps "$(status "$pid" CapEff)"
	out=$(nsenter -t "$sp" -n ping -c 5 -i 0.2 -W 2 "$IN_P" 2>&1) || rc=$?
	check "ping from the user's namespace to wireguard-go (status $rc: $(grep -o '[0-9]* received' <<<"$out"))" \
		test "$rc" = 0
	rc=0
	out=$(as_user "$NS_U" "$plain" wg show "$IF_U" 2>&1) || rc=$?
	check "altuntun-cli wg show $IF_U (no capability) shows the peer with a handshake (status $rc)" \
		bash -c "[[ '$rc' == 0 ]] && grep -qF '$PUB_P' <<<'$out' && grep -q 'latest handshake' <<<'$out'"
	kill -KILL "$sp"
	check "the sleeper's end ends the daemon (pidfd)" wait_for 5 bash -c "! kill -0 $pid 2>/dev/null"
	check "... saying why" file_has "$log" "the process of the namespace ended"
	check "... the socket is removed" wait_for 5 test ! -e "$XDG/wireguard/$IF_U.sock"
}

# Rootless, the TUN was opened inside the namespace (rootless.h), so its
# deletion must be seen there too: the daemon ends, nothing is left.
sc_userns_link_del() {
	userns_start
	check "the interface is in the sleeper's namespace" nsenter -t "$SP" -n ip link show "$IF_U"
	nsenter -t "$SP" -n ip link del "$IF_U" || fail "cannot delete $IF_U"
	check "deleting the interface ends the daemon" wait_for 5 bash -c "! kill -0 $PID 2>/dev/null"
	check "... saying why" file_has "$ULOG" "the interface was deleted"
	check "... the socket is removed" wait_for 5 test ! -e "$XDG/wireguard/$IF_U.sock"
	check "... and no process of it is left" bash -c "! kill -0 $PROTO 2>/dev/null"
	check "the sleeper still runs" kill -0 "$SP"
}

sc_no_dir() {
	local ns ifc out rc=0
	ns=$(ns_name n)
	ifc=$(if_name n)
	ns_new "$ns"
	out=$(ip netns exec "$ns" env -u XDG_RUNTIME_DIR \
		setpriv --reuid="$TUID" --regid="$TGID" --clear-groups -- \
		timeout 10 "$FCAP" -f "$ifc" 2>&1) || rc=$?
	check "without XDG_RUNTIME_DIR: refused (status $rc)" test "$rc" != 0
	check "... saying why ($out)" contains "$out" "no directory for the UAPI socket"
	check "... nothing created" no_link_in "$ns" "$ifc"
}

scenario "an ordinary user with cap_net_admin+ep: --config, socket, ping, altuntun-cli wg" \
	sc_file_capability
scenario "rootless: unshare -Urn, --netns pid:PID without privilege" sc_userns
scenario "rootless: the interface deleted inside the namespace" sc_userns_link_del
scenario "no writable socket directory: a clear error" sc_no_dir
finish
