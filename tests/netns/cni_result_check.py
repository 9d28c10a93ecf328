#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Checks, field by field, an ADD result of altuntun-cni chained after
another plugin against that plugin's result (prevResult).

    cni_result_check.py RESULT PREV VERSION IFNAME SANDBOX ADDRESS ROUTE

PREV may be "-" (not chained). VERSION: 0.3.0 to 1.0.0 (1.1.0 adds "mtu",
which this does not expect). Prints one line per check, "ok MSG" or
"no MSG" (tests/netns/lib.sh-style tests turn them into PASS/FAIL), and
exits 0 (the caller counts the failures).
"""
import json
import sys


def main():
    res_f, prev_f, version, ifname, sandbox, address, route = sys.argv[1:8]
    r = json.load(open(res_f))
    p = json.load(open(prev_f)) if prev_f != "-" else {}
    old = version.startswith("0.")

    def ck(cond, msg):
        print(("ok " if cond else "no ") + msg)

    pifs, pips = p.get("interfaces", []), p.get("ips", [])
    n = len(pifs)
    ifs, ips = r.get("interfaces", []), r.get("ips", [])
    ck(r.get("cniVersion") == version, f"result: cniVersion {version} ({r.get('cniVersion')})")
    ck(ifs[:n] == pifs, f"result: prevResult's {n} interfaces first, unchanged")
    ck(len(ifs) == n + 1, f"result: then ours, nothing else ({len(ifs)} interfaces)")
    # a TUN has no hardware address: the null one (podman needs a mac)
    want = {"name": ifname, "mac": "00:00:00:00:00:00", "sandbox": sandbox}
    ck(len(ifs) > n and ifs[n] == want, f"result: interfaces[{n}] is {want}")
    for i, ip in enumerate(pips):
        exp = dict(ip)
        if old:
            exp.setdefault("version", "6" if ":" in ip["address"] else "4")
        ck(i < len(ips) and ips[i] == exp,
           f"result: prevResult's ips[{i}] kept ({ip.get('address')}, interface {ip.get('interface')})")
        k = ip.get("interface")
        ck(isinstance(k, int) and 0 <= k < n and ifs[k].get("name") != ifname,
           f"result: ips[{i}].interface {k} still points at a prevResult interface "
           f"({ifs[k].get('name') if isinstance(k, int) and k < len(ifs) else '?'})")
    mine = {"address": address, "interface": n}
    if old:
        mine["version"] = "6" if ":" in address else "4"
    ck(len(ips) == len(pips) + 1 and ips[-1] == mine,
       f"result: ips ends with ours {mine}")
    ck(r.get("routes", []) == p.get("routes", []) + [{"dst": route}],
       f"result: routes are prevResult's then {{dst {route}}}")
    ck(r.get("dns") == p.get("dns", {}), "result: dns is prevResult's")
    extra = set(r) - {"cniVersion", "interfaces", "ips", "routes", "dns"}
    ck(not extra, f"result: no other keys ({sorted(extra) or 'none'})")


main()
