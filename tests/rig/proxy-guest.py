# proxy-guest.py - servers in the guest for t61-port-proxy.sh, on raw
# sockets (the image's python3-minimal has no http.server).
#   http PORT: GET/HEAD answer "hello from the guest" with the target and
#              the Authorization and X-Forwarded-Prefix headers seen; POST
#              answers the body's length and sha256.
#   ws PORT:   a WebSocket echo server.
import base64, hashlib, socket, sys, threading

def read_head(c):
    d = b""
    while b"\r\n\r\n" not in d:
        b = c.recv(1)
        if not b:
            return None, b""
        d += b
    lines = d.decode("latin-1").split("\r\n")
    hdr = {}
    for l in lines[1:]:
        if ":" in l:
            k, v = l.split(":", 1)
            hdr[k.strip().lower()] = v.strip()
    return lines[0], hdr

def http_conn(c):
    try:
        line, hdr = read_head(c)
        if not line:
            return
        method, target = line.split(" ")[:2]
        n = int(hdr.get("content-length", "0"))
        h = hashlib.sha256()
        got = 0
        while got < n:
            b = c.recv(min(65536, n - got))
            if not b:
                break
            h.update(b)
            got += len(b)
        if method == "POST":
            body = "len=%d sha256=%s\n" % (got, h.hexdigest())
        else:
            body = "hello from the guest path=%s auth=%s prefix=%s\n" % (
                target, hdr.get("authorization", "none"), hdr.get("x-forwarded-prefix", "none"))
        b = body.encode()
        c.sendall(("HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n" % len(b)).encode()
                  + (b"" if method == "HEAD" else b))
    finally:
        c.close()

def recvn(c, n):
    d = b""
    while len(d) < n:
        b = c.recv(n - len(d))
        if not b:
            raise EOFError
        d += b
    return d

def ws_conn(c):
    try:
        line, hdr = read_head(c)
        if not line:
            return
        acc = base64.b64encode(hashlib.sha1((hdr.get("sec-websocket-key", "") +
              "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest()).decode()
        c.sendall(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                   "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n" % acc).encode())
        while True:
            b0, b1 = recvn(c, 2)
            op, n = b0 & 0x0f, b1 & 0x7f
            if n == 126:
                n = int.from_bytes(recvn(c, 2), "big")
            elif n == 127:
                n = int.from_bytes(recvn(c, 8), "big")
            mask = recvn(c, 4) if b1 & 0x80 else b"\0\0\0\0"
            data = bytes(x ^ mask[i % 4] for i, x in enumerate(recvn(c, n)))
            if op == 8:
                c.sendall(b"\x88\x00")
                return
            hd = bytes([0x80 | op])
            hd += bytes([len(data)]) if len(data) < 126 else bytes([126]) + len(data).to_bytes(2, "big")
            c.sendall(hd + data)
    except (EOFError, OSError):
        pass
    finally:
        c.close()

if __name__ == "__main__":
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", int(sys.argv[2])))
    s.listen(64)
    fn = http_conn if sys.argv[1] == "http" else ws_conn
    while True:
        c, _ = s.accept()
        threading.Thread(target=fn, args=(c,), daemon=True).start()
