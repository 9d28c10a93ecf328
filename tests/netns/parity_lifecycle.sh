#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# shellcheck disable=SC2317  # functions are called through scenario()
#
# Roaming, key change and namespace teardown as the Linux driver's selftest
# (netns.sh) checks them, in its topology (parity_common.bash): our agent
# with --netns (UDP on N0's loopback, interface in N1) against wireguard-go
# (modern build; socket in N0, TUN in N2).
#
# 1. Roaming by our own listen port and outer address family: N0's
#    127.0.0.1 replaced by 127.212.121.99, our listen port 9999, one ping
#    (IPv6 inside): wireguard-go's endpoint for us is 127.212.121.99:9999;
#    listen port 9998 and the peer's endpoint [::1]:20000, one ping (IPv4
#    inside): it is [::1]:9998. The endpoint is read right after the one
#    packet's reply.
# 2. A private key change takes effect at once: the peer told our new
#    public key, the next ping is answered and handshakes with the new key
#    within a second.
# 3. Teardown: after traffic, N1, N2 and N0 are deleted (`ip netns del`):
#    our agent (its interface gone) exits within 5 s with its UAPI socket
#    removed, and no process is left in N0 or N1 (their inodes unused);
#    whether wireguard-go (whose TUN went with N2) ends is reported.
#    And the selftest's "circular reference" case: agent A started in N1
#    with its interface in N2, agent B started in N2 with its interface in
#    N1 (each one's socket in the namespace of the other's interface),
#    traffic between them over a veth, then both namespaces deleted. The
#    kernel's sockets do not hold their namespace, so there both go. A
#    process and its UDP socket do; our agent ends when its home namespace
#    has lost its last name and holds no other process (home_watch.h), so
#    here too both agents must end within 5 s, both sockets be removed and
#    both namespaces be destroyed.
# 4. The limits of that rule: A's home loses its name while a sleeper still
#    lives there: A keeps running and the tunnel works; once the sleeper
#    ends, A ends (and B with it, its interface having been in A's home).
#    A's home loses its name but keeps a second one (ip netns attach): A
#    keeps running; deleting the second name ends both.

# shellcheck source=tests/netns/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/netns/parity_common.bash
. "$(dirname "$0")/parity_common.bash"
require_root
require_cmd wg ip ping stat timeout nsenter

ping1() { ip netns exec "$1" ping -n -c 1 -W 1 "$2" >/dev/null 2>&1; }

endpoint_check() { # LABEL IF PEER WANT
	local got
	got=$(peer_endpoint "$2" "$3")
	if [[ $got == "$4" ]]; then pass "$1: $got"; else soft_fail "$1: want $4, wg show says '$got'"; fi
}

sc_roaming() {
	bp_pair modern r
	bp_endpoints 4
	flood_check "before roaming: flood N1 -> N2" "$N1" "$IP2" 10
	ip -n "$N0" -4 addr del 127.0.0.1/8 dev lo || fail "del 127.0.0.1"
	ip -n "$N0" -4 addr add 127.212.121.99/8 dev lo || fail "add 127.212.121.99"
	wg set "$IF1" listen-port 9999 peer "$PUB2" endpoint "127.0.0.1:$PORT2" || fail "listen-port 9999"
	check "IPv4: one ping (IPv6 inside) from the new port" ping1 "$N1" "$IP2_6"
	endpoint_check "IPv4: the peer saw the new endpoint after one packet" "$IF2" "$PUB1" "127.212.121.99:9999"
	wg set "$IF1" listen-port 9998 peer "$PUB2" endpoint "[::1]:$PORT2" || fail "listen-port 9998"
	check "IPv6: one ping (IPv4 inside) from the new port, over IPv6" ping1 "$N1" "$IP2"
	endpoint_check "IPv6: the peer saw the new endpoint after one packet" "$IF2" "$PUB1" "[::1]:9998"
	flood_check "after roaming: flood N2 -> N1" "$N2" "$IP1" 10
}

# Pings once and prints the round trip in ms (fails without a reply).
rtt_once() {
	local out
	out=$(ip netns exec "$1" ping -n -c 1 -W 2 "$2" 2>&1) || return 1
	sed -n 's/.*time=\([0-9.]*\) ms.*/\1/p' <<<"$out"
}

sc_key_change() {
	local newkey newpub t0 rtt hs
	bp_pair modern k
	bp_endpoints 4
	flood_check "before the key change: flood N1 -> N2" "$N1" "$IP2" 10
	sleep 1.1 # so that a new handshake has a new timestamp
	newkey=$(genkey) newpub=$(pubkey "$newkey")
	wg set "$IF1" private-key "$(keyfile "$newkey")" || fail "wg set private-key"
	wg set "$IF2" peer "$PUB1" remove peer "$newpub" preshared-key "$PSK" \
		allowed-ips "$IP1/32,$IP1_6/128" endpoint "127.0.0.1:$PORT1" || fail "telling the peer"
	check "wg show public-key is the new one" test "$(wg show "$IF1" public-key)" = "$newpub"
	t0=$(date +%s)
	if rtt=$(rtt_once "$N1" "$IP2"); then
		hs=$(latest_handshake "$IF1" "$PUB2")
		if ((hs >= t0 && hs - t0 <= 1)) && [[ ${rtt%.*} -lt 1000 ]]; then
			pass "new private key: first ping answered in $rtt ms, new handshake at +$((hs - t0)) s"
		else
			soft_fail "new private key: first ping answered in $rtt ms, latest handshake $hs (sent at $t0)"
		fi
	else
		soft_fail "new private key: no reply to the first ping (latest handshake $(latest_handshake "$IF1" "$PUB2"), sent at $t0)"
	fi
	check "the peer's handshake is with our new key" handshake_done "$IF2" "$newpub"
	flood_check "after the key change: flood N2 -> N1" "$N2" "$IP1" 10
}

ns_ino() { stat -L -c %i "/var/run/netns/$1"; }
# True while some process has network namespace INO (one ls, not a
# readlink per process: this runs in a loop on a busy machine; ls fails
# for processes that end meanwhile, so its status is ignored).
ns_in_use() {
	local out
	# shellcheck disable=SC2012  # ls -l shows the link targets
	out=$(ls -l /proc/[0-9]*/ns/net 2>/dev/null || true)
	grep -qF "net:[$1]" <<<"$out"
}
ns_unused() { ! ns_in_use "$1"; }
gone() { ! at_alive "$1"; }
no_sock() { [[ ! -e $WG_RUN_DIR/$1.sock ]]; }

# Deletes namespace NS as `ip netns del` does, forgetting it for cleanup.
netns_del() {
	local ns=$1 i
	ip netns del "$ns" || fail "ip netns del $ns failed"
	for i in "${!AT_NS[@]}"; do
		[[ ${AT_NS[$i]} == "$ns" ]] && unset 'AT_NS[i]'
	done
	AT_NS=("${AT_NS[@]}")
}

sc_teardown() {
	local i0 i1 t0
	bp_pair modern d
	bp_endpoints 6
	flood_check "before teardown: flood N1 -> N2, IPv6 outer" "$N1" "$IP2_6" 10
	i0=$(ns_ino "$N0") i1=$(ns_ino "$N1")
	t0=$(date +%s%3N)
	netns_del "$N1"
	netns_del "$N2"
	netns_del "$N0"
	if wait_for 5 gone "$PID1"; then
		pass "our agent exited $(($(date +%s%3N) - t0)) ms after the namespaces were deleted"
	else
		soft_fail "our agent still runs 5 s after the namespaces were deleted"
	fi
	check "our UAPI socket is removed" wait_for 2 no_sock "$IF1"
	check "N1 (our interface's) is destroyed: no process in it" wait_for 3 ns_unused "$i1"
	if wait_for 3 gone "$PID2"; then
		log "MEASURE wireguard-go (modern) exited after its TUN went with N2"
		check "N0 (home) is destroyed: no process in it" wait_for 3 ns_unused "$i0"
	else
		log "MEASURE wireguard-go (modern) still runs after its TUN went with N2; it keeps N0 alive"
		stop_pid "$PID2"
		check "N0 (home): no process of ours in it" wait_for 3 ns_unused "$i0"
	fi
}

# peer_up IA NS_A HOST_A IB NS_B HOST_B: interfaces IA (in NS_A, socket on
# HOST_A:PORT1) and IB (in NS_B, on HOST_B:PORT2) made each other's peer,
# 192.168.241.1 and .2 inside.
peer_up() {
	local ia=$1 nsa=$2 hosta=$3 ib=$4 nsb=$5 hostb=$6 ka kb
	ka=$(genkey) kb=$(genkey)
	wg set "$ia" private-key "$(keyfile "$ka")" listen-port "$PORT1" \
		peer "$(pubkey "$kb")" allowed-ips 192.168.241.2/32 endpoint "$hostb:$PORT2" ||
		fail "wg set $ia"
	wg set "$ib" private-key "$(keyfile "$kb")" listen-port "$PORT2" \
		peer "$(pubkey "$ka")" allowed-ips 192.168.241.1/32 endpoint "$hosta:$PORT1" ||
		fail "wg set $ib"
	addr "$nsa" "$ia" 192.168.241.1/24
	addr "$nsb" "$ib" 192.168.241.2/24
}

# circular_pair TAG: the selftest's circular reference: agent A started in
# CA (its UDP socket there) with its interface IA in CB, agent B the other
# way round, a veth between CA and CB, keys and endpoints, one flood. Sets
# CA CB IA IB PIDA PIDB.
circular_pair() {
	local tag=$1
	CA=$(ns_name "1$tag") CB=$(ns_name "2$tag") IA=$(if_name "1$tag") IB=$(if_name "2$tag")
	ns_new "$CA"
	ns_new "$CB"
	veth_pair "$CA" "$(if_name "v1$tag")" "$CB" "$(if_name "v2$tag")"
	addr "$CA" "$(if_name "v1$tag")" 10.10.0.1/24
	addr "$CB" "$(if_name "v2$tag")" 10.10.0.2/24
	bp_start_peer "$P1_KIND" "$CA" "$CB" "$IA"
	PIDA=$AT_LAST_PID
	bp_start_peer "$P1_KIND" "$CB" "$CA" "$IB"
	PIDB=$AT_LAST_PID
	peer_up "$IA" "$CB" 10.10.0.1 "$IB" "$CA" 10.10.0.2
	flood_check "circular: flood from A's interface (in CB) to B's (in CA)" "$CB" 192.168.241.2 10
}

# agents_gone WHAT LABEL T0 INO_A INO_B: both agents (PIDA, PIDB) end, both
# sockets (IA, IB) are removed, both homes (inodes INO_A, INO_B; the same
# for a shared home) are destroyed; WHAT names the case in the checks, LABEL
# says after what, T0 (ms) since when.
agents_gone() {
	local what=$1 label=$2 t0=$3 ino_a=$4 ino_b=$5
	if wait_for 5 gone "$PIDA" && wait_for 5 gone "$PIDB"; then
		pass "$what: both agents exited $(($(date +%s%3N) - t0)) ms after $label"
	else
		soft_fail "$what: 5 s after $label, A runs: $(at_alive "$PIDA" && echo yes || echo no)," \
			"B runs: $(at_alive "$PIDB" && echo yes || echo no)"
	fi
	check "$what: both UAPI sockets removed" wait_for 2 bash -c "[[ ! -e $WG_RUN_DIR/$IA.sock && ! -e $WG_RUN_DIR/$IB.sock ]]"
	check "$what: A's home is destroyed (no process in it)" wait_for 3 ns_unused "$ino_a"
	check "$what: B's home is destroyed (no process in it)" wait_for 3 ns_unused "$ino_b"
}

# Both namespaces deleted: each agent's home has lost its last name and
# holds nothing but the agent, so each one ends as a Linux device's
# sockets go with their dead birth namespace (docs/parity.md).
sc_circular() {
	local ia_ino ib_ino t0
	circular_pair c
	ia_ino=$(ns_ino "$CA") ib_ino=$(ns_ino "$CB")
	t0=$(date +%s%3N)
	netns_del "$CA"
	netns_del "$CB"
	agents_gone circular "both namespaces were deleted" "$t0" "$ia_ino" "$ib_ino"
	if [[ $P1_KIND == altuntun ]]; then
		check "circular: A logged why it stopped" file_has "$AT_TMP/altuntun-$IA.log" "lost its last name"
	fi
}

# A's home loses its name while another process (a sleeper) still lives
# there: A keeps running and the tunnel keeps working. When the sleeper
# ends, A's home is gone: A ends, and with it B (its interface was in A's
# home).
sc_home_in_use() {
	local ia_ino t0 sleeper
	circular_pair u
	ia_ino=$(ns_ino "$CA")
	bg_in "$CA" sleeper sleep 1000
	sleeper=$AT_LAST_PID
	wait_for 5 bash -c "ip netns pids $CA | grep -qx $sleeper" || fail "the sleeper is not in $CA"
	netns_del "$CA"
	sleep 3
	check "home in use: A still runs 3 s after its home's name was deleted" at_alive "$PIDA"
	check "home in use: B still runs" at_alive "$PIDB"
	flood_check "home in use: the tunnel still works (A's interface, in B's home)" "$CB" 192.168.241.2 10
	if [[ $P1_KIND == altuntun ]]; then
		check "home in use: A logged that another process is there" \
			file_has "$AT_TMP/altuntun-$IA.log" "another process is in it"
	fi
	t0=$(date +%s%3N)
	stop_pid "$sleeper"
	# The home watch looks again after 1, 2, 4, 8, 16 s: 3 s have passed.
	if wait_for 20 gone "$PIDA"; then
		pass "home in use: A exited $(($(date +%s%3N) - t0)) ms after the sleeper ended"
	else
		soft_fail "home in use: A still runs 20 s after the last other process left its home"
	fi
	check "home in use: B exited too (its interface was in A's home)" wait_for 5 gone "$PIDB"
	check "home in use: A's home is destroyed" wait_for 3 ns_unused "$ia_ino"
	check "home in use: A's socket removed" wait_for 2 no_sock "$IA"
	check "home in use: B's socket removed" wait_for 2 no_sock "$IB"
}

# A's home loses its first name but a second one (ip netns attach) still
# refers to it: A keeps running. Deleting that one too ends both.
sc_home_second_name() {
	local ia_ino ib_ino t0 second
	circular_pair n
	ia_ino=$(ns_ino "$CA") ib_ino=$(ns_ino "$CB")
	second=$(ns_name 3n)
	ip netns attach "$second" "$PIDA" || fail "ip netns attach $second $PIDA"
	AT_NS+=("$second")
	check "second name: it is A's home" test "$(ns_ino "$second")" = "$ia_ino"
	netns_del "$CA"
	sleep 2
	check "second name: A still runs 2 s after the first name was deleted" at_alive "$PIDA"
	flood_check "second name: the tunnel still works" "$CB" 192.168.241.2 10
	t0=$(date +%s%3N)
	netns_del "$second"
	netns_del "$CB"
	agents_gone circular "both last names were deleted" "$t0" "$ia_ino" "$ib_ino"
}

# Two agents started in the same home H (both UDP sockets on its loopback),
# their interfaces in T1 and T2. In Linux, deleting H closes the sockets of
# every interface born there; here each agent sees the other's processes in
# H, which must not keep it alive (they are known as agents): both end, H is
# destroyed, T1 and T2 lose the interfaces and live on.
sc_shared_home() {
	local h t1 t2 h_ino t0
	h=$(ns_name 0s) t1=$(ns_name 1s) t2=$(ns_name 2s) IA=$(if_name 1s) IB=$(if_name 2s)
	ns_new "$h"
	ns_new "$t1"
	ns_new "$t2"
	start_altuntun "$h" "$IA" --netns "$t1"
	PIDA=$AT_LAST_PID
	start_altuntun "$h" "$IB" --netns "$t2"
	PIDB=$AT_LAST_PID
	peer_up "$IA" "$t1" 127.0.0.1 "$IB" "$t2" 127.0.0.1
	flood_check "shared home: flood T1 -> T2 through both agents" "$t1" 192.168.241.2 10
	h_ino=$(ns_ino "$h")
	t0=$(date +%s%3N)
	netns_del "$h"
	agents_gone "shared home" "their home was deleted" "$t0" "$h_ino" "$h_ino"
	check "shared home: the interfaces are gone from T1 and T2" \
		wait_for 2 bash -c "! ip -n $t1 link show $IA && ! ip -n $t2 link show $IB"
	check "shared home: A logged why it stopped" file_has "$AT_TMP/altuntun-$IA.log" "no other process is in it"
}

scenario "roaming by our listen port and outer address family" sc_roaming
scenario "private key change takes effect at once" sc_key_change
scenario "teardown: both namespaces (and the peer's) deleted" sc_teardown
scenario "teardown: two agents, each with its interface in the other's namespace" sc_circular
scenario "teardown: a home without a name but with another process in it stays" sc_home_in_use
scenario "teardown: a home with a second name stays" sc_home_second_name
if [[ $P1_KIND == altuntun ]]; then
	scenario "teardown: two agents born in one home both end with it" sc_shared_home
fi
finish
