#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# shellcheck disable=SC2317  # functions are called through scenario()
#
# Interoperation: AltunTun on side A against each peer kind on side B
# (AltunTun, Debian's wireguard-go 0.0.20220316, upstream wireguard-go
# 0.0.20250522 with Linux offloads). Two namespaces joined by a veth pair:
#
#   A  veth 192.168.241.1/24 fd00:241::1/64   tunnel 10.0.0.1/24 fd00:10::1/64
#   B  veth 192.168.241.2/24 fd00:241::2/64   tunnel 10.0.0.2/24 fd00:10::2/64
#
# Per kind: A initiates (ping A->B, handshake on both sides, ping B->A),
# iperf3 TCP 3 s each way, a 20 MB random file each way with SHA-256
# compared at both ends, then IPv6 endpoints and an IPv6 ping; then a fresh
# pair where B initiates.
#
# Environment:
#   A_IMPL   implementation on side A: altuntun (default), debian, modern
#            (A_IMPL=debian or =wggo gives a pure wireguard-go reference run)
#   B_IMPLS  kinds on side B, default "altuntun debian modern"
#   XFER_MB  size of the checksummed transfer (default 20)
#   ALTUNTUN_NO_OFFLOAD=1  AltunTun without offloads (interop_no_offload.sh)

. "$(dirname "$0")/lib.sh"
require_root
require_cmd wg ip iperf3 python3 ping ss sha256sum

A_IMPL=${A_IMPL:-altuntun}
[[ $A_IMPL == wggo ]] && A_IMPL=debian
B_IMPLS=${B_IMPLS:-altuntun debian modern}
XFER_MB=${XFER_MB:-20}

OUT4_A=192.168.241.1 OUT4_B=192.168.241.2
OUT6_A=fd00:241::1 OUT6_B=fd00:241::2
IN4_A=10.0.0.1 IN4_B=10.0.0.2
IN6_A=fd00:10::1 IN6_B=fd00:10::2
PORT_A=51820 PORT_B=51821

# ---- helper programs -------------------------------------------------------

# iperf_summary.py: iperf3 -J on stdin -> "X Mbit/s, R retransmits".
cat >"$AT_TMP/iperf_summary.py" <<'EOF'
import json, sys
try:
    j = json.load(sys.stdin)
except Exception as e:
    print("no JSON from iperf3:", e); sys.exit(1)
if "error" in j:
    print("iperf3 error:", j["error"]); sys.exit(1)
e = j["end"]
bps = e["sum_received"]["bits_per_second"]
print("%.0f Mbit/s, %d retransmits" % (bps / 1e6, e["sum_sent"].get("retransmits", 0)))
sys.exit(0 if bps > 0 else 1)
EOF

head -c "$((XFER_MB * 1024 * 1024))" /dev/urandom >"$AT_TMP/blob"

# ---- set-up ----------------------------------------------------------------

# make_pair KIND_B TAG: namespaces NSA/NSB, interfaces IFA/IFB, keys; both
# daemons configured with IPv4 endpoints. Sets NSA NSB IFA IFB PUBA PUBB.
make_pair() {
	local kind_b=$1 tag=$2 keya keyb
	NSA=$(ns_name "a$tag") NSB=$(ns_name "b$tag")
	IFA=$(if_name "a$tag") IFB=$(if_name "b$tag")
	ns_new "$NSA"
	ns_new "$NSB"
	veth_pair "$NSA" "$(if_name "va$tag")" "$NSB" "$(if_name "vb$tag")"
	addr "$NSA" "$(if_name "va$tag")" "$OUT4_A/24"
	addr "$NSB" "$(if_name "vb$tag")" "$OUT4_B/24"
	addr "$NSA" "$(if_name "va$tag")" "$OUT6_A/64"
	addr "$NSB" "$(if_name "vb$tag")" "$OUT6_B/64"

	start_impl "$A_IMPL" "$NSA" "$IFA"
	start_impl "$kind_b" "$NSB" "$IFB"

	keya=$(genkey) keyb=$(genkey)
	PUBA=$(pubkey "$keya") PUBB=$(pubkey "$keyb")
	wg_in "$NSA" set "$IFA" private-key "$(keyfile "$keya")" listen-port "$PORT_A" \
		peer "$PUBB" allowed-ips "$IN4_B/32,$IN6_B/128" endpoint "$OUT4_B:$PORT_B" ||
		fail "wg set on A ($A_IMPL) failed"
	wg_in "$NSB" set "$IFB" private-key "$(keyfile "$keyb")" listen-port "$PORT_B" \
		peer "$PUBA" allowed-ips "$IN4_A/32,$IN6_A/128" endpoint "$OUT4_A:$PORT_A" ||
		fail "wg set on B ($kind_b) failed"
	addr "$NSA" "$IFA" "$IN4_A/24"
	addr "$NSA" "$IFA" "$IN6_A/64"
	addr "$NSB" "$IFB" "$IN4_B/24"
	addr "$NSB" "$IFB" "$IN6_B/64"
	log "A=$A_IMPL ($IFA, mtu $(ip -n "$NSA" -o link show "$IFA" | sed -n 's/.* mtu \([0-9]*\).*/\1/p')) " \
		"B=$kind_b ($IFB, mtu $(ip -n "$NSB" -o link show "$IFB" | sed -n 's/.* mtu \([0-9]*\).*/\1/p'))"
}

# ---- checks ----------------------------------------------------------------

check_ping() { # LABEL NS DEST
	local label=$1 ns=$2 dst=$3 out
	if out=$(ping_stats "$ns" "$dst" 3); then
		pass "$label: $out"
	else
		soft_fail "$label: $out"
	fi
}

check_handshake() { # LABEL
	local label=$1
	if wait_for 10 handshake_done "$IFA" "$PUBB" && wait_for 10 handshake_done "$IFB" "$PUBA"; then
		pass "$label: latest handshake A=$(latest_handshake "$IFA" "$PUBB") B=$(latest_handshake "$IFB" "$PUBA")"
	else
		soft_fail "$label: latest handshake A=$(latest_handshake "$IFA" "$PUBB") B=$(latest_handshake "$IFB" "$PUBA")"
	fi
}

check_iperf() { # LABEL
	local label=$1 json summary flag
	bg_in "$NSB" iperf3-server iperf3 -s -B "$IN4_B" -p 5201
	local srv=$AT_LAST_PID
	wait_for 5 tcp_listening "$NSB" 5201 || { soft_fail "$label: iperf3 server did not start"; return; }
	for flag in fwd -R; do
		local dir="A->B" extra=()
		[[ $flag == -R ]] && dir="B->A" extra=(-R)
		json=$(ns_exec "$NSA" timeout 30 iperf3 -c "$IN4_B" -p 5201 -t 3 -J "${extra[@]}" 2>&1) || true
		if summary=$(python3 "$AT_TMP/iperf_summary.py" <<<"$json"); then
			pass "$label iperf3 TCP $dir 3 s: $summary"
		else
			soft_fail "$label iperf3 TCP $dir 3 s: $summary"
		fi
	done
	stop_pid "$srv"
}

# check_transfer LABEL SEND_NS RECV_NS RECV_ADDR
check_transfer() {
	local label=$1 sns=$2 rns=$3 raddr=$4 sent got start ms
	bg_in "$rns" "sink-$rns" timeout 90 python3 "$AT_LIB_DIR/tools/tcp_sink.py" "$raddr" 5001
	local sink=$AT_LAST_PID
	wait_for 20 tcp_listening "$rns" 5001 || {
		soft_fail "$label: sink did not start: $(tail -n 3 "$AT_TMP/sink-$rns.log" 2>/dev/null)"
		return
	}
	start=$(date +%s%N)
	sent=$(ns_exec "$sns" timeout 60 python3 "$AT_LIB_DIR/tools/tcp_send.py" "$raddr" 5001 "$AT_TMP/blob" 2>&1) || true
	ms=$((($(date +%s%N) - start) / 1000000))
	wait "$sink" 2>/dev/null || true
	got=$(cat "$AT_TMP/sink-$rns.log")
	if [[ -n $sent && $sent == "$got" && ${sent%% *} == $((XFER_MB * 1024 * 1024)) ]]; then
		pass "$label: ${sent%% *} bytes in ${ms} ms, sha256 ${sent#* } on both ends"
	else
		soft_fail "$label: sender '$sent', receiver '$got' (${ms} ms)"
	fi
}

check_ipv6() { # LABEL KIND_B
	local label=$1 kind=$2 epa epb
	wg_in "$NSA" set "$IFA" peer "$PUBB" endpoint "[$OUT6_B]:$PORT_B"
	wg_in "$NSB" set "$IFB" peer "$PUBA" endpoint "[$OUT6_A]:$PORT_A"
	# Upstream wireguard-go 0.0.20250522, after its peer's endpoint moved
	# from IPv4 to IPv6, loses its first two replies (counted as sent, they
	# never arrive). Five warm-up pings measure that; with it on either side
	# one reply is enough, otherwise all five are required.
	local warm got strict=1
	[[ $A_IMPL == modern || $kind == modern ]] && strict=0
	warm=$(ping_stats "$NSA" "$IN6_B" 5) || true
	got=${warm%%/*}
	if ((got == 5 || (!strict && got > 0))); then
		pass "$label warm-up ping6 right after the endpoint change to IPv6: $warm"
	else
		soft_fail "$label warm-up ping6 right after the endpoint change to IPv6: $warm"
	fi
	# The same build goes on losing a reply now and then for a few seconds
	# (seen under load): with it, wait until three in a row are answered.
	((strict)) || wait_for 10 ping_stats "$NSA" "$IN6_B" 3 >/dev/null || true
	check_ping "$label ping6 A->B (IPv6 inner, IPv6 endpoint)" "$NSA" "$IN6_B"
	check_ping "$label ping6 B->A (IPv6 inner, IPv6 endpoint)" "$NSB" "$IN6_A"
	epa=$(wg show "$IFA" endpoints | awk '{print $2}')
	epb=$(wg show "$IFB" endpoints | awk '{print $2}')
	if [[ $epa == "[$OUT6_B]:$PORT_B" && $epb == "[$OUT6_A]:$PORT_A" ]]; then
		pass "$label IPv6 endpoints kept: A sees $epa, B sees $epb"
	else
		soft_fail "$label IPv6 endpoints: A sees '$epa', B sees '$epb'"
	fi
}

# Stops both daemons (SIGTERM) and checks they removed their UAPI sockets.
check_shutdown() { # LABEL
	local label=$1
	ns_del "$NSA"
	ns_del "$NSB"
	local left=""
	[[ -e $WG_RUN_DIR/$IFA.sock ]] && left+=" $IFA.sock"
	[[ -e $WG_RUN_DIR/$IFB.sock ]] && left+=" $IFB.sock"
	if [[ -z $left ]]; then
		pass "$label: both daemons stopped on SIGTERM and removed their sockets"
	else
		soft_fail "$label: socket(s) left after SIGTERM:$left"
	fi
}

# The data path's mode, from altuntun-cli's log: offloads on (TSO from the
# TUN, UDP GSO/GRO), or off with ALTUNTUN_NO_OFFLOAD=1 (interop_no_offload.sh).
check_offload_mode() { # LABEL LOGFILE
	local label=$1 logf=$2 want="TSO4/6"
	[[ ${ALTUNTUN_NO_OFFLOAD:-} == 1 ]] && want="offloads off"
	if grep -qF -- "$want" "$logf"; then
		pass "$label: altuntun-cli logged '$want'"
	else
		soft_fail "$label: no '$want' in $(basename "$logf"): $(grep -F offload "$logf" | head -n 1)"
	fi
}

# ---- scenarios -------------------------------------------------------------

a_initiates() { # KIND_B TAG
	local kind=$1 l="A=$A_IMPL B=$1"
	make_pair "$kind" "$2"
	if [[ $A_IMPL == altuntun ]]; then
		check_offload_mode "$l A" "$AT_TMP/altuntun-$IFA.log"
	fi
	check_ping "$l ping A->B (A initiates)" "$NSA" "$IN4_B"
	check_handshake "$l handshake"
	check_ping "$l ping B->A" "$NSB" "$IN4_A"
	check_iperf "$l"
	check_transfer "$l ${XFER_MB} MB A->B" "$NSA" "$NSB" "$IN4_B"
	check_transfer "$l ${XFER_MB} MB B->A" "$NSB" "$NSA" "$IN4_A"
	check_ipv6 "$l" "$kind"
	check_shutdown "$l"
}

b_initiates() { # KIND_B TAG
	local kind=$1 l="A=$A_IMPL B=$1 (fresh pair)"
	make_pair "$kind" "$2"
	check_ping "$l ping B->A (B initiates)" "$NSB" "$IN4_A"
	check_handshake "$l handshake"
	check_ping "$l ping A->B" "$NSA" "$IN4_B"
	check_shutdown "$l"
}

i=0
for kind in $B_IMPLS; do
	i=$((i + 1))
	scenario "A=$A_IMPL B=$kind, A initiates" a_initiates "$kind" "$i"
	scenario "A=$A_IMPL B=$kind, B initiates" b_initiates "$kind" "${i}r"
done
finish
