# net-host.py - the L1 side of t50-net.sh. Usage:
#   dns PORT NAME=IP...   a DNS server on 127.0.0.1, UDP and TCP, answering
#                         A queries for NAME (and its subdomains);
#                         NXDOMAIN otherwise.
#                         NAME=IP1|IP2|... answers each A query with the
#                         next of them in turn (round-robin, like a CDN);
#                         NAME=@TARGET answers with a CNAME to TARGET and
#                         TARGET's A record.
#   sink PORT             TCP on 0.0.0.0: read to EOF, answer the count
#   latency HOST PORT N   N HTTP requests, print "avg_ms CONNECT_MS TOTAL_MS"
import socket
import struct
import sys
import threading
import time


def dns(port, *pairs):
    table = dict(p.lower().split("=", 1) for p in pairs)
    turn = {}

    def lookup(name):
        for k, v in table.items():
            if name == k or name.endswith("." + k):
                return k, v
        return None, None

    def wire(name):
        return b"".join(bytes([len(l)]) + l.encode() for l in name.split(".")) + b"\0"

    lock = threading.Lock()

    def answer(q):
        off, labels = 12, []
        while off < len(q) and q[off]:
            labels.append(q[off + 1:off + 1 + q[off]].decode().lower())
            off += 1 + q[off]
        qend = off + 5
        name = ".".join(labels)
        qtype = struct.unpack("!H", q[off + 1:off + 3])[0] if qend <= len(q) else 0
        k, v = lookup(name)
        ans, owner = [], b"\xc0\x0c"
        if v and v.startswith("@"):
            target = v[1:]
            ans.append(owner + struct.pack("!HHIH", 5, 1, 60, len(wire(target))) + wire(target))
            owner, (k, v) = wire(target), lookup(target)
        if v and qtype == 1:
            ips = v.split("|")
            with lock:
                ip = ips[turn.get(k, 0) % len(ips)]
                turn[k] = turn.get(k, 0) + 1
            ans.append(owner + struct.pack("!HHIH", 1, 1, 60, 4) + socket.inet_aton(ip))
        elif qtype == 1:
            ans = []
        head = q[:2] + bytes([0x81, 0x80 if v else 0x83])
        return head + struct.pack("!HHHH", 1, len(ans), 0, 0) + q[12:qend] + b"".join(ans)

    def tcp_one(c):
        # Messages after a 2-byte length, as many as the client sends.
        buf = b""
        while True:
            b = c.recv(4096)
            if not b:
                break
            buf += b
            while len(buf) >= 2 and len(buf) >= 2 + struct.unpack("!H", buf[:2])[0]:
                n = struct.unpack("!H", buf[:2])[0]
                q, buf = buf[2:2 + n], buf[2 + n:]
                if len(q) >= 12:
                    a = answer(q)
                    c.sendall(struct.pack("!H", len(a)) + a)
        c.close()

    def tcp():
        ls = socket.socket()
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        ls.bind(("127.0.0.1", int(port)))
        ls.listen(8)
        while True:
            c, _ = ls.accept()
            threading.Thread(target=tcp_one, args=(c,), daemon=True).start()

    threading.Thread(target=tcp, daemon=True).start()
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", int(port)))
    while True:
        q, addr = s.recvfrom(512)
        if len(q) < 12:
            continue
        s.sendto(answer(q), addr)


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
