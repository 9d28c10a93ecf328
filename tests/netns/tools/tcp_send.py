# SPDX-License-Identifier: BSD-3-Clause
# tcp_send.py HOST PORT FILE [KIB_PER_SEC]: sends FILE over one TCP
# connection (at most KIB_PER_SEC if given, so that a transfer lasts long
# enough for something to happen in its middle), waits for the other end to
# close and prints "BYTES SHA256" of what it sent.
import hashlib
import socket
import sys
import time

c = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=60)
h, n = hashlib.sha256(), 0
rate = float(sys.argv[4]) * 1024 if len(sys.argv) > 4 else 0
chunk = 1 << 16 if rate else 1 << 18
with open(sys.argv[3], "rb") as f:
    while True:
        b = f.read(chunk)
        if not b:
            break
        c.sendall(b)
        h.update(b)
        n += len(b)
        if rate:
            time.sleep(len(b) / rate)
c.shutdown(socket.SHUT_WR)
c.recv(1)
c.close()
print(n, h.hexdigest(), flush=True)
