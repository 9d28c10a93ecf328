#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# shellcheck disable=SC2317  # cleanup and predicates are called through traps and wait_for
#
# A real engine: Debian's podman 4.3 (CNI backend, runc) runs containers on
# a network whose conflist uses altuntun-cni; the container pings a
# wireguard-go peer through the tunnel; `podman rm` (and `run --rm`) leave
# nothing: no agent, no state directory, no UAPI socket, no namespace.
#
#   host (podman's namespace)  podman, the plugin, the agent and its UDP
#                              socket; veth VH (test-only 10.217.N.1/30)
#   P (peer)                   veth VP 10.217.N.2/30, wireguard-go 10.211.0.2
#   container                  eth0 = our WireGuard interface, 10.211.0.1/32
#
# Everything podman keeps is under $AT_TMP (CONTAINERS_CONF,
# CONTAINERS_STORAGE_CONF: vfs storage, plugin and config directories); the
# image is `podman import`ed from busybox-static. The plugin keeps its state
# in its default /var/run/altuntun-cni/NETWORK (podman's cleanup process
# does not carry our environment), NETWORK unique per run.
#
# Sidecar (docs/containers.md, "podman, from the host"): a container with
# --network none gets a tunnel from `altuntun-cli --netns /proc/PID/ns/net`
# run on the host.

# shellcheck source=tests/netns/lib.sh
. "$(dirname "$0")/lib.sh"
require_root
require_cmd podman runc wg ip python3 tar

CNI=${ALTUNTUN_CNI:-$AT_REPO_ROOT/build/altuntun-cni}
BUSYBOX=${BUSYBOX:-/bin/busybox}
[[ -x $CNI ]] || fail "$CNI not built (make all)"
[[ -x $ALTUNTUN_CLI ]] || fail "$ALTUNTUN_CLI not built (make all)"
if [[ ! -x $BUSYBOX ]] || ldd "$BUSYBOX" >/dev/null 2>&1; then
	fail "$BUSYBOX is not a static busybox (Debian's busybox-static)"
fi
[[ -x /usr/lib/cni/loopback ]] || fail "/usr/lib/cni/loopback missing (containernetworking-plugins)"

NET=$AT_PREFIX-wg
PSTATE=/var/run/altuntun-cni/$NET
IMAGE=localhost/$AT_PREFIX-busybox
# a /30 of 10.217.0.0/16 from the prefix: parallel runs do not share one
N=$(($(cksum <<<"$AT_PREFIX" | cut -d' ' -f1) % 250 + 1))
VH_IP=10.217.$N.1 VP_IP=10.217.$N.2
IN_A=10.211.0.1 IN_P=10.211.0.2 IN_S=10.211.0.3
PORT_P=51824
LIMITS=(--ulimit nofile=1024:1024 --ulimit nproc=4096:4096)
VH=$(if_name vh)
VB=$(if_name vb)
BR=$(if_name br)
BRNET=$AT_PREFIX-br
IN_S2=10.211.0.4
T=$AT_TMP/podman
SIDECAR_PID=""

pm() { podman "$@"; }
# No agent of our network runs, no state of it is left.
net_agents() { pgrep -fc -- "--config $PSTATE/" || true; }
net_clean() { [[ ! -e $PSTATE && $(net_agents) == 0 ]]; }

podman_cleanup() {
	local p
	set +e
	if [[ -f $T/containers.conf ]]; then
		pm rm -af -t 0 >/dev/null 2>&1
		pm image rm -af >/dev/null 2>&1
	fi
	[[ -n $SIDECAR_PID ]] && at_kill_pids "$SIDECAR_PID"
	# agents of our network only (their command line names our state dir)
	for p in $(pgrep -f -- "--config $PSTATE/"); do at_kill_pids "$p"; done
	rm -rf "$PSTATE"
	rm -f /var/lib/cni/results/"$NET"-* /var/lib/cni/results/"$BRNET"-*
	ip link del "$VH" 2>/dev/null
	ip link del "$VB" 2>/dev/null
	ip link del "$BR" 2>/dev/null
	set -e
}
trap 'podman_cleanup; cleanup' EXIT

# ---- podman pointed at $T ---------------------------------------------------

mkdir -p "$T/bin" "$T/net.d" "$T/tmp" "$T/rootfs/bin"
ln -s "$CNI" "$T/bin/altuntun-cni"
ln -s /usr/lib/cni/loopback "$T/bin/loopback"
cat >"$T/containers.conf" <<EOF
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
tmp_dir = "$T/tmp"
[network]
network_backend = "cni"
cni_plugin_dirs = ["$T/bin"]
network_config_dir = "$T/net.d"
EOF
cat >"$T/storage.conf" <<EOF
[storage]
driver = "vfs"
graphroot = "$T/root"
runroot = "$T/run"
EOF
export CONTAINERS_CONF=$T/containers.conf CONTAINERS_STORAGE_CONF=$T/storage.conf
unset ALTUNTUN_CNI_STATE_DIR

out=$(pm info --format '{{.Host.NetworkBackend}} {{.Host.OCIRuntime.Name}}' 2>&1) || true
check "podman info: network backend cni, OCI runtime runc ($out)" test "$out" = "cni runc"
cp "$BUSYBOX" "$T/rootfs/bin/busybox"
for c in sh ping ip sleep cat; do ln -s busybox "$T/rootfs/bin/$c"; done
tar -C "$T/rootfs" -c . | pm import - "$IMAGE" >"$AT_TMP/import.log" 2>&1 ||
	fail "podman import failed: $(cat "$AT_TMP/import.log")"
pass "image $IMAGE imported from busybox-static"

# ---- the peer, reachable from the host ---------------------------------------

P=$(ns_name p)
IFP=$(if_name p)
ns_new "$P"
ip link add "$VH" type veth peer name "$(if_name vp)" netns "$P" || fail "veth to $P"
ip addr add "$VH_IP/30" dev "$VH"
ip link set "$VH" up
addr "$P" "$(if_name vp)" "$VP_IP/30"
start_wggo "$P" "$IFP" debian
KEY_A=$(genkey)
KEY_S=$(genkey)
KEY_S2=$(genkey)
KEY_P=$(genkey)
PUB_P=$(pubkey "$KEY_P")
wg_in "$P" set "$IFP" private-key "$(keyfile "$KEY_P")" listen-port "$PORT_P" \
	peer "$(pubkey "$KEY_A")" allowed-ips "$IN_A/32" \
	peer "$(pubkey "$KEY_S")" allowed-ips "$IN_S/32" \
	peer "$(pubkey "$KEY_S2")" allowed-ips "$IN_S2/32" || fail "wg set $IFP"
addr "$P" "$IFP" "$IN_P/24"

cat >"$T/net.d/50-$NET.conflist" <<EOF
{
  "cniVersion": "1.0.0",
  "name": "$NET",
  "plugins": [
    {
      "type": "altuntun-cni",
      "privateKey": "$KEY_A",
      "mtu": 1400,
      "addresses": ["$IN_A/32"],
      "routes": ["10.211.0.0/24"],
      "peers": [{"publicKey": "$PUB_P", "endpoint": "$VP_IP:$PORT_P",
                 "allowedIPs": ["10.211.0.0/24"], "persistentKeepalive": 5}]
    }
  ]
}
EOF
check "podman network ls: $NET, driver altuntun-cni" bash -c \
	"podman network ls --format '{{.Name}} {{.Driver}}' | grep -qx '$NET altuntun-cni'"

# ---- a container on the network ------------------------------------------------

C1=$AT_PREFIX-c1
pm run -d --name "$C1" --network "$NET" --cap-add NET_RAW "${LIMITS[@]}" "$IMAGE" \
	/bin/sleep 600 >"$AT_TMP/run.log" 2>&1 || fail "podman run failed: $(cat "$AT_TMP/run.log")"
read -r CID IP_SEEN < <(pm inspect --format \
	"{{.Id}} {{(index .NetworkSettings.Networks \"$NET\").IPAddress}}" "$C1")
SJ=$PSTATE/$CID-eth0/state.json
[[ -f $SJ ]] || fail "no state $SJ after podman run"
read -r AGENT UAPI NETNS < <(jq -r '"\(.pid) \(.uapiName) \(.netns)"' "$SJ")
AT_SOCKS+=("$UAPI")
log "container $CID: agent $AGENT ($UAPI), netns $NETNS"
check "the agent $AGENT runs in podman's (the host's) namespace" \
	test "$(readlink "/proc/$AGENT/ns/net")" = "$(readlink /proc/self/ns/net)"
check "podman inspect: IP address $IN_A (podman read our result)" test "$IP_SEEN" = "$IN_A"
# one exec for the container's view: addresses, links, routes
pm exec "$C1" sh -c 'ip -o addr show eth0; echo --; ip -o link; echo --; ip route' \
	>"$AT_TMP/view.txt" 2>&1 || true
log "container's view: $(tr '\n' '|' <"$AT_TMP/view.txt")"
check "in the container: eth0 is the tunnel, $IN_A/32, MTU 1400" bash -c \
	"grep -q 'eth0 *inet $IN_A/32' '$AT_TMP/view.txt' && grep -q 'eth0: .* mtu 1400' '$AT_TMP/view.txt'"
check "in the container: only lo and eth0, one route (10.211.0.0/24 dev eth0)" bash -c \
	"test \"\$(awk '/^--/{n++; next} n==1' '$AT_TMP/view.txt' | wc -l)\" = 2 &&
	 test \"\$(awk '/^--/{n++; next} n==2' '$AT_TMP/view.txt' | grep -c .)\" = 1 &&
	 awk '/^--/{n++; next} n==2' '$AT_TMP/view.txt' | grep -q '^10.211.0.0/24 dev eth0'"
out=$(pm exec "$C1" ping -c 4 -i 0.2 -W 2 "$IN_P" 2>&1 | tail -2 | tr '\n' ' ') || true
check "container pings the wireguard-go peer: $out" grep -q '4 packets received' <<<"$out"
check "the peer sees the agent's UDP socket at the host's $VH_IP" bash -c \
	"wg show '$IFP' endpoints | grep -q '$VH_IP:'"

pm rm -f -t 0 "$C1" >/dev/null
check "podman rm: the agent $AGENT is gone" wait_for 10 bash -c "! kill -0 $AGENT 2>/dev/null || grep -q '^State:.*Z' /proc/$AGENT/status"
check "podman rm: no process of the network left" test "$(net_agents)" = 0
check "podman rm: no state directory ($PSTATE)" test ! -e "$PSTATE"
check "podman rm: no UAPI socket" test ! -e "$WG_RUN_DIR/$UAPI.sock"
check "podman rm: no namespace ($NETNS)" test ! -e "$NETNS"
check "podman rm: no libcni cache entry" bash -c "! ls /var/lib/cni/results/ | grep -q -- '^$NET-'"

# ---- run --rm: the container's own exit tears it down ------------------------

out=$(pm run --rm --network "$NET" --cap-add NET_RAW "${LIMITS[@]}" "$IMAGE" \
	ping -c 3 -i 0.2 -W 2 "$IN_P" 2>&1 | tail -2 | tr '\n' ' ') || true
check "podman run --rm: pings the peer: $out" grep -q '3 packets received' <<<"$out"
check "podman run --rm: afterwards no state, no agent" wait_for 15 net_clean

# ---- sidecar from the host: altuntun-cli --netns /proc/PID/ns/net ------------

C2=$AT_PREFIX-app
pm run -d --name "$C2" --network none --cap-add NET_RAW "${LIMITS[@]}" "$IMAGE" \
	/bin/sleep 600 >"$AT_TMP/run2.log" 2>&1 || fail "podman run (app) failed: $(cat "$AT_TMP/run2.log")"
APP_PID=$(pm inspect --format '{{.State.Pid}}' "$C2")
cat >"$AT_TMP/sidecar.json" <<EOF
{
  "privateKey": "$KEY_S",
  "addresses": ["$IN_S/32"],
  "routes": ["10.211.0.0/24"],
  "peers": [{"publicKey": "$PUB_P", "endpoint": "$VP_IP:$PORT_P",
             "allowedIPs": ["10.211.0.0/24"]}]
}
EOF
chmod 600 "$AT_TMP/sidecar.json"
SIDE=$(if_name s)
AT_SOCKS+=("$SIDE")
"$ALTUNTUN_CLI" -f --config "$AT_TMP/sidecar.json" --netns "/proc/$APP_PID/ns/net" "$SIDE" \
	>"$AT_TMP/sidecar.log" 2>&1 &
SIDECAR_PID=$!
AT_LOGS+=("$AT_TMP/sidecar.log")
wait_for 10 test -S "$WG_RUN_DIR/$SIDE.sock" || fail "sidecar agent: no socket: $(cat "$AT_TMP/sidecar.log")"
out=$(pm exec "$C2" sh -c "ip -o link | wc -l; ping -c 3 -i 0.2 -W 2 $IN_P" 2>&1 |
	awk '{ l[NR] = $0 } END { print l[1], l[NR - 1] }') || true
check "sidecar (host, --netns /proc/$APP_PID/ns/net): the app pings the peer: $out" grep -q '3 packets received' <<<"$out"
check "sidecar: the app sees lo and $SIDE only" test "${out%% *}" = 2
pm rm -f -t 0 "$C2" >/dev/null
check "sidecar: the agent exits when the app's namespace goes" wait_for 10 bash -c \
	"! kill -0 $SIDECAR_PID 2>/dev/null || grep -q '^State:.*Z' /proc/$SIDECAR_PID/status"
wait "$SIDECAR_PID" 2>/dev/null || true
SIDECAR_PID=""
check "sidecar: its UAPI socket is gone" test ! -e "$WG_RUN_DIR/$SIDE.sock"

# ---- sidecar container sharing the app's namespace ------------------------------
# The app is on an ordinary bridge network (Debian's bridge plugin); the peer
# is on that bridge too. The sidecar runs altuntun-cli -f in the app's
# namespace: the tunnel and its UDP socket are both there.

ln -s /usr/lib/cni/bridge "$T/bin/bridge"
ln -s /usr/lib/cni/host-local "$T/bin/host-local"
ip link add "$BR" type bridge || fail "bridge $BR"
ip link set "$BR" up
ip link add "$VB" type veth peer name "$(if_name vq)" netns "$P" || fail "veth $VB"
ip link set "$VB" master "$BR" up
addr "$P" "$(if_name vq)" "10.218.$N.250/24"
cat >"$T/net.d/40-$BRNET.conflist" <<EOF
{"cniVersion": "1.0.0", "name": "$BRNET",
 "plugins": [{"type": "bridge", "bridge": "$BR", "ipMasq": false,
              "ipam": {"type": "host-local", "dataDir": "$T/ipam",
                       "ranges": [[{"subnet": "10.218.$N.0/24"}]]}}]}
EOF
# the agent's image: busybox, altuntun-cli and the libraries it links
R=$T/rootfs-agent
mkdir -p "$R/bin" "$R/etc/altuntun" "$R/var/run/wireguard"
cp "$BUSYBOX" "$R/bin/busybox"
for c in sh ping ip sleep cat; do ln -s busybox "$R/bin/$c"; done
cp "$ALTUNTUN_CLI" "$R/bin/altuntun-cli"
for l in $(ldd "$ALTUNTUN_CLI" | grep -o '/[^ ]*'); do
	mkdir -p "$R$(dirname "$l")"
	cp -L "$l" "$R$l"
done
echo 'nobody:x:65534:65534:nobody:/nonexistent:/bin/false' >"$R/etc/passwd"
echo 'nogroup:x:65534:' >"$R/etc/group"
tar -C "$R" -c . | pm import - "$IMAGE-agent" >"$AT_TMP/import2.log" 2>&1 ||
	fail "podman import (agent image) failed: $(cat "$AT_TMP/import2.log")"
cat >"$AT_TMP/sidecar2.json" <<EOF
{
  "privateKey": "$KEY_S2",
  "addresses": ["$IN_S2/32"],
  "routes": ["10.211.0.0/24"],
  "peers": [{"publicKey": "$PUB_P", "endpoint": "10.218.$N.250:$PORT_P",
             "allowedIPs": ["10.211.0.0/24"]}]
}
EOF
chmod 600 "$AT_TMP/sidecar2.json"
C3=$AT_PREFIX-app2
C4=$AT_PREFIX-side
pm run -d --name "$C3" --network "$BRNET" --cap-add NET_RAW "${LIMITS[@]}" "$IMAGE" \
	/bin/sleep 600 >"$AT_TMP/run3.log" 2>&1 || fail "podman run (app2) failed: $(cat "$AT_TMP/run3.log")"
pm run -d --name "$C4" --network "container:$C3" --cap-add NET_ADMIN --device /dev/net/tun \
	-v "$AT_TMP/sidecar2.json:/etc/altuntun/wg.json:ro" "${LIMITS[@]}" "$IMAGE-agent" \
	altuntun-cli -f --config /etc/altuntun/wg.json wg0 >"$AT_TMP/run4.log" 2>&1 ||
	fail "podman run (sidecar) failed: $(cat "$AT_TMP/run4.log")"
wait_for 15 podman exec "$C3" ip link show wg0 ||
	fail "sidecar container: no wg0 in the app: $(pm logs "$C4" 2>&1 | tail -5)"
out=$(pm exec "$C3" ping -c 3 -i 0.2 -W 2 "$IN_P" 2>&1 | tail -2 | tr '\n' ' ') || true
check "sidecar container (--network container:app): the app pings the peer: $out" grep -q '3 packets received' <<<"$out"
check "sidecar container: the agent dropped to nobody" bash -c \
	"podman logs '$C4' 2>&1 | grep -q 'privileges dropped: uid 65534'"
pm rm -f -t 0 "$C4" >/dev/null
check "sidecar container removed: wg0 leaves the app" wait_for 10 bash -c "! podman exec '$C3' ip link show wg0"
pm rm -f -t 0 "$C3" >/dev/null
check "bridge network: host-local released the app's lease" bash -c "! ls '$T/ipam/$BRNET' 2>/dev/null | grep -q '^10\\.218\\.'"

finish
