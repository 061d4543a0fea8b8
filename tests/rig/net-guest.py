# net-guest.py - the guest side of t50-net.sh. The base image has only
# python3-minimal (socket, no urllib or http.server), so HTTP is spoken by
# hand. Usage:
#   get HOST PORT PATH      print the body of an HTTP GET
#   connect HOST PORT       "ok MS" or "error ERRNO MS"
#   resolve NAME            "ok IP MS" or "error MSG MS"
#   resolve-tcp NAME        the same, asking 10.0.2.3 over TCP (port 53)
#   send HOST PORT MIB      send MIB MiB, print "sent BYTES MS ACKED"
#   serve PORT              answer every HTTP request with "hello from guest"
import errno
import socket
import sys
import time


def ms(t0):
    return int((time.monotonic() - t0) * 1000)


def get(host, port, path):
    s = socket.create_connection((host, int(port)), timeout=20)
    s.sendall(("GET %s HTTP/1.0\r\nHost: %s\r\n\r\n" % (path, host)).encode())
    data = b""
    while True:
        b = s.recv(65536)
        if not b:
            break
        data += b
    head, _, body = data.partition(b"\r\n\r\n")
    sys.stdout.write(body.decode(errors="replace"))


def connect(host, port):
    t0 = time.monotonic()
    try:
        s = socket.create_connection((host, int(port)), timeout=10)
        s.close()
        print("ok", ms(t0))
    except OSError as e:
        name = errno.errorcode.get(e.errno, "timeout") if e.errno else "timeout"
        print("error", name, ms(t0))


def resolve(name):
    t0 = time.monotonic()
    try:
        ip = socket.gethostbyname(name)
        print("ok", ip, ms(t0))
    except OSError as e:
        print("error", str(e).replace(" ", "_"), ms(t0))


def resolve_tcp(name):
    t0 = time.monotonic()
    q = bytes([0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0])
    q += b"".join(bytes([len(l)]) + l.encode() for l in name.split(".")) + b"\0"
    q += bytes([0, 1, 0, 1])
    try:
        s = socket.create_connection(("10.0.2.3", 53), timeout=20)
        s.sendall(len(q).to_bytes(2, "big") + q)
        m = b""
        while len(m) < 2 or len(m) < 2 + int.from_bytes(m[:2], "big"):
            b = s.recv(4096)
            if not b:
                raise OSError("connection closed")
            m += b
        m = m[2:]
        an = int.from_bytes(m[6:8], "big")
        off = len(q)                    # the question, echoed
        for _ in range(an):
            while m[off] and m[off] < 0xc0:
                off += 1 + m[off]
            off += 2 if m[off] >= 0xc0 else 1
            rtype = int.from_bytes(m[off:off + 2], "big")
            rdlen = int.from_bytes(m[off + 8:off + 10], "big")
            off += 10
            if rtype == 1 and rdlen == 4:
                print("ok", socket.inet_ntoa(m[off:off + 4]), ms(t0))
                return
            off += rdlen
        print("error no_address", ms(t0))
    except OSError as e:
        print("error", str(e).replace(" ", "_"), ms(t0))


def send(host, port, mib):
    chunk = b"x" * (1 << 20)
    s = socket.create_connection((host, int(port)), timeout=60)
    t0 = time.monotonic()
    for _ in range(int(mib)):
        s.sendall(chunk)
    s.shutdown(socket.SHUT_WR)
    acked = s.recv(64).decode().strip()
    print("sent", int(mib) << 20, ms(t0), acked)


def serve(port):
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("0.0.0.0", int(port)))
    ls.listen(64)
    while True:
        c, _ = ls.accept()
        try:
            c.settimeout(10)
            req = b""
            while b"\r\n\r\n" not in req:
                b = c.recv(4096)
                if not b:
                    break
                req += b
            body = b"hello from guest\n"
            c.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: %d\r\n\r\n%s"
                      % (len(body), body))
        except OSError:
            pass
        c.close()


cmd = sys.argv[1]
{"get": get, "connect": connect, "resolve": resolve,
 "resolve-tcp": resolve_tcp, "send": send,
 "serve": serve}[cmd](*sys.argv[2:])
