#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# shellcheck disable=SC2317  # functions are called through scenario()
#
# Privilege separation of altuntun-cli (docs/security.md): started as root,
# the process that holds the TUN and speaks the protocol runs as another
# user with no capability (bounding set included), no_new_privs and a
# seccomp filter; the monitor keeps a handful of capabilities and answers
# its requests (fwmark, a new UDP port, below 1024 too); a protocol process
# that dies (SIGKILL, a forbidden system call) is replaced with the same
# interface, sockets and configuration; SIGTERM, deleting the socket file
# or the interface end both processes; --disable-drop-privileges keeps one
# privileged process; started with a file capability by an ordinary user it
# drops what it can.
#
#   A  veth 10.210.0.1/24   tunnel 10.211.0.1/24   altuntun-cli
#   B  veth 10.210.0.2/24   tunnel 10.211.0.2/24   wireguard-go

# shellcheck source=tests/netns/lib.sh
. "$(dirname "$0")/lib.sh"
require_root
require_cmd wg ip ping ss python3 setpriv setcap getpcaps awk pgrep unshare timeout

CLI=$ALTUNTUN_CLI
[[ -x $CLI ]] || fail "$CLI not built (make all)"

OUT_A=10.210.0.1 OUT_B=10.210.0.2
IN_A=10.211.0.1 IN_B=10.211.0.2
PORT_A=51820 PORT_B=51821

# ---- helpers -------------------------------------------------------------------

sock_of() { echo "$WG_RUN_DIR/$1.sock"; }
not_alive() { ! at_alive "$1"; }

# The pids holding /dev/net/tun whose interface is IF (fdinfo "iff:").
tun_holders() {
	local p f
	for p in /proc/[0-9]*; do
		for f in "$p"/fd/*; do
			[[ $(readlink "$f" 2>/dev/null) == /dev/net/tun ]] || continue
			grep -q "^iff:[[:space:]]*$1\$" "$p/fdinfo/${f##*/}" 2>/dev/null && echo "${p#/proc/}"
		done
	done | sort -u
}

# Capability bit N set in hex mask M?
cap_bit() { (( (16#$1 >> $2) & 1 )); }

# pair [ARGS...]: A runs altuntun-cli -f ARGS, B wireguard-go; the tunnel is
# configured. Sets NS_A NS_B IF_A IF_B PUB_A PUB_B MON LOG_A.
pair() {
	local ka kb
	NS_A=$(ns_name a)
	NS_B=$(ns_name b)
	IF_A=$(if_name a)
	IF_B=$(if_name b)
	ns_new "$NS_A"
	ns_new "$NS_B"
	veth_pair "$NS_A" "$(if_name va)" "$NS_B" "$(if_name vb)"
	addr "$NS_A" "$(if_name va)" "$OUT_A/24"
	addr "$NS_B" "$(if_name vb)" "$OUT_B/24"
	start_altuntun "$NS_A" "$IF_A" -v "$@"
	MON=$AT_LAST_PID
	LOG_A=$AT_TMP/altuntun-$IF_A.log
	start_wggo "$NS_B" "$IF_B" debian
	ka=$(genkey)
	kb=$(genkey)
	PUB_A=$(pubkey "$ka")
	PUB_B=$(pubkey "$kb")
	wg_in "$NS_A" set "$IF_A" private-key "$(keyfile "$ka")" listen-port "$PORT_A" \
		peer "$PUB_B" endpoint "$OUT_B:$PORT_B" allowed-ips "$IN_B/32" ||
		fail "wg set on A failed"
	wg_in "$NS_B" set "$IF_B" private-key "$(keyfile "$kb")" listen-port "$PORT_B" \
		peer "$PUB_A" endpoint "$OUT_A:$PORT_A" allowed-ips "$IN_A/32" ||
		fail "wg set on B failed"
	addr "$NS_A" "$IF_A" "$IN_A/24"
	addr "$NS_B" "$IF_B" "$IN_B/24"
	wait_for 5 has_proto "$MON" || fail "no protocol process under the monitor $MON"
}

ping_check() {
	local what=$1 ns=$2 dst=$3 out
	if out=$(ping_stats "$ns" "$dst" "${4:-5}"); then
		pass "$what: $out"
	else
		soft_fail "$what: $out"
	fi
}

ping_once() { ip netns exec "$1" ping -c 1 -W 1 "$2" >/dev/null 2>&1; }

# Milliseconds since the epoch.
now_ms() { echo $(($(date +%s%N) / 1000000)); }

# Checks the protocol process PID is unprivileged and filtered (as root).
check_dropped() {
	local pid=$1 what=$2 u
	check "$what: comm is altuntun-proto" test "$(cat "/proc/$pid/comm")" = altuntun-proto
	check "$what: holds the TUN device" holds_tun "$pid"
	check "$what: CapEff 0 ($(status "$pid" CapEff))" is_zero_caps "$(status "$pid" CapEff)"
	check "$what: CapPrm 0 ($(status "$pid" CapPrm))" is_zero_caps "$(status "$pid" CapPrm)"
	check "$what: CapBnd 0 ($(status "$pid" CapBnd))" is_zero_caps "$(status "$pid" CapBnd)"
	check "$what: CapInh and CapAmb 0" bash -c "[[ $(status "$pid" CapInh)$(status "$pid" CapAmb) =~ ^0+$ ]]"
	u=$(uids "$pid")
	check "$what: every uid is non-zero ($u)" bash -c "! grep -qw 0 <<<'$u'"
	check "$what: NoNewPrivs 1" test "$(status "$pid" NoNewPrivs)" = 1
	check "$what: Seccomp 2 (filter)" test "$(status "$pid" Seccomp)" = 2
}

# ---- scenarios -------------------------------------------------------------------

sc_dropped() {
	local proto mon_eff holders groups
	pair
	proto=$(proto_of "$MON")
	log "monitor $MON, protocol process $proto"
	check_dropped "$proto" "protocol process"
	groups=$(status "$proto" Groups)
	check "protocol process: supplementary groups are the user's ($(awk '$1 == "Groups:"' "/proc/$proto/status"))" \
		bash -c "[[ '$(awk '$1 == "Groups:" { $1 = ""; print }' "/proc/$proto/status" | xargs)' == '$(id -G "$(stat -c %U "/proc/$proto")" | xargs)' || -z '$groups' ]]"
	holders=$(tun_holders "$IF_A" | tr '\n' ' ')
	check "the TUN of $IF_A is held by the monitor and the protocol process only ($holders)" \
		test "$holders" = "$(printf '%s\n' "$MON" "$proto" | sort -u | tr '\n' ' ')"
	mon_eff=$(status "$MON" CapEff)
	log "monitor CapEff $mon_eff, CapBnd $(status "$MON" CapBnd): $(getpcaps "$MON" 2>&1 | tail -n 1)"
	check "monitor: uid 0" test "$(uids "$MON")" = "0 0 0 0"
	check "monitor: keeps CAP_NET_ADMIN and CAP_NET_BIND_SERVICE" \
		bash -c "$(declare -f cap_bit); cap_bit $mon_eff 12 && cap_bit $mon_eff 10"
	check "monitor: no CAP_SYS_ADMIN, CAP_DAC_OVERRIDE, CAP_SYS_PTRACE, CAP_SYS_MODULE" \
		bash -c "$(declare -f cap_bit); ! cap_bit $mon_eff 21 && ! cap_bit $mon_eff 1 && ! cap_bit $mon_eff 19 && ! cap_bit $mon_eff 16"
	check "monitor: bounding set no larger than its capabilities" \
		test "$(status "$MON" CapBnd)" = "$mon_eff"
	check "monitor: NoNewPrivs 1" test "$(status "$MON" NoNewPrivs)" = 1
	check "monitor: no seccomp filter of its own" test "$(status "$MON" Seccomp)" = 0
	check "the drop is logged" file_has "$LOG_A" "privileges dropped: uid"
	ping_check "ping A -> B through the tunnel" "$NS_A" "$IN_B"
	ping_check "ping B -> A through the tunnel" "$NS_B" "$IN_A"
	check "wg show works (served by the protocol process)" \
		test "$(wg show "$IF_A" peers)" = "$PUB_B"
	check "no SIGSYS so far" bash -c "! grep -q SIGSYS '$LOG_A'"
}

sc_requests() {
	local proto out
	pair
	proto=$(proto_of "$MON")
	ping_check "ping A -> B" "$NS_A" "$IN_B" 3
	wg_in "$NS_A" set "$IF_A" fwmark 51820 || soft_fail "wg set $IF_A fwmark 51820 failed"
	check "wg show fwmark: 0xca6c" test "$(wg show "$IF_A" fwmark)" = 0xca6c
	out=$(ip netns exec "$NS_A" ss -Huaen "sport = :$PORT_A")
	check "both UDP sockets carry the mark (ss -e: $(grep -o 'fwmark:[^ ]*' <<<"$out" | sort -u | xargs))" \
		test "$(grep -c 'fwmark:0xca6c' <<<"$out")" = 2
	ping_check "traffic flows with the mark" "$NS_A" "$IN_B" 3
	wg_in "$NS_A" set "$IF_A" listen-port 1 || soft_fail "wg set $IF_A listen-port 1 failed"
	check "wg show listen-port: 1" test "$(wg show "$IF_A" listen-port)" = 1
	check "UDP port 1 bound for IPv4 and IPv6" \
		test "$(ip netns exec "$NS_A" ss -Huln 'sport = :1' | wc -l)" = 2
	check "... and the old port $PORT_A is closed" \
		test "$(ip netns exec "$NS_A" ss -Huln "sport = :$PORT_A" | wc -l)" = 0
	out=$(ip netns exec "$NS_A" ss -Huaen 'sport = :1')
	check "the new sockets keep the mark" test "$(grep -c 'fwmark:0xca6c' <<<"$out")" = 2
	ping_check "traffic flows from port 1" "$NS_A" "$IN_B" 3
	check "the peer sees the new port ($(peer_endpoint "$IF_B" "$PUB_A"))" \
		test "$(peer_endpoint "$IF_B" "$PUB_A")" = "$OUT_A:1"
	ping_check "ping B -> A on the new port" "$NS_B" "$IN_A" 3
	wg_in "$NS_A" set "$IF_A" fwmark 0 || soft_fail "wg set fwmark 0 failed"
	check "fwmark off again" test "$(wg show "$IF_A" fwmark)" = off
	check "the same protocol process did all this (no restart)" \
		test "$(proto_of "$MON")" = "$proto"
}

# wg showconf without the lines that change by themselves.
conf_of() { wg showconf "$1"; }

sc_sigkill() {
	local proto new t0 t_ps t_wg t_ping conf_before conf_after i
	pair
	ping_check "ping A -> B before" "$NS_A" "$IN_B" 3
	# More configuration than one peer, to see it all come back.
	wg_in "$NS_A" set "$IF_A" fwmark 0x1234 peer "$PUB_B" allowed-ips "$IN_B/32,10.99.0.0/16,fd00:99::/64" ||
		fail "wg set more allowed IPs failed"
	for i in 1 2 3; do
		wg_in "$NS_A" set "$IF_A" peer "$(pubkey "$(genkey)")" preshared-key "$(keyfile "$(genpsk)")" \
			endpoint "192.0.2.$i:5182$i" allowed-ips "10.98.$i.0/24" persistent-keepalive "$((20 + i))" ||
			fail "wg set extra peer $i failed"
	done
	conf_before=$(conf_of "$IF_A")
	proto=$(proto_of "$MON")
	t0=$(now_ms)
	kill -KILL "$proto"
	wait_for 5 bash -c "p=\$(pgrep -P $MON -x altuntun-proto); [[ -n \$p && \$p != $proto ]]" ||
		fail "no new protocol process within 5 s after SIGKILL"
	t_ps=$(($(now_ms) - t0))
	new=$(proto_of "$MON")
	wait_for 5 bash -c "[[ \$(wg show '$IF_A' peers | wc -l) == 4 ]]" || soft_fail "wg show lists no peers"
	t_wg=$(($(now_ms) - t0))
	wait_for 5 ping_once "$NS_A" "$IN_B" || soft_fail "no ping through the tunnel within 5 s of the restart"
	t_ping=$(($(now_ms) - t0))
	log "SIGKILL $proto: new protocol process $new after ${t_ps} ms, wg show after ${t_wg} ms, first ping after ${t_ping} ms"
	check "SIGKILL: restarted, tunnel back within 5 s (${t_ping} ms)" test "$t_ping" -le 5000
	check "... the monitor logged it" file_has "$LOG_A" "was killed by signal 9 (SIGKILL)"
	check "... and how long the restart took ($(grep -o 'serves again, [0-9]* ms' "$LOG_A" | tail -n 1))" \
		file_has "$LOG_A" "serves again"
	conf_after=$(conf_of "$IF_A")
	check "... with the same configuration (wg showconf identical: keys, port, fwmark, 4 peers)" \
		test "$conf_before" = "$conf_after"
	[[ $conf_before == "$conf_after" ]] || diff <(echo "$conf_before") <(echo "$conf_after") | sed 's/^/    /'
	check_dropped "$new" "restarted protocol process"
	ping_check "ping A -> B after the restart" "$NS_A" "$IN_B" 3
	ping_check "ping B -> A after the restart" "$NS_B" "$IN_A" 3
	check "the monitor is the same process" at_alive "$MON"
}

sc_forbidden_syscall() {
	local proto new
	# The hidden test hook: SIGUSR2 makes the protocol process call a
	# system call its filter forbids.
	export ALTUNTUN_TEST_FORBIDDEN_SYSCALL=1
	pair
	proto=$(proto_of "$MON")
	ping_check "ping A -> B" "$NS_A" "$IN_B" 2
	kill -USR2 "$proto"
	wait_for 5 bash -c "p=\$(pgrep -P $MON -x altuntun-proto); [[ -n \$p && \$p != $proto ]]" ||
		fail "no new protocol process after the forbidden system call"
	new=$(proto_of "$MON")
	check "the forbidden system call killed it: SIGSYS logged" \
		file_has "$LOG_A" "was killed by signal 31 (SIGSYS)"
	check "... the test hook ran first" file_has "$LOG_A" "calling unshare(2)"
	check "... the filter did not let it return" \
		bash -c "! grep -q 'the seccomp filter is not working' '$LOG_A'"
	check "... and it was restarted ($proto -> $new)" test -n "$new"
	wait_for 5 ping_once "$NS_A" "$IN_B" || true
	ping_check "ping A -> B after the restart" "$NS_A" "$IN_B" 3
	check "wg show lists the peer again" test "$(wg show "$IF_A" peers)" = "$PUB_B"
}

sc_restart_limit() {
	local ns ifc pid p i rc=0
	ns=$(ns_name l)
	ifc=$(if_name l)
	ns_new "$ns"
	start_altuntun "$ns" "$ifc"
	pid=$AT_LAST_PID
	for ((i = 1; i <= 6; i++)); do
		wait_for 5 has_proto "$pid" || break
		p=$(proto_of "$pid")
		kill -KILL "$p"
		wait_for 5 bash -c "[[ \$(pgrep -P $pid -x altuntun-proto) != $p ]]" || break
	done
	check "after 6 deaths within 30 s the monitor gives up" wait_for 5 not_alive "$pid"
	wait "$pid" || rc=$?
	check "... with a non-zero status ($rc)" test "$rc" != 0
	check "... saying why" file_has "$AT_TMP/altuntun-$ifc.log" "giving up"
	check "... the interface is gone" wait_for 5 no_link_in "$ns" "$ifc"
	check "... and the socket" no_file "$(sock_of "$ifc")"
}

# Daemon mode: ready means the protocol process serves; SIGTERM ends all.
sc_daemon_sigterm() {
	local ns ifc out rc=0 mon proto
	ns=$(ns_name d)
	ifc=$(if_name d)
	ns_new "$ns"
	at_check_socket_free "$ifc"
	AT_SOCKS+=("$ifc")
	out=$(ip netns exec "$ns" "$CLI" "$ifc" 2>&1) || rc=$?
	((rc == 0)) || fail "altuntun-cli $ifc (daemon) returned $rc: $out"
	mon=$(pids_named "$ns" altuntun-cli | head -n 1)
	[[ -n $mon ]] || fail "no monitor after a successful start"
	AT_PIDS+=("$mon")
	proto=$(proto_of "$mon")
	check "when it returns, the protocol process exists" test -n "$proto"
	check "... already filtered (Seccomp $(status "${proto:-0}" Seccomp))" \
		test "$(status "${proto:-0}" Seccomp)" = 2
	check "... and serves wg" wg_in "$ns" show "$ifc"
	check "daemon: the protocol process is unprivileged (uid $(uids "${proto:-0}"))" \
		bash -c "! grep -qw 0 <<<'$(uids "${proto:-0}")'"
	check "daemon: its stdio is detached" \
		test "$(readlink "/proc/$proto/fd/2")" = /dev/null
	kill -TERM "$mon"
	check "SIGTERM: the monitor exits" wait_for 5 not_alive "$mon"
	check "SIGTERM: the protocol process exits" wait_for 5 not_alive "$proto"
	check "SIGTERM: the socket is removed" no_file "$(sock_of "$ifc")"
	check "SIGTERM: the interface is removed" wait_for 5 no_link_in "$ns" "$ifc"
}

sc_foreground_sigterm() {
	local ns ifc mon proto rc=0
	ns=$(ns_name t)
	ifc=$(if_name t)
	ns_new "$ns"
	start_altuntun "$ns" "$ifc"
	mon=$AT_LAST_PID
	wait_for 5 has_proto "$mon" || fail "no protocol process"
	proto=$(proto_of "$mon")
	kill -TERM "$mon"
	wait "$mon" || rc=$?
	check "SIGTERM (foreground): exit status 0 (got $rc)" test "$rc" = 0
	check "... the protocol process is gone" wait_for 5 not_alive "$proto"
	check "... the socket is removed" no_file "$(sock_of "$ifc")"
	check "... the interface is removed" no_link_in "$ns" "$ifc"
	check "... both logged the stop" \
		test "$(grep -c 'stopping: SIGTERM' "$AT_TMP/altuntun-$ifc.log")" = 2
}

sc_socket_removed() {
	local ns ifc mon proto
	ns=$(ns_name r)
	ifc=$(if_name r)
	ns_new "$ns"
	start_altuntun "$ns" "$ifc"
	mon=$AT_LAST_PID
	wait_for 5 has_proto "$mon" || fail "no protocol process"
	proto=$(proto_of "$mon")
	rm -f "$(sock_of "$ifc")"
	check "rm socket: the monitor exits" wait_for 5 not_alive "$mon"
	check "rm socket: the protocol process exits" wait_for 5 not_alive "$proto"
	check "rm socket: the interface goes" wait_for 5 no_link_in "$ns" "$ifc"
	check "rm socket: logged" file_has "$AT_TMP/altuntun-$ifc.log" "the UAPI socket was removed"
}

sc_link_deleted() {
	local ns ifc mon proto rc=0
	ns=$(ns_name k)
	ifc=$(if_name k)
	ns_new "$ns"
	start_altuntun "$ns" "$ifc"
	mon=$AT_LAST_PID
	wait_for 5 has_proto "$mon" || fail "no protocol process"
	proto=$(proto_of "$mon")
	ip -n "$ns" link del "$ifc"
	check "ip link del: the protocol process exits" wait_for 5 not_alive "$proto"
	check "ip link del: the monitor exits" wait_for 5 not_alive "$mon"
	wait "$mon" || rc=$?
	check "... with status 0 (got $rc)" test "$rc" = 0
	check "... without a restart" bash -c "! grep -q 'restarting the protocol process' '$AT_TMP/altuntun-$ifc.log'"
	check "ip link del: the socket is removed" no_file "$(sock_of "$ifc")"
}

sc_log_rotation() {
	local ns ifc mon proto logf
	ns=$(ns_name h)
	ifc=$(if_name h)
	ns_new "$ns"
	logf=$AT_TMP/rotated.log
	AT_LOGS+=("$logf")
	start_altuntun "$ns" "$ifc" -v --log "$logf"
	mon=$AT_LAST_PID
	wait_for 5 has_proto "$mon" || fail "no protocol process"
	proto=$(proto_of "$mon")
	mv "$logf" "$logf.1"
	kill -HUP "$mon"
	check "SIGHUP: the monitor reopens the log" wait_for 5 file_has "$logf" "log reopened"
	check "... and hands it to the protocol process" wait_for 5 file_has "$logf" "log reopened (by the monitor)"
	wg_in "$ns" set "$ifc" listen-port 52100 || soft_fail "wg set listen-port failed"
	check "the protocol process logs to the new file" file_has "$logf" "listening on UDP port 52100"
	check "... not to the old one" bash -c "! grep -q 'listening on UDP port 52100' '$logf.1'"
}

sc_disabled() {
	local ns ifc pid
	ns=$(ns_name n)
	ifc=$(if_name n)
	ns_new "$ns"
	start_altuntun "$ns" "$ifc" --disable-drop-privileges
	pid=$AT_LAST_PID
	check "--disable-drop-privileges: no protocol process" test -z "$(pgrep -P "$pid")"
	check "... the daemon holds the TUN itself" holds_tun "$pid"
	check "... as root" test "$(uids "$pid")" = "0 0 0 0"
	check "... with its capabilities (CapEff $(status "$pid" CapEff))" \
		bash -c "! [[ $(status "$pid" CapEff) =~ ^0+$ ]]"
	check "... and no seccomp filter" test "$(status "$pid" Seccomp)" = 0
	stop_pid "$pid"

	ifc=$(if_name w)
	at_check_socket_free "$ifc"
	AT_SOCKS+=("$ifc")
	bg_in "$ns" "wgsudo-$ifc" env WG_SUDO=1 "$CLI" -f "$ifc"
	at_wait_socket "$ifc" "$AT_LAST_PID" "altuntun-cli with WG_SUDO=1"
	pid=$AT_LAST_PID
	check "WG_SUDO=1: one process, root, no filter" \
		bash -c "[[ -z \$(pgrep -P $pid) && '$(uids "$pid")' == '0 0 0 0' && '$(status "$pid" Seccomp)' == 0 ]]"
}

sc_user_option() {
	local ns ifc out rc=0 pid proto
	ns=$(ns_name u)
	ifc=$(if_name u)
	ns_new "$ns"
	out=$(ip netns exec "$ns" "$CLI" -f --user "no-such-user-$AT_PREFIX" "$ifc" 2>&1) || rc=$?
	check "--user with an unknown user fails (status $rc): $out" test "$rc" != 0
	check "... saying so" contains "$out" "no such user"
	check "... before creating anything" no_link_in "$ns" "$ifc"
	rc=0
	out=$(ip netns exec "$ns" "$CLI" -f --user root "$ifc" 2>&1) || rc=$?
	check "--user root is refused (status $rc): $out" test "$rc" != 0
	rc=0
	out=$(ip netns exec "$ns" "$CLI" -f --user nobody --disable-drop-privileges "$ifc" 2>&1) || rc=$?
	check "--user with --disable-drop-privileges is refused (status $rc)" test "$rc" != 0
	start_altuntun "$ns" "$ifc" --user nobody
	pid=$AT_LAST_PID
	wait_for 5 has_proto "$pid" || fail "no protocol process"
	proto=$(proto_of "$pid")
	check "--user nobody: the protocol process runs as nobody" \
		test "$(uids "$proto")" = "$(id -u nobody) $(id -u nobody) $(id -u nobody) $(id -u nobody)"
}

# An ordinary user with a file capability (cap_net_admin+ep), as `make
# install` suggests: no user switch, no bounding set to clear, and the
# monitor cannot bind ports below 1024.
sc_file_capability() {
	local ns ifc bin pid proto out rc=0
	ns=$(ns_name c)
	ifc=$(if_name c)
	ns_new "$ns"
	bin=$AT_TMP/fcap/altuntun-cli
	mkdir -p "$AT_TMP/fcap"
	chmod 755 "$AT_TMP" "$AT_TMP/fcap"
	cp "$CLI" "$bin"
	setcap cap_net_admin+ep "$bin" || fail "setcap failed"
	at_check_socket_free "$ifc"
	AT_SOCKS+=("$ifc")
	# The socket directory is root's and /dev/net/tun may be 0600: a
	# privileged parent hands over the listening socket and the TUN
	# (WG_UAPI_FD, WG_TUN_FD), as wg-quick or a service manager could.
	cat >"$AT_TMP/open_fds.py" <<'PY'
import fcntl, os, socket, struct, sys
ifname, path, argv = sys.argv[1], sys.argv[2], sys.argv[3:]
TUNSETIFF, IFF_TUN, IFF_NO_PI = 0x400454CA, 0x0001, 0x1000
tun = os.open("/dev/net/tun", os.O_RDWR)
fcntl.ioctl(tun, TUNSETIFF, struct.pack("16sH", ifname.encode(), IFF_TUN | IFF_NO_PI))
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
old = os.umask(0o077)
s.bind(path)
os.umask(old)
s.listen(16)
os.set_inheritable(tun, True)
os.set_inheritable(s.fileno(), True)
env = dict(os.environ, WG_TUN_FD=str(tun), WG_UAPI_FD=str(s.fileno()))
os.execvpe(argv[0], argv, env)
PY
	bg_in "$ns" "fcap-$ifc" python3 "$AT_TMP/open_fds.py" "$ifc" "$(sock_of "$ifc")" \
		setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all \
		"$bin" -f -v "$ifc"
	pid=$AT_LAST_PID
	wait_for 5 has_proto "$pid" || fail "file capability: no protocol process: $(cat "$AT_TMP/fcap-$ifc.log")"
	proto=$(proto_of "$pid")
	wait_for 5 file_has "$AT_TMP/fcap-$ifc.log" "privileges dropped" || true
	check "file capability: the monitor runs as 65534 with CAP_NET_ADMIN ($(status "$pid" CapEff))" \
		bash -c "[[ '$(uids "$pid")' == '65534 65534 65534 65534' ]] && $(declare -f cap_bit); cap_bit $(status "$pid" CapEff) 12"
	check "file capability: protocol process CapEff 0" is_zero_caps "$(status "$proto" CapEff)"
	check "file capability: protocol process CapPrm 0" is_zero_caps "$(status "$proto" CapPrm)"
	check "file capability: its bounding set stays (cannot shrink: $(status "$proto" CapBnd))" \
		bash -c "! [[ $(status "$proto" CapBnd) =~ ^0+$ ]]"
	check "file capability: NoNewPrivs 1" test "$(status "$proto" NoNewPrivs)" = 1
	check "file capability: Seccomp 2" test "$(status "$proto" Seccomp)" = 2
	check "file capability: same uid (65534)" test "$(uids "$proto")" = "65534 65534 65534 65534"
	wg_in "$ns" set "$ifc" private-key "$(keyfile "$(genkey)")" fwmark 51820 ||
		soft_fail "file capability: wg set fwmark failed"
	check "file capability: fwmark through the monitor's CAP_NET_ADMIN" \
		test "$(wg show "$ifc" fwmark)" = 0xca6c
	out=$(wg_in "$ns" set "$ifc" listen-port 1 2>&1) || rc=$?
	check "file capability: listen-port 1 fails (no CAP_NET_BIND_SERVICE; status $rc: $out)" \
		test "$rc" != 0
	check "... with a log line saying why" \
		file_has "$AT_TMP/fcap-$ifc.log" "need CAP_NET_BIND_SERVICE, which the monitor does not have"
	wg_in "$ns" set "$ifc" listen-port 52300 || soft_fail "listen-port 52300 failed"
	check "... a port above 1024 works" test "$(wg show "$ifc" listen-port)" = 52300
	kill -TERM "$pid"
	check "file capability: SIGTERM ends both" \
		bash -c "$(declare -f at_alive not_alive); for i in \$(seq 50); do not_alive $pid && not_alive $proto && exit 0; sleep 0.1; done; exit 1"
	check "... and the interface" wait_for 5 no_link_in "$ns" "$ifc"
}

# --threads 2: the encryption thread starts after the drop, so it is as
# unprivileged and filtered as the main thread (all are per thread).
sc_threads() {
	local proto t n=0 bad="" rc=0
	pair -t 2
	proto=$(proto_of "$MON")
	for t in /proc/"$proto"/task/*; do
		n=$((n + 1))
		[[ $(status "$proto/task/${t##*/}" CapEff)$(status "$proto/task/${t##*/}" CapPrm)$(status "$proto/task/${t##*/}" CapBnd) =~ ^0+$ ]] || bad+=" ${t##*/}:caps"
		[[ $(status "$proto/task/${t##*/}" NoNewPrivs) == 1 ]] || bad+=" ${t##*/}:nnp"
		[[ $(status "$proto/task/${t##*/}" Seccomp) == 2 ]] || bad+=" ${t##*/}:seccomp"
		grep -qE '^Uid:[[:space:]]+0[[:space:]]' "$t/status" && bad+=" ${t##*/}:uid"
	done
	check "--threads 2: the protocol process has 2 threads ($n)" test "$n" = 2
	check "... every thread without capabilities, bounding set, with no_new_privs and the filter${bad:+ (not:$bad)}" \
		test -z "$bad"
	# A bulk TCP transfer: batches big enough for the second thread.
	bg_in "$NS_B" "tcp-sink" python3 -c '
import socket
s = socket.socket(); s.bind(("'"$IN_B"'", 5001)); s.listen(1)
c, _ = s.accept(); n = 0
while True:
    d = c.recv(65536)
    if not d: break
    n += len(d)
print("received", n)'
	wait_for 5 tcp_listening "$NS_B" 5001 || fail "the TCP sink does not listen"
	ip netns exec "$NS_A" timeout 20 python3 -c '
import socket
s = socket.create_connection(("'"$IN_B"'", 5001)); b = b"x" * 65536
for i in range(320): s.sendall(b)
s.close()' || rc=$?
	check "20 MiB of TCP through the tunnel with two threads (status $rc)" test "$rc" = 0
	check "... the sink got all of it" wait_for 5 file_has "$AT_TMP/tcp-sink.log" "received 20971520"
	check "... no SIGSYS" bash -c "! grep -q SIGSYS '$LOG_A'"
	check "... the same protocol process" test "$(proto_of "$MON")" = "$proto"
	kill -TERM "$MON"
	check "SIGTERM: both threads end cleanly (no SIGSYS)" wait_for 5 not_alive "$proto"
	check "... nothing killed by the filter on the way out" bash -c "! grep -q SIGSYS '$LOG_A'"
}

# Rootless: a user namespace (unshare -Urn) that maps no other user. The
# uid cannot change; everything else is dropped the same way.
sc_rootless() {
	local ifc out rc=0
	ifc=$(if_name x)
	# shellcheck disable=SC2016  # expanded by the inner bash
	out=$(timeout 30 unshare -Urn --mount --propagation private bash -c '
		set -e
		mount -t tmpfs "atp-run" /run
		ip link set lo up
		"$1" -f -v "$2" >/run/cli.log 2>&1 &
		pid=$!
		trap "kill $pid 2>/dev/null; wait $pid; cat /run/cli.log" EXIT
		for _ in $(seq 100); do
			c=$(pgrep -P $pid -x altuntun-proto || true)
			[ -n "$c" ] && grep -q "privileges dropped" /run/cli.log && break
			sleep 0.1
		done
		grep -E "^(Uid|CapEff|CapPrm|CapBnd|NoNewPrivs|Seccomp):" /proc/$c/status
		wg set "$2" listen-port 1 fwmark 7
		echo "listen-port $(wg show "$2" listen-port) fwmark $(wg show "$2" fwmark)"
	' _ "$CLI" "$ifc" 2>&1) || rc=$?
	echo "$out" | grep -v debug | sed 's/^/    /'
	check "rootless: started and configured (status $rc)" test "$rc" = 0
	check "... the user switch is skipped, with a warning" contains "$out" "our user namespace does not map it"
	check "... CapEff 0" grep -qE '^CapEff:[[:space:]]+0+$' <<<"$out"
	check "... CapPrm 0" grep -qE '^CapPrm:[[:space:]]+0+$' <<<"$out"
	check "... CapBnd 0 (root of its user namespace: CAP_SETPCAP)" grep -qE '^CapBnd:[[:space:]]+0+$' <<<"$out"
	check "... NoNewPrivs 1" grep -qE '^NoNewPrivs:[[:space:]]+1$' <<<"$out"
	check "... Seccomp 2" grep -qE '^Seccomp:[[:space:]]+2$' <<<"$out"
	check "... fwmark and port 1 through the monitor" contains "$out" "listen-port 1 fwmark 0x7"
}

scenario "started as root: the protocol process is unprivileged and filtered" sc_dropped
scenario "fwmark and listen-port 1 through the monitor" sc_requests
scenario "--threads 2: every thread dropped and filtered" sc_threads
scenario "SIGKILL: restarted with the same configuration" sc_sigkill
scenario "a forbidden system call: SIGSYS, restarted" sc_forbidden_syscall
scenario "too many deaths: the monitor gives up" sc_restart_limit
scenario "daemon mode: ready once filtered; SIGTERM ends both" sc_daemon_sigterm
scenario "foreground SIGTERM" sc_foreground_sigterm
scenario "removing the socket ends both" sc_socket_removed
scenario "deleting the interface ends both" sc_link_deleted
scenario "SIGHUP: the log is reopened for both" sc_log_rotation
scenario "--disable-drop-privileges and WG_SUDO=1" sc_disabled
scenario "--user" sc_user_option
scenario "an ordinary user with cap_net_admin+ep" sc_file_capability
scenario "rootless: unshare -Urn" sc_rootless
finish
