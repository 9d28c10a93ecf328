#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# shellcheck disable=SC2317  # functions are called through scenario()
#
# altuntun-cni driven by libcni itself (Debian's golang-github-appc-cni-dev
# 1.1.2) through tests/netns/cni-driver, a small Go program calling
# LoadConfList, AddNetworkList, CheckNetworkList, DelNetworkList and the
# result cache the way containerd and CRI-O do. Built offline in GOPATH
# mode from /usr/share/gocode, cached as build/cni-driver.
#
#   C (container)  the conflist's interfaces
#   H (runtime)    the driver, the plugins, the agent and its UDP socket
#   P (peer)       veth from H, wireguard-go 10.211.0.2/24
#
# Two conflists: altuntun-cni alone (CNI_IFNAME wg0), and chained after
# Debian's reference ptp plugin (CNI_IFNAME eth0 for both; ours has
# "ifname": "wg1"). Traffic through the tunnel to wireguard-go for each.

# shellcheck source=tests/netns/lib.sh
. "$(dirname "$0")/lib.sh"
require_root
require_cmd wg ip ping python3 jq go
# shellcheck source=tests/netns/cni-helpers.bash
. "$AT_LIB_DIR/cni-helpers.bash"

CNI=${ALTUNTUN_CNI:-$AT_REPO_ROOT/build/altuntun-cni}
CNI_BIN=${CNI_BIN:-/usr/lib/cni}
GOPATH_DEB=/usr/share/gocode
[[ -x $CNI ]] || fail "$CNI not built (make all)"
[[ -x $ALTUNTUN_CLI ]] || fail "$ALTUNTUN_CLI not built (make all)"
[[ -x $CNI_BIN/ptp && -x $CNI_BIN/host-local ]] ||
	fail "$CNI_BIN/ptp, host-local missing (Debian's containernetworking-plugins)"
[[ -d $GOPATH_DEB/src/github.com/containernetworking/cni/libcni ]] ||
	fail "libcni missing in $GOPATH_DEB (Debian's golang-github-appc-cni-dev)"

# The driver: rebuilt when its source is newer; never downloads anything.
DRIVER=$AT_REPO_ROOT/build/cni-driver
DRIVER_SRC=$AT_LIB_DIR/cni-driver/main.go
if [[ ! -x $DRIVER || $DRIVER_SRC -nt $DRIVER ]]; then
	log "building $DRIVER (GOPATH mode, offline)"
	mkdir -p "$AT_REPO_ROOT/build"
	(cd "$AT_LIB_DIR/cni-driver" &&
		env GO111MODULE=off GOPATH=$GOPATH_DEB GOFLAGS= GOPROXY=off GOTOOLCHAIN=local \
			GOCACHE="$AT_REPO_ROOT/build/go-cache" go build -o "$DRIVER.tmp" .) \
		>"$AT_TMP/go-build.log" 2>&1 ||
		fail "go build of the driver failed: $(cat "$AT_TMP/go-build.log")"
	mv "$DRIVER.tmp" "$DRIVER"
fi

STATE=$AT_TMP/cni-state
export ALTUNTUN_CNI_STATE_DIR=$STATE
unset ALTUNTUN_CLI # the plugin finds altuntun-cli next to itself, as installed
OUT_H=10.210.0.1 OUT_P=10.210.0.2
IN_P=10.211.0.2
PORT_P=51823

# The plugin directory a runtime would have: Debian's plugins and ours
# (symlinks: /proc/self/exe leads the plugin to build/altuntun-cli).
plugin_dir() {
	BIN=$AT_TMP/bin
	mkdir -p "$BIN"
	ln -sfn "$CNI_BIN/ptp" "$CNI_BIN/host-local" "$CNI_BIN/loopback" "$BIN/"
	ln -sfn "$CNI" "$BIN/altuntun-cni"
}

# drv OP NET ID IFNAME: the driver in H; stdout to $AT_TMP/drv.json, status DRV_RC.
drv() {
	DRV_RC=0
	ip netns exec "$H" "$DRIVER" -confdir "$AT_TMP/net.d" -name "$2" -path "$BIN" \
		-cache "$AT_TMP/cache" -id "$AT_PREFIX-$3" -netns "/var/run/netns/$C" -ifname "$4" "$1" \
		>"$AT_TMP/drv.json" 2>"$AT_TMP/drv.err" || DRV_RC=$?
}

# d_is FILTER WANT: on the driver's last output.
d_is() { jq_is "$AT_TMP/drv.json" "$1" "$2"; }

topo() {
	H=$(ns_name h)
	P=$(ns_name p)
	C=$(ns_name c)
	IFP=$(if_name p)
	ns_new "$H"
	ns_new "$P"
	ns_new "$C"
	veth_pair "$H" "$(if_name vh)" "$P" "$(if_name vp)"
	addr "$H" "$(if_name vh)" "$OUT_H/24"
	addr "$P" "$(if_name vp)" "$OUT_P/24"
	start_wggo "$P" "$IFP" debian
	KEY_P=$(genkey)
	PUB_P=$(pubkey "$KEY_P")
	wg_in "$P" set "$IFP" private-key "$(keyfile "$KEY_P")" listen-port "$PORT_P" ||
		fail "wg set $IFP failed"
	addr "$P" "$IFP" "$IN_P/24"
	plugin_dir
	mkdir -p "$AT_TMP/net.d"
}

# our_plugin KEY ADDRESS [EXTRA]: the altuntun-cni entry of a plugins list.
our_plugin() {
	cat <<EOF
{"type": "altuntun-cni", "privateKey": "$1", "mtu": 1400,
 "addresses": ["$2"], "routes": ["10.211.0.0/24"]${3:+, $3},
 "peers": [{"publicKey": "$PUB_P", "endpoint": "$OUT_P:$PORT_P",
            "allowedIPs": ["10.211.0.0/24"], "persistentKeepalive": 5}]}
EOF
}

# attach LABEL NET ID IFNAME DEVICE ADDRESS PREV_IFS: ADD, result, traffic,
# CHECK, DEL through libcni; PREV_IFS: interfaces the list's earlier
# plugins report (0 when alone).
attach() {
	local what=$1 net=$2 id=$3 ifn=$4 dev=$5 address=$6 nprev=$7 uapi pid out
	uapi=$(uapi_hash "$id" "$ifn")
	AT_SOCKS+=("$uapi")
	drv validate "$net" "$id" "$ifn"
	check "$what: ValidateNetworkList (every plugin found, supports 1.0.0): ok ($DRV_RC $(head -c 300 "$AT_TMP/drv.json"))" test "$DRV_RC" = 0
	drv add "$net" "$id" "$ifn"
	((DRV_RC == 0)) || fail "$what: AddNetworkList failed: $(cat "$AT_TMP/drv.json" "$AT_TMP/drv.err")"
	log "$what: result: $(tr -d ' \n' <"$AT_TMP/drv.json")"
	cp "$AT_TMP/drv.json" "$AT_TMP/res-$id.json"
	if ((nprev == 0)); then
		judge "$AT_TMP/res-$id.json" - 1.0.0 "$dev" "/var/run/netns/$C" "$address" 10.211.0.0/24
	else
		check "$what: interfaces: the ptp plugin's $nprev, then $dev" d_is \
			"[.interfaces[].name][$nprev:] == [\"$dev\"] and (.interfaces | length) == $((nprev + 1))" true
		check "$what: ips: ptp's (interface -> eth0), ours (interface $nprev)" d_is \
			"[.interfaces[.ips[0].interface].name, .ips[1] == {interface: $nprev, address: \"$address\"}]" \
			'["eth0",true]'
		check "$what: routes end with ours" d_is '.routes[-1]' '{"dst":"10.211.0.0/24"}'
	fi
	drv cached "$net" "$id" "$ifn"
	# shellcheck disable=SC2016  # $a is jq's
	check "$what: libcni cached the same result" jq -e --slurpfile a "$AT_TMP/res-$id.json" \
		'. == $a[0]' "$AT_TMP/drv.json"
	check "$what: $dev in the container, MTU 1400" bash -c "ip -n '$C' link show '$dev' | grep -q 'mtu 1400'"
	pid=$(jq -r .pid "$STATE/$net/$AT_PREFIX-$id-$ifn/state.json")
	check "$what: agent $pid is $uapi, found next to the plugin" bash -c \
		"test \"\$(readlink /proc/$pid/exe)\" = '$ALTUNTUN_CLI_PATH' && tr '\\0' ' ' </proc/$pid/cmdline | grep -q -- '--uapi-name $uapi $dev'"
	if out=$(ping_stats "$C" "$IN_P" 4); then
		pass "$what: ping container -> wireguard-go peer: $out"
	else
		soft_fail "$what: ping container -> wireguard-go peer: $out"
	fi
	drv check "$net" "$id" "$ifn"
	CHECK_RC=$DRV_RC
	cp "$AT_TMP/drv.json" "$AT_TMP/check-$id.json"
	drv del "$net" "$id" "$ifn"
	check "$what: DelNetworkList: ok ($DRV_RC $(head -c 300 "$AT_TMP/drv.json"))" test "$DRV_RC" = 0
	check "$what: after DEL: agent gone" wait_for 5 bash -c "! kill -0 $pid 2>/dev/null || grep -q '^State:.*Z' /proc/$pid/status"
	check "$what: after DEL: no agent, socket, state, cache entry" bash -c \
		"test $(agents_for "$uapi") = 0 && test ! -e '$WG_RUN_DIR/$uapi.sock' &&
		 test ! -e '$STATE/$net/$AT_PREFIX-$id-$ifn' && ! ls '$AT_TMP/cache/results' 2>/dev/null | grep -q -- '$AT_PREFIX-$id'"
	check "$what: after DEL: only lo in the container" test "$(ip -n "$C" -o link show | wc -l)" = 1
	drv del "$net" "$id" "$ifn"
	check "$what: DelNetworkList again: ok ($DRV_RC)" test "$DRV_RC" = 0
}

sc_alone() {
	local k
	topo
	k=$(genkey)
	wg_in "$P" set "$IFP" peer "$(pubkey "$k")" allowed-ips 10.211.0.1/32
	cat >"$AT_TMP/net.d/10-alone.conflist" <<EOF
{"cniVersion": "1.0.0", "name": "$AT_PREFIX-alone",
 "plugins": [$(our_plugin "$k" 10.211.0.1/32)]}
EOF
	attach alone "$AT_PREFIX-alone" one wg0 wg0 10.211.0.1/32 0
	check "alone: CheckNetworkList: ok ($CHECK_RC $(head -c 300 "$AT_TMP/check-one.json"))" test "$CHECK_RC" = 0
}

sc_ptp() {
	local k
	topo
	k=$(genkey)
	wg_in "$P" set "$IFP" peer "$(pubkey "$k")" allowed-ips 10.211.0.5/32
	cat >"$AT_TMP/net.d/20-ptp.conflist" <<EOF
{"cniVersion": "1.0.0", "name": "$AT_PREFIX-ptp",
 "plugins": [
  {"type": "ptp", "ipMasq": false,
   "ipam": {"type": "host-local", "dataDir": "$AT_TMP/ipam",
            "ranges": [[{"subnet": "10.214.0.0/24"}]]}},
  $(our_plugin "$k" 10.211.0.5/32 '"ifname": "wg1"')]}
EOF
	attach "ptp+altuntun" "$AT_PREFIX-ptp" two eth0 wg1 10.211.0.5/32 2
	# ptp, like bridge, CHECKs every ip of the list's result on its own
	# CNI_IFNAME whatever its "interface": our address fails its step
	check "ptp+altuntun: CheckNetworkList stops at ptp ($(jqr "$AT_TMP/check-two.json" .msg))" \
		jq_is "$AT_TMP/check-two.json" .msg "Failed to match addr 10.211.0.5/32 on interface eth0"
	check "ptp+altuntun: host-local released the lease" bash -c "! ls '$AT_TMP/ipam/$AT_PREFIX-ptp' | grep -q '^10\\.214\\.'"
}

ALTUNTUN_CLI_PATH=$(readlink -f "$AT_REPO_ROOT/build/altuntun-cli")
scenario "libcni: conflist of altuntun-cni alone: ADD, traffic, CHECK, DEL" sc_alone
scenario "libcni: ptp + altuntun-cni (ifname wg1): ADD, traffic, CHECK, DEL" sc_ptp
finish
