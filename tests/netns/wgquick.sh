#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# shellcheck disable=SC2317  # functions are called through scenario()
#
# wg-quick(8) with altuntun-cli as its userspace implementation
# (WG_QUICK_USERSPACE_IMPLEMENTATION), inside a namespace, against
# wireguard-go (Debian's and the modern build) on the other side:
#
#   A  veth 192.168.150.1/24, default via B         wg-quick: altuntun-cli
#   B  veth 192.168.150.2/24, lo 198.51.100.2/32 (the endpoint) and
#      203.0.113.1/32                               wireguard-go -f
#      tunnel 10.150.0.2/24 fd00:150::2/64
#
# B's endpoint address is reached from A by its default route only, so in
# the full tunnel (where wg-quick suppresses main's default route for
# unmarked traffic) it stays reachable only thanks to the fwmark rule.
#
# 1. A split tunnel (AllowedIPs = 10.150.0.2/32): `up` starts OUR process
#    (it owns the UAPI socket and the TUN), pings cross both ways, `down`
#    deletes the interface and the daemon exits.
# 2. A full tunnel (AllowedIPs = 0.0.0.0/0, ::/0): wg-quick sets fwmark 51820
#    (0xca6c), `ip rule`s and, there being no iptables here, an nft table;
#    everything (even the endpoint address itself) goes through the tunnel
#    while our marked UDP still reaches the endpoint outside it; `down`
#    removes rules, table, interface and daemon.

# shellcheck source=tests/netns/lib.sh
. "$(dirname "$0")/lib.sh"
require_root
require_cmd wg wg-quick ip ping ss nft

CLI=$ALTUNTUN_CLI
[[ -x $CLI ]] || fail "$CLI not built (make all)"

OUT_A=192.168.150.1 OUT_B=192.168.150.2
EP_B=198.51.100.2 # B's endpoint address
IN4_A=10.150.0.1 IN4_B=10.150.0.2
IN6_A=fd00:150::1 IN6_B=fd00:150::2
FAR=203.0.113.1 # on B's lo: reachable from A only through the tunnel
PORT_A=51820 PORT_B=51821

# setup FLAVOUR TAG: namespaces, veth, wireguard-go on B. Sets NS_A NS_B
# IF_Q (wg-quick's interface) IF_B KEY_A PUB_A PUB_B.
setup() {
	local flavour=$1 tag=$2 kb
	NS_A=$(ns_name "a$tag") NS_B=$(ns_name "b$tag")
	IF_Q=$(if_name "q$tag") IF_B=$(if_name "b$tag")
	ns_new "$NS_A"
	ns_new "$NS_B"
	veth_pair "$NS_A" "$(if_name "va$tag")" "$NS_B" "$(if_name "vb$tag")"
	addr "$NS_A" "$(if_name "va$tag")" "$OUT_A/24"
	addr "$NS_B" "$(if_name "vb$tag")" "$OUT_B/24"
	addr "$NS_B" lo "$FAR/32"
	addr "$NS_B" lo "$EP_B/32"
	ip -n "$NS_A" route add default via "$OUT_B"
	start_wggo "$NS_B" "$IF_B" "$flavour"
	KEY_A=$(genkey) kb=$(genkey)
	PUB_A=$(pubkey "$KEY_A") PUB_B=$(pubkey "$kb")
	wg_in "$NS_B" set "$IF_B" private-key "$(keyfile "$kb")" listen-port "$PORT_B" \
		peer "$PUB_A" allowed-ips "$IN4_A/32,$IN6_A/128" || fail "wg set on B failed"
	addr "$NS_B" "$IF_B" "$IN4_B/24"
	addr "$NS_B" "$IF_B" "$IN6_B/64"
	# wg-quick's daemon is not our child: cleanup finds it in the
	# namespace; its socket is removed by name.
	at_check_socket_free "$IF_Q"
	AT_SOCKS+=("$IF_Q")
}

# write_conf ALLOWED ADDRESSES: $AT_TMP/$IF_Q.conf (the interface name is
# the file's base name).
write_conf() {
	CONF=$AT_TMP/$IF_Q.conf
	cat >"$CONF" <<CONF
[Interface]
Address = $2
PrivateKey = $KEY_A
ListenPort = $PORT_A

[Peer]
PublicKey = $PUB_B
Endpoint = $EP_B:$PORT_B
AllowedIPs = $1
CONF
	chmod 600 "$CONF"
}

# quick up|down: runs wg-quick in A; output in $AT_TMP/wg-quick-up.log etc.
quick() {
	local rc=0 t0
	t0=$(date +%s%N)
	ip netns exec "$NS_A" env WG_QUICK_USERSPACE_IMPLEMENTATION="$CLI" \
		wg-quick "$1" "$CONF" >"$AT_TMP/wg-quick-$1.log" 2>&1 || rc=$?
	QUICK_MS=$((($(date +%s%N) - t0) / 1000000))
	AT_LOGS+=("$AT_TMP/wg-quick-$1.log")
	return "$rc"
}

indent() { sed 's/^/    /' "$@"; }

# The TUN interface a process holds open (from /proc/PID/fdinfo "iff:").
tun_of_pid() {
	grep -h '^iff:' "/proc/$1/fdinfo/"* 2>/dev/null | awk '{print $2}' | sort -u
}

ping_check() { # LABEL NS DEST [COUNT]
	local out
	if out=$(ping_stats "$2" "$3" "${4:-3}"); then pass "$1: $out"; else soft_fail "$1: $out"; fi
}

exe_of() { local e; e=$(readlink "/proc/$1/exe" 2>/dev/null) && echo "${e% (deleted)}"; }

# Processes in A running our binary (the daemon and any child of it).
ours_in_a() {
	local p real
	real=$(readlink -f "$CLI")
	for p in $(ip netns pids "$NS_A" 2>/dev/null); do
		[[ $(exe_of "$p") == "$real" ]] && echo "$p"
	done
	return 0
}
none_of_ours() { [[ -z $(ours_in_a) ]]; }

# Checks that wg-quick started OUR daemon for $IF_Q: every process holding
# the listening UAPI socket runs build/altuntun-cli (the daemon wg-quick
# started, comm altuntun-cli, and any process of its own, such as a
# privilege-separated altuntun-proto child), one of them is altuntun-cli,
# and they hold the TUN of $IF_Q. Sets DAEMON_PIDS.
check_owner() {
	local owner comm pid real bad="" have_cli=0 tun=""
	owner=$(uapi_owner "$NS_A" "$IF_Q")
	real=$(readlink -f "$CLI")
	DAEMON_PIDS=()
	[[ -n $owner ]] || fail "ss -xlp: nobody holds $WG_RUN_DIR/$IF_Q.sock"
	while read -r comm pid; do
		DAEMON_PIDS+=("$pid")
		[[ $comm == altuntun-cli ]] && have_cli=1
		[[ $(exe_of "$pid") == "$real" ]] || bad+=" $comm($pid):$(exe_of "$pid")"
		tun+=" $(tun_of_pid "$pid")"
	done <<<"$owner"
	if ((have_cli)) && [[ -z $bad ]]; then
		pass "ss -xlp: $IF_Q.sock is held by ${owner//$'\n'/, } (exe $real)"
	else
		fail "ss -xlp: $IF_Q.sock held by '${owner//$'\n'/; }'${bad:+, not our binary:$bad}"
	fi
	tun=$(tr ' ' '\n' <<<"$tun" | sed '/^$/d' | sort -u | paste -sd ' ')
	check "our process holds the TUN of $IF_Q (fdinfo iff: $tun)" test "$tun" = "$IF_Q"
	check "no wireguard-go runs in A" test -z "$(pids_named "$NS_A" wireguard-go)"
}

all_gone() {
	local p
	for p in "${DAEMON_PIDS[@]}"; do at_alive "$p" && return 1; done
	return 0
}

# After `down`: interface, daemon and socket gone.
check_down() {
	if quick down; then
		pass "wg-quick down (${QUICK_MS} ms)"
	else
		soft_fail "wg-quick down failed:"
		indent "$AT_TMP/wg-quick-down.log"
	fi
	check "down: $IF_Q is deleted" wait_for 5 no_link_in "$NS_A" "$IF_Q"
	check "down: the daemon exits (pids ${DAEMON_PIDS[*]})" wait_for 5 all_gone
	check "down: no process of build/altuntun-cli left in A" wait_for 2 none_of_ours
	check "down: $IF_Q.sock is removed" wait_for 5 no_file "$WG_RUN_DIR/$IF_Q.sock"
}

sc_split() {
	local flavour=$1 tag=$2
	setup "$flavour" "$tag"
	write_conf "$IN4_B/32" "$IN4_A/24"
	if quick up; then
		pass "wg-quick up (split tunnel, ${QUICK_MS} ms)"
	else
		indent "$AT_TMP/wg-quick-up.log"
		fail "wg-quick up failed"
	fi
	check_owner
	check "wg-quick's setconf reached our daemon (listen port $PORT_A, peer B)" \
		test "$(wg show "$IF_Q" listen-port) $(wg show "$IF_Q" peers)" = "$PORT_A $PUB_B"
	check "wg-quick set the MTU from the endpoint's route (1500 - 80)" \
		bash -c "ip -n '$NS_A' link show '$IF_Q' | grep -q ' mtu 1420 '"
	wg_in "$NS_B" set "$IF_B" peer "$PUB_A" endpoint "$OUT_A:$PORT_A"
	ping_check "ping A -> B ($flavour) through wg-quick's interface" "$NS_A" "$IN4_B" 5
	check "handshake on both sides" wait_for 3 bash -c \
		"[[ \$(wg show '$IF_Q' latest-handshakes | awk '{print \$2}') != 0 &&
		    \$(wg show '$IF_B' latest-handshakes | awk '{print \$2}') != 0 ]]"
	ping_check "ping B ($flavour) -> A" "$NS_B" "$IN4_A" 3
	check_down
}

sc_full() {
	local flavour=$1 tag=$2 fw rules6 rules4 out b_rx0 b_rx1 rt
	setup "$flavour" "$tag"
	write_conf "0.0.0.0/0, ::/0" "$IN4_A/24, $IN6_A/64"
	if quick up; then
		pass "wg-quick up (full tunnel, ${QUICK_MS} ms)"
	else
		indent "$AT_TMP/wg-quick-up.log"
		fail "wg-quick up failed"
	fi
	log "wg-quick up ran:"
	grep '^\[#\]' "$AT_TMP/wg-quick-up.log" | cut -c 1-160 | indent
	check_owner
	if grep -q 'iptables' "$AT_TMP/wg-quick-up.log"; then
		soft_fail "wg-quick mentions iptables: $(grep iptables "$AT_TMP/wg-quick-up.log" | head -n 3)"
	else
		pass "wg-quick used nft for its conntrack/mark rules (iptables: $(command -v iptables || echo absent))"
	fi
	fw=$(wg show "$IF_Q" fwmark)
	check "wg show $IF_Q fwmark: $fw (51820)" test "$fw" = 0xca6c
	rules4=$(ip -n "$NS_A" -4 rule show)
	rules6=$(ip -n "$NS_A" -6 rule show)
	check "ip -4 rule: not fwmark 0xca6c lookup 51820, suppress_prefixlength 0" bash -c \
		"grep -q 'not from all fwmark 0xca6c lookup 51820' <<<'$rules4' &&
		 grep -q 'lookup main suppress_prefixlength 0' <<<'$rules4'"
	check "ip -6 rule: not fwmark 0xca6c lookup 51820, suppress_prefixlength 0" bash -c \
		"grep -q 'not from all fwmark 0xca6c lookup 51820' <<<'$rules6' &&
		 grep -q 'lookup main suppress_prefixlength 0' <<<'$rules6'"
	check "nft tables ip/ip6 wg-quick-$IF_Q exist" bash -c \
		"ip netns exec '$NS_A' nft list tables | grep -qx 'table ip wg-quick-$IF_Q' &&
		 ip netns exec '$NS_A' nft list tables | grep -qx 'table ip6 wg-quick-$IF_Q'"
	check "net.ipv4.conf.all.src_valid_mark = 1 in A" test \
		"$(ip netns exec "$NS_A" sysctl -n net.ipv4.conf.all.src_valid_mark)" = 1
	rt=$(ip -n "$NS_A" route get "$EP_B" | head -n 1)
	check "unmarked traffic to the endpoint goes into the tunnel ($rt)" \
		grep -q "dev $IF_Q table 51820" <<<"$rt"
	rt=$(ip -n "$NS_A" route get "$EP_B" mark 0xca6c | head -n 1)
	check "marked traffic to the endpoint goes out the veth ($rt)" \
		grep -q "dev $(if_name "va$tag")" <<<"$rt"

	wg_in "$NS_B" set "$IF_B" peer "$PUB_A" endpoint "$OUT_A:$PORT_A"
	ping_check "full tunnel: ping B's tunnel address $IN4_B" "$NS_A" "$IN4_B" 5
	ping_check "full tunnel: ping $FAR (only reachable through the tunnel)" "$NS_A" "$FAR" 3
	b_rx0=$(peer_rx "$IF_B" "$PUB_A")
	ping_check "full tunnel: ping the endpoint address $EP_B (inside the tunnel)" "$NS_A" "$EP_B" 3
	b_rx1=$(peer_rx "$IF_B" "$PUB_A")
	check "... and B received it through the tunnel (rx $b_rx0 -> $b_rx1 bytes)" \
		test "$((b_rx1 - b_rx0))" -ge $((3 * (84 + 32)))
	ping_check "full tunnel: ping6 $IN6_B" "$NS_A" "$IN6_B" 3
	check "B sees our endpoint $OUT_A:$PORT_A (the marked socket left by the veth)" \
		test "$(peer_endpoint "$IF_B" "$PUB_A")" = "$OUT_A:$PORT_A"
	out=$(ip -n "$NS_A" -s link show "$IF_Q" | awk '/RX:/ { getline; print $2 }')
	log "A's $IF_Q received $out packets"

	check_down
	rules4=$(ip -n "$NS_A" -4 rule show)
	rules6=$(ip -n "$NS_A" -6 rule show)
	check "down: the ip rules are removed" bash -c \
		"! grep -q -e 51820 -e suppress_prefixlength <<<'$rules4$rules6'"
	check "down: the nft tables are removed" bash -c \
		"! ip netns exec '$NS_A' nft list tables | grep -q 'wg-quick-$IF_Q'"
	check "down: the endpoint address is routed by main again" \
		bash -c "ip -n '$NS_A' route get '$EP_B' | grep -q 'via $OUT_B'"
	ping_check "down: the endpoint address answers outside the tunnel" "$NS_A" "$EP_B" 2
}

scenario "wg-quick split tunnel, peer wireguard-go (Debian)" sc_split debian 1
scenario "wg-quick split tunnel, peer wireguard-go (modern)" sc_split modern 2
scenario "wg-quick full tunnel, peer wireguard-go (Debian)" sc_full debian 3
scenario "wg-quick full tunnel, peer wireguard-go (modern)" sc_full modern 4
finish
