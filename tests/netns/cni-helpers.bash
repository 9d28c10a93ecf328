# shellcheck shell=bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Helpers shared by the CNI tests (cni_chained.sh, cni_libcni.sh), sourced
# after lib.sh. JSON through jq: python's start-up costs about 0.5 s of CPU
# on a loaded test machine, jq's a few milliseconds.

# jqr FILE FILTER: jq's compact raw output of FILTER on FILE.
jqr() { jq -rc "$2" "$1"; }
# jq_is FILE FILTER WANT: FILTER's output is WANT.
jq_is() { [[ $(jq -rc "$2" "$1") == "$3" ]]; }

# err_is RC FILE CODE VERSION: the plugin exited 1 (RC) and printed (FILE) a
# CNI error object with CODE, a message and cniVersion VERSION.
err_is() {
	[[ $1 == 1 ]] && jq -e --argjson c "$3" --arg v "$4" \
		'.code == $c and (.msg | type == "string" and length > 0) and .cniVersion == $v' \
		"$2" >/dev/null
}

# uapi_hash CID IFNAME: the UAPI name altuntun-cni gives the attachment
# ("$AT_PREFIX-CID", IFNAME): "ac" + 13 hex digits of FNV-1a-64 of
# CID NUL IFNAME (bash arithmetic wraps at 64 bits, as the C code does).
uapi_hash() {
	local s="$AT_PREFIX-$1" i b h=$((0xcbf29ce484222325))
	for ((i = 0; i < ${#s}; i++)); do
		printf -v b '%d' "'${s:i:1}"
		h=$(((h ^ b) * 0x100000001b3))
	done
	h=$((h * 0x100000001b3)) # the NUL separator
	s=$2
	for ((i = 0; i < ${#s}; i++)); do
		printf -v b '%d' "'${s:i:1}"
		h=$(((h ^ b) * 0x100000001b3))
	done
	printf 'ac%013x\n' $((h & 0xfffffffffffff))
}

# agents_for UAPI: how many altuntun-cli processes serve UAPI.
agents_for() { pgrep -fc -- "--uapi-name $1 " || true; }

# judge RESULT PREV VERSION IFNAME SANDBOX ADDRESS ROUTE: an ADD result
# checked field by field against prevResult (cni_result_check.py), one
# PASS or FAIL line per field.
judge() {
	local st msg
	while read -r st msg; do
		if [[ $st == ok ]]; then pass "$msg"; else soft_fail "$msg"; fi
	done < <(python3 "$AT_LIB_DIR/cni_result_check.py" "$@")
}
