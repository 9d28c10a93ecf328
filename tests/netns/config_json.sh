#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# shellcheck disable=SC2317  # functions are called through scenario()
#
# altuntun-cli --config FILE.json end to end. Two namespaces joined by a veth
# pair; B runs Debian's wireguard-go, configured with wg and ip as usual; A
# runs altuntun-cli configured by the JSON file alone (keys, listen port,
# fwmark, MTU, peer, addresses, routes: the test never runs `wg set` or
# `ip address add` on A's tunnel):
#
#   A  veth 10.210.0.1/24                tunnel 10.210.1.1/24 fd00:210:1::1/64
#      routes from the file: 10.210.9.0/24 and fd00:210:9::/64 (mtu 1300)
#   B  veth 10.210.0.2/24                tunnel 10.210.1.2/24 fd00:210:1::2/64
#      also 10.210.9.1/32 and fd00:210:9::1/128, reachable from A only
#      through the routes the file set
#
# Then: mistakes in a file are refused with FILE:LINE:COLUMN on stderr and a
# non-zero status before anything is created (foreground and background);
# and a file with "netns" puts the interface, its addresses and its routes
# in another namespace while the UDP socket stays home.

# shellcheck source=tests/netns/lib.sh
. "$(dirname "$0")/lib.sh"
require_root
require_cmd wg ip ping ss python3 timeout

OUT_A=10.210.0.1 OUT_B=10.210.0.2
IN_A=10.210.1.1 IN_B=10.210.1.2 IN6_A=fd00:210:1::1 IN6_B=fd00:210:1::2
FAR_B=10.210.9.1 FAR6_B=fd00:210:9::1
PORT_A=51820 PORT_B=51821
MTU_A=1380 FWMARK_A=0x1234

ping_check() {
	local what=$1 ns=$2 dst=$3 out
	if out=$(ping_stats "$ns" "$dst" 3); then
		pass "$what: $out"
	else
		soft_fail "$what: $out"
	fi
}

# underlay: NS_A, NS_B, the veth pair, wireguard-go on B with keys made.
# Sets KEY_A PUB_A PUB_B PSK_FILE IF_B.
underlay() {
	local kb
	NS_A=$(ns_name a)
	NS_B=$(ns_name b)
	IF_B=$(if_name b)
	ns_new "$NS_A"
	ns_new "$NS_B"
	veth_pair "$NS_A" "$(if_name va)" "$NS_B" "$(if_name vb)"
	addr "$NS_A" "$(if_name va)" "$OUT_A/24"
	addr "$NS_B" "$(if_name vb)" "$OUT_B/24"
	KEY_A=$(genkey)
	kb=$(genkey)
	PUB_A=$(pubkey "$KEY_A")
	PUB_B=$(pubkey "$kb")
	PSK_FILE=$(keyfile "$(genpsk)")
	start_wggo "$NS_B" "$IF_B" debian
	wg_in "$NS_B" set "$IF_B" private-key "$(keyfile "$kb")" listen-port "$PORT_B" \
		peer "$PUB_A" preshared-key "$PSK_FILE" endpoint "$OUT_A:$PORT_A" \
		allowed-ips "$IN_A/32,$IN6_A/128" || fail "wg set on B failed"
	addr "$NS_B" "$IF_B" "$IN_B/24"
	addr "$NS_B" "$IF_B" "$IN6_B/64"
	addr "$NS_B" "$IF_B" "$FAR_B/32"
	addr "$NS_B" "$IF_B" "$FAR6_B/128"
}

# write_config FILE [EXTRA_TOP_LEVEL_JSON]: A's whole configuration.
write_config() {
	local f=$1 extra=${2:-}
	(
		umask 077
		cat >"$f" <<EOF
{
  "privateKey": "$KEY_A",
  "listenPort": $PORT_A,
  "fwmark": "$FWMARK_A",
  "mtu": $MTU_A,
  "addresses": ["$IN_A/24", "$IN6_A/64"],
  "routes": [
    "10.210.9.0/24",
    { "dst": "fd00:210:9::/64", "mtu": 1300 }
  ],$extra
  "peers": [
    {
      "publicKey": "$PUB_B",
      "presharedKeyFile": "$PSK_FILE",
      "endpoint": "$OUT_B:$PORT_B",
      "allowedIPs": ["$IN_B/32", "$IN6_B/128", "10.210.9.0/24", "fd00:210:9::/64"],
      "persistentKeepalive": 25
    }
  ]
}
EOF
	)
}

# ---- everything from the file ----------------------------------------------

from_file() {
	local ifa cfg log out
	underlay
	ifa=$(if_name a)
	cfg=$AT_TMP/a.json
	write_config "$cfg"
	chmod 0644 "$PSK_FILE"
	start_altuntun "$NS_A" "$ifa" --config "$cfg"
	log=$AT_TMP/altuntun-$ifa.log

	out=$(ip -n "$NS_A" -o link show "$ifa")
	if [[ $out == *"<"*UP*">"* && $out == *" mtu $MTU_A "* ]]; then
		pass "link is up with the file's MTU $MTU_A"
	else
		soft_fail "link: $out"
	fi
	out=$(ip -n "$NS_A" -o address show dev "$ifa")
	if [[ $out == *" inet $IN_A/24 "* && $out == *" inet6 $IN6_A/64 "* ]]; then
		pass "addresses $IN_A/24 and $IN6_A/64 set by the file"
	else
		soft_fail "addresses: $out"
	fi
	out=$(ip -n "$NS_A" route show 10.210.9.0/24)
	if [[ $out == "10.210.9.0/24 dev $ifa "*"scope link"* ]]; then
		pass "route: $out"
	else
		soft_fail "route 10.210.9.0/24: '$out'"
	fi
	out=$(ip -n "$NS_A" -6 route show fd00:210:9::/64)
	if [[ $out == "fd00:210:9::/64 dev $ifa "*"mtu 1300"* ]]; then
		pass "route: $out"
	else
		soft_fail "route fd00:210:9::/64 with mtu 1300: '$out'"
	fi

	out=$(wg show "$ifa" listen-port)
	check "listen port from the file: $out" test "$out" = "$PORT_A"
	out=$(wg show "$ifa" fwmark)
	check "fwmark from the file: $out" test "$out" = "$FWMARK_A"
	out=$(wg show "$ifa" public-key)
	check "private key from the file (public key $out)" test "$out" = "$PUB_A"
	out=$(wg show "$ifa" preshared-keys)
	check "preshared key from the key file" test "$out" = "$PUB_B	$(cat "$PSK_FILE")"
	out=$(wg show "$ifa" allowed-ips)
	check "allowed IPs from the file: ${out#*	}" \
		test "$out" = "$PUB_B	$IN_B/32 $IN6_B/128 10.210.9.0/24 fd00:210:9::/64"
	out=$(wg show "$ifa" persistent-keepalive)
	check "persistent keepalive from the file" test "$out" = "$PUB_B	25"
	if grep -q "presharedKeyFile: \"$PSK_FILE\" is accessible by group or others (mode 0644)" "$log"; then
		pass "warned that the 0644 key file is readable by others"
	else
		soft_fail "no warning about the 0644 key file in $log"
	fi

	ping_check "ping A->B through the tunnel" "$NS_A" "$IN_B"
	ping_check "ping A->B via the file's IPv4 route" "$NS_A" "$FAR_B"
	ping_check "ping6 A->B through the tunnel" "$NS_A" "$IN6_B"
	ping_check "ping6 A->B via the file's IPv6 route" "$NS_A" "$FAR6_B"
	ping_check "ping B->A" "$NS_B" "$IN_A"
	if wait_for 10 handshake_done "$ifa" "$PUB_B" && wait_for 10 handshake_done "$IF_B" "$PUB_A"; then
		pass "handshake on both sides"
	else
		soft_fail "no handshake"
	fi
}

# ---- mistakes ----------------------------------------------------------------

# refused LABEL WANT_STDERR ARGS...: altuntun-cli ARGS in NS_A must fail at
# once with exactly WANT_STDERR, leaving no interface and no socket.
refused() {
	local label=$1 want=$2 ifc rc=0 err
	shift 2
	ifc=$(if_name x)
	at_check_socket_free "$ifc"
	AT_SOCKS+=("$ifc")
	err=$(timeout 20 ip netns exec "$NS_A" "$ALTUNTUN_CLI" "$@" "$ifc" 2>&1 >/dev/null) || rc=$?
	if ((rc != 0 && rc != 124)) && [[ $err == "$want" ]]; then
		pass "$label: status $rc, \"$err\""
	else
		soft_fail "$label: status $rc, stderr '$err', wanted '$want'"
	fi
	if ip -n "$NS_A" link show "$ifc" >/dev/null 2>&1 || [[ -e $WG_RUN_DIR/$ifc.sock ]]; then
		soft_fail "$label: the interface or its socket was created"
	else
		pass "$label: no interface, no socket"
	fi
}

mistakes() {
	local bad=$AT_TMP/bad.json cfg=$AT_TMP/ok.json
	NS_A=$(ns_name a)
	ns_new "$NS_A"
	cat >"$bad" <<EOF
{
  "listenPort": 51820,
  "peers": [
    { "publicKey": "$(pubkey "$(genkey)")",
      "allowedIPs": ["10.0.0.0/24",
      "10.0.0.1/33"] }
  ]
}
EOF
	local msg="altuntun-cli: $bad:6:7: peers[0].allowedIPs[1]: \"10.0.0.1/33\" is not an IP prefix"
	refused "bad prefix, foreground" "$msg" -f --config "$bad"
	refused "bad prefix, background" "$msg" --config "$bad"

	printf '{\n  "listenPort": 51820,\n  "mtu": "1420"\n}\n' >"$bad"
	refused "wrong type" "altuntun-cli: $bad:3:10: mtu: expected an integer from 68 to 65535, got a string" \
		-f --config "$bad"
	printf '{\n  "listenPort": 51820\n  "mtu": 1420\n}\n' >"$bad"
	refused "syntax error" "altuntun-cli: $bad:3:7: '}' expected near '\"mtu\"'" -f --config "$bad"
	printf '{"privateKeyFile": "%s/missing.key"}\n' "$AT_TMP" >"$bad"
	refused "missing key file" \
		"altuntun-cli: $bad:1:20: privateKeyFile: cannot open \"$AT_TMP/missing.key\": No such file or directory" \
		-f --config "$bad"
	refused "missing configuration file" "altuntun-cli: $AT_TMP/nope.json: No such file or directory" \
		-f --config "$AT_TMP/nope.json"

	# A file that is fine on its own but cannot be applied: the listen port
	# is taken. Exits non-zero, removing what it had created.
	printf '{"listenPort": 51999, "addresses": ["10.210.5.1/24"]}\n' >"$cfg"
	bg_in "$NS_A" holder python3 -c '
import socket, time
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
s.bind(("::", 51999))
time.sleep(60)'
	wait_for 5 bash -c "ip netns exec $NS_A ss -Hluan 'sport = :51999' | grep -q ." ||
		fail "the port holder did not start"
	local ifc rc=0 err
	ifc=$(if_name y)
	AT_SOCKS+=("$ifc")
	err=$(timeout 20 ip netns exec "$NS_A" "$ALTUNTUN_CLI" --config "$cfg" "$ifc" 2>&1 >/dev/null) || rc=$?
	if ((rc != 0 && rc != 124)) && [[ $err == *"cannot apply the configuration: Address already in use"* ]]; then
		pass "port in use: status $rc, \"$err\""
	else
		soft_fail "port in use: status $rc, stderr '$err'"
	fi
	if ip -n "$NS_A" link show "$ifc" >/dev/null 2>&1 || [[ -e $WG_RUN_DIR/$ifc.sock ]]; then
		soft_fail "port in use: the interface or its socket is left"
	else
		pass "port in use: nothing left behind"
	fi
}

# ---- "netns": the interface elsewhere, UDP at home ---------------------------

in_netns() {
	local ifa cfg out ns_c
	underlay
	ns_c=$(ns_name c)
	ns_new "$ns_c"
	ifa=$(if_name a)
	cfg=$AT_TMP/a.json
	write_config "$cfg" "
  \"netns\": \"$ns_c\","
	start_altuntun "$NS_A" "$ifa" --config "$cfg"
	if ip -n "$NS_A" link show "$ifa" >/dev/null 2>&1; then
		soft_fail "$ifa exists in the home namespace"
	fi
	out=$(ip -n "$ns_c" -o address show dev "$ifa" 2>&1)
	if [[ $out == *" inet $IN_A/24 "* && $out == *" inet6 $IN6_A/64 "* ]]; then
		pass "interface and addresses in namespace $ns_c"
	else
		soft_fail "addresses in $ns_c: $out"
	fi
	out=$(ip -n "$ns_c" route show 10.210.9.0/24)
	check "route in namespace $ns_c: $out" test -n "$out"
	ping_check "ping from $ns_c to B, UDP leaving from $NS_A" "$ns_c" "$IN_B"
	ping_check "ping from $ns_c via the file's route" "$ns_c" "$FAR_B"
	ping_check "ping6 from $ns_c" "$ns_c" "$IN6_B"
}

scenario "everything from the JSON file, against wireguard-go" from_file
scenario "mistakes are refused before anything is created" mistakes
scenario "\"netns\" in the file" in_netns
finish
