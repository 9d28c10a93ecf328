#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Abuses a UAPI socket the way a broken or hostile local client would.

    uapi_abuse.py SOCKET IFNAME PID

PID is the process serving SOCKET (its RSS is reported). Prints one line per
check: "PASS text", "FAIL text" or "INFO text"; tests/netns/uapi_abuse.sh
turns them into its results. A client "is answered" when it reads
errno=-N and the end of the connection, "is dropped" when the server closes
it (EOF or a reset) without an answer; what must never happen is a client
left waiting, or another client kept out.
"""
import os
import re
import selectors
import socket
import subprocess
import sys
import threading
import time

path, ifname, pid = sys.argv[1], sys.argv[2], int(sys.argv[3])
ERRNO_NEG = re.compile(rb"^errno=-[0-9]+\n\n$")
ANSWERS = re.compile(rb"^(errno=-[0-9]+\n\n)+$")
MiB = 1 << 20


def report(good, text):
    print(("PASS " if good else "FAIL ") + text, flush=True)


def info(text):
    print("INFO " + text, flush=True)


def rss():
    with open("/proc/%d/status" % pid) as f:
        st = dict(line.split(":", 1) for line in f)
    return int(st["VmRSS"].split()[0]), int(st["VmHWM"].split()[0])


def conn(timeout=10):
    """A connected client. A full listen backlog answers EAGAIN at once (a
    socket with a timeout does not block in connect): retry for up to 10 s."""
    deadline = time.time() + 10
    while True:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(timeout)
        try:
            s.connect(path)
            return s
        except BlockingIOError:
            s.close()
            if time.time() > deadline:
                raise
            time.sleep(0.01)


def read_to_end(s, timeout=5):
    """Everything until EOF; (bytes, how) with how one of eof, reset, timeout."""
    s.settimeout(timeout)
    buf = b""
    try:
        while True:
            b = s.recv(65536)
            if not b:
                return buf, "eof"
            buf += b
    except socket.timeout:
        return buf, "timeout"
    except (ConnectionResetError, BrokenPipeError):
        return buf, "reset"


def answered_or_dropped(name, s):
    """The client gets one or more errno=-N answers (the connection may stay
    open for the next request, as with wireguard-go) or is dropped."""
    s.settimeout(5)
    buf, how = b"", "timeout"
    try:
        while True:
            b = s.recv(65536)
            if not b:
                how = "eof"
                break
            buf += b
            if ANSWERS.match(buf):
                s.settimeout(0.2)  # closed after it, or kept open: both fine
    except socket.timeout:
        how = "kept open" if buf else "timeout"
    except (ConnectionResetError, BrokenPipeError):
        how = "reset"
    s.close()
    ok = (buf == b"" and how != "timeout") or bool(ANSWERS.match(buf))
    what = "dropped" if buf == b"" else " ".join(buf.decode(errors="replace").split())
    report(ok, "%s: %s (%s)" % (name, what, how))


def wg_show(label, limit=5.0):
    t = time.time()
    try:
        r = subprocess.run(["wg", "show", ifname, "public-key"], capture_output=True, timeout=15)
        rc, out = r.returncode, (r.stdout + r.stderr).decode(errors="replace").strip()
    except subprocess.TimeoutExpired:
        rc, out = -1, "timed out after 15 s"
    dt = time.time() - t
    report(rc == 0 and dt < limit, "%s: wg show answered in %.2f s (rc %d%s)" %
           (label, dt, rc, "" if rc == 0 else ": " + out))


def listen_port():
    r = subprocess.run(["wg", "show", ifname, "listen-port"], capture_output=True, timeout=15)
    return r.stdout.decode().strip()


def stream(s, head, filler, total):
    """Sends head then filler up to total bytes; returns (bytes sent, how it ended)."""
    s.settimeout(10)
    sent = 0
    try:
        s.sendall(head)
        sent = len(head)
        while sent < total:
            s.sendall(filler)
            sent += len(filler)
        return sent, "all sent"
    except (BrokenPipeError, ConnectionResetError):
        return sent, "closed by the server"
    except socket.timeout:
        return sent, "stalled"


rss0, _ = rss()
info("RSS at start %d KiB" % rss0)

# ---- garbage --------------------------------------------------------------
garbage = {
    "a text line": b"hello\n\n",
    "4 KiB of random bytes": os.urandom(4096),
    "NUL bytes": b"\0" * 100 + b"\n\n",
    "get=2": b"get=2\n\n",
    "get=1 with a body": b"get=1\nprivate_key=00\n\n",
    "an unknown key": b"set=1\nno_such_key=1\n\n",
    "a bad private key": b"set=1\nprivate_key=zz\n\n",
    "a key with no value": b"set=1\nlisten_port\n\n",
    "a port out of range": b"set=1\nlisten_port=65536\n\n",
    "binary after set=1": b"set=1\n" + os.urandom(2000) + b"\n\n",
}
for name, req in garbage.items():
    s = conn()
    s.sendall(req)
    answered_or_dropped("garbage, " + name, s)
port0 = listen_port()

# ---- overlong input -------------------------------------------------------
cases = [
    ("a 256 MiB private_key line", b"set=1\nprivate_key=", b"a" * MiB, 256 * MiB),
    ("a 256 MiB first line", b"get=1", b"x" * MiB, 256 * MiB),
    ("65 MiB of short valid lines, no end", b"set=1\n", b"persistent_keepalive_interval=0\n" * 32768,
     65 * MiB),
]
for name, head, filler, total in cases:
    s = conn()
    t = time.time()
    sent, how = stream(s, head, filler, total)
    buf, end = read_to_end(s, 10)
    s.close()
    dt = time.time() - t
    ok = how != "stalled" and end != "timeout" and (buf == b"" or ERRNO_NEG.match(buf))
    report(ok, "overlong, %s: %s after %.1f MiB (%s, %.1f s), answer %r" %
           (name, how, sent / MiB, end, dt, buf.decode(errors="replace").strip() or "none"))
    r, h = rss()
    info("after %s: RSS %d KiB, peak %d KiB" % (name, r, h))

# ---- several big requests at once: the shared budget -------------------------
results = []
all_sent = threading.Barrier(2, timeout=60)


def big(i):
    s = conn()
    sent, how = stream(s, b"set=1\n", b"persistent_keepalive_interval=0\n" * 32768, 34 * MiB)
    # Both held at once: neither ends before the other has sent everything.
    try:
        all_sent.wait()
    except threading.BrokenBarrierError:
        pass
    try:
        s.shutdown(socket.SHUT_WR)  # never finished: dropped unless refused before
    except OSError:
        pass
    buf, end = read_to_end(s, 10)
    s.close()
    results.append((sent, how, end, buf))


t = time.time()
threads = [threading.Thread(target=big, args=(i,)) for i in range(2)]
for th in threads:
    th.start()
for th in threads:
    th.join(60)
ok = len(results) == 2 and all(how != "stalled" and end != "timeout" for _, how, end, _ in results)
refused = sum(1 for _, how, _, buf in results if buf.startswith(b"errno=-12") or how != "all sent")
desc = "; ".join("%.0f MiB %s, answer %s" % (sent / MiB, how, buf.decode(errors="replace").strip() or "none")
                 for sent, how, _, buf in results)
report(ok and refused >= 1, "2 clients sending 34 MiB each at once (the second growing to 64 MiB would pass 128 MiB) (%.1f s): %s" % (time.time() - t, desc))
r, h = rss()
info("after 2 x 34 MiB at once: RSS %d KiB, peak %d KiB" % (r, h))

# ---- truncated requests -----------------------------------------------------
for name, req in [("set without its blank line", b"set=1\nlisten_port=5\n"),
                  ("set cut mid-line", b"set=1\nlisten_port=5"),
                  ("get without its blank line", b"get=1\n"),
                  ("half a first line", b"se")]:
    s = conn()
    s.sendall(req)
    s.shutdown(socket.SHUT_WR)
    answered_or_dropped("truncated, " + name + ", then EOF", s)
report(listen_port() == port0, "truncated requests changed nothing (listen port %s)" % listen_port())

# ---- silent clients ---------------------------------------------------------
silent = conn()
partial = conn()
partial.sendall(b"set=1\nlisten_port=5\n")
time.sleep(0.3)
wg_show("a silent client and one stopped mid-request connected")


def still_open(s):
    s.setblocking(False)
    try:
        return s.recv(1) != b""
    except BlockingIOError:
        return True
    except OSError:
        return False
    finally:
        s.settimeout(10)


report(still_open(silent) and still_open(partial),
       "the silent and the half-sent clients are still connected (closed only when idle)")

# ---- hundreds of clients at once ---------------------------------------------
N, N_SILENT = 300, 150
t = time.time()
many = [conn() for _ in range(N)]
info("%d clients connected in %.2f s" % (N, time.time() - t))
getters = many[N_SILENT:]
for s in getters:
    try:
        s.sendall(b"get=1\n\n")
    except OSError:
        pass  # dropped already: counted below
wg_show("%d clients connected (%d silent, %d sending get=1)" % (N + 2, N_SILENT + 2, N - N_SILENT),
        limit=10.0)
sel = selectors.DefaultSelector()
state = {}
for s in getters:
    s.setblocking(False)
    sel.register(s, selectors.EVENT_READ)
    state[s] = b""
answered = dropped = 0
deadline = time.time() + 15
while state and time.time() < deadline:
    for key, _ in sel.select(timeout=0.5):
        s = key.fileobj
        try:
            b = s.recv(65536)
        except (ConnectionResetError, BrokenPipeError):
            b = b""
        except BlockingIOError:
            continue
        if b:
            state[s] += b
            if state[s].endswith(b"errno=0\n\n"):
                answered += 1
                sel.unregister(s)
                del state[s]
            continue
        if b"errno=" in state[s]:
            answered += 1
        else:
            dropped += 1
        sel.unregister(s)
        del state[s]
report(not state, "%d get=1 clients among %d: %d answered, %d dropped, %d left waiting" %
       (len(getters), N, answered, dropped, len(state)))
report(answered > 0, "get=1 clients are answered while %d silent ones are connected" % N_SILENT)
open_silent = sum(1 for s in many[:N_SILENT] + [silent, partial] if still_open(s))
info("%d of %d silent clients still connected (the rest were dropped)" % (open_silent, N_SILENT + 2))
for s in many + [silent, partial]:
    s.close()
time.sleep(0.5)
wg_show("after everybody left")
r, h = rss()
info("RSS at the end %d KiB (start %d KiB), peak %d KiB" % (r, rss0, h))
print("RSS %d %d %d" % (rss0, r, h))
