# net-host.py - the L1 side of t50-net.sh. Usage:
#   dns PORT NAME=IP...   a UDP DNS server on 127.0.0.1 answering A queries
#                         for NAME (and its subdomains); NXDOMAIN otherwise
#   sink PORT             TCP on 0.0.0.0: read to EOF, answer the count
#   latency HOST PORT N   N HTTP requests, print "avg_ms CONNECT_MS TOTAL_MS"
import socket
import struct
import sys
import threading
import time


def dns(port, *pairs):
    table = dict(p.lower().split("=", 1) for p in pairs)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", int(port)))
    while True:
        q, addr = s.recvfrom(512)
        if len(q) < 12:
            continue
        off, labels = 12, []
        while off < len(q) and q[off]:
            labels.append(q[off + 1:off + 1 + q[off]].decode().lower())
            off += 1 + q[off]
        qend = off + 5
        name = ".".join(labels)
        ip = None
        for k, v in table.items():
            if name == k or name.endswith("." + k):
                ip = v
        qtype = struct.unpack("!H", q[off + 1:off + 3])[0] if qend <= len(q) else 0
        head = q[:2] + bytes([0x81, 0x80 if ip else 0x83])
        if ip and qtype == 1:
            ans = (b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 60, 4) +
                   socket.inet_aton(ip))
            s.sendto(head + struct.pack("!HHHH", 1, 1, 0, 0) + q[12:qend] + ans, addr)
        else:
            s.sendto(head + struct.pack("!HHHH", 1, 0, 0, 0) + q[12:qend], addr)


def sink(port):
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("0.0.0.0", int(port)))
    ls.listen(8)

    def one(c):
        n = 0
        while True:
            b = c.recv(1 << 20)
            if not b:
                break
            n += len(b)
        c.sendall(b"%d\n" % n)
        c.close()
    while True:
        c, _ = ls.accept()
        threading.Thread(target=one, args=(c,), daemon=True).start()


def latency(host, port, n):
    conn = tot = 0.0
    for _ in range(int(n)):
        t0 = time.monotonic()
        s = socket.create_connection((host, int(port)), timeout=20)
        t1 = time.monotonic()
        s.sendall(b"GET / HTTP/1.0\r\n\r\n")
        while s.recv(4096):
            pass
        s.close()
        t2 = time.monotonic()
        conn += t1 - t0
        tot += t2 - t0
    print("%.2f %.2f" % (conn * 1000 / int(n), tot * 1000 / int(n)))


{"dns": dns, "sink": sink, "latency": latency}[sys.argv[1]](*sys.argv[2:])
