# shellcheck shell=bash
# shellcheck disable=SC2030,SC2031  # scenario() resets the records in a subshell on purpose
# SPDX-License-Identifier: BSD-3-Clause
#
# Helpers for the end-to-end tests in tests/netns. Every test sources this
# file first:
#
#     . "$(dirname "$0")/lib.sh"
#     require_root
#
# Everything a test creates through these helpers (namespaces, daemons,
# background processes, UAPI sockets, temporary files) is recorded and
# removed by `cleanup`, which runs on EXIT, INT and TERM, also on failure.
#
# Names: every namespace, interface and UAPI socket of a test run starts with
# $AT_PREFIX ("at" + a short base-36 id; tests/netns/run-all sets it per test
# so it can spot leaks). Interface names are limited to 15 characters, so keep
# suffixes short: `if_name a` gives e.g. "at5x3k0a".
#
# Helpers that record something (ns_new, veth_pair, start_*, bg_in, ...) must
# run in the test's own shell, never inside $(...): a subshell's records are
# lost. Pure helpers (ns_name, if_name, genkey, pubkey, ...) are fine there.

set -euo pipefail

# ---- locations -------------------------------------------------------------

AT_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
AT_REPO_ROOT=$(cd "$AT_LIB_DIR/../.." && pwd)
ALTUNTUN_CLI=${ALTUNTUN_CLI:-$AT_REPO_ROOT/build/altuntun-cli}
WGGO_DEBIAN=${WGGO_DEBIAN:-/usr/bin/wireguard-go}
WG_RUN_DIR=/var/run/wireguard

at_find_modern_wggo() {
	local top name=wireguard-go-0.0.20250522
	top=$(git -C "$AT_REPO_ROOT" rev-parse --show-toplevel 2>/dev/null || echo "$AT_REPO_ROOT")
	if [[ -x "$top/../shared/anchors/$name" ]]; then
		echo "$(cd "$top/../shared/anchors" && pwd)/$name"
	else
		echo "/work/shared/anchors/$name"
	fi
}
WGGO_MODERN=${WGGO_MODERN:-$(at_find_modern_wggo)}

# ---- names -----------------------------------------------------------------

# Prints a non-negative integer in base 36 (lower case).
b36() {
	local n=$1 digits=0123456789abcdefghijklmnopqrstuvwxyz out=""
	while ((n > 0)); do
		out=${digits:n % 36:1}$out
		n=$((n / 36))
	done
	echo "${out:-0}"
}

AT_PREFIX=${AT_PREFIX:-at$(b36 $$)}
if ((${#AT_PREFIX} > 9)); then
	echo "lib.sh: AT_PREFIX '$AT_PREFIX' is too long (max 9)" >&2
	exit 1
fi
export AT_PREFIX

# Namespace name for SUFFIX: "$AT_PREFIX-SUFFIX".
ns_name() { echo "$AT_PREFIX-$1"; }

# Interface (and UAPI socket) name for SUFFIX; fails above 15 characters.
if_name() {
	local n="$AT_PREFIX$1"
	if ((${#n} > 15)); then
		echo "if_name: '$n' is longer than 15 characters" >&2
		return 1
	fi
	echo "$n"
}

# ---- state recorded for cleanup --------------------------------------------

AT_TEST_NAME=${AT_TEST_NAME:-$(basename "$0" .sh)}
AT_TMP=$(mktemp -d "/tmp/$AT_PREFIX.XXXXXX")
# Debian's python3 first: a version manager's shim ahead of it in PATH (pyenv
# here) takes about a second to start, which races the tests' waits.
if [[ -x /usr/bin/python3 ]]; then
	mkdir -p "$AT_TMP/bin"
	ln -sf /usr/bin/python3 "$AT_TMP/bin/python3"
	PATH=$AT_TMP/bin:$PATH
fi
AT_PIDS=()    # processes started by the test
AT_NS=()      # namespaces created by the test
AT_SOCKS=()   # UAPI socket names (without .sock) of daemons started
AT_LOGS=()    # log files shown by fail()
AT_SOFT_FAILS=0
AT_PASSES=0
AT_CLEANED=0

log() { printf '%s [%s] %s\n' "$(date +%T)" "$AT_TEST_NAME" "$*"; }

# ---- cleanup ---------------------------------------------------------------

# True if PID runs (a zombie, exited but not yet reaped, does not count).
at_alive() {
	local st
	kill -0 "$1" 2>/dev/null || return 1
	st=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
	[[ $st != Z && $st != X ]]
}

# Sends TERM to the pids, waits up to 3 s, then KILLs what is left.
at_kill_pids() {
	local pid alive i
	(($# > 0)) || return 0
	for pid in "$@"; do kill -TERM "$pid" 2>/dev/null || true; done
	for ((i = 0; i < 30; i++)); do
		alive=0
		for pid in "$@"; do
			at_alive "$pid" && alive=1
		done
		((alive)) || return 0
		sleep 0.1
	done
	for pid in "$@"; do kill -KILL "$pid" 2>/dev/null || true; done
}

# Kills everything still running inside namespace NS and deletes it.
at_ns_destroy() {
	local ns=$1 pids=()
	ip netns list 2>/dev/null | awk '{print $1}' | grep -qxF "$ns" || return 0
	mapfile -t pids < <(ip netns pids "$ns" 2>/dev/null || true)
	at_kill_pids "${pids[@]}"
	ip netns del "$ns" 2>/dev/null || true
}

# Stops every recorded process, deletes recorded namespaces and sockets.
at_release() {
	local ns s
	at_kill_pids "${AT_PIDS[@]}"
	# Reap our own children so nothing is reported as a zombie.
	wait 2>/dev/null
	for ns in "${AT_NS[@]}"; do at_ns_destroy "$ns"; done
	for s in "${AT_SOCKS[@]}"; do rm -f "$WG_RUN_DIR/$s.sock"; done
	AT_PIDS=() AT_NS=() AT_SOCKS=()
}

cleanup() {
	((AT_CLEANED)) && return 0
	AT_CLEANED=1
	set +e
	at_release
	if [[ -n "${AT_KEEP_TMP:-}" ]]; then
		log "kept temporary files in $AT_TMP"
	else
		rm -rf "$AT_TMP"
	fi
	set -e
}

trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---- results ---------------------------------------------------------------

require_root() {
	if [[ $(id -u) -ne 0 ]]; then
		echo "FAIL [$AT_TEST_NAME] must run as root (network namespaces, TUN)" >&2
		exit 1
	fi
}

# Requires that a command exists; a missing tool is a failure, never a skip.
require_cmd() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || fail "required command not found: $c"
	done
}

pass() {
	AT_PASSES=$((AT_PASSES + 1))
	printf 'PASS [%s] %s\n' "$AT_TEST_NAME" "$*"
}

# Prints what the test's interfaces and daemons look like now.
show_context() {
	local s f
	echo "---- context for [$AT_TEST_NAME] ----"
	for s in "${AT_SOCKS[@]}"; do
		echo "## wg show $s"
		timeout 5 wg show "$s" 2>&1 | head -n 40 | cut -c 1-200 | sed 's/^/   /' || true
	done
	for f in "${AT_LOGS[@]}"; do
		[[ -s "$f" ]] || continue
		echo "## tail of $(basename "$f")"
		tail -n 25 "$f" | cut -c 1-300 | sed 's/^/   /'
	done
	echo "---- end of context ----"
}

# Reports a failed check with context and ends the test.
fail() {
	printf 'FAIL [%s] %s\n' "$AT_TEST_NAME" "$*"
	show_context
	exit 1
}

# Reports a failed check and goes on; `finish` then fails the test.
soft_fail() {
	AT_SOFT_FAILS=$((AT_SOFT_FAILS + 1))
	printf 'FAIL [%s] %s\n' "$AT_TEST_NAME" "$*"
}

# Runs a command; pass MSG if it succeeds, soft_fail MSG otherwise.
check() {
	local msg=$1
	shift
	if "$@"; then pass "$msg"; else soft_fail "$msg"; fi
}

# Ends a test: exit 1 if any soft failure was recorded.
finish() {
	if ((AT_SOFT_FAILS > 0)); then
		log "$AT_PASSES checks passed, $AT_SOFT_FAILS failed"
		show_context
		exit 1
	fi
	log "all $AT_PASSES checks passed"
	exit 0
}

# scenario TITLE CMD [ARGS...]: runs CMD in a subshell with its own records
# and cleanup, so a `fail` inside it ends only that scenario (counted as one
# failure) and everything it started is gone afterwards. Its passes and soft
# failures are added to the test's counts.
scenario() {
	local title=$1 rc counts="$AT_TMP/.scenario-counts"
	shift
	log "---- scenario: $title"
	rm -f "$counts"
	set +e
	(
		set -e
		AT_PIDS=() AT_NS=() AT_SOCKS=() AT_LOGS=() AT_PASSES=0 AT_SOFT_FAILS=0
		# shellcheck disable=SC2317
		at_scenario_exit() {
			local st=$?
			set +e
			at_release
			echo "$AT_PASSES $AT_SOFT_FAILS" >"$counts"
			exit "$st"
		}
		trap at_scenario_exit EXIT
		trap 'exit 130' INT
		trap 'exit 143' TERM
		"$@"
		((AT_SOFT_FAILS == 0))
	)
	rc=$?
	set -e
	local p=0 f=0
	[[ -s $counts ]] && read -r p f <"$counts"
	AT_PASSES=$((AT_PASSES + p))
	AT_SOFT_FAILS=$((AT_SOFT_FAILS + f))
	if ((rc != 0 && f == 0)); then
		AT_SOFT_FAILS=$((AT_SOFT_FAILS + 1))
		printf 'FAIL [%s] scenario "%s" aborted (status %d)\n' "$AT_TEST_NAME" "$title" "$rc"
	fi
	((rc == 130 || rc == 143)) && exit "$rc"
	return 0
}

# ---- waiting ---------------------------------------------------------------

# wait_for SECONDS CMD [ARGS...]   (also accepted: wait_for "CMD STRING" SECONDS)
# Runs CMD every 0.1 s until it succeeds (0) or SECONDS pass (1).
wait_for() {
	local t cmd=()
	if [[ $1 =~ ^[0-9]+(\.[0-9]+)?$ ]]; then
		t=$1
		shift
		cmd=("$@")
	elif (($# == 2)) && [[ $2 =~ ^[0-9]+(\.[0-9]+)?$ ]]; then
		t=$2
		cmd=(bash -c "$1")
	else
		echo "wait_for: usage: wait_for SECONDS CMD [ARGS...]" >&2
		return 2
	fi
	local end=$((SECONDS + ${t%.*} + 1))
	while ((SECONDS < end)); do
		"${cmd[@]}" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	"${cmd[@]}" >/dev/null 2>&1
}

# ---- namespaces and links --------------------------------------------------

# ns_new NAME: creates namespace NAME (must start with $AT_PREFIX; use
# ns_name), brings lo up, records it for cleanup.
ns_new() {
	local ns=$1
	[[ $ns == "$AT_PREFIX"* ]] || fail "ns_new: '$ns' does not start with $AT_PREFIX (use ns_name)"
	ip netns add "$ns" || fail "ip netns add $ns failed"
	AT_NS+=("$ns")
	ip -n "$ns" link set lo up
}

# ns_del NAME: kills what runs in it and deletes it now (cleanup also would).
ns_del() {
	local ns=$1 i
	at_ns_destroy "$ns"
	for i in "${!AT_NS[@]}"; do
		[[ ${AT_NS[$i]} == "$ns" ]] && unset 'AT_NS[i]'
	done
	AT_NS=("${AT_NS[@]}")
}

# ns_exec NS CMD...: runs CMD inside NS.
ns_exec() {
	local ns=$1
	shift
	ip netns exec "$ns" "$@"
}

# veth_pair NS1 IF1 NS2 IF2: a veth pair between two namespaces, both up.
veth_pair() {
	local ns1=$1 if1=$2 ns2=$3 if2=$4
	ip link add "$if1" netns "$ns1" type veth peer name "$if2" netns "$ns2" ||
		fail "veth_pair: could not create $if1 <-> $if2"
	ip -n "$ns1" link set "$if1" up
	ip -n "$ns2" link set "$if2" up
}

# addr NS IF CIDR: adds an address (IPv6 without DAD) and brings IF up.
addr() {
	local ns=$1 ifc=$2 cidr=$3
	if [[ $cidr == *:* ]]; then
		ip -n "$ns" addr add "$cidr" dev "$ifc" nodad
	else
		ip -n "$ns" addr add "$cidr" dev "$ifc"
	fi
	ip -n "$ns" link set "$ifc" up
}

# ---- processes -------------------------------------------------------------

# bg_in NS LOGNAME CMD...: runs CMD in NS in the background, output to
# $AT_TMP/LOGNAME.log; records the pid (also in $AT_LAST_PID).
bg_in() {
	local ns=$1 name=$2
	shift 2
	local logf="$AT_TMP/$name.log"
	ip netns exec "$ns" "$@" >"$logf" 2>&1 &
	AT_LAST_PID=$!
	AT_PIDS+=("$AT_LAST_PID")
	AT_LOGS+=("$logf")
}

# Stops one recorded process now.
stop_pid() {
	at_kill_pids "$1"
	wait "$1" 2>/dev/null || true
}

# Waits for /var/run/wireguard/NAME.sock while PID lives; fails with its log.
at_wait_socket() {
	local name=$1 pid=$2 what=$3 i
	for ((i = 0; i < 100; i++)); do
		[[ -S "$WG_RUN_DIR/$name.sock" ]] && return 0
		at_alive "$pid" || fail "$what exited before creating $WG_RUN_DIR/$name.sock"
		sleep 0.1
	done
	fail "$what: no $WG_RUN_DIR/$name.sock after 10 s"
}

at_check_socket_free() {
	local name=$1
	if [[ -S "$WG_RUN_DIR/$name.sock" ]]; then
		fail "$WG_RUN_DIR/$name.sock already exists (another test or a leftover?)"
	fi
}

# start_altuntun NS IFNAME [ARGS...]: runs build/altuntun-cli in the
# foreground (-f) in NS, in the background of the test; waits for its UAPI
# socket (IFNAME, or the value of --uapi-name). Sets AT_LAST_PID.
start_altuntun() {
	local ns=$1 ifc=$2
	shift 2
	local sock=$ifc a prev=""
	for a in "$@"; do
		[[ $prev == --uapi-name ]] && sock=$a
		[[ $a == --uapi-name=* ]] && sock=${a#--uapi-name=}
		prev=$a
	done
	[[ -x "$ALTUNTUN_CLI" ]] || fail "$ALTUNTUN_CLI not built (make all)"
	at_check_socket_free "$sock"
	AT_SOCKS+=("$sock")
	bg_in "$ns" "altuntun-$sock" "$ALTUNTUN_CLI" -f "$@" "$ifc"
	at_wait_socket "$sock" "$AT_LAST_PID" "altuntun-cli ($ifc in $ns)"
}

# Path of a wireguard-go flavour: debian or modern.
wggo_path() {
	case $1 in
	debian) echo "$WGGO_DEBIAN" ;;
	modern) echo "$WGGO_MODERN" ;;
	*) echo "wggo_path: unknown flavour '$1' (debian|modern)" >&2; return 1 ;;
	esac
}

# start_wggo NS IFNAME [debian|modern]: runs wireguard-go -f IFNAME in NS.
start_wggo() {
	local ns=$1 ifc=$2 flavour=${3:-debian} bin
	bin=$(wggo_path "$flavour") || fail "start_wggo: bad flavour '$flavour'"
	[[ -x "$bin" ]] || fail "wireguard-go ($flavour) not found at $bin"
	at_check_socket_free "$ifc"
	AT_SOCKS+=("$ifc")
	bg_in "$ns" "wggo-$flavour-$ifc" "$bin" -f "$ifc"
	at_wait_socket "$ifc" "$AT_LAST_PID" "wireguard-go $flavour ($ifc in $ns)"
}

# start_impl KIND NS IFNAME: KIND is altuntun, debian or modern (wireguard-go).
start_impl() {
	local kind=$1 ns=$2 ifc=$3
	case $kind in
	altuntun) start_altuntun "$ns" "$ifc" ;;
	debian | modern) start_wggo "$ns" "$ifc" "$kind" ;;
	wggo) start_wggo "$ns" "$ifc" debian ;;
	*) fail "start_impl: unknown implementation '$kind'" ;;
	esac
}

# ---- wg and keys -----------------------------------------------------------

# wg_in NS ARGS...: wg(8) inside NS. (The UAPI socket is global, so plain
# `wg` works too; this keeps the namespace explicit.)
wg_in() {
	local ns=$1
	shift
	ip netns exec "$ns" wg "$@"
}

genkey() { wg genkey; }
pubkey() { printf '%s\n' "$1" | wg pubkey; }
genpsk() { wg genpsk; }

# Writes a key to a private file in $AT_TMP and prints its path (for
# `wg set ... private-key FILE`).
keyfile() {
	local f
	f=$(mktemp "$AT_TMP/key.XXXXXX")
	printf '%s\n' "$1" >"$f"
	echo "$f"
}

# Base64 key -> lower-case hex (the UAPI form).
key_hex() { printf '%s' "$1" | base64 -d | od -An -tx1 -v | tr -d ' \n'; echo; }

# Latest handshake (unix seconds, 0 = never) of PEER on UAPI socket NAME.
latest_handshake() {
	local name=$1 peer=$2
	wg show "$name" latest-handshakes | awk -v p="$peer" '$1 == p { print $2; f = 1 } END { if (!f) print 0 }'
}

handshake_done() { [[ $(latest_handshake "$1" "$2") != 0 ]]; }

# Raw UAPI: sends stdin to /var/run/wireguard/NAME.sock, prints the answer
# (up to and including "errno=N" and the empty line).
AT_UAPI_PY='
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(30)
s.connect(sys.argv[1])
s.sendall(sys.stdin.buffer.read())
buf = b""
try:
    while not (buf.startswith(b"errno=") or b"\nerrno=" in buf) or not buf.endswith(b"\n\n"):
        chunk = s.recv(65536)
        if not chunk:
            break
        buf += chunk
except socket.timeout:
    buf += b"(timed out waiting for the answer)\n"
sys.stdout.write(buf.decode(errors="replace"))
'
uapi_raw() { python3 -c "$AT_UAPI_PY" "$WG_RUN_DIR/$1.sock"; }

# ---- traffic ---------------------------------------------------------------

# ping_stats NS DEST [COUNT]: prints "R/S replies, avg X ms"; succeeds if
# every ping was answered.
ping_stats() {
	local ns=$1 dst=$2 count=${3:-3} out sent recv avg
	out=$(ip netns exec "$ns" ping -c "$count" -i 0.2 -W 2 "$dst" 2>&1) || true
	sent=$(sed -n 's/^\([0-9]*\) packets transmitted.*/\1/p' <<<"$out")
	recv=$(sed -n 's/.* \([0-9]*\) received.*/\1/p' <<<"$out")
	avg=$(sed -n 's|.*= [0-9.]*/\([0-9.]*\)/.*|\1|p' <<<"$out")
	echo "${recv:-0}/${sent:-$count} replies, avg ${avg:-n/a} ms"
	[[ ${recv:-0} == "${sent:-x}" ]]
}

# Waits until TCP port PORT listens in NS.
tcp_listening() {
	local ns=$1 port=$2
	ip netns exec "$ns" ss -Htln "sport = :$port" | grep -q .
}

# ---- peers, processes and background pings ----------------------------------

# pids_named NS COMM: pids of the processes in NS whose comm is COMM.
pids_named() {
	local p
	for p in $(ip netns pids "$1" 2>/dev/null); do
		[[ $(cat "/proc/$p/comm" 2>/dev/null) == "$2" ]] && echo "$p"
	done
	return 0
}

# ---- small predicates for check ----------------------------------------------

# quiet CMD...: CMD with its output dropped (for check and wait_for).
quiet() { "$@" >/dev/null 2>&1; }
# link_in NS IF / no_link_in NS IF: IF exists (does not exist) in NS.
link_in() { ip -n "$1" link show "$2" >/dev/null 2>&1; }
no_link_in() { ! link_in "$@"; }
no_file() { [[ ! -e $1 ]]; }
# contains TEXT WORDS / file_has FILE WORDS: a fixed string in text / a file.
contains() { grep -qF -- "$2" <<<"$1"; }
file_has() { grep -qF -- "$2" "$1"; }

# ---- what a daemon's processes hold (/proc) ---------------------------------

# status PID FIELD: a field of /proc/PID/status ("" if none).
status() { awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status" 2>/dev/null; }
# uids PID: the four uids of PID (real, effective, saved, filesystem).
uids() { awk '$1 == "Uid:" { print $2, $3, $4, $5 }' "/proc/$1/status" 2>/dev/null; }
# is_zero_caps MASK: a capability mask of /proc/PID/status with no bit set.
is_zero_caps() { [[ $1 =~ ^0+$ ]]; }
# proto_of MONITOR: the protocol process, the monitor's child.
proto_of() { pgrep -P "$1" -x altuntun-proto | head -n 1; }
has_proto() { [[ -n $(proto_of "$1") ]]; }
# holds_tun PID: PID holds the TUN device open (/proc/PID/fd -> /dev/net/tun).
holds_tun() {
	local f
	for f in /proc/"$1"/fd/*; do
		[[ $(readlink "$f" 2>/dev/null) == /dev/net/tun ]] && return 0
	done
	return 1
}

# uapi_owner NS NAME: "comm pid" of each process holding the listening UAPI
# socket $WG_RUN_DIR/NAME.sock, as `ss -xlp` in NS reports it (unix sockets
# belong to the namespace their creator ran in).
uapi_owner() {
	local ns=$1 path="$WG_RUN_DIR/$2.sock"
	ip netns exec "$ns" ss -Hxlp 2>/dev/null |
		awk -v p="$path" '$5 == p' |
		grep -o '("[^"]*",pid=[0-9]*' | sed 's/^("\([^"]*\)",pid=\([0-9]*\)$/\1 \2/' | sort -u
}

# peer_field NAME PEER FIELD: one `wg show NAME FIELD` value for PEER
# (endpoints, persistent-keepalive, latest-handshakes, ...); empty if none.
peer_field() {
	wg show "$1" "$3" 2>/dev/null | awk -v p="$2" '$1 == p { $1 = ""; sub(/^ /, ""); print }'
}

peer_endpoint() { peer_field "$1" "$2" endpoints; }

# peer_rx NAME PEER / peer_tx NAME PEER: bytes received from / sent to PEER.
peer_rx() { wg show "$1" transfer | awk -v p="$2" '$1 == p { print $2; f = 1 } END { if (!f) print 0 }'; }
peer_tx() { wg show "$1" transfer | awk -v p="$2" '$1 == p { print $3; f = 1 } END { if (!f) print 0 }'; }

# ping_bg NS LOGNAME DEST COUNT [INTERVAL]: a ping in the background (bg_in),
# one reply line per answered sequence number in $AT_TMP/LOGNAME.log.
ping_bg() {
	local ns=$1 name=$2 dst=$3 count=$4 interval=${5:-0.2}
	bg_in "$ns" "$name" ping -n -c "$count" -i "$interval" -W 1 "$dst"
}

# ping_log_result LOGNAME: "RECEIVED SENT" from a finished ping's log.
ping_log_result() {
	local f="$AT_TMP/$1.log" sent recv
	sent=$(sed -n 's/^\([0-9]*\) packets transmitted.*/\1/p' "$f")
	recv=$(sed -n 's/.* \([0-9]*\) received.*/\1/p' "$f")
	echo "${recv:-0} ${sent:-0}"
}

# ping_log_lost LOGNAME: icmp_seq numbers with no reply (space separated),
# from 1 to the number sent.
ping_log_lost() {
	local f="$AT_TMP/$1.log" sent
	sent=$(sed -n 's/^\([0-9]*\) packets transmitted.*/\1/p' "$f")
	awk -v n="${sent:-0}" '
		/ bytes from / && match($0, /icmp_seq=[0-9]+/) { got[substr($0, RSTART + 9, RLENGTH - 9)] = 1 }
		END { for (i = 1; i <= n; i++) if (!(i in got)) printf "%s%d", (c++ ? " " : ""), i; print "" }' "$f"
}

# ---- reliability tests: a ready tunnel pair, memory, file transfers ---------
# (uapi_abuse.sh, udp_garbage.sh, loss.sh, peer_restart.sh)

# tunnel_pair TAG NET KIND_B [A_ARGS...]: namespaces TP_NS_A/TP_NS_B joined by
# a veth (192.168.NET.1/.2, TP_VA/TP_VB), altuntun-cli (TP_IF_A, pid
# TP_PID_A) against KIND_B (debian|modern|altuntun, TP_IF_B, pid TP_PID_B),
# tunnel addresses 10.NET.0.1/.2 (TP_IN_A/TP_IN_B). A knows B's endpoint
# (192.168.NET.2:TP_PORT_B) and so initiates; B learns A's. Keys: TP_KEY_A/B
# (base64), TP_PUB_A/B. Waits for nothing: see tunnel_up.
# shellcheck disable=SC2034  # the TP_* variables are for the tests
tunnel_pair() {
	local tag=$1 net=$2 kind=$3
	shift 3
	TP_NS_A=$(ns_name "a$tag") TP_NS_B=$(ns_name "b$tag")
	TP_IF_A=$(if_name "a$tag") TP_IF_B=$(if_name "b$tag")
	TP_VA=$(if_name "va$tag") TP_VB=$(if_name "vb$tag")
	TP_OUT_A=192.168.$net.1 TP_OUT_B=192.168.$net.2
	TP_IN_A=10.$net.0.1 TP_IN_B=10.$net.0.2
	TP_PORT_A=51820 TP_PORT_B=51821
	ns_new "$TP_NS_A"
	ns_new "$TP_NS_B"
	veth_pair "$TP_NS_A" "$TP_VA" "$TP_NS_B" "$TP_VB"
	addr "$TP_NS_A" "$TP_VA" "$TP_OUT_A/24"
	addr "$TP_NS_B" "$TP_VB" "$TP_OUT_B/24"
	start_altuntun "$TP_NS_A" "$TP_IF_A" "$@"
	TP_PID_A=$AT_LAST_PID
	start_impl "$kind" "$TP_NS_B" "$TP_IF_B"
	TP_PID_B=$AT_LAST_PID
	TP_KEY_A=$(genkey) TP_KEY_B=$(genkey)
	TP_PUB_A=$(pubkey "$TP_KEY_A") TP_PUB_B=$(pubkey "$TP_KEY_B")
	wg_in "$TP_NS_A" set "$TP_IF_A" private-key "$(keyfile "$TP_KEY_A")" listen-port "$TP_PORT_A" \
		peer "$TP_PUB_B" allowed-ips "$TP_IN_B/32" endpoint "$TP_OUT_B:$TP_PORT_B" ||
		fail "tunnel_pair: wg set on A failed"
	tunnel_pair_config_b
	addr "$TP_NS_A" "$TP_IF_A" "$TP_IN_A/24"
	addr "$TP_NS_B" "$TP_IF_B" "$TP_IN_B/24"
}

# tunnel_pair_config_b: (re)applies B's side of tunnel_pair (key, port, A as
# a peer without endpoint) to TP_IF_B, e.g. after B was restarted.
tunnel_pair_config_b() {
	wg_in "$TP_NS_B" set "$TP_IF_B" private-key "$(keyfile "$TP_KEY_B")" listen-port "$TP_PORT_B" \
		peer "$TP_PUB_A" allowed-ips "$TP_IN_A/32" || fail "tunnel_pair: wg set on B failed"
	ip -n "$TP_NS_B" link set "$TP_IF_B" up
}

# tunnel_pair_vars: the TP_* variables of the last tunnel_pair as shell code,
# to keep several pairs apart: PAIR[x]=$(tunnel_pair_vars) ... eval "${PAIR[x]}".
tunnel_pair_vars() {
	local v
	for v in ${!TP_@}; do printf '%s=%q\n' "$v" "${!v}"; done
}

# tunnel_up [SECONDS]: pings from A until B answers (default 15 s).
tunnel_up() {
	wait_for "${1:-15}" ip netns exec "$TP_NS_A" ping -c 1 -W 1 "$TP_IN_B"
}

# python3 for the helpers below: Debian's own if there is one (a version
# manager's shim in PATH costs a second per start).
AT_PYTHON=${AT_PYTHON:-$(PATH=/usr/bin:/bin command -v python3 || command -v python3 || echo python3)}

# tcp_transfer NS_SRC NS_DST DST_IP PORT FILE [TIMEOUT [KIB_PER_SEC]]: sends
# FILE over TCP from NS_SRC to DST_IP:PORT (tools/tcp_sink.py started in
# NS_DST) with tools/tcp_send.py, at most KIB_PER_SEC if given; prints
# "SHA_SENT SHA_RECEIVED SECONDS" and succeeds if the received bytes hash the
# same. May run in the background: what it starts runs inside the
# namespaces, which cleanup empties.
tcp_transfer() {
	local src=$1 dst=$2 ip=$3 port=$4 file=$5 t=${6:-60} rate=${7:-0} rpid start sent got
	local sink="$AT_TMP/tcp-sink-$dst-$port"
	ip netns exec "$dst" timeout "$t" "$AT_PYTHON" "$AT_LIB_DIR/tools/tcp_sink.py" 0.0.0.0 "$port" >"$sink" 2>&1 &
	rpid=$!
	AT_PIDS+=("$rpid")
	wait_for 10 tcp_listening "$dst" "$port" || { echo "no listener on $port: $(cat "$sink")"; return 1; }
	start=$SECONDS
	sent=$(ip netns exec "$src" timeout "$t" "$AT_PYTHON" "$AT_LIB_DIR/tools/tcp_send.py" "$ip" "$port" "$file" "$rate" 2>&1) ||
		{ echo "sender failed after $((SECONDS - start)) s: $sent"; stop_pid "$rpid"; return 1; }
	wait "$rpid" 2>/dev/null || true
	got=$(cat "$sink")
	echo "${sent#* } ${got#* } $((SECONDS - start))"
	[[ -n $got && $sent == "$got" ]]
}

# result PASS|FAIL MSG: how a job run by in_parallel reports a check (its own
# pass/soft_fail would be lost with its subshell).
result() { printf '%s\n' "$*"; }

# in_parallel FUNC ARG...: runs `FUNC ARG` for every ARG at the same time in
# the background (set up what cleanup must know in the test's shell first),
# waits for all, then turns their `result` lines into pass/soft_fail and
# prints their other output. A job that ends without any result fails.
in_parallel() {
	local fn=$1 i n=0 line got pids=()
	shift
	for i in "$@"; do
		"$fn" "$i" >"$AT_TMP/parallel-$n.out" 2>&1 &
		pids+=($!)
		n=$((n + 1))
	done
	for i in "${pids[@]}"; do wait "$i" || true; done
	for ((i = 0; i < n; i++)); do
		got=0
		while IFS= read -r line; do
			case $line in
			PASS\ *) pass "${line#PASS }"; got=1 ;;
			FAIL\ *) soft_fail "${line#FAIL }"; got=1 ;;
			*) printf '    %s\n' "$line" ;;
			esac
		done <"$AT_TMP/parallel-$i.out"
		((got)) || soft_fail "in_parallel: job $((i + 1)) ($fn) reported nothing"
	done
}

# ping_log_longest_gap LOGNAME: the longest run of consecutive unanswered
# icmp_seq numbers in a ping's log (finished or not: up to the last reply).
ping_log_longest_gap() {
	awk '/ bytes from / && match($0, /icmp_seq=[0-9]+/) {
		s = substr($0, RSTART + 9, RLENGTH - 9) + 0
		if (s - last - 1 > gap) gap = s - last - 1
		last = s
	} END { print gap + 0 }' "$AT_TMP/$1.log"
}

# ping_log_last_seq LOGNAME: the highest icmp_seq answered so far (0 if none).
ping_log_last_seq() {
	awk '/ bytes from / && match($0, /icmp_seq=[0-9]+/) {
		s = substr($0, RSTART + 9, RLENGTH - 9) + 0; if (s > m) m = s
	} END { print m + 0 }' "$AT_TMP/$1.log"
}
