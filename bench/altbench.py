#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""AltunTun benchmark suite (driven by bench/run-all; see bench/README.md).

Parts: throughput udp latency handshake scale memory. Every part builds its
own network namespaces (names start with a per-run prefix), measures the
implementations alternately in the same run (A B C A B C ...), prints a
table and one RESULT line per figure, with ratios to the modern
wireguard-go, and removes everything it made on any exit.
"""

import base64
import json
import os
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

# ---- configuration ----------------------------------------------------------

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)


def _env_int(name, default):
    v = os.environ.get(name, "")
    try:
        return int(v) if v else default
    except ValueError:
        sys.exit(f"bench: {name}={v!r} is not an integer")


def _find_modern_wggo():
    name = "wireguard-go-0.0.20250522"
    try:
        top = subprocess.run(["git", "-C", REPO, "rev-parse", "--show-toplevel"],
                             capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        top = REPO
    cand = os.path.join(top, "..", "shared", "anchors", name)
    if os.access(cand, os.X_OK):
        return os.path.realpath(cand)
    return "/work/shared/anchors/" + name


ALTUNTUN_CLI = os.environ.get("ALTUNTUN_CLI", os.path.join(REPO, "build", "altuntun-cli"))
WGGO_DEBIAN = os.environ.get("WGGO_DEBIAN", "/usr/bin/wireguard-go")
WGGO_MODERN = os.environ.get("WGGO_MODERN") or _find_modern_wggo()
HSGEN = os.environ.get("HSGEN", os.path.join(REPO, "build", "bench", "hsgen"))

SECONDS = _env_int("BENCH_SECONDS", 10)          # TCP throughput run length
ROUNDS = _env_int("BENCH_ROUNDS", 2)             # A B C rounds for throughput/udp/latency/handshake
UDP_SECONDS = _env_int("BENCH_UDP_SECONDS", 5)
PING_COUNT = _env_int("BENCH_PING_COUNT", 100)   # pings at 10 ms intervals
HS_SECONDS = _env_int("BENCH_HS_SECONDS", 5)
HS_RATE = _env_int("BENCH_HS_RATE", 12000)       # initiations/s offered
HS_CLIENTS = _env_int("BENCH_HS_CLIENTS", 2000)
HS_SOURCES = _env_int("BENCH_HS_SOURCES", 1024)  # source addresses in mac2 mode
MEM_BURST = _env_int("BENCH_MEM_SECONDS", 3)
SCALE_PEERS = [int(x) for x in os.environ.get("BENCH_SCALE_PEERS", "10000,65000,100000").split(",") if x]
SCALE_ROUNDS = _env_int("BENCH_SCALE_ROUNDS", 1)

ALTUNTUN_BASE_CLI = os.environ.get("ALTUNTUN_BASE_CLI", "")

REF = "wggo-modern"
IMPL_ORDER = ["altuntun"] + (["altuntun-base"] if ALTUNTUN_BASE_CLI else []) + \
    ["wggo-debian", "wggo-modern"]
_sel = os.environ.get("BENCH_IMPLS")
if _sel:
    IMPL_ORDER = [x for x in _sel.split(",") if x]

IMPL_DESC = {
    "altuntun": "altuntun-cli (this repo, build/altuntun-cli)",
    "altuntun-base": "altuntun-cli baseline (BENCH_BASELINE_REV)",
    "wggo-debian": "wireguard-go 0.0.20220316 (Debian 12 package)",
    "wggo-modern": "wireguard-go 0.0.20250522 (../shared/anchors, TUN TSO/GRO + UDP GSO/GRO)",
    "veth": "plain veth, no tunnel (ceiling)",
}

WG_RUN = "/var/run/wireguard"
HZ = os.sysconf("SC_CLK_TCK")
VETH_A, VETH_B = "10.201.0.1", "10.201.0.2"


def impl_cmd(impl, ifname):
    if impl == "altuntun":
        return [ALTUNTUN_CLI, "-f", ifname]
    if impl == "altuntun-base":
        return [ALTUNTUN_BASE_CLI, "-f", ifname]
    if impl == "wggo-debian":
        return [WGGO_DEBIAN, "-f", ifname]
    if impl == "wggo-modern":
        return [WGGO_MODERN, "-f", ifname]
    raise ValueError(impl)


# ---- output -------------------------------------------------------------------

def out(line=""):
    print(line, flush=True)


def log(msg):
    out(f"# {time.strftime('%H:%M:%S')} {msg}")


class BenchError(Exception):
    pass


# ---- run context: everything made is recorded and removed --------------------

def b36(n):
    d = "0123456789abcdefghijklmnopqrstuvwxyz"
    s = ""
    while n:
        s = d[n % 36] + s
        n //= 36
    return s or "0"


class Ctx:
    def __init__(self):
        self.prefix = "bn" + b36(os.getpid())[-4:]
        self.tmp = tempfile.mkdtemp(prefix=self.prefix + ".")
        self.procs = []      # Popen objects we started
        self.ns = []         # namespaces we made
        self.socks = []      # UAPI socket names of daemons we started
        self.cleaned = False
        self.seq = 0

    # names
    def nsname(self, suffix):
        return f"{self.prefix}-{suffix}"

    def ifname(self, suffix):
        n = self.prefix + suffix
        if len(n) > 15:
            raise BenchError(f"interface name {n} too long")
        return n

    def path(self, name):
        return os.path.join(self.tmp, name)

    # namespaces
    def ns_new(self, suffix):
        ns = self.nsname(suffix)
        run(["ip", "netns", "add", ns])
        self.ns.append(ns)
        run(["ip", "-n", ns, "link", "set", "lo", "up"])
        return ns

    def veth(self, ns_a, if_a, ns_b, if_b):
        run(["ip", "link", "add", if_a, "netns", ns_a, "type", "veth", "peer", "name", if_b,
             "netns", ns_b])
        run(["ip", "-n", ns_a, "link", "set", if_a, "up"])
        run(["ip", "-n", ns_b, "link", "set", if_b, "up"])

    # processes
    def spawn(self, ns, argv, logname, **kw):
        self.seq += 1
        logf = open(self.path(f"{self.seq:03d}-{logname}.log"), "wb")
        full = (["ip", "netns", "exec", ns] if ns else []) + argv
        p = subprocess.Popen(full, stdout=kw.pop("stdout", logf), stderr=subprocess.STDOUT,
                             stdin=subprocess.DEVNULL, start_new_session=True, **kw)
        logf.close()
        p.logpath = logf.name
        self.procs.append(p)
        return p

    def stop(self, p, timeout=3.0):
        if p.poll() is None:
            try:
                p.terminate()
            except ProcessLookupError:
                pass
            try:
                p.wait(timeout)
            except subprocess.TimeoutExpired:
                try:
                    p.kill()
                except ProcessLookupError:
                    pass
                p.wait(5)
        if p in self.procs:
            self.procs.remove(p)

    def start_daemon(self, impl, ns, ifname):
        sock = os.path.join(WG_RUN, ifname + ".sock")
        if os.path.exists(sock):
            raise BenchError(f"{sock} already exists")
        self.socks.append(ifname)
        p = self.spawn(ns, impl_cmd(impl, ifname), f"{impl}-{ifname}")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if os.path.exists(sock) and os.path.exists(f"/proc/{p.pid}"):
                try:
                    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                    s.connect(sock)
                    s.close()
                    return p
                except OSError:
                    pass
            if p.poll() is not None:
                break
            time.sleep(0.05)
        tail = open(p.logpath, "rb").read()[-2000:].decode(errors="replace")
        raise BenchError(f"{impl} {ifname}: no UAPI socket (exit {p.poll()}); log:\n{tail}")

    def stop_daemon(self, p, ifname):
        self.stop(p)
        try:
            os.unlink(os.path.join(WG_RUN, ifname + ".sock"))
        except FileNotFoundError:
            pass
        if ifname in self.socks:
            self.socks.remove(ifname)

    def release(self):
        """Stops every process, deletes namespaces and sockets (end of a part)."""
        for p in list(self.procs):
            try:
                self.stop(p)
            except Exception:
                pass
        for ns in self.ns:
            try:
                pids = subprocess.run(["ip", "netns", "pids", ns], capture_output=True,
                                      text=True).stdout.split()
                for pid in pids:
                    try:
                        os.kill(int(pid), signal.SIGKILL)
                    except (ProcessLookupError, ValueError):
                        pass
                subprocess.run(["ip", "netns", "del", ns], capture_output=True)
            except Exception:
                pass
        for s in self.socks:
            try:
                os.unlink(os.path.join(WG_RUN, s + ".sock"))
            except FileNotFoundError:
                pass
        self.procs, self.ns, self.socks = [], [], []

    def cleanup(self):
        if self.cleaned:
            return
        self.cleaned = True
        self.release()
        if os.environ.get("BENCH_KEEP_TMP"):
            log(f"kept {self.tmp}")
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)


def run(argv, check=True, timeout=60, input=None):
    try:
        r = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, input=input)
    except subprocess.TimeoutExpired:
        raise BenchError(f"{' '.join(argv)}: no answer after {timeout} s") from None
    if check and r.returncode != 0:
        raise BenchError(f"{' '.join(argv)} failed ({r.returncode}): {r.stderr.strip()[:500]}")
    return r


def nsrun(ns, argv, **kw):
    return run(["ip", "netns", "exec", ns] + argv, **kw)


# ---- /proc helpers ------------------------------------------------------------

def proc_tree(pid):
    """pid and all its descendants."""
    children = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                st = f.read()
        except OSError:
            continue
        ppid = int(st[st.rfind(")") + 2:].split()[1])
        children.setdefault(ppid, []).append(int(d))
    res, todo = [], [pid]
    while todo:
        p = todo.pop()
        res.append(p)
        todo.extend(children.get(p, []))
    return res


def cpu_ticks(pids):
    total = 0
    for root in pids:
        for p in proc_tree(root):
            try:
                with open(f"/proc/{p}/stat") as f:
                    st = f.read()
            except OSError:
                continue
            fields = st[st.rfind(")") + 2:].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total


def vm_kib(pid, key="VmRSS"):
    total = 0
    for p in proc_tree(pid):
        try:
            with open(f"/proc/{p}/status") as f:
                for line in f:
                    if line.startswith(key + ":"):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total


def rollup_kib(pid, key="Pss"):
    """A field of /proc/PID/smaps_rollup summed over pid and its descendants."""
    total = 0
    for p in proc_tree(pid):
        try:
            with open(f"/proc/{p}/smaps_rollup") as f:
                for line in f:
                    if line.startswith(key + ":"):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total


def rss_each_kib(pid):
    """VmRSS of pid and of each descendant, in process-tree order."""
    return [vm_kib_one(p) for p in proc_tree(pid)]


def vm_kib_one(pid, key="VmRSS"):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


class Other:
    """CPU used meanwhile by processes that are not the benchmark's: every
    process outside our namespaces except this script and kernel threads.
    On a shared 2-core machine a run with more than DISTURBED cores of other
    load is marked '*' in the tables."""

    def __init__(self, ctx):
        self.ctx = ctx
        self.t0 = self._ticks()
        self.w0 = time.monotonic()

    def _ticks(self):
        ours = set()
        for ns in self.ctx.ns:
            try:
                ours.add(os.stat(f"/run/netns/{ns}").st_ino)
            except OSError:
                pass
        me = os.getpid()
        t = {}
        for d in os.listdir("/proc"):
            if not d.isdigit() or int(d) == me:
                continue
            try:
                with open(f"/proc/{d}/stat") as f:
                    st = f.read()
                fl = st[st.rfind(")") + 2:].split()
                if int(fl[6]) & 0x00200000 or int(fl[1]) == me:  # PF_KTHREAD, our child
                    continue
                if ours and os.stat(f"/proc/{d}/ns/net").st_ino in ours:
                    continue
            except (OSError, IndexError, ValueError):
                continue
            t[d] = int(fl[11]) + int(fl[12])
        return t

    @classmethod
    def sample(cls, ctx, window=1.0):
        o = cls(ctx)
        time.sleep(window)
        return o.cores()

    def cores(self):
        t1 = self._ticks()
        dt = max(time.monotonic() - self.w0, 1e-3)
        return sum(v - self.t0.get(p, 0) for p, v in t1.items()) / HZ / dt


DISTURBED = float(os.environ.get("BENCH_DISTURBED_CORES", "0.25"))


def runs_list(rs, key, digits=0):
    """'588, 566*': the runs, '*' where other load exceeded DISTURBED cores."""
    return ", ".join(f"{r[key]:.{digits}f}" + ("*" if r.get("other", 0) > DISTURBED else "")
                     for r in rs if r.get(key) is not None) or "failed"


def machine_busy_ticks():
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    idle = v[3] + (v[4] if len(v) > 4 else 0)
    return sum(v[:8]) - idle


# ---- keys and tunnels ---------------------------------------------------------

def genkey():
    priv = run(["wg", "genkey"]).stdout.strip()
    pub = run(["wg", "pubkey"], input=priv + "\n").stdout.strip()
    return priv, pub


def wg_set(ctx, ns, ifname, args):
    nsrun(ns, ["wg", "set", ifname] + args)


class Tunnel:
    """One implementation's tunnel between namespaces A and B."""

    def __init__(self, impl, ip_a, ip_b, pid_a=None, pid_b=None, if_a=None, if_b=None,
                 proc_a=None, proc_b=None):
        self.impl, self.ip_a, self.ip_b = impl, ip_a, ip_b
        self.pid_a, self.pid_b, self.if_a, self.if_b = pid_a, pid_b, if_a, if_b
        self.proc_a, self.proc_b = proc_a, proc_b

    @property
    def pids(self):
        return [p for p in (self.pid_a, self.pid_b) if p]


def make_pair(ctx, tag):
    """Two namespaces joined by a veth pair: 10.201.0.1 (A) -- 10.201.0.2 (B)."""
    ns_a = ctx.ns_new(tag + "a")
    ns_b = ctx.ns_new(tag + "b")
    va, vb = ctx.ifname(tag + "va"), ctx.ifname(tag + "vb")
    ctx.veth(ns_a, va, ns_b, vb)
    run(["ip", "-n", ns_a, "addr", "add", VETH_A + "/24", "dev", va])
    run(["ip", "-n", ns_b, "addr", "add", VETH_B + "/24", "dev", vb])
    return ns_a, ns_b


def make_tunnel(ctx, impl, k, ns_a, ns_b, tag):
    """Tunnel number k of `impl`: inner 10.210.k.1 (A) <-> 10.210.k.2 (B), MTU 1420."""
    if_a, if_b = ctx.ifname(f"{tag}{k}a"), ctx.ifname(f"{tag}{k}b")
    port_a, port_b = 51000 + k, 52000 + k
    ip_a, ip_b = f"10.210.{k}.1", f"10.210.{k}.2"
    pa = ctx.start_daemon(impl, ns_a, if_a)
    pb = ctx.start_daemon(impl, ns_b, if_b)
    priv_a, pub_a = genkey()
    priv_b, pub_b = genkey()
    for ns, ifn, priv, port, peer, peer_ip, ep, my_ip in (
            (ns_a, if_a, priv_a, port_a, pub_b, ip_b, f"{VETH_B}:{port_b}", ip_a),
            (ns_b, if_b, priv_b, port_b, pub_a, ip_a, f"{VETH_A}:{port_a}", ip_b)):
        kf = ctx.path(f"key-{ifn}")
        with open(kf, "w") as f:
            f.write(priv + "\n")
        os.chmod(kf, 0o600)
        wg_set(ctx, ns, ifn, ["private-key", kf, "listen-port", str(port), "peer", peer,
                              "allowed-ips", peer_ip + "/32", "endpoint", ep])
        run(["ip", "-n", ns, "link", "set", ifn, "mtu", "1420"])
        run(["ip", "-n", ns, "addr", "add", my_ip + "/24", "dev", ifn])
        run(["ip", "-n", ns, "link", "set", ifn, "up"])
    t = Tunnel(impl, ip_a, ip_b, pa.pid, pb.pid, if_a, if_b, pa, pb)
    # handshake and a working path before anything is measured
    for _ in range(3):
        r = nsrun(ns_a, ["ping", "-n", "-c", "3", "-i", "0.2", "-W", "1", ip_b], check=False)
        if " 0 received" not in r.stdout and r.returncode == 0:
            return t
    raise BenchError(f"{impl}: no ping through the tunnel {ip_a} -> {ip_b}")


def make_all_tunnels(ctx, ns_a, ns_b, tag, with_veth=True):
    tunnels = {}
    for k, impl in enumerate(IMPL_ORDER, 1):
        try:
            tunnels[impl] = make_tunnel(ctx, impl, k, ns_a, ns_b, tag)
        except BenchError as e:
            log(f"SKIP {impl}: {e}")
    if with_veth:
        tunnels["veth"] = Tunnel("veth", VETH_A, VETH_B)
    return tunnels


# ---- iperf3 -----------------------------------------------------------------

def start_iperf_server(ctx, ns, port=5201):
    p = ctx.spawn(ns, ["iperf3", "-s", "-p", str(port)], "iperf3-server")
    for _ in range(100):
        r = nsrun(ns, ["ss", "-Htln", f"sport = :{port}"], check=False)
        if r.stdout.strip():
            return p
        time.sleep(0.05)
    raise BenchError("iperf3 server did not start")


def iperf(ns, dst, seconds, extra=(), port=5201):
    argv = ["iperf3", "-c", dst, "-p", str(port), "-t", str(seconds), "-J"] + list(extra)
    last = None
    for attempt in range(3):
        r = nsrun(ns, argv, check=False, timeout=seconds + 60)
        try:
            d = json.loads(r.stdout)
        except ValueError:
            d = {"error": (r.stdout + r.stderr).strip()[:300] or f"exit {r.returncode}"}
        if "error" not in d:
            return d
        last = d["error"]
        time.sleep(1)
    raise BenchError(f"iperf3 {' '.join(argv[1:])}: {last}")


# ---- statistics and tables ------------------------------------------------------

def mean(xs):
    xs = [x for x in xs if x is not None]
    return statistics.fmean(xs) if xs else None


def fmt(v, digits=1):
    if v is None:
        return "n/a"
    if isinstance(v, int):
        return str(v)
    if abs(v) >= 1000:
        return f"{v:.0f}"
    if abs(v) >= 100:
        return f"{v:.{max(digits - 1, 0)}f}" if digits > 1 else f"{v:.0f}"
    return f"{v:.{digits}f}"


def ratio(v, ref):
    if v is None or ref in (None, 0):
        return None
    return v / ref


def table(headers, rows):
    w = [max(len(str(h)), *(len(str(r[i])) for r in rows)) if rows else len(str(h))
         for i, h in enumerate(headers)]
    out("| " + " | ".join(str(h).ljust(w[i]) for i, h in enumerate(headers)) + " |")
    out("|" + "|".join("-" * (x + 2) for x in w) + "|")
    for r in rows:
        out("| " + " | ".join(str(c).ljust(w[i]) for i, c in enumerate(r)) + " |")


def result(part, metric, impl, value, unit, ref_value=None, better=None):
    r = ratio(value, ref_value)
    rs = f" ratio_vs_{REF}={r:.3f}" if r is not None else ""
    b = f" better={better}" if better else ""
    out(f"RESULT {part} {metric} {impl} {fmt(value, 2)} {unit}{rs}{b}")


# ---- part 1: TCP throughput -------------------------------------------------

def part_throughput(ctx):
    ns_a, ns_b = make_pair(ctx, "t")
    tunnels = make_all_tunnels(ctx, ns_a, ns_b, "t")
    start_iperf_server(ctx, ns_b)
    tests = [("tcp1", []), ("tcp4", ["-P", "4"])]
    order = [i for i in IMPL_ORDER if i in tunnels] + ["veth"]
    runs = {}  # (test, impl) -> list of dicts
    for rnd in range(1, ROUNDS + 1):
        for test, extra in tests:
            for impl in order:
                t = tunnels[impl]
                oth = Other(ctx)
                c0, m0, w0 = cpu_ticks(t.pids), machine_busy_ticks(), time.monotonic()
                try:
                    d = iperf(ns_a, t.ip_b, SECONDS, extra)
                except BenchError as e:
                    log(f"{test} {impl} round {rnd}: {e}")
                    continue
                c1, m1, w1 = cpu_ticks(t.pids), machine_busy_ticks(), time.monotonic()
                e = d["end"]
                rcv = e["sum_received"]
                gb = rcv["bytes"] / 1e9
                cpu_s = (c1 - c0) / HZ if t.pids else None
                rec = {
                    "mbps": rcv["bits_per_second"] / 1e6,
                    "bytes": rcv["bytes"],
                    "retrans": e["sum_sent"].get("retransmits"),
                    "cpu_s": cpu_s,
                    "cpu_per_gb": cpu_s / gb if cpu_s is not None and gb > 0 else None,
                    "busy_cores": (m1 - m0) / HZ / (w1 - w0),
                    "other": oth.cores(),
                }
                runs.setdefault((test, impl), []).append(rec)
                out(f"RUN throughput round={rnd} test={test} impl={impl} "
                    f"mbit_s={rec['mbps']:.1f} bytes={rec['bytes']} retransmits={rec['retrans']} "
                    f"tunnel_cpu_s={fmt(cpu_s, 2)} cpu_s_per_gb={fmt(rec['cpu_per_gb'], 2)} "
                    f"machine_busy_cores={rec['busy_cores']:.2f} other_cores={rec['other']:.2f}")
    ctx.release()

    out()
    out(f"## TCP throughput (iperf3, {SECONDS} s per run, {ROUNDS} rounds, A->B, inner MTU 1420)")
    out()
    headers = ["test", "impl", "Mbit/s (mean)", "runs", "ratio", "retransmits",
               "tunnel CPU s", "CPU s/GB", "CPU/GB ratio", "busy cores", "other load"]
    rows = []
    for test, _ in tests:
        ref = runs.get((test, REF), [])
        ref_mbps = mean([r["mbps"] for r in ref])
        ref_cpg = mean([r["cpu_per_gb"] for r in ref])
        for impl in order:
            rs = runs.get((test, impl), [])
            mb = mean([r["mbps"] for r in rs])
            cpg = mean([r["cpu_per_gb"] for r in rs])
            rows.append([
                "1 stream" if test == "tcp1" else "4 streams (-P 4)", impl, fmt(mb, 0),
                runs_list(rs, "mbps"), fmt(ratio(mb, ref_mbps), 2),
                fmt(mean([r["retrans"] for r in rs]), 0),
                fmt(mean([r["cpu_s"] for r in rs]), 2), fmt(cpg, 2),
                fmt(ratio(cpg, ref_cpg), 2), fmt(mean([r["busy_cores"] for r in rs]), 2),
                fmt(mean([r["other"] for r in rs]), 2)])
    table(headers, rows)
    out(f"(busy cores: whole machine; other load: cores used by processes not of this benchmark; "
        f"* = run with other load > {DISTURBED})")
    out()
    for test, _ in tests:
        ref = runs.get((test, REF), [])
        ref_mbps = mean([r["mbps"] for r in ref])
        ref_cpg = mean([r["cpu_per_gb"] for r in ref])
        for impl in order:
            rs = runs.get((test, impl), [])
            result("throughput", f"{test}_mbit_s", impl, mean([r["mbps"] for r in rs]),
                   "Mbit/s", ref_mbps, "higher")
            rt = mean([r["retrans"] for r in rs])
            result("throughput", f"{test}_retransmits", impl,
                   round(rt) if rt is not None else None, "segments")
            if impl != "veth":
                result("throughput", f"{test}_cpu_s_per_gb", impl,
                       mean([r["cpu_per_gb"] for r in rs]), "CPU-s/GB", ref_cpg, "lower")


# ---- part 2: UDP -----------------------------------------------------------------

def part_udp(ctx):
    ns_a, ns_b = make_pair(ctx, "u")
    tunnels = make_all_tunnels(ctx, ns_a, ns_b, "u")
    start_iperf_server(ctx, ns_b)
    tests = [("udp64", 64), ("udp1372", 1372)]
    order = [i for i in IMPL_ORDER if i in tunnels] + ["veth"]
    runs = {}
    for rnd in range(1, ROUNDS + 1):
        for test, size in tests:
            for impl in order:
                t = tunnels[impl]
                oth = Other(ctx)
                c0 = cpu_ticks(t.pids)
                try:
                    d = iperf(ns_a, t.ip_b, UDP_SECONDS, ["-u", "-l", str(size), "-b", "0"])
                except BenchError as e:
                    log(f"{test} {impl} round {rnd}: {e}")
                    continue
                c1 = cpu_ticks(t.pids)
                e = d["end"]
                snt, rcv = e["sum_sent"], e["sum_received"]
                secs = rcv["seconds"] or UDP_SECONDS
                rx_pkts = rcv["bytes"] / size
                rec = {
                    "tx_pps": snt["packets"] / (snt["seconds"] or UDP_SECONDS),
                    "rx_pps": rx_pkts / secs,
                    "rx_mbps": rcv["bits_per_second"] / 1e6,
                    "loss": rcv.get("lost_percent"),
                    "cpu_s": (c1 - c0) / HZ if t.pids else None,
                    "other": oth.cores(),
                }
                runs.setdefault((test, impl), []).append(rec)
                out(f"RUN udp round={rnd} test={test} impl={impl} sent_pps={rec['tx_pps']:.0f} "
                    f"received_pps={rec['rx_pps']:.0f} received_mbit_s={rec['rx_mbps']:.1f} "
                    f"loss_pct={fmt(rec['loss'], 1)} tunnel_cpu_s={fmt(rec['cpu_s'], 2)} "
                    f"other_cores={rec['other']:.2f}")
    ctx.release()

    out()
    out(f"## UDP (iperf3 -u -b 0, {UDP_SECONDS} s per run, {ROUNDS} rounds; received = what "
        "reached the iperf3 server)")
    out()
    headers = ["test", "impl", "sent pkt/s", "received pkt/s", "runs (rx pkt/s)",
               "received Mbit/s", "ratio", "loss %", "tunnel CPU s", "other load"]
    rows = []
    for test, size in tests:
        ref = runs.get((test, REF), [])
        key = "rx_pps" if test == "udp64" else "rx_mbps"
        refv = mean([r[key] for r in ref])
        for impl in order:
            rs = runs.get((test, impl), [])
            v = mean([r[key] for r in rs])
            rows.append([f"-l {size}", impl, fmt(mean([r["tx_pps"] for r in rs]), 0),
                         fmt(mean([r["rx_pps"] for r in rs]), 0),
                         runs_list(rs, "rx_pps"),
                         fmt(mean([r["rx_mbps"] for r in rs]), 0), fmt(ratio(v, refv), 2),
                         fmt(mean([r["loss"] for r in rs]), 1),
                         fmt(mean([r["cpu_s"] for r in rs]), 2),
                         fmt(mean([r["other"] for r in rs]), 2)])
    table(headers, rows)
    out("(ratio: received pkt/s for -l 64, received Mbit/s for -l 1372; "
        f"* = run with other load > {DISTURBED} cores)")
    out()
    for test, size in tests:
        for key, unit, name in (("rx_pps", "pkt/s", "received_pps"),
                                ("rx_mbps", "Mbit/s", "received_mbit_s")):
            refv = mean([r[key] for r in runs.get((test, REF), [])])
            for impl in order:
                result("udp", f"{test}_{name}", impl,
                       mean([r[key] for r in runs.get((test, impl), [])]), unit, refv, "higher")


# ---- part 3: latency ---------------------------------------------------------------

def ping_times(ns, dst, count):
    r = nsrun(ns, ["ping", "-n", "-c", str(count), "-i", "0.01", "-W", "1", dst], check=False,
              timeout=count * 0.05 + 30)
    times = [float(x) for x in re.findall(r"time=([0-9.]+) ms", r.stdout)]
    m = re.search(r"(\d+) packets transmitted, (\d+) received", r.stdout)
    sent = int(m.group(1)) if m else count
    return times, sent


def pct(xs, p):
    if not xs:
        return None
    xs = sorted(xs)
    k = (len(xs) - 1) * p / 100
    f = int(k)
    c = min(f + 1, len(xs) - 1)
    return xs[f] + (xs[c] - xs[f]) * (k - f)


def part_latency(ctx):
    ns_a, ns_b = make_pair(ctx, "l")
    tunnels = make_all_tunnels(ctx, ns_a, ns_b, "l")
    start_iperf_server(ctx, ns_b)
    order = [i for i in IMPL_ORDER if i in tunnels] + ["veth"]
    samples = {}  # (state, impl) -> list of times
    sent = {}
    load_mbps = {}
    other = {}
    ping_secs = PING_COUNT * 0.01 + 1
    for rnd in range(1, ROUNDS + 1):
        for impl in order:
            t = tunnels[impl]
            oth = Other(ctx)
            ts, n = ping_times(ns_a, t.ip_b, PING_COUNT)
            other.setdefault(("idle", impl), []).append(oth.cores())
            samples.setdefault(("idle", impl), []).extend(ts)
            sent[("idle", impl)] = sent.get(("idle", impl), 0) + n
            out(f"RUN latency round={rnd} state=idle impl={impl} replies={len(ts)}/{n} "
                f"avg_ms={fmt(mean(ts), 3)} p50_ms={fmt(pct(ts, 50), 3)} "
                f"p99_ms={fmt(pct(ts, 99), 3)} max_ms={fmt(max(ts) if ts else None, 3)} "
                f"other_cores={other[('idle', impl)][-1]:.2f}")
            # under load: one TCP stream A->B while pinging A->B
            dur = int(ping_secs + 3)
            p = ctx.spawn(ns_a, ["iperf3", "-c", t.ip_b, "-t", str(dur), "-J"], "iperf3-load",
                          stdout=subprocess.PIPE)
            time.sleep(1.0)
            oth = Other(ctx)
            ts, n = ping_times(ns_a, t.ip_b, PING_COUNT)
            other.setdefault(("load", impl), []).append(oth.cores())
            try:
                so, _ = p.communicate(timeout=dur + 30)
                d = json.loads(so)
                mb = d["end"]["sum_received"]["bits_per_second"] / 1e6
            except Exception:
                mb = None
                ctx.stop(p)
            if p in ctx.procs:
                ctx.procs.remove(p)
            load_mbps.setdefault(impl, []).append(mb)
            samples.setdefault(("load", impl), []).extend(ts)
            sent[("load", impl)] = sent.get(("load", impl), 0) + n
            out(f"RUN latency round={rnd} state=load impl={impl} replies={len(ts)}/{n} "
                f"avg_ms={fmt(mean(ts), 3)} p50_ms={fmt(pct(ts, 50), 3)} "
                f"p99_ms={fmt(pct(ts, 99), 3)} max_ms={fmt(max(ts) if ts else None, 3)} "
                f"load_mbit_s={fmt(mb, 0)} other_cores={other[('load', impl)][-1]:.2f}")
            time.sleep(0.5)
    ctx.release()

    out()
    out(f"## Latency (ping -i 0.01, {PING_COUNT} per run x {ROUNDS} rounds; load = one iperf3 "
        "TCP stream A->B through the same tunnel)")
    out()
    headers = ["state", "impl", "replies", "min ms", "avg ms", "p50 ms", "p99 ms", "max ms",
               "avg ratio", "p99 ratio", "load Mbit/s", "other load"]
    rows = []
    for state in ("idle", "load"):
        ref = samples.get((state, REF), [])
        for impl in order:
            ts = samples.get((state, impl), [])
            rows.append([state, impl, f"{len(ts)}/{sent.get((state, impl), 0)}",
                         fmt(min(ts) if ts else None, 3), fmt(mean(ts), 3), fmt(pct(ts, 50), 3),
                         fmt(pct(ts, 99), 3), fmt(max(ts) if ts else None, 3),
                         fmt(ratio(mean(ts), mean(ref)), 2),
                         fmt(ratio(pct(ts, 99), pct(ref, 99)), 2),
                         fmt(mean(load_mbps.get(impl, [])), 0) if state == "load" else "",
                         fmt(mean(other.get((state, impl), [])), 2)])
    table(headers, rows)
    out()
    for state in ("idle", "load"):
        ref = samples.get((state, REF), [])
        for impl in order:
            ts = samples.get((state, impl), [])
            result("latency", f"{state}_rtt_avg_ms", impl, mean(ts), "ms", mean(ref), "lower")
            result("latency", f"{state}_rtt_p99_ms", impl, pct(ts, 99), "ms", pct(ref, 99),
                   "lower")


# ---- part 4: handshakes -------------------------------------------------------------

def parse_kv(line):
    d = {}
    for tok in line.split():
        if "=" in tok:
            k, v = tok.split("=", 1)
            d[k] = v
    return d


def part_handshake(ctx):
    if not os.access(HSGEN, os.X_OK):
        raise BenchError(f"{HSGEN} not built (bench/run-all builds it)")
    ns_a, ns_b = make_pair(ctx, "h")
    src_net = "10.88.0.0"
    # A answers for every address of 10.88.0.0/16 (hsgen's sources); B routes them via A.
    run(["ip", "-n", ns_a, "route", "add", "local", "10.88.0.0/16", "dev", "lo"])
    run(["ip", "-n", ns_b, "route", "add", "10.88.0.0/16", "via", VETH_A])
    per_client = max(2, -(-HS_RATE * HS_SECONDS // HS_CLIENTS) + 1)
    pool, conf = ctx.path("hs.pool"), ctx.path("hs.conf")
    t0 = time.monotonic()
    r = run([HSGEN, "gen", "--clients", str(HS_CLIENTS), "--per-client", str(per_client),
             "--pool", pool, "--conf", conf, "--port", "51820", "--jobs",
             str(os.cpu_count() or 1)], timeout=600)
    out("RUN handshake " + r.stdout.strip())
    log(f"pool of {HS_CLIENTS * per_client} initiations made in {time.monotonic() - t0:.1f} s")
    modes = [("flood", []), ("mac2", ["--mac2", "--sources", str(HS_SOURCES),
                                      "--src-net", src_net])]
    res = {}  # (mode, impl) -> list of dicts
    for rnd in range(1, ROUNDS + 1):
        for mode, extra in modes:
            for k, impl in enumerate(IMPL_ORDER, 1):
                ifn = ctx.ifname(f"h{k}")
                try:
                    p = ctx.start_daemon(impl, ns_b, ifn)
                except BenchError as e:
                    log(f"SKIP handshake {impl}: {e}")
                    continue
                try:
                    nsrun(ns_b, ["wg", "setconf", ifn, conf], timeout=120)
                    run(["ip", "-n", ns_b, "link", "set", ifn, "up"])
                    time.sleep(0.3)
                    oth = Other(ctx)
                    c0 = cpu_ticks([p.pid])
                    r = nsrun(ns_a, [HSGEN, "blast", "--pool", pool, "--to", f"{VETH_B}:51820",
                                     "--seconds", str(HS_SECONDS), "--rate", str(HS_RATE)] + extra,
                              timeout=HS_SECONDS + 60)
                    c1 = cpu_ticks([p.pid])
                    d = parse_kv(r.stdout)
                    br = [int(x) for x in d["per_second_responses"].split(",")]
                    bc = [int(x) for x in d["per_second_cookies"].split(",")]
                    steady = slice(1, HS_SECONDS)  # skip the first second (cookie warm-up)
                    n_steady = max(HS_SECONDS - 1, 1)
                    rec = {
                        "resp_s": sum(br[steady]) / n_steady,
                        "cookie_s": sum(bc[steady]) / n_steady,
                        "resp_total_s": float(d["resp_per_s"]),
                        "cookie_total_s": float(d["cookie_per_s"]),
                        "sent_s": float(d["sent_per_s"]),
                        "cores": (c1 - c0) / HZ / HS_SECONDS,
                        "wrapped": d.get("wrapped") == "1",
                        "other": oth.cores(),
                    }
                    res.setdefault((mode, impl), []).append(rec)
                    out(f"RUN handshake round={rnd} mode={mode} impl={impl} "
                        f"steady_responses_per_s={rec['resp_s']:.0f} "
                        f"steady_cookies_per_s={rec['cookie_s']:.0f} "
                        f"responder_cores={rec['cores']:.2f} other_cores={rec['other']:.2f} "
                        f"{r.stdout.strip()}")
                except (BenchError, KeyError, ValueError, subprocess.TimeoutExpired) as e:
                    log(f"handshake {mode} {impl} round {rnd}: {e}")
                finally:
                    ctx.stop_daemon(p, ifn)
                    time.sleep(0.3)
    ctx.release()

    out()
    out(f"## Handshakes ({HS_CLIENTS} client identities, {HS_RATE} initiations/s offered for "
        f"{HS_SECONDS} s, {ROUNDS} rounds; per-second rates over seconds 1..{HS_SECONDS - 1})")
    out("flood: one source address, no MAC2 (cookie replies ignored).")
    out(f"mac2: {HS_SOURCES} source addresses; cookie replies are decrypted and every later "
        "initiation from that address carries a valid MAC2 (legitimate clients under load).")
    out()
    headers = ["mode", "impl", "sent/s", "responses/s", "runs", "ratio", "cookie replies/s",
               "responder CPU cores", "other load"]
    rows = []
    for mode, _ in modes:
        refv = mean([r["resp_s"] for r in res.get((mode, REF), [])])
        for impl in IMPL_ORDER:
            rs = res.get((mode, impl), [])
            v = mean([r["resp_s"] for r in rs])
            rows.append([mode, impl, fmt(mean([r["sent_s"] for r in rs]), 0), fmt(v, 0),
                         runs_list(rs, "resp_s"),
                         fmt(ratio(v, refv), 2), fmt(mean([r["cookie_s"] for r in rs]), 0),
                         fmt(mean([r["cores"] for r in rs]), 2),
                         fmt(mean([r["other"] for r in rs]), 2)])
    table(headers, rows)
    out(f"(* = run with other load > {DISTURBED} cores)")
    if any(r["wrapped"] for v in res.values() for r in v):
        out("WARNING: the initiation pool wrapped (replayed initiations were sent)")
    out()
    for mode, _ in modes:
        refr = mean([r["resp_s"] for r in res.get((mode, REF), [])])
        refc = mean([r["cookie_s"] for r in res.get((mode, REF), [])])
        for impl in IMPL_ORDER:
            rs = res.get((mode, impl), [])
            result("handshake", f"{mode}_responses_per_s", impl, mean([r["resp_s"] for r in rs]),
                   "1/s", refr, "higher")
            result("handshake", f"{mode}_cookie_replies_per_s", impl,
                   mean([r["cookie_s"] for r in rs]), "1/s", refc)


# ---- part 5: scale ---------------------------------------------------------------------

def write_scale_conf(path, n, priv):
    lines = [f"[Interface]\nPrivateKey = {priv}\nListenPort = 51820\n"]
    rnd = secrets.token_bytes(32 * n)
    for i in range(n):
        pub = base64.b64encode(rnd[32 * i:32 * i + 32]).decode()
        a = i + 1
        lines.append(f"[Peer]\nPublicKey = {pub}\n"
                     f"AllowedIPs = 10.{(a >> 16) & 255}.{(a >> 8) & 255}.{a & 255}/32\n")
    with open(path, "w") as f:
        f.write("\n".join(lines))


def part_scale(ctx):
    ns = ctx.ns_new("s")
    priv, _ = genkey()
    res, errors = {}, {}
    for n in SCALE_PEERS:
        conf = ctx.path(f"scale-{n}.conf")
        write_scale_conf(conf, n, priv)
        for rnd in range(1, SCALE_ROUNDS + 1):
            for k, impl in enumerate(IMPL_ORDER, 1):
                ifn = ctx.ifname(f"s{k}")
                try:
                    p = ctx.start_daemon(impl, ns, ifn)
                except BenchError as e:
                    log(f"SKIP scale {impl}: {e}")
                    continue
                try:
                    run(["ip", "-n", ns, "link", "set", ifn, "up"])
                    time.sleep(0.2)
                    rss0 = vm_kib(p.pid)
                    oth = Other(ctx)
                    t0 = time.monotonic()
                    nsrun(ns, ["wg", "setconf", ifn, conf], timeout=900)
                    t_set = time.monotonic() - t0
                    time.sleep(0.5)
                    rss1 = vm_kib(p.pid)
                    t0 = time.monotonic()
                    r = subprocess.run(["ip", "netns", "exec", ns, "wg", "show", ifn],
                                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                       timeout=900)
                    t_show = time.monotonic() - t0
                    if r.returncode != 0:
                        raise BenchError(f"wg show failed: {r.stderr.decode()[:200]}")
                    cnt = len(nsrun(ns, ["wg", "show", ifn, "peers"], timeout=900).stdout.split())
                    rec = {"set_s": t_set, "rss0": rss0, "rss1": rss1, "show_s": t_show,
                           "peers": cnt, "hwm": vm_kib(p.pid, "VmHWM"), "other": oth.cores()}
                    res.setdefault((n, impl), []).append(rec)
                    out(f"RUN scale peers={n} round={rnd} impl={impl} setconf_s={t_set:.2f} "
                        f"rss_before_kib={rss0} rss_after_kib={rss1} hwm_kib={rec['hwm']} "
                        f"show_s={t_show:.2f} peers_listed={cnt} other_cores={rec['other']:.2f}")
                except (BenchError, subprocess.TimeoutExpired) as e:
                    log(f"scale {n} {impl}: {e}")
                    why = "failed"
                    try:
                        with open(p.logpath, errors="replace") as f:
                            if "too many peers" in f.read():
                                why = "refused: too many peers"
                    except OSError:
                        pass
                    errors[(n, impl)] = why
                    out(f"RUN scale peers={n} round={rnd} impl={impl} error='{why}'")
                finally:
                    ctx.stop_daemon(p, ifn)
                    time.sleep(0.3)
        os.unlink(conf)
    ctx.release()

    out()
    out("## Scale (wg setconf of N peers, random 32-byte public keys, one /32 allowed IP each, "
        "interface up)")
    out()
    headers = ["peers", "impl", "setconf s", "ratio", "VmRSS before MiB", "VmRSS after MiB",
               "ratio", "VmHWM MiB", "wg show s", "ratio", "peers listed", "other load"]
    rows = []
    for n in SCALE_PEERS:
        ref = res.get((n, REF), [])
        rset, rrss, rshow = (mean([r[k] for r in ref]) for k in ("set_s", "rss1", "show_s"))
        for impl in IMPL_ORDER:
            rs = res.get((n, impl), [])
            if not rs and (n, impl) in errors:
                rows.append([n, impl, errors[(n, impl)]] + [""] * 9)
                continue
            s, m, sh = (mean([r[k] for r in rs]) for k in ("set_s", "rss1", "show_s"))
            rows.append([n, impl, fmt(s, 2), fmt(ratio(s, rset), 2),
                         fmt(mean([r["rss0"] / 1024 for r in rs]), 1),
                         fmt(m / 1024 if m is not None else None, 1), fmt(ratio(m, rrss), 2),
                         fmt(mean([r["hwm"] / 1024 for r in rs]), 1), fmt(sh, 2),
                         fmt(ratio(sh, rshow), 2), fmt(mean([r["peers"] for r in rs]), 0),
                         fmt(mean([r["other"] for r in rs]), 2)])
    table(headers, rows)
    if any("too many" in v for v in errors.values()):
        out("(wireguard-go refuses a peer beyond its MaxPeers = 65536: `wg setconf` fails part way)")
    out()
    for n in SCALE_PEERS:
        ref = res.get((n, REF), [])
        for key, metric, unit, div in (("set_s", "setconf_s", "s", 1),
                                       ("rss1", "rss_after_mib", "MiB", 1024),
                                       ("show_s", "wg_show_s", "s", 1)):
            refv = mean([r[key] / div for r in ref])
            for impl in IMPL_ORDER:
                result("scale", f"{n}_peers_{metric}", impl,
                       mean([r[key] / div for r in res.get((n, impl), [])]), unit, refv, "lower")


# ---- part 6: memory ---------------------------------------------------------------------

def part_memory(ctx):
    ns_a, ns_b = make_pair(ctx, "m")
    tunnels = make_all_tunnels(ctx, ns_a, ns_b, "m", with_veth=False)
    start_iperf_server(ctx, ns_b)
    res = {}
    time.sleep(1)

    def sample(t):
        return {"rss_a": vm_kib(t.pid_a), "rss_b": vm_kib(t.pid_b),
                "pss_a": rollup_kib(t.pid_a), "pss_b": rollup_kib(t.pid_b),
                "anon_a": rollup_kib(t.pid_a, "Anonymous"), "anon_b": rollup_kib(t.pid_b, "Anonymous"),
                "each_a": rss_each_kib(t.pid_a), "each_b": rss_each_kib(t.pid_b)}
    for impl in IMPL_ORDER:
        if impl not in tunnels:
            continue
        t = tunnels[impl]
        idle = sample(t)
        oth = Other(ctx)
        try:
            d = iperf(ns_a, t.ip_b, MEM_BURST)
            mb = d["end"]["sum_received"]["bits_per_second"] / 1e6
        except BenchError as e:
            log(f"memory {impl}: {e}")
            mb = None
        time.sleep(0.5)
        after = sample(t)
        rec = {"idle": idle, "after": after, "hwm_a": vm_kib(t.pid_a, "VmHWM"),
               "hwm_b": vm_kib(t.pid_b, "VmHWM"), "mbps": mb,
               "threads_a": _threads(t.pid_a), "other": oth.cores()}
        res[impl] = rec

        def each(v):
            return "+".join(str(x) for x in v)
        out(f"RUN memory impl={impl} idle_rss_kib_sender={idle['rss_a']} idle_rss_kib_receiver={idle['rss_b']} "
            f"after_rss_kib_sender={after['rss_a']} after_rss_kib_receiver={after['rss_b']} "
            f"idle_pss_kib_sender={idle['pss_a']} idle_pss_kib_receiver={idle['pss_b']} "
            f"after_pss_kib_sender={after['pss_a']} after_pss_kib_receiver={after['pss_b']} "
            f"after_anon_kib_sender={after['anon_a']} after_anon_kib_receiver={after['anon_b']} "
            f"after_rss_kib_each_sender={each(after['each_a'])} after_rss_kib_each_receiver={each(after['each_b'])} "
            f"hwm_kib_sender={rec['hwm_a']} hwm_kib_receiver={rec['hwm_b']} "
            f"burst_mbit_s={fmt(mb, 0)} threads={rec['threads_a']} other_cores={rec['other']:.2f}")
    ctx.release()

    out()
    out(f"## Memory of one tunnel (VmRSS summed over the daemon's processes; sender = iperf3 "
        f"client side; after = 0.5 s after a {MEM_BURST} s full-speed iperf3 TCP burst)")
    out()
    headers = ["impl", "idle sender MiB", "idle receiver MiB", "ratio (idle)",
               "after sender MiB", "after receiver MiB", "ratio (after)", "after, per process MiB",
               "PSS idle / after MiB", "anon after MiB", "peak (HWM) MiB", "burst Mbit/s", "threads"]
    rows = []
    ref = res.get(REF)

    def both(r, when, key):
        return (r[when][key + "_a"] + r[when][key + "_b"]) / 2 if r else None

    def mib(v):
        return fmt(v / 1024, 1)
    for impl in IMPL_ORDER:
        r = res.get(impl)
        if not r:
            rows.append([impl] + ["failed"] * (len(headers) - 1))
            continue
        a = r["after"]
        rows.append([impl, mib(r["idle"]["rss_a"]), mib(r["idle"]["rss_b"]),
                     fmt(ratio(both(r, "idle", "rss"), both(ref, "idle", "rss")), 2),
                     mib(a["rss_a"]), mib(a["rss_b"]),
                     fmt(ratio(both(r, "after", "rss"), both(ref, "after", "rss")), 2),
                     " / ".join("+".join(mib(x) for x in a[k]) for k in ("each_a", "each_b")),
                     f"{mib(both(r, 'idle', 'pss'))} / {mib(both(r, 'after', 'pss'))}",
                     mib(both(r, "after", "anon")),
                     mib(max(r["hwm_a"], r["hwm_b"])), fmt(r["mbps"], 0), r["threads_a"]])
    table(headers, rows)
    out("(ratios use the mean of the two ends; per process: sender / receiver, the first process "
        "first (altuntun: monitor + protocol process); PSS and anon (Anonymous of smaps_rollup) "
        "are means of the two ends; peak (HWM): the largest VmHWM sum, start-up included)")
    out()
    for impl in IMPL_ORDER:
        r = res.get(impl)
        for when, metric in (("idle", "idle_rss_mib"), ("after", "after_burst_rss_mib")):
            v = both(r, when, "rss")
            refv = both(ref, when, "rss")
            result("memory", metric, impl, v / 1024 if v is not None else None, "MiB",
                   refv / 1024 if refv is not None else None, "lower")
        for when, metric in (("idle", "idle_pss_mib"), ("after", "after_burst_pss_mib")):
            v = both(r, when, "pss")
            refv = both(ref, when, "pss")
            result("memory", metric, impl, v / 1024 if v is not None else None, "MiB",
                   refv / 1024 if refv is not None else None, "lower")


def _threads(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("Threads:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


# ---- main ---------------------------------------------------------------------------

PARTS = {
    "throughput": part_throughput,
    "udp": part_udp,
    "latency": part_latency,
    "handshake": part_handshake,
    "scale": part_scale,
    "memory": part_memory,
}


def header():
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    rev = run(["git", "-C", REPO, "rev-parse", "--short", "HEAD"], check=False).stdout.strip()
    dirty = run(["git", "-C", REPO, "status", "--porcelain", "--untracked-files=no"],
                check=False).stdout.strip()
    out(f"# AltunTun benchmark, {time.strftime('%Y-%m-%d %H:%M:%S %Z')}")
    out(f"# machine: nproc={os.cpu_count()} cpu='{cpu}' kernel={os.uname().release} "
        f"mem={_meminfo('MemTotal') // 1024} MiB")
    out(f"# repo: {rev}{' (modified)' if dirty else ''}; loadavg at start: "
        f"{open('/proc/loadavg').read().split()[:3]}")
    out(f"# settings: BENCH_SECONDS={SECONDS} BENCH_ROUNDS={ROUNDS} "
        f"BENCH_UDP_SECONDS={UDP_SECONDS} BENCH_PING_COUNT={PING_COUNT} "
        f"BENCH_HS_SECONDS={HS_SECONDS} BENCH_HS_RATE={HS_RATE} BENCH_HS_CLIENTS={HS_CLIENTS} "
        f"BENCH_HS_SOURCES={HS_SOURCES} BENCH_SCALE_PEERS={','.join(map(str, SCALE_PEERS))} "
        f"BENCH_MEM_SECONDS={MEM_BURST}")
    IMPL_DESC["altuntun"] = os.environ.get("ALTUNTUN_DESC", IMPL_DESC["altuntun"])
    IMPL_DESC["altuntun-base"] = os.environ.get("ALTUNTUN_BASE_DESC", IMPL_DESC["altuntun-base"])
    for impl in IMPL_ORDER + ["veth"]:
        out(f"# {impl}: {IMPL_DESC.get(impl, impl)}")
    out(f"# altuntun-cli sha256 {sha256(ALTUNTUN_CLI)[:16]}; "
        f"options: {' '.join(impl_cmd('altuntun', 'IFNAME')[1:])}")
    if ALTUNTUN_BASE_CLI:
        out(f"# altuntun-base sha256 {sha256(ALTUNTUN_BASE_CLI)[:16]}")
    out(f"# ratios are value / {REF}'s value (same run)")


def _meminfo(key):
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def other_tunnel_daemons():
    """Other wireguard-go / altuntun processes on the machine (noise warning)."""
    n = 0
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                comm = open(f"/proc/{d}/comm").read().strip()
            except OSError:
                continue
            if comm.startswith(("wireguard-go", "altuntun-cli", "iperf3")):
                n += 1
    return n


def main(argv):
    global ALTUNTUN_CLI, ALTUNTUN_BASE_CLI, HSGEN
    parts = argv or list(PARTS)
    bad = [p for p in parts if p not in PARTS]
    if bad:
        sys.exit(f"bench: unknown part(s) {' '.join(bad)}; parts: {' '.join(PARTS)}")
    if os.geteuid() != 0:
        sys.exit("bench: must run as root (network namespaces, TUN devices)")
    for path, what in ((ALTUNTUN_CLI, "altuntun-cli (make all)"), (WGGO_DEBIAN, "Debian wireguard-go"),
                       (WGGO_MODERN, "modern wireguard-go")):
        if not os.access(path, os.X_OK):
            sys.exit(f"bench: {what} not found at {path}")
    for tool in ("iperf3", "wg", "ip", "ping", "ss"):
        if not shutil.which(tool):
            sys.exit(f"bench: {tool} not found")

    ctx = Ctx()
    sigs = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)

    def on_signal(signum, frame):
        for s in sigs:  # one interruption is enough; cleanup must not be cut short
            signal.signal(s, signal.SIG_IGN)
        raise KeyboardInterrupt(f"signal {signum}")
    for s in sigs:
        signal.signal(s, on_signal)
    # Measure copies: a rebuild of build/ during the run changes nothing here.
    ALTUNTUN_CLI = snapshot(ctx, ALTUNTUN_CLI)
    if ALTUNTUN_BASE_CLI:
        ALTUNTUN_BASE_CLI = snapshot(ctx, ALTUNTUN_BASE_CLI, "altuntun-cli-base")
    if os.access(HSGEN, os.X_OK):
        HSGEN = snapshot(ctx, HSGEN)

    status = 0
    t_all = time.monotonic()
    try:
        header()
        busy = other_tunnel_daemons()
        if busy:
            out(f"# WARNING: {busy} other wireguard-go/altuntun-cli/iperf3 processes are running "
                "on this machine; figures may be disturbed")
        for part in parts:
            out()
            log(f"part {part} starts; loadavg {open('/proc/loadavg').read().split()[0]}; "
                f"other processes use {Other.sample(ctx):.2f} cores")
            t0 = time.monotonic()
            try:
                PARTS[part](ctx)
            except BenchError as e:
                out(f"FAILED part {part}: {e}")
                status = 1
            finally:
                ctx.release()
            log(f"part {part} took {time.monotonic() - t0:.0f} s")
        out()
        out(f"# total {time.monotonic() - t_all:.0f} s; loadavg at end: "
            f"{open('/proc/loadavg').read().split()[:3]}")
    except KeyboardInterrupt as e:
        out(f"# interrupted ({e}); cleaning up")
        status = 130
    finally:
        for s in sigs:
            signal.signal(s, signal.SIG_IGN)
        ctx.cleanup()
    return status


def snapshot(ctx, path, name=None):
    dst = ctx.path(name or os.path.basename(path))
    shutil.copy2(path, dst)
    return dst


def sha256(path):
    import hashlib
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
