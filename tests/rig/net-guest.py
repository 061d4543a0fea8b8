# net-guest.py - the guest side of t50-net.sh. The base image has only
# python3-minimal (socket, no urllib or http.server), so HTTP is spoken by
# hand. Usage:
#   get HOST PORT PATH      print the body of an HTTP GET
#   connect HOST PORT       "ok MS" or "error ERRNO MS"
#   resolve NAME            "ok IP MS" or "error MSG MS"
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
{"get": get, "connect": connect, "resolve": resolve, "send": send,
 "serve": serve}[cmd](*sys.argv[2:])
