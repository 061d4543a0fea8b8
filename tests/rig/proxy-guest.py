# proxy-guest.py - servers in the guest for t61-port-proxy.sh (stdlib only).
#   http PORT: GET answers "hello from the guest" with the path and the
#              Authorization header it saw; POST answers the body's
#              length and sha256.
#   ws PORT:   a WebSocket echo server (text and binary frames).
import base64, hashlib, http.server, socketserver, sys

class H(http.server.BaseHTTPRequestHandler):
    def reply(self, body):
        b = body.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(b)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(b)
    def do_GET(self):
        self.reply("hello from the guest path=%s auth=%s prefix=%s\n" % (
            self.path, self.headers.get("Authorization", "none"),
            self.headers.get("X-Forwarded-Prefix", "none")))
    do_HEAD = do_GET
    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        data = b""
        while len(data) < n:
            c = self.rfile.read(n - len(data))
            if not c:
                break
            data += c
        self.reply("len=%d sha256=%s\n" % (len(data), hashlib.sha256(data).hexdigest()))
    def log_message(self, *a):
        pass

def recvn(f, n):
    d = f.read(n)
    if len(d) < n:
        raise EOFError
    return d

class WS(socketserver.StreamRequestHandler):
    def handle(self):
        head = b""
        while not head.endswith(b"\r\n\r\n"):
            c = self.rfile.read(1)
            if not c:
                return
            head += c
        key = ""
        for line in head.decode().split("\r\n"):
            if line.lower().startswith("sec-websocket-key:"):
                key = line.split(":", 1)[1].strip()
        acc = base64.b64encode(hashlib.sha1((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest()).decode()
        self.wfile.write(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                          "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n" % acc).encode())
        self.wfile.flush()
        try:
            while True:
                b0, b1 = recvn(self.rfile, 2)
                op, n = b0 & 0x0f, b1 & 0x7f
                if n == 126:
                    n = int.from_bytes(recvn(self.rfile, 2), "big")
                elif n == 127:
                    n = int.from_bytes(recvn(self.rfile, 8), "big")
                mask = recvn(self.rfile, 4) if b1 & 0x80 else b"\0\0\0\0"
                data = bytes(c ^ mask[i % 4] for i, c in enumerate(recvn(self.rfile, n)))
                if op == 8:
                    self.wfile.write(b"\x88\x00")
                    return
                hdr = bytes([0x80 | op])
                hdr += bytes([len(data)]) if len(data) < 126 else bytes([126]) + len(data).to_bytes(2, "big")
                self.wfile.write(hdr + data)
                self.wfile.flush()
        except EOFError:
            pass

class TS(socketserver.ThreadingMixIn, socketserver.TCPServer):
    allow_reuse_address = True
    daemon_threads = True

if __name__ == "__main__":
    port = int(sys.argv[2])
    if sys.argv[1] == "http":
        http.server.ThreadingHTTPServer(("0.0.0.0", port), H).serve_forever()
    else:
        TS(("0.0.0.0", port), WS).serve_forever()
