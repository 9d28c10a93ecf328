#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# shellcheck disable=SC2317  # functions are called through in_parallel
#
# 20% loss both ways: altuntun-cli (A, the initiator) against Debian's
# wireguard-go and the modern build (B), with nft in both namespaces
# dropping 2 of every 10 datagrams at random (`numgen random mod 10 < 2`)
# that arrive on the veth between them. For each: the handshake completes
# (several tries may be needed: each try needs both messages through), a
# TRANSFER_MB MB random file goes from A to B over TCP through the tunnel
# and its SHA-256 matches at both ends, and both sides' rules dropped at least
# 10% of what they saw (so the loss was real and per datagram). Both pairs
# run at the same time (the handshakes' retries dominate the wall time).
#
#   A  veth 192.168.236.1 / .237.1   tunnel 10.236.0.1 / 10.237.0.1
#   B  veth 192.168.236.2 / .237.2   tunnel 10.236.0.2 / 10.237.0.2

# shellcheck source=tests/netns/lib.sh
. "$(dirname "$0")/lib.sh"
require_root
require_cmd wg ip nft python3 sha256sum

TRANSFER_MB=${TRANSFER_MB:-2}
FLAVOURS=${FLAVOURS:-debian modern}

# lossy NS IF: drops 20% of the datagrams that reach NS through IF, counting
# them. Both sides send UDP GSO batches (one skb, up to 64 datagrams) that
# netfilter would drop whole; gso_max_segs 1 on the sending veth makes the
# kernel split them before they cross, so the rule sees every datagram.
lossy() {
	ip -n "$1" link set dev "$2" gso_max_segs 1 || fail "gso_max_segs on $2 failed"
	ip netns exec "$1" nft -f - <<NFT || fail "nft in $1 failed"
table inet at_loss {
	chain in {
		type filter hook prerouting priority -300; policy accept;
		iifname "$2" numgen random mod 10 < 2 counter drop
	}
	chain seen {
		type filter hook prerouting priority -301; policy accept;
		iifname "$2" counter
	}
}
NFT
}

# dropped NS: "DROPPED/SEEN" datagrams on NS's lossy veth.
dropped() {
	ip netns exec "$1" nft list table inet at_loss |
		awk '/counter packets/ { for (i = 1; i < NF; i++) if ($i == "packets") c[/drop/ ? "d" : "s"] = $(i + 1) }
		     END { printf "%d/%d\n", c["d"], c["s"] }'
}
# loss_ok NS: at least 10% of at least 200 datagrams dropped.
loss_ok() {
	local d s
	IFS=/ read -r d s <<<"$(dropped "$1")"
	((s >= 200 && d * 10 >= s))
}

# loss_run FLAVOUR: the handshake and the transfer over pair FLAVOUR (set up
# by the test's shell), results on stdout.
loss_run() {
	local flavour=$1 t0 secs res
	eval "${PAIR[$flavour]}"
	t0=$SECONDS
	# The first ping starts the handshake; a try lost costs REKEY_TIMEOUT (5 s).
	ip netns exec "$TP_NS_A" ping -c 1 -W 1 "$TP_IN_B" >/dev/null 2>&1 || true
	if ! wait_for 40 handshake_done "$TP_IF_A" "$TP_PUB_B"; then
		result FAIL "$flavour: no handshake within 40 s at 20% loss"
		return
	fi
	result PASS "$flavour: handshake at 20% loss after $((SECONDS - t0)) s"
	head -c $((TRANSFER_MB << 20)) /dev/urandom >"$AT_TMP/data-$flavour"
	if res=$(tcp_transfer "$TP_NS_A" "$TP_NS_B" "$TP_IN_B" 5001 "$AT_TMP/data-$flavour" 120); then
		read -r _ _ secs <<<"$res"
		result PASS "$flavour: $TRANSFER_MB MB over TCP at 20% loss in $secs s, SHA-256 ${res:0:16}... on both ends"
	else
		result FAIL "$flavour: TCP transfer at 20% loss: $res"
	fi
	if loss_ok "$TP_NS_A" && loss_ok "$TP_NS_B"; then
		result PASS "$flavour: nft dropped datagrams both ways (arriving at A $(dropped "$TP_NS_A"), at B $(dropped "$TP_NS_B"))"
	else
		result FAIL "$flavour: too few datagrams dropped or seen (arriving at A $(dropped "$TP_NS_A"), at B $(dropped "$TP_NS_B"))"
	fi
}

# The pairs are made here (so cleanup knows them), then both run at once.
declare -A PAIR
net=236
for f in $FLAVOURS; do
	tunnel_pair "l$net" "$net" "$f"
	lossy "$TP_NS_A" "$TP_VA"
	lossy "$TP_NS_B" "$TP_VB"
	PAIR[$f]=$(tunnel_pair_vars)
	net=$((net + 1))
done
# shellcheck disable=SC2086  # a list of flavours
in_parallel loss_run $FLAVOURS
finish
