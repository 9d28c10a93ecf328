#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# shellcheck disable=SC2317  # functions are called through scenario()
#
# Configuration through the UAPI as the Linux driver's selftest (netns.sh)
# and its key handling require, on our agent started with --netns (socket
# in N0, interface in N1; parity_common.bash):
#
# 1. Large configurations by `wg setconf`, read back complete by `wg show
#    IF allowed-ips` and `wg showconf` (every peer, every prefix): 40 peers
#    with 52 allowed IPs each; 29 peers without allowed IPs plus one with
#    two; and by `wg set`, as the selftest does it, a peer without allowed
#    IPs and one with 197 IPv6 addresses (abcd::1 .. abcd::c5). (One peer with 130,560 is in
#    wg_tools.sh.) `wg show` of an interface that does not exist fails.
# 2. Keys: `private-key /dev/null` and `preshared-key /dev/null` clear them
#    (and the tunnel to wireguard-go stops, then works again with the key
#    back); our own public key as a peer is not kept, and a peer whose key
#    becomes our own public key by a private-key change is dropped; a
#    private key with unclamped bits reads back clamped (also the
#    selftest's "/KEY" -> "+KEY"); overlapping allowed-IP sets are accepted
#    (the selftest's 0.0.0.0/0,10.0.0.0/8,... on one peer; across peers,
#    each prefix where it was put last, a packet to the most specific);
#    peers with the selftest's seven low-order public keys and
#    persistent-keepalive 1 get nothing sent (a UDP listener at their
#    endpoint sees no datagram in 2 s, while one at an ordinary peer's
#    endpoint gets the handshake initiation).

# shellcheck source=tests/netns/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/netns/parity_common.bash
. "$(dirname "$0")/parity_common.bash"
require_root
require_cmd wg ip ping python3 timeout

# conf_check.py DIR KIND...: for each KIND, the peers and prefixes of
# DIR/KIND.conf (a wg config) equal those of DIR/KIND.show (`wg showconf`)
# and of DIR/KIND.ips (`wg show IF allowed-ips`); prints "KIND ok|bad
# COUNTS" per KIND. (One python for all: a python start costs seconds on a
# loaded machine.)
cat >"$AT_TMP/conf_check.py" <<'PY'
import ipaddress, sys

def norm(p):
    return str(ipaddress.ip_network(p, strict=False))

def conf(path):
    peers, cur = {}, None
    for line in open(path):
        k, _, v = line.partition("=")
        k, v = k.strip(), v.strip()
        if k == "PublicKey":
            # a base64 key ends in "=": take the rest of the line
            cur = line.split("=", 1)[1].strip()
            peers[cur] = set()
        elif k == "AllowedIPs" and cur is not None:
            peers[cur] |= {norm(x.strip()) for x in v.split(",") if x.strip()}
    return peers

def show(path):
    peers = {}
    for line in open(path):
        f = line.split()
        if not f:
            continue
        peers[f[0]] = set() if f[1:] == ["(none)"] else {norm(x) for x in f[1:]}
    return peers

n = lambda d: "%d peers, %d allowed IPs" % (len(d), sum(len(s) for s in d.values()))
for kind in sys.argv[2:]:
    base = sys.argv[1] + "/" + kind
    try:
        want, got_conf, got_show = conf(base + ".conf"), conf(base + ".show"), show(base + ".ips")
    except (OSError, ValueError) as e:
        print(kind, "bad", e)
        continue
    print(kind, "ok" if want == got_conf == got_show else "bad",
          "input %s; showconf %s; show allowed-ips %s" % (n(want), n(got_conf), n(got_show)))
PY

# gen_confs: $AT_TMP/KIND.conf for KIND 40x52, v6x197 and empty29.
gen_confs() {
	python3 - "$AT_TMP" "$(genkey)" <<'PY'
import base64, os, sys
key = lambda: base64.b64encode(os.urandom(32)).decode()
for kind in ("40x52", "v6x197", "empty29"):
  with open(sys.argv[1] + "/" + kind + ".conf", "w") as f:
    print = lambda *a: f.write(" ".join(a) + "\n")
    print("[Interface]\nPrivateKey = %s" % sys.argv[2])
    if kind == "40x52":
        for a in range(1, 41):
            print("[Peer]\nPublicKey = %s" % key())
            for b in range(1, 53):
                print("AllowedIPs = %d.%d.0.0/16" % (a, b))
    elif kind == "v6x197":
        print("[Peer]\nPublicKey = %s" % key())
        print("[Peer]\nPublicKey = %s" % key())
        print("AllowedIPs = " + ", ".join("abcd::%x/128" % i for i in range(1, 198)))
    elif kind == "empty29":
        for i in range(29):
            print("[Peer]\nPublicKey = %s" % key())
        print("[Peer]\nPublicKey = %s\nAllowedIPs = 255.2.3.4/32, abcd::255/128" % key())
PY
}

# large_one KIND [set]: setconf (replacing the previous one), or with "set"
# an empty setconf and then `wg set` per peer; then read back.
large_one() {
	local kind=$1 f=$AT_TMP/$1.conf pk ips
	if [[ ${2:-} == set ]]; then
		head -n 2 "$f" >"$f.iface"
		wg setconf "$IF1" "$f.iface" || { soft_fail "wg setconf (interface only)"; return; }
		while read -r pk; do
			ips=$(grep -A1 -F "PublicKey = $pk" "$f" | sed -n 's/^AllowedIPs = //p' | tr -d ' ')
			if [[ -n $ips ]]; then
				wg set "$IF1" peer "$pk" allowed-ips "$ips"
			else
				wg set "$IF1" peer "$pk"
			fi || { soft_fail "wg set peer ($kind)"; return; }
		done < <(sed -n 's/^PublicKey = //p' "$f")
	else
		wg setconf "$IF1" "$f" || { soft_fail "wg setconf $kind"; return; }
	fi
	wg showconf "$IF1" >"$AT_TMP/$kind.show" || { soft_fail "wg showconf ($kind)"; return; }
	wg show "$IF1" allowed-ips >"$AT_TMP/$kind.ips" || { soft_fail "wg show allowed-ips ($kind)"; return; }
}

sc_large() {
	N0=$(ns_name 0l) N1=$(ns_name 1l) IF1=$(if_name 1l)
	ns_new "$N0"
	ns_new "$N1"
	bp_start_peer "$P1_KIND" "$N0" "$N1" "$IF1"
	gen_confs || fail "generating the configurations"
	large_one 40x52
	check "40x52: wg show allowed-ips: 40 lines of 53 fields" \
		test "$(awk 'NF == 53' "$AT_TMP/40x52.ips" | wc -l)" = 40
	large_one v6x197 set
	check "v6x197: wg show allowed-ips: one peer (none), one with 197" \
		test "$(awk '{ print NF - 1 }' "$AT_TMP/v6x197.ips" | sort -n | paste -sd ' ')" = "1 197"
	large_one empty29
	local kind res summary
	while read -r kind res summary; do
		if [[ $res == ok ]]; then
			pass "$kind: read back complete: $summary"
		else
			soft_fail "$kind: read back differs: $summary"
		fi
	done < <(python3 "$AT_TMP/conf_check.py" "$AT_TMP" 40x52 v6x197 empty29)
	check "wg show of a missing interface fails" bash -c "! wg show '$(if_name zz)' >/dev/null 2>&1"
	check "our agent still runs" at_alive "$AT_LAST_PID"
}

# ---- keys ------------------------------------------------------------------

shows() { [[ $(wg show "$1" "$2") == "$3" ]]; }
has_peer() { wg show "$1" peers | grep -qxF "$2"; }
no_peer() { ! has_peer "$@"; }
no_flood() { ! flood "$@" >/dev/null; }
quiet_flood() { flood "$@" >/dev/null; }


# udp_sinks PORT...: UDP listeners on 127.0.0.1:PORT in N0 (bg_in), one
# line "PORT LEN" per datagram in $AT_TMP/sink.log.
udp_sinks() {
	bg_in "$N0" sink python3 -u -c '
import select, socket, sys
socks = {}
for p in sys.argv[1:]:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", int(p)))
    socks[s] = p
print("ready", flush=True)
while True:
    for s in select.select(list(socks), [], [])[0]:
        d, _ = s.recvfrom(65536)
        print(socks[s], len(d), flush=True)' "$@"
	wait_for 10 grep -q ready "$AT_TMP/sink.log" || fail "UDP sinks did not start"
}
sink_count() { grep -c "^$1 " "$AT_TMP/sink.log" || true; }

# The selftest's low-order points.
LOW_ORDER=(AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=
	4Ot6fDtBuK4WVuP68Z/EatoJjeucMrH9hmIFFl9JuAA= X5yVvKNQjCSx0LFVnIPvWwREXMRYHI6G2CJO3dCfEVc=
	7P///////////////////////////////////////38= 7f///////////////////////////////////////38=
	7v///////////////////////////////////////38=)

sc_keys() {
	local raw clamped k3 p3 lo
	bp_pair modern k
	bp_endpoints 4
	flood_check "tunnel to wireguard-go works" "$N1" "$IP2" 10

	# /dev/null clears keys
	wg set "$IF1" private-key /dev/null || fail "private-key /dev/null"
	check "private-key /dev/null: wg show private-key is (none)" shows "$IF1" private-key "(none)"
	check "private-key /dev/null: wg show public-key is (none)" shows "$IF1" public-key "(none)"
	check "private-key /dev/null: no traffic passes" no_flood "$N1" "$IP2" 1
	wg set "$IF1" peer "$PUB2" preshared-key /dev/null || fail "preshared-key /dev/null"
	check "preshared-key /dev/null: wg show preshared-keys is (none)" \
		test "$(peer_field "$IF1" "$PUB2" preshared-keys)" = "(none)"
	wg set "$IF1" private-key "$(keyfile "$KEY1")" peer "$PUB2" preshared-key "$PSK" || fail "keys back"
	check "keys back: wg show public-key is ours again" shows "$IF1" public-key "$PUB1"
	flood_check "keys back: tunnel works again" "$N1" "$IP2" 10

	# our own public key as a peer
	wg set "$IF1" peer "$PUB1" allowed-ips 10.99.0.0/16 2>/dev/null || true
	check "our own public key as a peer: not kept" no_peer "$IF1" "$PUB1"
	k3=$(genkey) p3=$(pubkey "$k3")
	wg set "$IF1" peer "$p3" allowed-ips 10.98.0.0/16 || fail "add peer p3"
	check "peer P3 added" has_peer "$IF1" "$p3"
	wg set "$IF1" private-key "$(keyfile "$k3")" || fail "private key -> k3"
	check "our key changed to P3's: peer P3 dropped" no_peer "$IF1" "$p3"
	check "... and the other peer kept" has_peer "$IF1" "$PUB2"
	wg set "$IF1" private-key "$(keyfile "$KEY1")" || fail "key back"

	# clamping
	# 32 bytes of 0xff; clamped: byte 0 & 248 = 0xf8, byte 31 & 127 | 64 = 0x7f
	raw=//////////////////////////////////////////8=
	clamped=+P///////////////////////////////////////38=
	wg set "$IF1" private-key "$(keyfile "$raw")" || fail "unclamped private key refused"
	check "unclamped private key reads back clamped ($clamped)" shows "$IF1" private-key "$clamped"
	check "... and its public key is the clamped key's" shows "$IF1" public-key "$(pubkey "$clamped")"
	wg set "$IF1" private-key "$(keyfile "/${KEY1:1}")" || fail "private key /KEY refused"
	check "the selftest's /KEY reads back as +KEY" shows "$IF1" private-key "+${KEY1:1}"
	wg set "$IF1" private-key "$(keyfile "$KEY1")" || fail "key back"

	# overlapping allowed IPs on one peer (the selftest's sets)
	local pa pb p4
	p4=$(pubkey "$(genkey)")
	wg set "$IF1" peer "$p4" allowed-ips 0.0.0.0/0,10.0.0.0/8,100.0.0.0/10,172.16.0.0/12,192.168.0.0/16 ||
		fail "overlapping IPv4 set refused"
	check "overlapping on one peer: the five IPv4 prefixes kept" \
		test "$(peer_field "$IF1" "$p4" allowed-ips | wc -w)" = 5
	wg set "$IF1" peer "$p4" allowed-ips 0.0.0.0/0 || fail "0.0.0.0/0 refused"
	check "... replaced by 0.0.0.0/0" test "$(peer_field "$IF1" "$p4" allowed-ips)" = 0.0.0.0/0
	wg set "$IF1" peer "$p4" allowed-ips ::/0,1700::/111,5000::/4,e000::/37,9000::/75 ||
		fail "overlapping IPv6 set refused"
	check "overlapping on one peer: the five IPv6 prefixes kept" \
		test "$(peer_field "$IF1" "$p4" allowed-ips | wc -w)" = 5
	wg set "$IF1" peer "$p4" allowed-ips ::/0 || fail "::/0 refused"
	check "... replaced by ::/0" test "$(peer_field "$IF1" "$p4" allowed-ips)" = ::/0
	wg set "$IF1" peer "$p4" remove || fail "remove p4"
	flood_check "tunnel to wireguard-go unaffected" "$N1" "$IP2" 10

	# overlapping across peers; the most specific wins

	pa=$(pubkey "$(genkey)") pb=$(pubkey "$(genkey)")
	wg set "$IF1" peer "$pa" allowed-ips 10.0.0.0/8,fd00:1::/32 \
		peer "$pb" allowed-ips 10.1.0.0/16,10.1.1.1/32,fd00:1:2::/48 \
		peer "$PUB2" allowed-ips "$IP2/32,$IP2_6/128,10.1.1.0/24" || fail "overlapping allowed ips refused"
	check "overlapping: peer A keeps 10.0.0.0/8 fd00:1::/32" \
		test "$(peer_field "$IF1" "$pa" allowed-ips)" = "10.0.0.0/8 fd00:1::/32"
	check "overlapping: peer B has 10.1.0.0/16 10.1.1.1/32 fd00:1:2::/48" \
		bash -c "tr ' ' '\n' <<<'$(peer_field "$IF1" "$pb" allowed-ips)' | sort | paste -sd' ' | grep -qx '10.1.0.0/16 10.1.1.1/32 fd00:1:2::/48'"
	ip -n "$N1" route add 10.0.0.0/8 dev "$IF1"
	addr "$N2" "$IF2" 10.1.1.9/32
	wg set "$IF2" peer "$PUB1" allowed-ips "$IP1/32,$IP1_6/128"
	check "overlapping: 10.1.1.9 goes to wireguard-go (10.1.1.0/24 over 10.1.0.0/16 and 10.0.0.0/8)" \
		quiet_flood "$N1" 10.1.1.9 10
	wg set "$IF1" peer "$pb" allowed-ips 10.1.1.0/24 || fail "move 10.1.1.0/24"
	check "overlapping: the same prefix set on another peer moves it" \
		bash -c "! wg show '$IF1' allowed-ips | awk -v p='$PUB2' '\$1 == p' | grep -qw 10.1.1.0/24"

	# low-order peers: nothing sent. Control: an ordinary peer at a sink.
	udp_sinks 40001 40002
	for lo in "${LOW_ORDER[@]}"; do
		wg set "$IF1" peer "$lo" endpoint 127.0.0.1:40002 persistent-keepalive 1 ||
			fail "adding low-order peer $lo"
	done
	check "the seven low-order peers are kept" \
		test "$(wg show "$IF1" peers | grep -cxF -f <(printf '%s\n' "${LOW_ORDER[@]}"))" = 7
	lo=${LOW_ORDER[0]}
	wg set "$IF1" peer "$lo" allowed-ips 10.77.0.0/16 \
		peer "$(pubkey "$(genkey)")" allowed-ips 10.78.0.0/16 endpoint 127.0.0.1:40001 ||
		fail "adding the control peer"
	ip -n "$N1" route add 10.77.0.0/16 dev "$IF1"
	ip -n "$N1" route add 10.78.0.0/16 dev "$IF1"
	ip netns exec "$N1" ping -c 3 -i 0.2 -W 1 10.77.0.1 >/dev/null 2>&1 &
	local p1=$!
	ip netns exec "$N1" ping -c 1 -W 1 10.78.0.1 >/dev/null 2>&1 || true
	check "control: the ordinary peer's endpoint got a 148-byte initiation" \
		wait_for 3 grep -qx "40001 148" "$AT_TMP/sink.log"
	wait "$p1" || true
	sleep 1 # 2 s of persistent-keepalive 1 since the peers were added
	check "low-order peers: their endpoint got no datagram ($(sink_count 40002))" \
		test "$(sink_count 40002)" = 0
	check "low-order peers: 0 bytes sent" \
		test "$(wg show "$IF1" transfer | grep -F -f <(printf '%s\n' "${LOW_ORDER[@]}") | awk '{ s += $3 } END { print s + 0 }')" = 0
	flood_check "tunnel to wireguard-go still works" "$N1" "$IP2" 10
	check "our agent still runs" at_alive "$PID1"
}

scenario "large configurations: 40 x 52, 197 IPv6 on one peer, 29 empty peers + 1" sc_large
scenario "key handling, against wireguard-go modern" sc_keys
finish
