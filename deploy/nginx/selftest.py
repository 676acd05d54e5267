#!/usr/bin/env python3
"""Smoke test of the nginx rules, with no API and no Docker.

Renders nginx.test.conf.template (the same includes as nginx.conf) with dummy backends,
runs nginx as a plain process and checks:
  * requests are proxied, X-Forwarded-* headers arrive at the backend;
  * a WebSocket upgrade is tunnelled (101, then bytes both ways);
  * the access log and error log never contain the query string (?access_token=...),
    also when an instance is down and nginx logs an upstream error;
  * ip_hash: clients bound to 127.0.1.1 and 127.0.2.1 reach different backends, every
    request of one client IP reaches the same backend, and it matches nginx's ip_hash formula;
  * an instance that is down is skipped, and negotiate + connect still agree.

Usage: python3 deploy/nginx/selftest.py   (needs nginx on PATH or $NGINX; Linux loopback 127/8)
Exit code 0 when every check passed.
"""
import http.server
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
NGINX = os.environ.get("NGINX") or shutil.which("nginx") or "/usr/sbin/nginx"
SECRET = "SECRET-TOKEN-" + os.urandom(4).hex()
failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures.append(what)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Backend(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    name = "?"

    def log_message(self, *args):
        pass

    def _reply(self):
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        if self.headers.get("Upgrade", "").lower() == "websocket":
            # Minimal tunnel: 101, a JSON line of what we saw, then echo.
            self.wfile.write(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                             b"Connection: Upgrade\r\n\r\n")
            info = {"backend": self.server.name, "headers": dict(self.headers)}
            self.wfile.write(json.dumps(info).encode() + b"\n")
            self.wfile.flush()
            while True:
                data = self.connection.recv(4096)
                if not data:
                    break
                self.connection.sendall(data)
            self.close_connection = True
            return
        body = json.dumps({"backend": self.server.name, "path": self.path,
                           "headers": dict(self.headers)}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _reply


def start_backend(name):
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), Backend)
    srv.name = name
    srv.daemon_threads = True
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


def request(port, method, path, source="127.0.0.1", headers=None):
    """Raw HTTP/1.1 request from a chosen loopback source address; returns (status, json|None)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10, source_address=(source, 0)) as s:
        hdrs = {"Host": "localhost", "Connection": "close", "Content-Length": "0"}
        hdrs.update(headers or {})
        raw = f"{method} {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in hdrs.items()) + "\r\n"
        s.sendall(raw.encode())
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status = int(head.split(b" ")[1])
    try:
        return status, json.loads(body)
    except ValueError:
        return status, None


def ip_hash_index(ip, n):
    """nginx's ip_hash for IPv4 with n equal-weight, healthy servers (first try)."""
    h = 89
    for octet in [int(x) for x in ip.split(".")[:3]]:
        h = (h * 113 + octet) % 6271
    return h % n


def render(prefix, listen_port, backend_ports):
    with open(os.path.join(HERE, "nginx.test.conf.template")) as f:
        text = f.read()
    backends = "\n".join(f"        server 127.0.0.1:{p};" for p in backend_ports[:-1])
    # The dead one with max_fails=0: tried (and its error logged) on every request.
    backends += f"\n        server 127.0.0.1:{backend_ports[-1]} max_fails=0;"
    for key, value in {"{{PREFIX}}": prefix, "{{CONF_DIR}}": HERE,
                       "{{LISTEN_PORT}}": str(listen_port), "{{BACKENDS}}": backends}.items():
        text = text.replace(key, value)
    assert "{{" not in text, "unfilled placeholder"
    path = os.path.join(prefix, "nginx.conf")
    with open(path, "w") as f:
        f.write(text)
    return path


def run_nginx(prefix, conf):
    cmd = [NGINX, "-p", prefix, "-c", conf, "-e", os.path.join(prefix, "error.log")]
    test = subprocess.run(cmd + ["-t"], capture_output=True, text=True)
    check(test.returncode == 0, "nginx -t accepts the rendered template: " + test.stderr.strip().splitlines()[-1])
    if test.returncode != 0:
        print(test.stderr)
        sys.exit(1)
    proc = subprocess.Popen(cmd + ["-g", "daemon off;"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    return proc


def wait_port(port):
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("nginx did not listen")


def main():
    prefix = tempfile.mkdtemp(prefix="nginx-selftest-")
    a, b = start_backend("A"), start_backend("B")
    dead = free_port()  # nothing listens here
    port = free_port()
    names = {0: "A", 1: "B", 2: "dead"}
    conf = render(prefix, port, [a.server_address[1], b.server_address[1], dead])
    nginx = run_nginx(prefix, conf)
    try:
        wait_port(port)

        # 1. Proxying, forwarded headers, stickiness per client IP, ip_hash formula.
        seen = {}
        for x in range(1, 9):
            src = f"127.0.{x}.1"
            got = set()
            for path in ["/hubs/notifications/negotiate?negotiateVersion=1&access_token=" + SECRET,
                         "/hubs/notifications?id=abc&access_token=" + SECRET,
                         "/api/notifications/unread-count"]:
                status, body = request(port, "POST" if "negotiate" in path else "GET", path, src)
                check(status == 200 and body is not None, f"{src} {path.split('?')[0]} -> 200")
                got.add(body["backend"])
                if x == 1 and "negotiate" in path:
                    h = body["headers"]
                    check(h.get("X-Forwarded-For") == src, "X-Forwarded-For = client address")
                    check(h.get("X-Forwarded-Proto") == "http", "X-Forwarded-Proto passed")
                    check(h.get("X-Real-IP") == src, "X-Real-IP passed")
                    check(h.get("Host") == "localhost", "Host passed")
                    check("Connection" not in h or h["Connection"].lower() != "upgrade",
                          "no Connection: upgrade on a plain request")
            check(len(got) == 1, f"{src}: negotiate, connect and REST on one backend {got}")
            expected = names[ip_hash_index(src, 3)]
            backend = got.pop()
            seen[src] = backend
            if expected != "dead":
                check(backend == expected, f"{src}: backend {backend} = ip_hash formula {expected}")
            else:
                check(backend in ("A", "B"), f"{src}: hashed to the dead instance, served by {backend}")
        print("ip_hash map (3 servers, 3rd down):", seen)
        print("ip_hash map for 2 servers (first, second):",
              {f"127.0.{x}.x": "AB"[ip_hash_index(f"127.0.{x}.1", 2)] for x in range(1, 11)})
        check(len(set(seen.values())) == 2, "different client /24s reach different backends")
        check(seen["127.0.1.1"] != seen["127.0.2.1"], "127.0.1.1 and 127.0.2.1 reach different backends")

        # 2. WebSocket upgrade is tunnelled.
        with socket.create_connection(("127.0.0.1", port), timeout=10,
                                      source_address=("127.0.1.1", 0)) as s:
            s.sendall(("GET /hubs/notifications?id=xyz&access_token=" + SECRET + " HTTP/1.1\r\n"
                       "Host: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                       "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n").encode())
            f = s.makefile("rb")
            status_line = f.readline()
            check(b" 101 " in status_line, "WebSocket upgrade answered 101 through nginx")
            while f.readline() not in (b"\r\n", b""):
                pass
            info = json.loads(f.readline())
            hs = info["headers"]
            check(hs.get("Upgrade") == "websocket" and hs.get("Connection", "").lower() == "upgrade",
                  "Upgrade/Connection headers reach the backend")
            check(info["backend"] == seen["127.0.1.1"], "WebSocket lands on the negotiate backend")
            s.sendall(b"ping-frame")
            echoed = f.read1(100) if hasattr(f, "read1") else s.recv(100)
            check(echoed == b"ping-frame", "bytes flow both ways through the tunnel")
    finally:
        nginx.terminate()
        nginx.wait(10)
        a.shutdown()
        b.shutdown()

    # 3. Logs: no query strings, no token.
    with open(os.path.join(prefix, "access.log")) as f:
        access = f.read()
    with open(os.path.join(prefix, "error.log")) as f:
        error = f.read()
    stderr = nginx.stderr.read().decode(errors="replace")
    check("/hubs/notifications/negotiate " in access, "access log has the path of negotiate")
    check("upstream=127.0.0.1:" in access, "access log names the backend")
    for name, text in [("access.log", access), ("error.log", error), ("nginx stderr", stderr)]:
        check(SECRET not in text and "access_token" not in text and "?" not in text,
              f"{name} holds no query string / token")
    # REST requests that hashed to the dead instance are logged with their request line
    # (no query string there); hub requests that did the same are not logged at all.
    check("connect() failed" in error and "/api/notifications/unread-count" in error,
          "upstream errors of REST requests are still in error.log")
    check("/hubs/" not in error and "/hubs/" not in stderr, "upstream errors of /hubs/ requests are not logged")
    print("--- access.log (first 3 lines) ---")
    print("\n".join(access.splitlines()[:3]))
    shutil.rmtree(prefix, ignore_errors=True)
    print(f"{'PASSED' if not failures else 'FAILED'}: {len(failures)} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
