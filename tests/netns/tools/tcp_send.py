# SPDX-License-Identifier: BSD-3-Clause
# tcp_send.py HOST PORT FILE: sends FILE over one TCP connection, waits for
# the other end to close and prints "BYTES SHA256" of what it sent.
import hashlib
import socket
import sys

c = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=60)
h, n = hashlib.sha256(), 0
with open(sys.argv[3], "rb") as f:
    while True:
        b = f.read(1 << 18)
        if not b:
            break
        c.sendall(b)
        h.update(b)
        n += len(b)
c.shutdown(socket.SHUT_WR)
c.recv(1)
c.close()
print(n, h.hexdigest(), flush=True)
