#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# shellcheck disable=SC2317  # functions are called through scenario()
#
# altuntun-cni driven the way a container runtime drives it (CNI_* in the
# environment, the network configuration on stdin):
#
#   C (container)  the plugin's wg interface (CNI_NETNS=/var/run/netns/C)
#   H (home)       where the plugin runs: its agent and UDP socket; veth
#   P (peer)       veth, wireguard-go IFP 10.211.0.2/24
#
# VERSION; ADD (result checked field by field, ping through the tunnel),
# CHECK, DEL, DEL again, DEL without CNI_NETNS; ADD of an existing ifname;
# bad configuration (code 7), undecodable input (code 6); a missing
# namespace; GC; STATUS; ten containers at once (sum of the agents' VmRSS).

# shellcheck source=tests/netns/lib.sh
. "$(dirname "$0")/lib.sh"
require_root
require_cmd wg ip ping python3

CNI=${ALTUNTUN_CNI:-$AT_REPO_ROOT/build/altuntun-cni}
[[ -x $CNI ]] || fail "$CNI not built (make all)"
[[ -x $ALTUNTUN_CLI ]] || fail "$ALTUNTUN_CLI not built (make all)"
export ALTUNTUN_CLI
STATE=$AT_TMP/cni-state
export ALTUNTUN_CNI_STATE_DIR=$STATE
NET=atnet

OUT_H=10.210.0.1 OUT_P=10.210.0.2
IN_P=10.211.0.2
PORT_P=51821

# cni CMD NS(container, "" for none) IFNAME CID [CONFIG_FILE]: runs the plugin
# in H; stdout to $AT_TMP/out.json, status in CNI_RC.
cni() {
	local verb=$1 c=$2 ifn=$3 cid=$4 conf=${5:-$AT_TMP/conf.json} nsp=""
	[[ -n $c ]] && nsp=/var/run/netns/$c
	# container ids are unique per run: UAPI socket names derive from them
	[[ -n $cid ]] && cid=$AT_PREFIX-$cid
	CNI_RC=0
	ip netns exec "$H" env CNI_COMMAND="$verb" CNI_CONTAINERID="$cid" CNI_NETNS="$nsp" \
		CNI_IFNAME="$ifn" CNI_PATH=/nonexistent "$CNI" <"$conf" >"$AT_TMP/out.json" \
		2>"$AT_TMP/err.txt" || CNI_RC=$?
}

# json_get EXPR: a python expression on `r` (the last output).
json_get() { python3 -c "import json,sys; r=json.load(open(sys.argv[1])); print($1)" "$AT_TMP/out.json"; }
json_is() { [[ $(json_get "$1") == "$2" ]]; }

# Records the UAPI socket of every attachment for cleanup.
record_socks() {
	local f
	for f in "$STATE"/*/*/state.json; do
		[[ -f $f ]] && AT_SOCKS+=("$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["uapiName"])' "$f")")
	done
	return 0
}

state_dir() { echo "$STATE/$NET/$AT_PREFIX-$1-$2"; }
state_pid() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["pid"])' "$(state_dir "$1" "$2")/state.json"; }

# make_conf FILE VERSION ADDRESS [PRIVATE_KEY]: a config whose peer is IFP.
make_conf() {
	local file=$1 ver=$2 address=$3 key=${4:-$KEY_A}
	cat >"$file" <<EOF
{
  "cniVersion": "$ver",
  "name": "$NET",
  "type": "altuntun-cni",
  "privateKey": "$key",
  "mtu": 1400,
  "addresses": ["$address"],
  "routes": ["10.211.0.0/24"],
  "peers": [{"publicKey": "$PUB_P", "endpoint": "$OUT_P:$PORT_P",
             "allowedIPs": ["10.211.0.0/24"], "persistentKeepalive": 5}]
}
EOF
}

topo() {
	H=$(ns_name h)
	P=$(ns_name p)
	IFP=$(if_name p)
	ns_new "$H"
	ns_new "$P"
	veth_pair "$H" "$(if_name vh)" "$P" "$(if_name vp)"
	addr "$H" "$(if_name vh)" "$OUT_H/24"
	addr "$P" "$(if_name vp)" "$OUT_P/24"
	start_wggo "$P" "$IFP" debian
	KEY_A=$(genkey)
	PUB_A=$(pubkey "$KEY_A")
	KEY_P=$(genkey)
	PUB_P=$(pubkey "$KEY_P")
	wg_in "$P" set "$IFP" private-key "$(keyfile "$KEY_P")" listen-port "$PORT_P" ||
		fail "wg set $IFP failed"
	addr "$P" "$IFP" "$IN_P/24"
}

# A peer entry on IFP for PUB with ADDRESS.
peer_on_p() { wg_in "$P" set "$IFP" peer "$1" allowed-ips "$2/32"; }

sc_lifecycle() {
	local c c2 out n
	topo
	c=$(ns_name c)
	ns_new "$c"
	peer_on_p "$PUB_A" 10.211.0.1

	out=$(ip netns exec "$H" env CNI_COMMAND=VERSION "$CNI" </dev/null)
	check "VERSION lists 0.3.0 .. 1.1.0" python3 -c "import json,sys; d=json.loads(sys.argv[1]); assert d['supportedVersions']==['0.3.0','0.3.1','0.4.0','1.0.0','1.1.0'], d" "$out"

	ip netns exec "$H" env CNI_COMMAND=STATUS "$CNI" <<<"{\"cniVersion\":\"1.1.0\",\"name\":\"$NET\"}" >/dev/null
	check "STATUS: 0" test $? = 0

	make_conf "$AT_TMP/conf.json" 1.1.0 10.211.0.1/32
	cni ADD "$c" wg0 cid-one
	record_socks
	((CNI_RC == 0)) || log "ADD output: $(cat "$AT_TMP/out.json" "$AT_TMP/err.txt")"
	check "ADD: status 0 ($CNI_RC)" test "$CNI_RC" = 0
	check "result cniVersion 1.1.0" json_is "r['cniVersion']" 1.1.0
	check "result interfaces[0].name wg0" json_is "r['interfaces'][0]['name']" wg0
	check "result interfaces[0].sandbox" json_is "r['interfaces'][0]['sandbox']" "/var/run/netns/$c"
	check "result interfaces[0].mtu 1400 (1.1.0)" json_is "r['interfaces'][0]['mtu']" 1400
	check "result ips[0].address" json_is "r['ips'][0]['address']" 10.211.0.1/32
	check "result ips[0].interface = 0" json_is "r['ips'][0]['interface']" 0
	check "result ips have no version (1.x)" json_is "'version' in r['ips'][0]" False
	check "result routes[0].dst" json_is "r['routes'][0]['dst']" 10.211.0.0/24
	check "result has dns" json_is "type(r['dns']).__name__" dict
	check "wg0 in the container with MTU 1400" bash -c "ip -n '$c' link show wg0 | grep -q 'mtu 1400'"
	check "config.json is 0600" test "$(stat -c %a "$(state_dir cid-one wg0)/config.json")" = 600
	check "config.json has no CNI keys" bash -c "! grep -qE '\"(cniVersion|type)\"' '$(state_dir cid-one wg0)/config.json'"
	n=$(state_pid cid-one wg0)
	check "agent pid $n runs altuntun-cli" test "$(cat "/proc/$n/comm")" = altuntun-cli
	if out=$(ping_stats "$c" "$IN_P" 5); then
		pass "ping container -> peer: $out"
	else
		soft_fail "ping container -> peer: $out"
	fi

	cni CHECK "$c" wg0 cid-one
	check "CHECK: ok ($CNI_RC $(head -c 300 "$AT_TMP/out.json"))" test "$CNI_RC" = 0

	cni ADD "$c" wg0 cid-two
	check "ADD of an existing ifname: refused ($CNI_RC)" test "$CNI_RC" != 0
	check "... code 103" json_is "r['code']" 103
	log "message: $(json_get "r['details']")"
	check "... no state left" test ! -e "$(state_dir cid-two wg0)"
	check "... only one agent" test "$(pgrep -fc -- "--uapi-name ac.* wg0$")" -ge 1

	cni DEL "$c" wg0 cid-one
	check "DEL: status 0 ($CNI_RC)" test "$CNI_RC" = 0
	check "DEL: agent gone" wait_for 5 bash -c "! kill -0 $n 2>/dev/null || grep -q '^State:.*Z' /proc/$n/status"
	check "DEL: wg0 gone from the container" wait_for 5 bash -c "! ip -n '$c' link show wg0 2>/dev/null"
	check "DEL: state removed" test ! -e "$(state_dir cid-one wg0)"
	cni DEL "$c" wg0 cid-one
	check "DEL again: status 0" test "$CNI_RC" = 0
	cni DEL "" wg0 cid-one
	check "DEL with empty CNI_NETNS: status 0" test "$CNI_RC" = 0

	# 0.4.0 format, then DEL after the namespace is gone
	c2=$(ns_name c2)
	ns_new "$c2"
	make_conf "$AT_TMP/conf04.json" 0.4.0 10.211.0.1/32
	cni ADD "$c2" eth1 cid-old "$AT_TMP/conf04.json"
	record_socks
	check "ADD 0.4.0: ok ($CNI_RC)" test "$CNI_RC" = 0
	check "0.4.0 ips carry version 4" json_is "r['ips'][0]['version']" 4
	check "0.4.0 interfaces have no mtu" json_is "'mtu' in r['interfaces'][0]" False
	n=$(state_pid cid-old eth1)
	ns_del "$c2"
	cni DEL "$c2" eth1 cid-old "$AT_TMP/conf04.json"
	check "DEL after the namespace is gone: status 0 ($CNI_RC)" test "$CNI_RC" = 0
	check "... agent gone" wait_for 5 bash -c "! kill -0 $n 2>/dev/null || grep -q '^State:.*Z' /proc/$n/status"
}

sc_errors() {
	local c
	topo
	c=$(ns_name c)
	ns_new "$c"
	make_conf "$AT_TMP/conf.json" 1.0.0 10.211.0.1/33
	cni ADD "$c" wg0 cid-bad
	check "bad address: exit != 0 ($CNI_RC)" test "$CNI_RC" != 0
	check "... code 7" json_is "r['code']" 7
	check "... message names the place" bash -c "grep -q 'addresses\\[0\\]' '$AT_TMP/out.json'"
	log "message: $(json_get "r['details']")"
	echo '{"cniVersion": "1.0.0", "name": ' >"$AT_TMP/broken.json"
	cni ADD "$c" wg0 cid-bad "$AT_TMP/broken.json"
	check "undecodable: code 6, exit != 0 ($CNI_RC)" json_is "r['code']" 6
	make_conf "$AT_TMP/conf.json" 1.0.0 10.211.0.1/32
	cni ADD "$(ns_name nope)" wg0 cid-bad
	check "missing namespace: exit != 0 ($CNI_RC)" test "$CNI_RC" != 0
	log "missing namespace: $(json_get "r")"
	check "... code 4" json_is "r['code']" 4
	if ip netns exec "$H" env CNI_COMMAND=ADD CNI_IFNAME=wg0 CNI_NETNS="/var/run/netns/$c" "$CNI" \
		<"$AT_TMP/conf.json" >"$AT_TMP/out.json"; then
		soft_fail "no CNI_CONTAINERID accepted"
	fi
	check "missing CNI_CONTAINERID: code 4" json_is "r['code']" 4
	sed 's/"cniVersion": "1.0.0"/"cniVersion": "9.9.9"/' "$AT_TMP/conf.json" >"$AT_TMP/v9.json"
	cni ADD "$c" wg0 cid-bad "$AT_TMP/v9.json"
	check "cniVersion 9.9.9: code 1, exit != 0 ($CNI_RC)" bash -c "test $CNI_RC != 0 && python3 -c 'import json; assert json.load(open(\"$AT_TMP/out.json\"))[\"code\"] == 1'"
	if ip netns exec "$H" env CNI_COMMAND=STATUS ALTUNTUN_CLI=/nonexistent CNI_PATH=/nonexistent \
		"$CNI" <"$AT_TMP/conf.json" >"$AT_TMP/out.json"; then
		soft_fail "STATUS without altuntun-cli: status 0"
	fi
	check "STATUS without altuntun-cli: code 50" json_is "r['code']" 50
	check "nothing left in the state dir" bash -c "! ls '$STATE/$NET' 2>/dev/null | grep -q ."
	check "nothing in the container" test "$(ip -n "$c" -o link show | wc -l)" = 1
}

sc_gc() {
	local c1 c2 p1 p2
	topo
	c1=$(ns_name g1)
	c2=$(ns_name g2)
	ns_new "$c1"
	ns_new "$c2"
	make_conf "$AT_TMP/conf.json" 1.1.0 10.211.0.21/32
	cni ADD "$c1" wg0 cid-keep
	check "ADD keep ($CNI_RC)" test "$CNI_RC" = 0
	make_conf "$AT_TMP/conf.json" 1.1.0 10.211.0.22/32
	cni ADD "$c2" wg0 cid-drop
	check "ADD drop ($CNI_RC)" test "$CNI_RC" = 0
	record_socks
	p1=$(state_pid cid-keep wg0)
	p2=$(state_pid cid-drop wg0)
	cat >"$AT_TMP/gc.json" <<EOF
{"cniVersion": "1.1.0", "name": "$NET", "type": "altuntun-cni",
 "cni.dev/valid-attachments": [{"containerID": "$AT_PREFIX-cid-keep", "ifname": "wg0"}]}
EOF
	cni GC "" "" "" "$AT_TMP/gc.json"
	check "GC: status 0 ($CNI_RC)" test "$CNI_RC" = 0
	check "GC: the listed agent still runs" bash -c "kill -0 $p1 && test -e '$(state_dir cid-keep wg0)'"
	check "GC: the other is stopped" wait_for 5 bash -c "! kill -0 $p2 2>/dev/null || grep -q '^State:.*Z' /proc/$p2/status"
	check "GC: its state removed" test ! -e "$(state_dir cid-drop wg0)"
	check "GC: its interface gone" wait_for 5 bash -c "! ip -n '$c2' link show wg0 2>/dev/null"
	cni GC "" "" "" "$AT_TMP/gc.json"
	check "GC again: status 0, the listed agent still runs" bash -c "test $CNI_RC = 0 && kill -0 $p1"
	cni DEL "$c1" wg0 cid-keep
	check "DEL of the kept one: status 0 ($CNI_RC)" test "$CNI_RC" = 0
	check "the network's state directory is gone" test ! -e "$STATE/$NET"
}

# Chained: prevResult's interfaces and ips come first, ours is appended.
sc_chained() {
	local c p
	topo
	c=$(ns_name ch)
	ns_new "$c"
	make_conf "$AT_TMP/base.json" 0.3.1 10.211.0.31/32
	python3 - "$AT_TMP/base.json" "/var/run/netns/$c" >"$AT_TMP/chained.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["prevResult"] = {"cniVersion": "0.3.1",
                   "interfaces": [{"name": "eth0", "mac": "02:00:00:00:00:01", "sandbox": sys.argv[2]}],
                   "ips": [{"address": "172.16.0.5/24", "gateway": "172.16.0.1", "interface": 0}],
                   "routes": [{"dst": "0.0.0.0/0", "gw": "172.16.0.1"}],
                   "dns": {"nameservers": ["172.16.0.1"]}}
print(json.dumps(c))
PY
	cni ADD "$c" wg1 cid-ch "$AT_TMP/chained.json"
	record_socks
	((CNI_RC == 0)) || log "ADD output: $(cat "$AT_TMP/out.json" "$AT_TMP/err.txt")"
	check "chained ADD: ok ($CNI_RC)" test "$CNI_RC" = 0
	check "chained: cniVersion 0.3.1" json_is "r['cniVersion']" 0.3.1
	check "chained: interfaces eth0 then wg1" json_is "[i['name'] for i in r['interfaces']]" "['eth0', 'wg1']"
	check "chained: prevResult's mac kept" json_is "r['interfaces'][0]['mac']" 02:00:00:00:00:01
	check "chained: prevResult's ip first, version added" json_is "(r['ips'][0]['address'], r['ips'][0]['version'], r['ips'][0]['interface'])" "('172.16.0.5/24', '4', 0)"
	check "chained: our ip points at interface 1" json_is "(r['ips'][1]['address'], r['ips'][1]['interface'])" "('10.211.0.31/32', 1)"
	check "chained: routes prev then ours" json_is "[x['dst'] for x in r['routes']]" "['0.0.0.0/0', '10.211.0.0/24']"
	check "chained: dns from prevResult" json_is "r['dns']['nameservers']" "['172.16.0.1']"
	cni CHECK "$c" wg1 cid-ch "$AT_TMP/chained.json"
	check "chained CHECK: ok ($CNI_RC)" test "$CNI_RC" = 0
	ip -n "$c" addr del 10.211.0.31/32 dev wg1
	cni CHECK "$c" wg1 cid-ch "$AT_TMP/chained.json"
	check "CHECK after the address was removed: code 102 ($CNI_RC)" json_is "r['code']" 102
	p=$(state_pid cid-ch wg1)
	UAPI_CH=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["uapiName"])' "$(state_dir cid-ch wg1)/state.json")
	check "wg show $UAPI_CH from the runtime's namespace" bash -c "ip netns exec '$H' wg show '$UAPI_CH' | grep -q 'listening port'"
	kill -KILL "$p"
	wait_for 5 bash -c "! kill -0 $p 2>/dev/null || grep -q '^State:.*Z' /proc/$p/status" || true
	cni CHECK "$c" wg1 cid-ch "$AT_TMP/chained.json"
	check "CHECK once the agent is killed: code 101 ($CNI_RC)" json_is "r['code']" 101
	cni DEL "$c" wg1 cid-ch "$AT_TMP/chained.json"
	check "chained DEL of the dead agent: ok ($CNI_RC)" test "$CNI_RC" = 0
	check "... state removed" test ! -e "$(state_dir cid-ch wg1)"
	check "... and the dead agent's UAPI socket" bash -c "! ls $WG_RUN_DIR/$UAPI_CH.sock 2>/dev/null"
}

sc_ten() {
	local i pids=() jobs_=() rss=0 kb p q ok=0 t t0 left k out
	topo
	for i in $(seq 1 10); do
		ns_new "$(ns_name "t$i")"
		k=$(genkey)
		# the peer knows container 5
		((i == 5)) && peer_on_p "$(pubkey "$k")" 10.211.0.105
		make_conf "$AT_TMP/conf$i.json" 1.0.0 "10.211.0.$((100 + i))/32" "$k"
	done
	# ten ADDs at once, as a runtime starting ten pods would
	t0=$(date +%s%N)
	for i in $(seq 1 10); do
		(
			rc=0
			ip netns exec "$H" env CNI_COMMAND=ADD CNI_CONTAINERID="$AT_PREFIX-cid-ten-$i" \
				CNI_NETNS="/var/run/netns/$(ns_name "t$i")" CNI_IFNAME=eth0 "$CNI" \
				<"$AT_TMP/conf$i.json" >"$AT_TMP/out$i.json" 2>&1 || rc=$?
			echo "$rc" >"$AT_TMP/rc$i"
		) &
		jobs_+=($!)
	done
	wait "${jobs_[@]}"
	t=$((($(date +%s%N) - t0) / 1000000))
	for i in $(seq 1 10); do
		if [[ $(cat "$AT_TMP/rc$i") == 0 ]] &&
			python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); assert r["ips"][0]["address"]==sys.argv[2]' \
				"$AT_TMP/out$i.json" "10.211.0.$((100 + i))/32"; then
			ok=$((ok + 1))
			pids+=("$(state_pid "cid-ten-$i" eth0)")
		else
			log "ADD $i: $(cat "$AT_TMP/out$i.json")"
		fi
	done
	record_socks
	check "ten concurrent ADDs succeeded ($ok/10, ${t} ms in all)" test "$ok" = 10
	for p in "${pids[@]}"; do
		for q in "$p" $(pgrep -P "$p"); do
			kb=$(awk '/^VmRSS:/ { print $2 }' "/proc/$q/status" 2>/dev/null || echo 0)
			rss=$((rss + ${kb:-0}))
			((p == pids[0])) && log "agent 1: pid $q ($(cat "/proc/$q/comm")) VmRSS ${kb:-0} kB"
		done
	done
	log "sum of VmRSS of the ten agents (all processes): $rss kB"
	pass "ten agents, VmRSS total $rss kB"
	check "ten distinct agents" test "$(printf '%s\n' "${pids[@]}" | sort -u | wc -l)" = 10
	# one of them talks to the peer (the peer knows only .105)
	if out=$(ping_stats "$(ns_name t5)" "$IN_P" 3); then
		pass "ping from container 5: $out"
	else
		soft_fail "ping from container 5: $out"
	fi
	ok=0
	for i in $(seq 1 10); do
		cni DEL "$(ns_name "t$i")" eth0 "cid-ten-$i" "$AT_TMP/conf$i.json"
		((CNI_RC == 0)) && ok=$((ok + 1))
	done
	check "ten DELs succeeded ($ok/10)" test "$ok" = 10
	left=$(ls -A "$STATE/$NET" 2>/dev/null || true)
	check "no state left after ten DELs (${left:-none})" test -z "$left"
	check "... not even the network's directory" test ! -e "$STATE/$NET"
	left=""
	for p in "${pids[@]}"; do
		if at_alive "$p"; then left+=" $p"; fi
	done
	check "no agent left after ten DELs (${left:-none})" test -z "$left"
}

scenario "VERSION, STATUS, ADD (result, ping), CHECK, DEL x3, existing ifname" sc_lifecycle
scenario "bad config, undecodable input, missing namespace, missing env" sc_errors
scenario "GC with cni.dev/valid-attachments" sc_gc
scenario "chained after another plugin (prevResult), 0.3.1" sc_chained
scenario "ten containers on one network" sc_ten
finish
