#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# shellcheck disable=SC2317  # functions are called through scenario()
#
# Large transfers through the offload data path (docs/performance.md,
# "Levers"): TSO super-packets split in userspace, UDP GSO/GRO between the
# daemons, TCP segments coalesced toward the TUN. Two namespaces joined by a
# veth pair:
#
#   A  veth 192.168.242.1/24   tunnel 10.0.42.1/24 fd00:42::1/64   altuntun-cli
#   B  veth 192.168.242.2/24   tunnel 10.0.42.2/24 fd00:42::2/64   B kind
#
# Per pair: XFER_MB of random data over TCP each way (IPv4 inner) and one way
# over IPv6 inner, SHA-256 compared at both ends; a burst of UDP GSO sends
# (UDP_SEGMENT) through the tunnel, every datagram checked; pings. Pairs:
# altuntun <-> altuntun (offloads on), altuntun <-> modern wireguard-go
# 0.0.20250522 (its own TUN/UDP offloads), altuntun <-> altuntun
# --no-offload (one side without any offload), altuntun <-> altuntun
# --threads 2 (the AEAD of each batch shared with a second thread).
#
# Environment: XFER_MB (default 200), B_KINDS (default
# "altuntun modern altuntun-nooffload altuntun-threads").

. "$(dirname "$0")/lib.sh"
require_root
require_cmd wg ip python3 ping ss sha256sum

XFER_MB=${XFER_MB:-200}
B_KINDS=${B_KINDS:-altuntun modern altuntun-nooffload altuntun-threads}

OUT_A=192.168.242.1 OUT_B=192.168.242.2
IN4_A=10.0.42.1 IN4_B=10.0.42.2
IN6_A=fd00:42::1 IN6_B=fd00:42::2
PORT_A=51830 PORT_B=51831

# ---- helper programs -------------------------------------------------------

# udp_gso.py send HOST PORT SENDS SEGS SIZE | udp_gso.py recv HOST PORT SECONDS
# The sender hands the kernel SEGS datagrams of SIZE bytes at once
# (UDP_SEGMENT); each datagram carries its number and a pattern derived from
# it. The receiver prints "GOOD BAD" when SECONDS pass without a datagram.
cat >"$AT_TMP/udp_gso.py" <<'EOF'
import hashlib, socket, struct, sys, time
UDP_SEGMENT = 103
def body(i, size):
    seed = hashlib.sha256(struct.pack("!I", i)).digest()
    return (struct.pack("!I", i) + seed * (size // 32 + 1))[:size]
mode, host = sys.argv[1], sys.argv[2]
fam = socket.AF_INET6 if ":" in host else socket.AF_INET
s = socket.socket(fam, socket.SOCK_DGRAM)
if mode == "send":
    port, sends, segs, size = map(int, sys.argv[3:7])
    s.setsockopt(socket.IPPROTO_UDP, UDP_SEGMENT, size)
    i = 0
    for k in range(sends):
        s.sendto(b"".join(body(i + j, size) for j in range(segs)), (host, port))
        i += segs
        if k % 10 == 9:
            time.sleep(0.003)
    print(i, flush=True)
else:
    port, quiet = int(sys.argv[3]), float(sys.argv[4])
    s.setsockopt(socket.SOL_SOCKET, 33, 8 << 20)  # SO_RCVBUFFORCE (root)
    s.bind((host, port))
    s.settimeout(10)
    good = bad = 0
    try:
        while True:
            d = s.recv(65536)
            s.settimeout(quiet)
            if len(d) >= 4 and d == body(struct.unpack("!I", d[:4])[0], len(d)):
                good += 1
            else:
                bad += 1
    except socket.timeout:
        pass
    print(good, bad, flush=True)
EOF

head -c "$((XFER_MB * 1024 * 1024))" /dev/urandom >"$AT_TMP/blob"

# ---- set-up ----------------------------------------------------------------

# start_kind KIND NS IFNAME
start_kind() {
	case $1 in
	altuntun) start_altuntun "$2" "$3" ;;
	altuntun-nooffload) start_altuntun "$2" "$3" --no-offload ;;
	altuntun-threads) start_altuntun "$2" "$3" --threads 2 ;;
	*) start_impl "$1" "$2" "$3" ;;
	esac
}

# make_pair KIND_B TAG: sets NSA NSB IFA IFB PUBA PUBB.
make_pair() {
	local kind_b=$1 tag=$2 keya keyb
	NSA=$(ns_name "a$tag") NSB=$(ns_name "b$tag")
	IFA=$(if_name "a$tag") IFB=$(if_name "b$tag")
	ns_new "$NSA"
	ns_new "$NSB"
	veth_pair "$NSA" "$(if_name "va$tag")" "$NSB" "$(if_name "vb$tag")"
	addr "$NSA" "$(if_name "va$tag")" "$OUT_A/24"
	addr "$NSB" "$(if_name "vb$tag")" "$OUT_B/24"
	start_kind altuntun "$NSA" "$IFA"
	start_kind "$kind_b" "$NSB" "$IFB"
	keya=$(genkey) keyb=$(genkey)
	PUBA=$(pubkey "$keya") PUBB=$(pubkey "$keyb")
	wg_in "$NSA" set "$IFA" private-key "$(keyfile "$keya")" listen-port "$PORT_A" \
		peer "$PUBB" allowed-ips "$IN4_B/32,$IN6_B/128" endpoint "$OUT_B:$PORT_B" ||
		fail "wg set on A failed"
	wg_in "$NSB" set "$IFB" private-key "$(keyfile "$keyb")" listen-port "$PORT_B" \
		peer "$PUBA" allowed-ips "$IN4_A/32,$IN6_A/128" endpoint "$OUT_A:$PORT_A" ||
		fail "wg set on B ($kind_b) failed"
	addr "$NSA" "$IFA" "$IN4_A/24"
	addr "$NSA" "$IFA" "$IN6_A/64"
	addr "$NSB" "$IFB" "$IN4_B/24"
	addr "$NSB" "$IFB" "$IN6_B/64"
}

# ---- checks ----------------------------------------------------------------

check_offloads_logged() { # LABEL LOG EXPECT
	local label=$1 logf=$2 want=$3
	if grep -qF -- "$want" "$logf"; then
		pass "$label: log says '$want'"
	else
		soft_fail "$label: no '$want' in the log: $(grep -F offload "$logf" | head -n 1)"
	fi
}

# check_transfer LABEL SEND_NS RECV_NS RECV_ADDR PORT
check_transfer() {
	local label=$1 sns=$2 rns=$3 raddr=$4 port=$5 sent got start ms
	bg_in "$rns" "sink-$port" timeout 120 python3 "$AT_LIB_DIR/tools/tcp_sink.py" "$raddr" "$port"
	local sink=$AT_LAST_PID
	wait_for 20 tcp_listening "$rns" "$port" || { soft_fail "$label: sink did not start"; return; }
	start=$(date +%s%N)
	sent=$(ns_exec "$sns" timeout 100 python3 "$AT_LIB_DIR/tools/tcp_send.py" "$raddr" "$port" "$AT_TMP/blob" 2>&1) || true
	ms=$((($(date +%s%N) - start) / 1000000))
	wait "$sink" 2>/dev/null || true
	got=$(cat "$AT_TMP/sink-$port.log")
	if [[ -n $sent && $sent == "$got" && ${sent%% *} == $((XFER_MB * 1024 * 1024)) ]]; then
		pass "$label: ${sent%% *} bytes in ${ms} ms ($((${sent%% *} * 8 / (ms > 0 ? ms : 1) / 1000)) Mbit/s), sha256 ${sent#* } on both ends"
	else
		soft_fail "$label: sender '$sent', receiver '$got' (${ms} ms)"
	fi
}

# check_udp_gso LABEL SEND_NS RECV_NS RECV_ADDR
check_udp_gso() {
	local label=$1 sns=$2 rns=$3 raddr=$4 sent good bad sends=300 segs=8 size=1200
	bg_in "$rns" udp-sink timeout 60 python3 "$AT_TMP/udp_gso.py" recv "$raddr" 5300 1.5
	local sink=$AT_LAST_PID
	wait_for 20 bash -c "ip netns exec '$rns' ss -Huln 'sport = :5300' | grep -q ." ||
		{ soft_fail "$label: UDP sink did not start"; return; }
	sent=$(ns_exec "$sns" timeout 30 python3 "$AT_TMP/udp_gso.py" send "$raddr" 5300 $sends $segs $size 2>&1) || true
	wait "$sink" 2>/dev/null || true
	read -r good bad <"$AT_TMP/udp-sink.log" || true
	# UDP may lose some on a busy machine; what arrives must be intact, and
	# at least half must arrive (a wrong checksum would lose all of it).
	if [[ $sent == $((sends * segs)) && ${bad:-x} == 0 && ${good:-0} -ge $((sent / 2)) ]]; then
		pass "$label: $good of $sent datagrams of $size bytes (sent $segs per UDP_SEGMENT send) arrived intact"
	else
		soft_fail "$label: sent '$sent', intact '${good:-}', damaged '${bad:-}'"
	fi
}

check_ping() { # LABEL NS DEST
	local out
	if out=$(ping_stats "$2" "$3" 3); then pass "$1: $out"; else soft_fail "$1: $out"; fi
}

# ---- scenarios -------------------------------------------------------------

pair_scenario() { # KIND_B TAG
	local kind=$1 tag=$2 l="A=altuntun B=$1"
	make_pair "$kind" "$tag"
	check_ping "$l ping A->B" "$NSA" "$IN4_B"
	check_offloads_logged "$l A" "$AT_TMP/altuntun-$IFA.log" "TSO4/6"
	check_offloads_logged "$l A" "$AT_TMP/altuntun-$IFA.log" "UDP GSO on, GRO on"
	case $kind in
	altuntun) check_offloads_logged "$l B" "$AT_TMP/altuntun-$IFB.log" "TSO4/6" ;;
	altuntun-nooffload) check_offloads_logged "$l B" "$AT_TMP/altuntun-$IFB.log" "offloads off" ;;
	altuntun-threads) check_offloads_logged "$l B" "$AT_TMP/altuntun-$IFB.log" "one more thread" ;;
	esac
	check_transfer "$l ${XFER_MB} MB TCP A->B (IPv4)" "$NSA" "$NSB" "$IN4_B" 5001
	check_transfer "$l ${XFER_MB} MB TCP B->A (IPv4)" "$NSB" "$NSA" "$IN4_A" 5002
	check_transfer "$l ${XFER_MB} MB TCP A->B (IPv6)" "$NSA" "$NSB" "$IN6_B" 5003
	check_udp_gso "$l UDP GSO A->B (IPv4)" "$NSA" "$NSB" "$IN4_B"
	check_udp_gso "$l UDP GSO B->A (IPv6)" "$NSB" "$NSA" "$IN6_A"
	check_ping "$l ping B->A after the transfers" "$NSB" "$IN4_A"
}

i=0
for kind in $B_KINDS; do
	i=$((i + 1))
	scenario "A=altuntun B=$kind" pair_scenario "$kind" "$i"
done
finish
