#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# shellcheck disable=SC2317  # functions are called through scenario()
#
# altuntun-cni chained after Debian's reference `bridge` plugin (with
# host-local IPAM), each plugin invoked the way libcni invokes a conflist:
# the same CNI_IFNAME (eth0, the bridge's) for both, so ours names its own
# interface with "ifname"; ADD in order, each plugin's result the next one's
# prevResult; CHECK of each with the final result; DEL in reverse order
# with it.
#
#   C (container)  eth0 (bridge's veth, 10.212.0.x/24), wg0 (ours, 10.211.0.1)
#   H (runtime)    both plugins run here: the bridge, the agent, its UDP socket
#   P (peer)       veth from H, wireguard-go 10.211.0.2/24
#
# Then ADD failing cleanly (spec error JSON, nothing half-made): CNI_IFNAME
# taken by the bridge's eth0, a bad config, a missing netns, keys that do
# not parse, a listen port already taken (the agent fails after start).

# shellcheck source=tests/netns/lib.sh
. "$(dirname "$0")/lib.sh"
require_root
require_cmd wg ip ping python3 jq
# shellcheck source=tests/netns/cni-helpers.bash
. "$AT_LIB_DIR/cni-helpers.bash"

CNI=${ALTUNTUN_CNI:-$AT_REPO_ROOT/build/altuntun-cni}
CNI_BIN=${CNI_BIN:-/usr/lib/cni}
[[ -x $CNI ]] || fail "$CNI not built (make all)"
[[ -x $ALTUNTUN_CLI ]] || fail "$ALTUNTUN_CLI not built (make all)"
[[ -x $CNI_BIN/bridge && -x $CNI_BIN/host-local ]] ||
	fail "$CNI_BIN/bridge, host-local missing (Debian's containernetworking-plugins)"
export ALTUNTUN_CLI
STATE=$AT_TMP/cni-state
export ALTUNTUN_CNI_STATE_DIR=$STATE
NET=$AT_PREFIX-chain

OUT_H=10.210.0.1 OUT_P=10.210.0.2
IN_A=10.211.0.1 IN_P=10.211.0.2
PORT_P=51822

# plugin NAME VERB NS IFNAME CID CONF OUT: runs $CNI_BIN/NAME (or ours for
# "altuntun") in H the way libcni does; status in RC.
plugin() {
	local bin=$CNI_BIN/$1 verb=$2 ns=$3 ifn=$4 cid=$5 conf=$6 out=$7 nsp=""
	[[ $1 == altuntun ]] && bin=$CNI
	[[ -n $ns ]] && nsp=/var/run/netns/$ns
	RC=0
	ip netns exec "$H" env CNI_COMMAND="$verb" CNI_CONTAINERID="$AT_PREFIX-$cid" \
		CNI_NETNS="$nsp" CNI_IFNAME="$ifn" CNI_PATH="$CNI_BIN" "$bin" \
		<"$conf" >"$out" 2>"$AT_TMP/err.txt" || RC=$?
}

# with_prev CONF RESULT OUT: CONF (a plugin of the list) with RESULT as
# prevResult ("-": none), as libcni builds it.
with_prev() {
	if [[ $2 == - ]]; then
		cp "$1" "$3"
	else
		jq --slurpfile r "$2" '. + {prevResult: $r[0]}' "$1" >"$3"
	fi
}

state_of() { echo "$STATE/$NET/$AT_PREFIX-$1-$2/state.json"; }
uapi_of() { jq -r .uapiName "$(state_of "$1" "$2")"; }
pid_of() { jq -r .pid "$(state_of "$1" "$2")"; }
dead() { ! at_alive "$1"; }

topo() {
	H=$(ns_name h)
	P=$(ns_name p)
	C=$(ns_name c)
	IFP=$(if_name p)
	BR=$(if_name br)
	ns_new "$H"
	ns_new "$P"
	ns_new "$C"
	veth_pair "$H" "$(if_name vh)" "$P" "$(if_name vp)"
	addr "$H" "$(if_name vh)" "$OUT_H/24"
	addr "$P" "$(if_name vp)" "$OUT_P/24"
	start_wggo "$P" "$IFP" debian
	KEY_A=$(genkey)
	PUB_A=$(pubkey "$KEY_A")
	KEY_P=$(genkey)
	PUB_P=$(pubkey "$KEY_P")
	wg_in "$P" set "$IFP" private-key "$(keyfile "$KEY_P")" listen-port "$PORT_P" \
		peer "$PUB_A" allowed-ips "$IN_A/32" || fail "wg set $IFP failed"
	addr "$P" "$IFP" "$IN_P/24"
	cat >"$AT_TMP/bridge.json" <<EOF
{"cniVersion": "1.0.0", "name": "$NET", "type": "bridge", "bridge": "$BR",
 "isGateway": true, "ipMasq": false,
 "ipam": {"type": "host-local", "dataDir": "$AT_TMP/ipam",
          "ranges": [[{"subnet": "10.212.0.0/24", "gateway": "10.212.0.1"}]]}}
EOF
	ours "$IN_A/32" '"ifname": "wg0"'
}

# ours ADDRESS [EXTRA JSON]: our plugin's entry of the list.
ours() {
	cat >"$AT_TMP/ours.json" <<EOF
{"cniVersion": "1.0.0", "name": "$NET", "type": "altuntun-cni",
 "privateKey": "$KEY_A", "mtu": 1380, "addresses": ["$1"],
 "routes": ["10.211.0.0/24"]${2:+, $2},
 "peers": [{"publicKey": "$PUB_P", "endpoint": "$OUT_P:$PORT_P",
            "allowedIPs": ["10.211.0.0/24"], "persistentKeepalive": 5}]}
EOF
}

sc_chain() {
	local out uapi pid n
	topo
	# ADD: bridge, then ours with the bridge's result as prevResult
	plugin bridge ADD "$C" eth0 one "$AT_TMP/bridge.json" "$AT_TMP/prev.json"
	((RC == 0)) || fail "bridge ADD failed ($RC): $(cat "$AT_TMP/prev.json" "$AT_TMP/err.txt")"
	log "bridge result: $(tr -d ' \n' <"$AT_TMP/prev.json")"
	check "bridge ADD: eth0 in the container has 10.212.0.x" jq_is "$AT_TMP/prev.json" \
		'.ips[0].address | startswith("10.212.0.")' true
	with_prev "$AT_TMP/ours.json" "$AT_TMP/prev.json" "$AT_TMP/ours-add.json"
	plugin altuntun ADD "$C" eth0 one "$AT_TMP/ours-add.json" "$AT_TMP/res.json"
	AT_SOCKS+=("$(uapi_of one eth0)")
	((RC == 0)) || fail "altuntun ADD failed ($RC): $(cat "$AT_TMP/res.json" "$AT_TMP/err.txt")"
	log "chained result: $(tr -d ' \n' <"$AT_TMP/res.json")"
	n=$(jqr "$AT_TMP/prev.json" '.interfaces | length')
	judge "$AT_TMP/res.json" "$AT_TMP/prev.json" 1.0.0 wg0 "/var/run/netns/$C" "$IN_A/32" 10.211.0.0/24
	check "result: the bridge's ip has its gateway and points at eth0 in C" jq_is "$AT_TMP/res.json" \
		'[.ips[0].gateway, .interfaces[.ips[0].interface].name, .interfaces[.ips[0].interface].sandbox]' \
		"[\"10.212.0.1\",\"eth0\",\"/var/run/netns/$C\"]"
	check "container: eth0 and wg0 (MTU 1380) both there" bash -c \
		"ip -n '$C' link show eth0 >/dev/null && ip -n '$C' link show wg0 | grep -q 'mtu 1380'"
	check "container: route 10.211.0.0/24 via wg0" bash -c "ip -n '$C' route show 10.211.0.0/24 | grep -q 'dev wg0'"

	if out=$(ping_stats "$C" 10.212.0.1 2); then
		pass "ping container -> bridge gateway over eth0: $out"
	else
		soft_fail "ping container -> bridge gateway over eth0: $out"
	fi
	if out=$(ping_stats "$C" "$IN_P" 5); then
		pass "ping container -> wireguard-go peer through wg0: $out"
	else
		soft_fail "ping container -> wireguard-go peer through wg0: $out"
	fi
	uapi=$(uapi_of one eth0)
	check "the peer saw the agent's UDP source in H ($OUT_H)" bash -c \
		"wg show '$IFP' endpoints | grep -q '$OUT_H:'"
	check "wg show $uapi (runtime's namespace): handshake with the peer" handshake_done "$uapi" "$PUB_P"

	# CHECK: each plugin of the list with the final result as prevResult
	with_prev "$AT_TMP/bridge.json" "$AT_TMP/res.json" "$AT_TMP/bridge-chk.json"
	with_prev "$AT_TMP/ours.json" "$AT_TMP/res.json" "$AT_TMP/ours-chk.json"
	plugin altuntun CHECK "$C" eth0 one "$AT_TMP/ours-chk.json" "$AT_TMP/out.json"
	check "CHECK altuntun with the chain's result: ok ($RC $(head -c 200 "$AT_TMP/out.json"))" test "$RC" = 0
	# a prevResult claiming an address wg0 lacks: CHECK must see it
	jq --argjson n "$n" '.prevResult.ips += [{address: "10.211.0.77/32", interface: $n}]' \
		"$AT_TMP/ours-chk.json" >"$AT_TMP/ours-chk-bad.json"
	plugin altuntun CHECK "$C" eth0 one "$AT_TMP/ours-chk-bad.json" "$AT_TMP/out.json"
	check "CHECK with a prevResult ip wg0 lacks: code 102 ($RC)" jq_is "$AT_TMP/out.json" .code 102
	# Debian's bridge (plugins 1.1.1) CHECKs every ip of the result on its
	# CNI_IFNAME, whatever its "interface" index: the chain's result, with
	# our address, fails there; its own result passes (eth0 is intact).
	with_prev "$AT_TMP/bridge.json" "$AT_TMP/prev.json" "$AT_TMP/bridge-own.json"
	plugin bridge CHECK "$C" eth0 one "$AT_TMP/bridge-own.json" "$AT_TMP/out.json"
	check "CHECK bridge with its own result: ok ($RC $(head -c 200 "$AT_TMP/out.json"))" test "$RC" = 0
	plugin bridge CHECK "$C" eth0 one "$AT_TMP/bridge-chk.json" "$AT_TMP/out.json"
	check "CHECK bridge with the chain's result: refused by bridge itself (\"$(jqr "$AT_TMP/out.json" .msg)\")" \
		jq_is "$AT_TMP/out.json" .msg "Failed to match addr $IN_A/32 on interface eth0"

	# chained without "ifname": eth0 is the bridge's: refused, eth0 untouched
	ours "$IN_A/32"
	with_prev "$AT_TMP/ours.json" "$AT_TMP/prev.json" "$AT_TMP/ours-add2.json"
	plugin altuntun ADD "$C" eth0 two "$AT_TMP/ours-add2.json" "$AT_TMP/out.json"
	log "chained without ifname: $(tr -d '\n' <"$AT_TMP/out.json")"
	check "... the details say to set \"ifname\"" grep -q 'give this plugin an \\"ifname\\"' "$AT_TMP/out.json"
	check "ADD of eth0 (the bridge's) without \"ifname\": exit 1, code 103 ($RC)" err_is "$RC" "$AT_TMP/out.json" 103 1.0.0
	check "... no state for it" test ! -e "$STATE/$NET/$AT_PREFIX-two-eth0"
	check "... eth0 still the bridge's veth with its address" bash -c \
		"ip -n '$C' -d link show eth0 | grep -q veth && ip -n '$C' addr show eth0 | grep -q 'inet 10.212.0.'"
	check "... no agent for it" test "$(agents_for "$(uapi_hash two eth0)")" = 0

	# DEL: reverse order, each with the final result
	pid=$(pid_of one eth0)
	plugin altuntun DEL "$C" eth0 one "$AT_TMP/ours-chk.json" "$AT_TMP/out.json"
	check "DEL altuntun: ok ($RC)" test "$RC" = 0
	plugin bridge DEL "$C" eth0 one "$AT_TMP/bridge-chk.json" "$AT_TMP/out.json"
	check "DEL bridge: ok ($RC $(cat "$AT_TMP/out.json"))" test "$RC" = 0
	check "after DEL: agent $pid gone" wait_for 5 dead "$pid"
	check "after DEL: no agent with its UAPI name" test "$(agents_for "$uapi")" = 0
	check "after DEL: UAPI socket gone" test ! -e "$WG_RUN_DIR/$uapi.sock"
	check "after DEL: state gone, with the network's directory" test ! -e "$STATE/$NET"
	check "after DEL: only lo in the container" test "$(ip -n "$C" -o link show | wc -l)" = 1
	check "after DEL: no veth left on the bridge" test -z "$(ip -n "$H" -o link show master "$BR")"
	check "after DEL: host-local released the lease" bash -c \
		"! ls '$AT_TMP/ipam/$NET' | grep -q '^10\\.212\\.'"
	plugin altuntun DEL "$C" eth0 one "$AT_TMP/ours-chk.json" "$AT_TMP/out.json"
	check "DEL of the chain again (ours): ok ($RC)" test "$RC" = 0
	plugin bridge DEL "$C" eth0 one "$AT_TMP/bridge-chk.json" "$AT_TMP/out.json"
	check "DEL of the chain again (bridge): ok ($RC)" test "$RC" = 0
}

# expect_clean_fail WHAT CODE CID IFNAME: the last ADD failed with exit 1 and
# error CODE, and left nothing: no state, no agent, no socket, no interface.
expect_clean_fail() {
	local what=$1 code=$2 cid=$3 ifn=$4 uapi
	log "$what: $(tr -d '\n' <"$AT_TMP/out.json")"
	check "$what: exit 1, error JSON code $code" err_is "$RC" "$AT_TMP/out.json" "$code" 1.0.0
	uapi=$(uapi_hash "$cid" "$ifn")
	check "$what: nothing left (state dir, agent $uapi, socket, $ifn)" bash -c \
		"test ! -e '$STATE/$NET' && test \"\$(pgrep -fc -- '--uapi-name [${uapi:0:1}]${uapi:1} ')\" = 0 &&
		 test ! -e '$WG_RUN_DIR/$uapi.sock' && ! ip -n '$C' link show '$ifn' 2>/dev/null"
}

sc_add_fails() {
	local c2
	topo
	with_prev "$AT_TMP/ours.json" - "$AT_TMP/x.json"

	sed "s|\"privateKey\": \"$KEY_A\"|\"privateKey\": \"${KEY_A:0:20}!!\"|" "$AT_TMP/x.json" >"$AT_TMP/bad.json"
	plugin altuntun ADD "$C" wg0 badkey "$AT_TMP/bad.json" "$AT_TMP/out.json"
	expect_clean_fail "privateKey that does not parse" 7 badkey wg0
	check "... details name privateKey, never the value" bash -c \
		"grep -q 'privateKey: not a valid key' '$AT_TMP/out.json' && ! grep -qF '${KEY_A:0:20}' '$AT_TMP/out.json'"
	sed "s|\"publicKey\": \"$PUB_P\"|\"publicKey\": \"AAAA\"|" "$AT_TMP/x.json" >"$AT_TMP/bad.json"
	plugin altuntun ADD "$C" wg0 badpub "$AT_TMP/bad.json" "$AT_TMP/out.json"
	expect_clean_fail "peer publicKey that does not parse" 7 badpub wg0
	check "... details name peers[0].publicKey" grep -q 'peers\[0\].publicKey' "$AT_TMP/out.json"
	sed 's|"privateKey": "[^"]*"|"privateKeyFile": "/nonexistent/at-key"|' "$AT_TMP/x.json" >"$AT_TMP/bad.json"
	plugin altuntun ADD "$C" wg0 nokeyfile "$AT_TMP/bad.json" "$AT_TMP/out.json"
	expect_clean_fail "privateKeyFile missing" 7 nokeyfile wg0
	sed 's|"mtu": 1380|"mtu": "big"|' "$AT_TMP/x.json" >"$AT_TMP/bad.json"
	plugin altuntun ADD "$C" wg0 badmtu "$AT_TMP/bad.json" "$AT_TMP/out.json"
	expect_clean_fail "bad config (mtu a string)" 7 badmtu wg0
	plugin altuntun ADD "$(ns_name gone)" wg0 nons "$AT_TMP/x.json" "$AT_TMP/out.json"
	expect_clean_fail "missing netns" 4 nons wg0

	# the agent fails after it started (its listen port is taken in H):
	# the TUN it made in the container must go too
	jq '.listenPort = 51899' "$AT_TMP/x.json" >"$AT_TMP/port.json"
	bg_in "$H" udp-holder python3 -c 'import socket,time
s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); s.bind(("0.0.0.0",51899))
s6=socket.socket(socket.AF_INET6,socket.SOCK_DGRAM); s6.setsockopt(socket.IPPROTO_IPV6,socket.IPV6_V6ONLY,1); s6.bind(("::",51899))
print("bound",flush=True); time.sleep(120)'
	wait_for 5 grep -q bound "$AT_TMP/udp-holder.log" || fail "could not hold UDP port 51899 in H"
	plugin altuntun ADD "$C" wg0 porttaken "$AT_TMP/port.json" "$AT_TMP/out.json"
	expect_clean_fail "listen port taken (the agent fails)" 100 porttaken wg0
	stop_pid "$AT_LAST_PID"

	# after all these, a good ADD in the same container works
	c2=$C
	plugin altuntun ADD "$c2" wg0 good "$AT_TMP/x.json" "$AT_TMP/out.json"
	AT_SOCKS+=("$(uapi_of good wg0 2>/dev/null || echo none)")
	check "a good ADD afterwards: ok ($RC)" test "$RC" = 0
	plugin altuntun DEL "$c2" wg0 good "$AT_TMP/x.json" "$AT_TMP/out.json"
	check "... and its DEL ($RC)" test "$RC" = 0
	check "the network's state directory is gone" test ! -e "$STATE/$NET"
}

scenario "bridge + altuntun: ADD (prevResult extended), traffic, CHECK, DEL of the chain" sc_chain
scenario "ADD fails cleanly: bad keys, bad config, missing netns, agent failure" sc_add_fails
finish
