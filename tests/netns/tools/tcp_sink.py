# SPDX-License-Identifier: BSD-3-Clause
# tcp_sink.py HOST PORT: accepts one TCP connection, reads it to the end and
# prints "BYTES SHA256" of what it received.
import hashlib
import socket
import sys

srv = socket.socket(socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET)
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind((sys.argv[1], int(sys.argv[2])))
srv.listen(1)
conn, _ = srv.accept()
h, n = hashlib.sha256(), 0
while True:
    b = conn.recv(1 << 18)
    if not b:
        break
    h.update(b)
    n += len(b)
print(n, h.hexdigest(), flush=True)
