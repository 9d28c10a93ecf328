#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# shellcheck disable=SC2317,SC2001  # functions run through scenario(); sed indents output
#
# altuntun-cli as a daemon, without traffic (see daemon_ping.sh for that):
# start-up in the background, the UAPI socket (modes, wg show / wg set),
# the ways it stops (SIGTERM, ip link del, removing the socket), start-up
# errors (name in use, bad names, bad options, unwritable log), --uapi-name,
# --mtu and MTU changes, a missing /var/run/wireguard, stale sockets,
# WG_TUN_FD + WG_UAPI_FD as an unprivileged user, and the UAPI server under
# idle, garbage, pipelined and too many clients.

# shellcheck source=tests/netns/lib.sh
. "$(dirname "$0")/lib.sh"
require_root
require_cmd wg ip python3 ss unshare setpriv stat timeout

CLI=$ALTUNTUN_CLI
[[ -x $CLI ]] || fail "$CLI not built (make all)"

# ---- helpers -----------------------------------------------------------------

sock_of() { echo "$WG_RUN_DIR/$1.sock"; }
not_alive() { ! at_alive "$1"; }
mtu_of() { ip -n "$1" -o link show "$2" | sed -n 's/.* mtu \([0-9]*\) .*/\1/p'; }

# The altuntun-cli processes running in namespace NS.
daemon_pids() {
	local p
	for p in $(ip netns pids "$1" 2>/dev/null); do
		[[ $(cat "/proc/$p/comm" 2>/dev/null) == altuntun-cli ]] && echo "$p"
	done
	return 0
}

# start_daemon NS IFNAME [ARGS...]: altuntun-cli without -f; it must return
# 0 with link and socket already there. Sets DAEMON_PID.
start_daemon() {
	local ns=$1 ifc=$2 out rc=0
	shift 2
	at_check_socket_free "$ifc"
	AT_SOCKS+=("$ifc")
	out=$(ip netns exec "$ns" "$CLI" "$@" "$ifc" 2>&1) || rc=$?
	((rc == 0)) || fail "altuntun-cli $* $ifc returned $rc: $out"
	DAEMON_PID=$(daemon_pids "$ns" | head -n 1)
	[[ -n $DAEMON_PID ]] || fail "no altuntun-cli process in $ns after a successful start"
}

# ---- scenarios ---------------------------------------------------------------

sc_daemon_mode() {
	local ns ifc key out sid
	ns=$(ns_name d)
	ifc=$(if_name d)
	ns_new "$ns"
	start_daemon "$ns" "$ifc"
	pass "altuntun-cli $ifc (no -f) returned 0"
	# No waiting: wg-quick runs `wg setconf` right after it returns.
	check "link $ifc exists when it returns" link_in "$ns" "$ifc"
	check "socket exists when it returns" test -S "$(sock_of "$ifc")"
	check "socket mode is 0600" test "$(stat -c %a "$(sock_of "$ifc")")" = 600
	check "$WG_RUN_DIR is a directory" test -d "$WG_RUN_DIR"
	check "default MTU is 1420" test "$(mtu_of "$ns" "$ifc")" = 1420
	sid=$(ps -o sid= -p "$DAEMON_PID" | tr -d ' ')
	check "daemon leads no session of ours (setsid)" test "$sid" != "$(ps -o sid= -p $$ | tr -d ' ')"

	out=$(wg_in "$ns" show "$ifc" 2>&1) || fail "wg show $ifc: $out"
	check "wg show names the interface" contains "$out" "interface: $ifc"

	key=$(genkey)
	wg_in "$ns" set "$ifc" private-key "$(keyfile "$key")" listen-port 51999 ||
		fail "wg set private-key / listen-port failed"
	check "wg set private-key: public key matches" \
		test "$(wg_in "$ns" show "$ifc" public-key)" = "$(pubkey "$key")"
	check "wg set listen-port: wg reports 51999" \
		test "$(wg_in "$ns" show "$ifc" listen-port)" = 51999
	check "UDP 51999 bound for IPv4 and IPv6" \
		test "$(ip netns exec "$ns" ss -Huln 'sport = :51999' | wc -l)" = 2
	# A port taken by someone else is refused and the old one kept.
	bg_in "$ns" "port-holder" python3 -c 'import socket, time
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
s.bind(("::", 52222))
time.sleep(120)'
	wait_for 5 bash -c "ip netns exec '$ns' ss -Huln 'sport = :52222' | grep -q ." ||
		fail "the port holder did not bind 52222"
	check "wg set listen-port to a busy port fails" \
		bash -c "! ip netns exec '$ns' wg set '$ifc' listen-port 52222 2>/dev/null"
	check "... and the old port stays" test "$(wg_in "$ns" show "$ifc" listen-port)" = 51999
	check "... bound" test "$(ip netns exec "$ns" ss -Huln 'sport = :51999' | wc -l)" = 2
	stop_pid "$AT_LAST_PID"
	wg_in "$ns" set "$ifc" listen-port 0 || fail "wg set listen-port 0 failed"
	check "listen-port 0 picks a new port" \
		test "$(wg_in "$ns" show "$ifc" listen-port)" != 51999

	ip -n "$ns" link del "$ifc"
	check "ip link del: the daemon exits" wait_for 5 not_alive "$DAEMON_PID"
	check "ip link del: the socket is removed" wait_for 5 no_file "$(sock_of "$ifc")"
}

sc_sigterm() {
	local ns ifc pid rc=0
	ns=$(ns_name t)
	ifc=$(if_name t)
	ns_new "$ns"
	# Also shows that -v, -t and --disable-drop-privileges are accepted.
	start_altuntun "$ns" "$ifc" -v -t 4 --disable-drop-privileges
	pid=$AT_LAST_PID
	check "foreground: link exists" link_in "$ns" "$ifc"
	kill -TERM "$pid"
	wait "$pid" || rc=$?
	check "SIGTERM: exit status 0 (got $rc)" test "$rc" = 0
	check "SIGTERM: socket removed" no_file "$(sock_of "$ifc")"
	check "SIGTERM: link removed" no_link_in "$ns" "$ifc"
	check "SIGTERM: logged" file_has "$AT_TMP/altuntun-$ifc.log" "stopping: SIGTERM"
}

sc_socket_removed() {
	local ns ifc
	ns=$(ns_name r)
	ifc=$(if_name r)
	ns_new "$ns"
	start_daemon "$ns" "$ifc"
	rm -f "$(sock_of "$ifc")"
	check "rm socket: the daemon exits" wait_for 5 not_alive "$DAEMON_PID"
	check "rm socket: the link goes with it" wait_for 5 no_link_in "$ns" "$ifc"
}

sc_name_in_use() {
	local ns1 ns2 ifc out rc=0
	ns1=$(ns_name u1)
	ns2=$(ns_name u2)
	ifc=$(if_name u)
	ns_new "$ns1"
	ns_new "$ns2"
	start_altuntun "$ns1" "$ifc"
	out=$(ip netns exec "$ns2" "$CLI" "$ifc" 2>&1) || rc=$?
	check "second daemon on $ifc.sock fails (status $rc)" test "$rc" != 0
	check "... saying the socket is in use" contains "$out" "already served by a running process"
	echo "    message: $out"
	rc=0
	out=$(ip netns exec "$ns2" "$CLI" -f "$ifc" 2>&1) || rc=$?
	check "same in the foreground (status $rc)" test "$rc" != 0
	check "... creating no interface" no_link_in "$ns2" "$ifc"
	check "the first daemon still answers" wg_in "$ns1" show "$ifc"
	check "and still has its socket" test -S "$(sock_of "$ifc")"
}

sc_uapi_name() {
	local ns1 ns2 ifc other key
	ns1=$(ns_name n1)
	ns2=$(ns_name n2)
	ifc=$(if_name n)
	other=$(if_name n2)
	ns_new "$ns1"
	ns_new "$ns2"
	start_altuntun "$ns1" "$ifc"
	start_altuntun "$ns2" "$ifc" --uapi-name "$other"
	check "both namespaces have $ifc" bash -c "ip -n $ns1 link show $ifc && ip -n $ns2 link show $ifc"
	check "$other.sock serves the second" test -S "$(sock_of "$other")"
	key=$(genkey)
	wg_in "$ns2" set "$other" private-key "$(keyfile "$key")" || fail "wg set $other failed"
	check "wg set $other configures the second daemon" \
		test "$(wg show "$other" public-key)" = "$(pubkey "$key")"
	check "... and not the first" test "$(wg show "$ifc" public-key)" = "(none)"
}

sc_bad_arguments() {
	local ns ifc n out rc
	ns=$(ns_name b)
	ifc=$(if_name b)
	ns_new "$ns"
	for n in "" "a/b" "." ".." "a b" "tab$(printf '\t')x" "abcdefghijklmnop" "x:y"; do
		rc=0
		out=$(ip netns exec "$ns" "$CLI" -f "$n" 2>&1) || rc=$?
		check "interface name '$n' refused (status $rc)" test "$rc" != 0
		check "... with a clear message" contains "$out" "invalid interface name"
	done
	rc=0
	out=$(ip netns exec "$ns" "$CLI" -f --uapi-name "../x" "$ifc" 2>&1) || rc=$?
	check "--uapi-name ../x refused ($out)" test "$rc" != 0
	for args in "-t 0" "-t 65" "--threads x" "--mtu 20" "--mtu 70000" "--bogus" "--log"; do
		rc=0
		# shellcheck disable=SC2086
		out=$(timeout 10 ip netns exec "$ns" "$CLI" -f $args "$ifc" 2>&1) || rc=$?
		check "'$args' refused (status $rc): $out" test "$rc" != 0 -a "$rc" != 124
	done
	rc=0
	out=$(timeout 10 ip netns exec "$ns" "$CLI" -f 2>&1) || rc=$?
	check "a missing interface name is refused (status $rc): $out" test "$rc" != 0 -a "$rc" != 124
	rc=0
	out=$(timeout 10 ip netns exec "$ns" "$CLI" -f "$ifc" extra 2>&1) || rc=$?
	check "an extra argument is refused (status $rc): $out" test "$rc" != 0 -a "$rc" != 124
	check "no interface was created by any of these" no_link_in "$ns" "$ifc"
	check "--version" bash -c "'$CLI' --version | grep -q '^altuntun-cli '"
	check "--help" bash -c "'$CLI' --help | grep -q 'Usage:'"
}

sc_log_file() {
	local ns ifc bad logf out rc=0
	ns=$(ns_name l)
	ifc=$(if_name l)
	ns_new "$ns"
	bad=/nonexistent-$AT_PREFIX/dir/altuntun.log
	out=$(ip netns exec "$ns" "$CLI" --log "$bad" "$ifc" 2>&1) || rc=$?
	check "unwritable --log fails (status $rc)" test "$rc" != 0
	check "... naming the file: $out" contains "$out" "$bad"
	check "... before creating the interface" no_link_in "$ns" "$ifc"
	check "... or the socket" no_file "$(sock_of "$ifc")"

	logf=$AT_TMP/existing.log
	echo "line from before" >"$logf"
	start_daemon "$ns" "$ifc" --log "$logf" -v
	check "an existing log file is reused" test "$(head -n 1 "$logf")" = "line from before"
	check "... and appended to" file_has "$logf" "ready"
	mv "$logf" "$logf.1"
	kill -HUP "$DAEMON_PID"
	check "SIGHUP reopens the log (rotation)" wait_for 5 file_has "$logf" "log reopened"
	ip -n "$ns" link del "$ifc"
	wait_for 5 not_alive "$DAEMON_PID" || fail "daemon did not stop after ip link del"
	check "the reason it stopped is logged" file_has "$logf" "stopping: the interface was deleted"
}

sc_mtu() {
	local ns ifc logf
	ns=$(ns_name m)
	ifc=$(if_name m)
	ns_new "$ns"
	start_altuntun "$ns" "$ifc" --mtu 1380
	logf=$AT_TMP/altuntun-$ifc.log
	check "--mtu 1380 sets the MTU" test "$(mtu_of "$ns" "$ifc")" = 1380
	ip -n "$ns" link set "$ifc" mtu 1300
	check "an MTU change is noticed (rtnetlink)" wait_for 5 file_has "$logf" "MTU of $ifc is now 1300"
}

# /run is a fresh tmpfs in a private mount namespace: no /var/run/wireguard.
sc_missing_dir() {
	local ifc out rc=0
	ifc=$(if_name x)
	# shellcheck disable=SC2016  # expanded by the inner bash
	out=$(timeout 30 unshare --mount --net --propagation private bash -c '
		set -e
		mount -t tmpfs "att-run" /run
		test ! -e /var/run/wireguard
		"$1" -f "$2" >/run/cli.log 2>&1 &
		pid=$!
		trap "kill $pid 2>/dev/null; wait $pid" EXIT
		for _ in $(seq 100); do
			[ -S "/var/run/wireguard/$2.sock" ] && break
			sleep 0.1
		done
		stat -c "%a %F" /var/run/wireguard "/var/run/wireguard/$2.sock"
		wg show "$2" >/dev/null
		echo "wg show ok"
	' _ "$CLI" "$ifc" 2>&1) || rc=$?
	echo "$out" | sed 's/^/    /'
	check "missing $WG_RUN_DIR: the daemon started (status $rc)" test "$rc" = 0
	check "... created it with mode 0700" contains "$out" "700 directory"
	check "... and the socket 0600" contains "$out" "600 socket"
	check "... and serves wg" contains "$out" "wg show ok"
}

sc_stale_socket() {
	local ns ifc out rc=0
	ns=$(ns_name s)
	ifc=$(if_name s)
	ns_new "$ns"
	AT_SOCKS+=("$ifc")
	# A socket whose process died without removing it.
	python3 -c 'import socket, sys; s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])' \
		"$(sock_of "$ifc")"
	test -S "$(sock_of "$ifc")" || fail "could not make a stale socket"
	# Not start_altuntun: it refuses an existing socket.
	bg_in "$ns" "altuntun-$ifc" "$CLI" -f "$ifc"
	wait_for 5 file_has "$AT_TMP/altuntun-$ifc.log" "ready" ||
		fail "no start over a stale socket: $(cat "$AT_TMP/altuntun-$ifc.log")"
	check "a stale socket is replaced" wg_in "$ns" show "$ifc"
	check "... and that is logged" file_has "$AT_TMP/altuntun-$ifc.log" "removed the stale socket"
	stop_pid "$AT_LAST_PID"

	# A file that is not a socket is not ours to remove.
	touch "$(sock_of "$ifc")"
	out=$(ip netns exec "$ns" "$CLI" -f "$ifc" 2>&1) || rc=$?
	check "a non-socket file in the way is an error (status $rc)" test "$rc" != 0
	check "... saying so: $out" contains "$out" "not a socket"
	check "... and is left alone" test -f "$(sock_of "$ifc")"
	rm -f "$(sock_of "$ifc")"
}

# A privileged parent opens the TUN device and the UAPI socket, then runs
# the daemon as nobody with no capabilities (as wg-quick could).
sc_inherited_fds() {
	local ns ifc pid out
	ns=$(ns_name f)
	ifc=$(if_name f)
	ns_new "$ns"
	at_check_socket_free "$ifc"
	AT_SOCKS+=("$ifc")
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
	bg_in "$ns" "inherited-$ifc" python3 "$AT_TMP/open_fds.py" "$ifc" "$(sock_of "$ifc")" \
		setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all \
		"$CLI" -f -v "$ifc"
	pid=$AT_LAST_PID
	wait_for 5 bash -c "grep -q ready '$AT_TMP/inherited-$ifc.log'" ||
		fail "daemon with WG_TUN_FD/WG_UAPI_FD did not get ready: $(cat "$AT_TMP/inherited-$ifc.log")"
	check "runs as uid 65534" test "$(stat -c %u "/proc/$pid")" = 65534
	check "with no effective capabilities" \
		grep -q '^CapEff:[[:space:]]*0000000000000000$' "/proc/$pid/status"
	check "wg show works" wg_in "$ns" show "$ifc"
	wg_in "$ns" set "$ifc" private-key "$(keyfile "$(genkey)")" listen-port 52001 ||
		fail "wg set on the inherited socket failed"
	check "wg set works" test "$(wg show "$ifc" listen-port)" = 52001
	check "the MTU is left alone (TUN default 1500)" test "$(mtu_of "$ns" "$ifc")" = 1500
	out=$(cat "$AT_TMP/inherited-$ifc.log")
	kill -TERM "$pid"
	check "SIGTERM: it exits" wait_for 5 not_alive "$pid"
	check "SIGTERM: the link goes with the TUN fd" wait_for 5 no_link_in "$ns" "$ifc"
}

# The UAPI server: idle clients, garbage, pipelining, partial requests and
# more clients than it takes must not stop it from serving wg.
sc_uapi_clients() {
	local ns ifc out rc=0
	ns=$(ns_name c)
	ifc=$(if_name c)
	ns_new "$ns"
	start_altuntun "$ns" "$ifc"
	cat >"$AT_TMP/clients.py" <<'PY'
import socket, subprocess, sys, time
path, ifc = sys.argv[1], sys.argv[2]
ok = True
def conn():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    # Blocking connect: waits for room in the backlog instead of EAGAIN.
    s.connect(path)
    s.settimeout(5)
    return s
def read_answers(s, n):
    buf = b""
    while buf.count(b"errno=") < n or not buf.endswith(b"\n\n"):
        c = s.recv(65536)
        if not c:
            break
        buf += c
    return buf
def report(name, good):
    global ok
    print(("PASS " if good else "FAIL ") + name)
    ok = ok and good
idle = [conn() for _ in range(50)]
t = time.time()
r = subprocess.run(["wg", "show", ifc], capture_output=True, timeout=10)
report("wg show with 50 idle clients connected (%.2fs)" % (time.time() - t), r.returncode == 0)
s = conn()
s.sendall(b"hello\n\n")
a = read_answers(s, 1)
report("garbage gets errno=-22: %r" % a, a == b"errno=-22\n\n")
report("... and is closed", s.recv(1) == b"")
s = conn()
s.sendall(b"get=1\n\nget=1\n\n")
a = read_answers(s, 2)
report("two pipelined requests get two answers", a.count(b"errno=0\n\n") == 2)
s.sendall(b"get=1\n")
time.sleep(0.3)
s.sendall(b"\n")
a = read_answers(s, 1)
report("a request split over two writes is answered", a.endswith(b"errno=0\n\n"))
s.close()
for c in idle:
    c.close()
many = []
for _ in range(300):
    many.append(conn())
time.sleep(0.5)
closed = 0
for c in many:
    c.setblocking(False)
    try:
        if c.recv(1) == b"":
            closed += 1
    except BlockingIOError:
        pass
report("of 300 clients at once, %d beyond the limit were closed" % closed, closed == 300 - 256)
for c in many:
    c.close()
time.sleep(0.3)
r = subprocess.run(["wg", "show", ifc], capture_output=True, timeout=10)
report("wg show works once they are gone", r.returncode == 0)
sys.exit(0 if ok else 1)
PY
	out=$(ip netns exec "$ns" python3 "$AT_TMP/clients.py" "$(sock_of "$ifc")" "$ifc" 2>&1) || rc=$?
	echo "$out" | sed 's/^/    /'
	check "UAPI server client handling" test "$rc" = 0
	check "the daemon is still running" at_alive "$AT_LAST_PID"
}

sc_wg_quick() {
	local ns ifc conf out rc=0
	ns=$(ns_name q)
	ifc=$(if_name q)
	ns_new "$ns"
	at_check_socket_free "$ifc"
	AT_SOCKS+=("$ifc")
	conf=$AT_TMP/$ifc.conf
	cat >"$conf" <<CONF
[Interface]
PrivateKey = $(genkey)
Address = 10.202.0.1/24
ListenPort = 51830

[Peer]
PublicKey = $(pubkey "$(genkey)")
AllowedIPs = 10.202.0.2/32
CONF
	chmod 600 "$conf"
	out=$(ip netns exec "$ns" env WG_QUICK_USERSPACE_IMPLEMENTATION="$CLI" \
		wg-quick up "$conf" 2>&1) || rc=$?
	check "wg-quick up with altuntun-cli (status $rc)" test "$rc" = 0
	((rc == 0)) || echo "$out" | sed 's/^/    /'
	check "wg-quick's wg setconf reached the daemon" \
		test "$(wg_in "$ns" show "$ifc" listen-port)" = 51830
	check "wg-quick set the address and brought the link up" \
		bash -c "ip -n '$ns' -4 addr show dev '$ifc' | grep -q 'inet 10.202.0.1/24' &&
			 ip -n '$ns' link show '$ifc' | grep -q ',UP'"
	rc=0
	out=$(ip netns exec "$ns" wg-quick down "$conf" 2>&1) || rc=$?
	check "wg-quick down (status $rc)" test "$rc" = 0
	check "wg-quick down: the daemon exits" wait_for 5 bash -c "test -z \"\$(daemon_pids '$ns')\""
	check "wg-quick down: the socket is removed" wait_for 5 no_file "$(sock_of "$ifc")"
}

sc_env_foreground() {
	local ns ifc
	ns=$(ns_name e)
	ifc=$(if_name e)
	ns_new "$ns"
	at_check_socket_free "$ifc"
	AT_SOCKS+=("$ifc")
	bg_in "$ns" "env-fg-$ifc" env WG_PROCESS_FOREGROUND=1 "$CLI" "$ifc"
	at_wait_socket "$ifc" "$AT_LAST_PID" "altuntun-cli with WG_PROCESS_FOREGROUND=1"
	check "WG_PROCESS_FOREGROUND=1 stays in the foreground" at_alive "$AT_LAST_PID"
	check "... as the process we started" test "$(daemon_pids "$ns")" = "$AT_LAST_PID"
	check "... logging to stderr" file_has "$AT_TMP/env-fg-$ifc.log" "ready"
}

export -f daemon_pids
scenario "daemon mode, wg show/set, ip link del" sc_daemon_mode
scenario "wg-quick up / down" sc_wg_quick
scenario "WG_PROCESS_FOREGROUND=1" sc_env_foreground
scenario "SIGTERM in the foreground" sc_sigterm
scenario "removing the socket stops the daemon" sc_socket_removed
scenario "a socket name in use is refused" sc_name_in_use
scenario "--uapi-name" sc_uapi_name
scenario "bad names and options" sc_bad_arguments
scenario "--log" sc_log_file
scenario "--mtu and MTU changes" sc_mtu
scenario "missing $WG_RUN_DIR" sc_missing_dir
scenario "stale socket" sc_stale_socket
scenario "WG_TUN_FD and WG_UAPI_FD, unprivileged" sc_inherited_fds
scenario "UAPI clients" sc_uapi_clients
finish
