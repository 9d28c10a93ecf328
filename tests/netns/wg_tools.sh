#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# shellcheck disable=SC2317  # functions are called through scenario()
#
# wireguard-tools against AltunTun's UAPI socket, compared with Debian's
# wireguard-go configured identically: `wg show` (all forms), `wg showconf`,
# `wg set`, `wg setconf`, `wg addconf`, `wg syncconf`; a large configuration
# (one peer with 130,560 allowed IPs plus 200 more peers); raw UAPI requests
# (allowed_ip=-PREFIX removal, invalid requests answered errno=-22 that
# change nothing).
#
# Outputs are compared after masking what legitimately differs: latest
# handshake and transfer counters, a random listening port, the order of
# peers (wireguard-go returns them in Go map order) and the order of allowed
# IPs within a peer (an implementation's choice; reported, not required).
#
# Environment: T_IMPL (under test, default altuntun), R_IMPL (reference,
# default debian); each altuntun, debian or modern.

. "$(dirname "$0")/lib.sh"
require_root
require_cmd wg python3 diff

T_IMPL=${T_IMPL:-altuntun}
R_IMPL=${R_IMPL:-debian}
[[ $T_IMPL == wggo ]] && T_IMPL=debian
[[ $R_IMPL == wggo ]] && R_IMPL=debian

# ---- normaliser --------------------------------------------------------------

# norm.py MODE [ARG]: canonical form of a wg(8) or UAPI output on stdin.
#   show          `wg show IF`
#   dump          `wg show IF dump`
#   conf          `wg showconf IF` or a configuration file
#   count         a configuration: "peers=N allowed_ips=M"
#   lines [COL]   one-line-per-peer outputs (`wg show IF FIELD`); COL masked
#   uapi          a raw `get=1` answer
#   ipsof KEY     a configuration: allowed IPs of peer KEY in printed order
# MASK_PORT=1 masks the listening port.
cat >"$AT_TMP/norm.py" <<'EOF'
import os, sys

mode = sys.argv[1]
arg = sys.argv[2] if len(sys.argv) > 2 else None
mask_port = os.environ.get("MASK_PORT") == "1"
text = sys.stdin.read()


def sorted_list(s, sep=","):
    items = [x.strip() for x in s.split(sep) if x.strip()]
    return sorted(items)


def show():
    blocks = [b for b in text.strip("\n").split("\n\n") if b.strip()]
    head, peers = [], []
    for b in blocks:
        keep = []
        for line in b.split("\n"):
            s = line.strip()
            if s.startswith("interface:"):
                line = "interface: IF"
            elif s.startswith(("latest handshake:", "transfer:")):
                continue
            elif s.startswith("listening port:") and mask_port:
                line = "  listening port: *"
            elif s.startswith("allowed ips:"):
                line = "  allowed ips: " + ", ".join(sorted_list(s[len("allowed ips:"):]))
            keep.append(line)
        (peers if keep[0].startswith("peer:") else head).append("\n".join(keep))
    print("\n\n".join(head + sorted(peers)))


def dump():
    lines = text.strip("\n").split("\n")
    first = lines[0].split("\t")
    if mask_port and len(first) > 2:
        first[2] = "*"
    peers = []
    for line in lines[1:]:
        f = line.split("\t")
        if len(f) >= 8:
            if f[3] != "(none)":
                f[3] = ",".join(sorted_list(f[3]))
            f[4] = f[5] = f[6] = "*"
        peers.append("\t".join(f))
    print("\t".join(first))
    print("\n".join(sorted(peers)))


def parse_conf():
    sections, cur = [], None
    for raw in text.split("\n"):
        line = raw.split("#")[0].strip()
        if not line:
            continue
        if line.startswith("["):
            cur = [line, {}]
            sections.append(cur)
            continue
        k, _, v = line.partition("=")
        k, v = k.strip(), v.strip()
        if k.lower() == "allowedips":
            cur[1].setdefault("AllowedIPs", []).extend(sorted_list(v))
        elif k.lower() == "listenport" and mask_port:
            cur[1]["ListenPort"] = "*"
        else:
            cur[1][k] = v
    return sections


def conf():
    out = []
    for name, kv in parse_conf():
        lines = [name]
        for k in sorted(kv):
            v = ", ".join(sorted(kv[k])) if k == "AllowedIPs" else kv[k]
            lines.append("%s = %s" % (k, v))
        out.append("\n".join(lines))
    head = [s for s in out if not s.startswith("[Peer]")]
    print("\n\n".join(head + sorted(s for s in out if s.startswith("[Peer]"))))


def count():
    secs = parse_conf()
    peers = [kv for name, kv in secs if name == "[Peer]"]
    print("peers=%d allowed_ips=%d" % (len(peers), sum(len(kv.get("AllowedIPs", [])) for kv in peers)))


def lines_mode():
    col = int(arg) if arg else None
    out = []
    for line in text.strip("\n").split("\n"):
        f = line.split("\t")
        f = [" ".join(sorted(x.split(" "))) if " " in x else x for x in f]
        if col is not None and len(f) > col:
            f[col] = "*"
        out.append("\t".join(f))
    print("\n".join(sorted(out)))


def uapi():
    dev, peers, cur, tail = [], [], None, []
    masked = ("last_handshake_time_sec", "last_handshake_time_nsec", "rx_bytes", "tx_bytes")
    for line in text.split("\n"):
        if not line:
            continue
        k, _, v = line.partition("=")
        if k in masked or (k == "listen_port" and mask_port):
            v = "*"
        if k == "errno":
            tail.append(line)
            continue
        if k == "public_key":
            cur = []
            peers.append(cur)
        (cur if cur is not None else dev).append(k + "=" + v)
    blocks = ["\n".join(dev)] + sorted("\n".join(sorted(p)) for p in peers)
    print("\n--\n".join(blocks + tail))


def ipsof():
    # The allowed IPs of peer ARG, in printed order.
    ips, inside = [], False
    for raw in text.split("\n"):
        k, _, v = raw.partition("=")
        k = k.strip()
        if raw.startswith("["):
            inside = False
        elif k == "PublicKey":
            inside = v.strip() == arg
        elif k == "AllowedIPs" and inside:
            ips.extend(x.strip() for x in v.split(",") if x.strip())
    print(",".join(ips))


{"ipsof": ipsof, "show": show, "dump": dump, "conf": conf, "count": count, "lines": lines_mode,
 "uapi": uapi}[mode]()
EOF

norm() { python3 "$AT_TMP/norm.py" "$@"; }

# ---- the two interfaces ------------------------------------------------------

NST=$(ns_name t) NSR=$(ns_name r)
IFT=$(if_name t) IFR=$(if_name r)
ns_new "$NST"
ns_new "$NSR"
start_impl "$T_IMPL" "$NST" "$IFT"
start_impl "$R_IMPL" "$NSR" "$IFR"
log "under test: $T_IMPL ($IFT); reference: $R_IMPL ($IFR)"
MASK_PORT=0
export MASK_PORT

# Replaces @IF@ in the arguments by the interface name.
args_for() { # IF ARGS...
	local ifc=$1
	shift
	printf '%s\0' "${@//@IF@/$ifc}"
}

# wg_both LABEL ARGS...: runs `wg ARGS` (with @IF@) on both; the exit
# statuses must agree. Prints nothing on success.
wg_both() {
	local label=$1 rt=0 rr=0 ot orr
	shift
	local at ar
	mapfile -d '' at < <(args_for "$IFT" "$@")
	mapfile -d '' ar < <(args_for "$IFR" "$@")
	ot=$(wg_in "$NST" "${at[@]}" 2>&1) || rt=$?
	orr=$(wg_in "$NSR" "${ar[@]}" 2>&1) || rr=$?
	if ((rt != rr)); then
		soft_fail "$label: wg ${*} exited $rt on $T_IMPL ('$ot') but $rr on $R_IMPL ('$orr')"
		return 1
	fi
	return 0
}

# compare LABEL MODE [MODEARG] -- ARGS...: `wg ARGS` on both, normalised by
# norm.py MODE, must be identical.
compare() {
	local label=$1 mode=$2 marg=()
	shift 2
	if [[ $1 != -- ]]; then
		marg=("$1")
		shift
	fi
	shift # --
	local at ar ot orr nt nr rt=0 rr=0
	mapfile -d '' at < <(args_for "$IFT" "$@")
	mapfile -d '' ar < <(args_for "$IFR" "$@")
	ot=$(wg_in "$NST" "${at[@]}" 2>&1) || rt=$?
	orr=$(wg_in "$NSR" "${ar[@]}" 2>&1) || rr=$?
	nt=$(norm "$mode" "${marg[@]}" <<<"$ot" 2>&1) || true
	nr=$(norm "$mode" "${marg[@]}" <<<"$orr" 2>&1) || true
	if ((rt == 0 && rr == 0)) && [[ $nt == "$nr" ]]; then
		pass "$label: wg ${*//@IF@/IF} identical ($(wc -l <<<"$nt") lines)"
	else
		soft_fail "$label: wg ${*//@IF@/IF} differs (exit $rt vs $rr); diff $T_IMPL vs $R_IMPL:"
		diff -u <(echo "$nt") <(echo "$nr") | head -n 40 | sed 's/^/    /' || true
	fi
}

compare_all() { # LABEL
	local l=$1 f
	compare "$l" show -- show @IF@
	compare "$l" dump -- show @IF@ dump
	compare "$l" conf -- showconf @IF@
	for f in public-key private-key listen-port fwmark peers preshared-keys endpoints \
		allowed-ips persistent-keepalive; do
		if [[ $f == listen-port && $MASK_PORT == 1 ]]; then
			compare "$l" lines 0 -- show @IF@ "$f"
		else
			compare "$l" lines -- show @IF@ "$f"
		fi
	done
	compare "$l" lines 1 -- show @IF@ latest-handshakes
	compare "$l" lines 1 -- show @IF@ transfer
}

# ---- keys --------------------------------------------------------------------

PRIV1=$(genkey) PRIV2=$(genkey)
KEY1=$(keyfile "$PRIV1") KEY2=$(keyfile "$PRIV2")
PSK=$(keyfile "$(genpsk)")
P1=$(pubkey "$(genkey)") P2=$(pubkey "$(genkey)") P3=$(pubkey "$(genkey)") P4=$(pubkey "$(genkey)")

# ---- wg set ------------------------------------------------------------------

test_wg_set() {
	wg_both "set device" set @IF@ private-key "$KEY1" listen-port 51820 fwmark 0x1234 &&
		compare_all "device only"

	wg_both "add peers" set @IF@ \
		peer "$P1" preshared-key "$PSK" endpoint 192.0.2.1:51820 persistent-keepalive 25 \
		allowed-ips 10.0.0.1/32,10.10.0.0/16,fd00::1/128 \
		peer "$P2" endpoint "[2001:db8::1]:1234" allowed-ips 0.0.0.0/0,::/0 \
		peer "$P3" allowed-ips 192.168.77.0/24,fd00:77::/64 &&
		compare_all "three peers"

	wg_both "replace allowed ips, move one" set @IF@ \
		peer "$P1" allowed-ips 10.0.0.1/32,10.20.0.0/16 \
		peer "$P3" allowed-ips 192.168.77.0/24,fd00:77::/64,10.0.0.1/32 &&
		compare_all "allowed-ips replaced and moved"

	wg_both "host bits" set @IF@ peer "$P4" allowed-ips 10.30.1.77/24,fd00:30::77/48 &&
		compare_all "prefix with host bits"

	wg_both "remove, psk off, keepalive off, endpoint" set @IF@ \
		peer "$P2" remove \
		peer "$P1" preshared-key /dev/null persistent-keepalive off endpoint "[fd00::9]:9" &&
		compare_all "peer removed, psk and keepalive off"

	wg_both "fwmark off, new private key" set @IF@ fwmark off private-key "$KEY2" &&
		compare_all "fwmark off, key changed"

	wg_both "private key removed" set @IF@ private-key /dev/null &&
		compare_all "private key removed"

	MASK_PORT=1
	wg_both "random port" set @IF@ listen-port 0 && compare_all "listen-port 0 (random, masked)"
	local pt
	pt=$(wg show "$IFT" listen-port)
	if [[ $pt =~ ^[0-9]+$ ]] && ((pt > 0)); then
		pass "listen-port 0 picked port $pt on $T_IMPL"
	else
		soft_fail "listen-port 0: $T_IMPL reports '$pt'"
	fi
	MASK_PORT=0

	wg_both "peer self" set @IF@ listen-port 51820 private-key "$KEY1" peer "$(pubkey "$PRIV1")" allowed-ips 10.99.0.0/16 &&
		compare_all "peer with our own public key (ignored)"

	wg_both "bad port" set @IF@ listen-port 70000 || true
	wg_both "bad key" set @IF@ peer "not-a-key" || true
}

# ---- setconf, addconf, syncconf ---------------------------------------------

write_conf1() {
	cat <<EOF
[Interface]
PrivateKey = $PRIV1
ListenPort = 51821
FwMark = 0x42

[Peer]
PublicKey = $P1
PresharedKey = $(cat "$PSK")
Endpoint = 192.0.2.10:51820
AllowedIPs = 10.1.0.0/16, fd00:1::/64
PersistentKeepalive = 15

[Peer]
PublicKey = $P2
AllowedIPs = 10.2.0.0/16
AllowedIPs = 10.3.0.1/32
Endpoint = [2001:db8::2]:4500
EOF
}

# P1 changed, P2 gone, P3 new. (syncconf keeps a preshared key or keepalive
# the file does not mention: both are given.)
write_conf2() {
	cat <<EOF
[Interface]
PrivateKey = $PRIV1
ListenPort = 51821

[Peer]
PublicKey = $P1
PresharedKey = $(genpsk)
Endpoint = 192.0.2.11:51820
AllowedIPs = 10.1.0.0/16, 10.4.0.0/16
PersistentKeepalive = 20

[Peer]
PublicKey = $P3
AllowedIPs = 10.5.0.0/16, fd00:5::/64
EOF
}

write_conf_add() {
	cat <<EOF
[Peer]
PublicKey = $P4
AllowedIPs = 10.6.0.0/16
EOF
}

# matches_input LABEL FILE: showconf on the tested side equals FILE.
matches_input() {
	local label=$1 file=$2 got want
	got=$(wg showconf "$IFT" | norm conf)
	want=$(norm conf <"$file")
	if [[ $got == "$want" ]]; then
		pass "$label: wg showconf on $T_IMPL equals the configuration given"
	else
		soft_fail "$label: wg showconf on $T_IMPL differs from the configuration given:"
		diff -u <(echo "$want") <(echo "$got") | head -n 40 | sed 's/^/    /' || true
	fi
}

test_conf_commands() {
	write_conf1 >"$AT_TMP/conf1"
	write_conf2 >"$AT_TMP/conf2"
	write_conf_add >"$AT_TMP/conf_add"
	wg_both "setconf" setconf @IF@ "$AT_TMP/conf1" && compare_all "after setconf"
	matches_input "setconf" "$AT_TMP/conf1"

	wg_both "addconf" addconf @IF@ "$AT_TMP/conf_add" && compare_all "after addconf"

	wg_both "syncconf" syncconf @IF@ "$AT_TMP/conf2" && compare_all "after syncconf"
	matches_input "syncconf" "$AT_TMP/conf2"

	wg_both "setconf again" setconf @IF@ "$AT_TMP/conf1" && compare_all "after setconf again"
	matches_input "setconf again" "$AT_TMP/conf1"
}

# ---- raw UAPI ----------------------------------------------------------------

uapi_state() { printf 'get=1\n\n' | uapi_raw "$1" | norm uapi; }

expect_errno() { # LABEL ANSWER WANT
	local got
	got=$(sed -n 's/^errno=//p' <<<"$2" | tail -n 1)
	if [[ $got == "$3" ]]; then
		pass "$1: answered errno=$got"
	else
		soft_fail "$1: answered '${2//$'\n'/\\n}', expected errno=$3"
	fi
}

test_uapi_remove() {
	local rk hex ans ips
	rk=$(pubkey "$(genkey)")
	hex=$(key_hex "$rk")
	printf 'set=1\nreplace_peers=true\npublic_key=%s\nallowed_ip=10.0.0.0/8\nallowed_ip=10.1.2.3/32\nallowed_ip=192.168.5.0/24\n\n' \
		"$hex" | uapi_raw "$IFT" >"$AT_TMP/ans"
	expect_errno "raw set of a peer with 3 allowed IPs" "$(cat "$AT_TMP/ans")" 0
	ans=$(printf 'set=1\npublic_key=%s\nallowed_ip=-10.0.0.0/8\n\n' "$hex" | uapi_raw "$IFT")
	expect_errno "allowed_ip=-10.0.0.0/8" "$ans" 0
	ips=$(wg show "$IFT" allowed-ips | awk -v p="$rk" '$1 == p { $1 = ""; print }' | tr ' ' '\n' | grep . | sort | tr '\n' ' ')
	if [[ $ips == "10.1.2.3/32 192.168.5.0/24 " ]]; then
		pass "allowed_ip=-10.0.0.0/8 removed exactly that prefix (left: $ips)"
	else
		soft_fail "after allowed_ip=-10.0.0.0/8 the peer has: '$ips' (want 10.1.2.3/32 192.168.5.0/24)"
	fi
	ans=$(printf 'set=1\npublic_key=%s\nallowed_ip=-172.16.0.0/12\n\n' "$hex" | uapi_raw "$IFT")
	log "removing a prefix the peer does not have: $T_IMPL answers ${ans//$'\n'/ }"

	# The reference, for the record (Debian's 0.0.20220316 predates removal).
	printf 'set=1\nreplace_peers=true\npublic_key=%s\nallowed_ip=10.0.0.0/8\nallowed_ip=10.1.2.3/32\n\n' "$hex" |
		uapi_raw "$IFR" >/dev/null
	ans=$(printf 'set=1\npublic_key=%s\nallowed_ip=-10.0.0.0/8\n\n' "$hex" | uapi_raw "$IFR")
	log "reference $R_IMPL answers allowed_ip=-10.0.0.0/8 with ${ans//$'\n'/ }; its peer now has:" \
		"$(wg show "$IFR" allowed-ips | awk -v p="$rk" '$1 == p { $1 = ""; print }')"
}

test_uapi_invalid() {
	local new_priv_hex peer_hex new_peer_hex before after ans req i=0 ifc impl
	new_priv_hex=$(key_hex "$(genkey)")
	new_peer_hex=$(key_hex "$(pubkey "$(genkey)")")
	local reqs=(
		# a valid change, then an invalid allowed IP
		'set=1\nlisten_port=12345\nprivate_key=%NEWPRIV%\npublic_key=%PEER%\nendpoint=192.0.2.9:9\nallowed_ip=10.9.9.9/33\n\n'
		# a new peer, then an unknown key
		'set=1\nfwmark=77\npublic_key=%NEWPEER%\nallowed_ip=10.9.9.0/24\nbogus_key=1\n\n'
		# replace everything, then a keepalive out of range
		'set=1\nreplace_peers=true\npublic_key=%NEWPEER%\npersistent_keepalive_interval=70000\n\n'
		# a listen port, then a private key that is not hex
		'set=1\nlisten_port=12346\nprivate_key=zz\n\n'
		# removing a peer, then a bad endpoint
		'set=1\npublic_key=%PEER%\nremove=true\npublic_key=%NEWPEER%\nendpoint=999.1.1.1:5\n\n'
		# an allowed IP before any public_key
		'set=1\nlisten_port=12347\nallowed_ip=10.0.0.0/8\n\n'
	)
	for ifc in "$IFT" "$IFR"; do
		impl=$T_IMPL
		[[ $ifc == "$IFR" ]] && impl="$R_IMPL (reference)"
		wg setconf "$ifc" "$AT_TMP/conf1"
		peer_hex=$(key_hex "$P1")
		i=0
		for req in "${reqs[@]}"; do
			i=$((i + 1))
			req=${req//%NEWPRIV%/$new_priv_hex}
			req=${req//%PEER%/$peer_hex}
			req=${req//%NEWPEER%/$new_peer_hex}
			before=$(uapi_state "$ifc")
			# shellcheck disable=SC2059  # the request is the format
			ans=$(printf "$req" | uapi_raw "$ifc")
			after=$(uapi_state "$ifc")
			if [[ $ifc == "$IFT" ]]; then
				expect_errno "invalid request $i" "$ans" -22
				if [[ $before == "$after" ]]; then
					pass "invalid request $i changed nothing"
				else
					soft_fail "invalid request $i changed the configuration:"
					diff -u <(echo "$before") <(echo "$after") | head -n 20 | sed 's/^/    /' || true
				fi
			else
				log "$impl: invalid request $i answered ${ans//$'\n'/ }; configuration" \
					"$([[ $before == "$after" ]] && echo unchanged || echo CHANGED)"
			fi
		done
	done
}

test_uapi_get() {
	wg_both "setconf for raw get" setconf @IF@ "$AT_TMP/conf1" || return 0
	local t r
	t=$(uapi_state "$IFT")
	r=$(uapi_state "$IFR")
	if [[ $t == "$r" ]]; then
		pass "raw get=1: same keys and values as $R_IMPL ($(wc -l <<<"$t") lines)"
	else
		soft_fail "raw get=1 differs from $R_IMPL:"
		diff -u <(echo "$t") <(echo "$r") | head -n 40 | sed 's/^/    /' || true
	fi
}

# ---- large configuration -------------------------------------------------------

write_big_conf() {
	python3 - "$PRIV1" <<'EOF'
import base64, os, sys
print("[Interface]\nPrivateKey = %s\nListenPort = 51822\n" % sys.argv[1])
key = lambda: base64.b64encode(os.urandom(32)).decode()
# One peer with 130,560 /32s: 10.0.0.1 .. 10.1.254.0, 256 per line.
ips = ["10.%d.%d.%d/32" % (i >> 16, (i >> 8) & 255, i & 255) for i in range(1, 130561)]
print("[Peer]\nPublicKey = %s" % key())
for j in range(0, len(ips), 256):
    print("AllowedIPs = " + ", ".join(ips[j:j + 256]))
print()
for i in range(200):
    print("[Peer]\nPublicKey = %s\nAllowedIPs = 172.16.%d.%d/32, fd00:1::%x/128\n" % (key(), i >> 8, i & 255, i + 1))
EOF
}

timed() { # VAR CMD...: runs CMD, stores milliseconds in VAR
	local __v=$1 t0
	shift
	t0=$(date +%s%N)
	"$@"
	printf -v "$__v" '%d' $((($(date +%s%N) - t0) / 1000000))
}

showconf_to() { wg showconf "$1" >"$2"; }

test_big() {
	local f=$AT_TMP/big.conf ms_t ms_r ms_st ms_sr want got_t got_r
	write_big_conf >"$f"
	want=$(norm count <"$f")
	log "large configuration: $want, $(wc -l <"$f") lines, $(($(wc -c <"$f") / 1024)) KiB"

	timed ms_t wg_in "$NST" setconf "$IFT" "$f" || { soft_fail "large setconf on $T_IMPL failed"; return; }
	timed ms_r wg_in "$NSR" setconf "$IFR" "$f" || { soft_fail "large setconf on $R_IMPL failed"; return; }
	timed ms_st showconf_to "$IFT" "$AT_TMP/big.t"
	timed ms_sr showconf_to "$IFR" "$AT_TMP/big.r"
	log "wg setconf: $T_IMPL ${ms_t} ms, $R_IMPL ${ms_r} ms; wg showconf: $T_IMPL ${ms_st} ms, $R_IMPL ${ms_sr} ms"

	got_t=$(norm count <"$AT_TMP/big.t")
	got_r=$(norm count <"$AT_TMP/big.r")
	if [[ $got_t == "$want" ]]; then
		pass "large setconf read back by showconf on $T_IMPL: $got_t ($R_IMPL: $got_r)"
	else
		soft_fail "large setconf on $T_IMPL read back as '$got_t', want '$want' ($R_IMPL: $got_r)"
	fi
	if [[ $(norm conf <"$AT_TMP/big.t") == "$(norm conf <"$f")" ]]; then
		pass "large showconf on $T_IMPL: content equals the input (every key and prefix)"
	else
		soft_fail "large showconf on $T_IMPL: content differs from the input:"
		diff <(norm conf <"$f" | tr ',' '\n') <(norm conf <"$AT_TMP/big.t" | tr ',' '\n') | head -n 20 | sed 's/^/    /' || true
	fi
	if [[ $(norm conf <"$AT_TMP/big.t") == "$(norm conf <"$AT_TMP/big.r")" ]]; then
		pass "large showconf: $T_IMPL and $R_IMPL identical after normalisation"
	else
		soft_fail "large showconf: $T_IMPL and $R_IMPL differ"
	fi
	local lt lr
	lt=$(wg show "$IFT" allowed-ips | wc -l)
	lr=$(wg show "$IFR" allowed-ips | wc -l)
	if ((lt == 201 && lr == 201)); then
		pass "wg show allowed-ips: 201 lines on both"
	else
		soft_fail "wg show allowed-ips: $lt lines on $T_IMPL, $lr on $R_IMPL (want 201)"
	fi
	# Order is the implementation's choice; report whether it is preserved.
	local big
	big=$(awk -F' = ' '$1 == "PublicKey" { print $2; exit }' "$f")
	if [[ $(norm ipsof "$big" <"$AT_TMP/big.t") == "$(norm ipsof "$big" <"$f")" ]]; then
		log "note: $T_IMPL returns the big peer's allowed IPs in insertion order"
	else
		log "note: $T_IMPL returns the big peer's allowed IPs in another order than inserted"
	fi
}

scenario "wg set, wg show, wg showconf" test_wg_set
scenario "wg setconf, addconf, syncconf" test_conf_commands
scenario "raw UAPI get=1" test_uapi_get
scenario "raw UAPI allowed_ip removal" test_uapi_remove
scenario "raw UAPI invalid requests" test_uapi_invalid
scenario "large configuration" test_big
finish
