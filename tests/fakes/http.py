"""A small threaded HTTP server on 127.0.0.1: routes by path, records requests, injects faults."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Reply:
    status: int = 200
    body: bytes | str | dict | list = b""
    content_type: str = "application/json"
    delay: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)


Handler = Callable[[Request], Reply]


class _Server(ThreadingHTTPServer):
    request_queue_size = 256  # the default backlog of 5 stalls a burst of concurrent connects


class FakeServer:
    """`routes[path] = handler`; `faults[path] = [Reply, ...]` are served first, one per request.
    A handler may also match by prefix: `prefix_routes[prefix] = handler`."""

    def __init__(self) -> None:
        self.routes: dict[str, Handler] = {}
        self.prefix_routes: dict[str, Handler] = {}
        self.faults: dict[str, list[Reply]] = {}
        self.requests: list[Request] = []
        self.bytes_sent = 0
        fake = self

        class _H(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as real APIs do
            disable_nagle_algorithm = True  # headers and body go in two writes: no 40 ms ACK stalls

            def log_message(self, *args):  # keep test output clean
                pass

            def _serve(self, method: str) -> None:
                parts = urlsplit(self.path)
                n = int(self.headers.get("Content-Length") or 0)
                req = Request(method, parts.path, {k: v[-1] for k, v in parse_qs(parts.query).items()},
                              self.rfile.read(n) if n else b"", {k.lower(): v for k, v in self.headers.items()})
                fake.requests.append(req)
                queued = fake.faults.get(req.path)
                if queued:
                    reply = queued.pop(0)
                elif req.path in fake.routes:
                    reply = fake.routes[req.path](req)
                elif any(req.path.startswith(p) for p in fake.prefix_routes):
                    prefix = next(p for p in fake.prefix_routes if req.path.startswith(p))
                    reply = fake.prefix_routes[prefix](req)
                else:
                    reply = Reply(404, {"error": f"no route {req.path}"})
                if reply.delay:
                    time.sleep(reply.delay)
                body = reply.body
                if isinstance(body, (dict, list)):
                    body = json.dumps(body)
                if isinstance(body, str):
                    body = body.encode()
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", reply.content_type)
                    self.send_header("Content-Length", str(len(body)))
                    for k, v in reply.headers.items():
                        self.send_header(k, v)
                    self.end_headers()
                    self.wfile.write(body)
                    fake.bytes_sent += len(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def do_GET(self):
                self._serve("GET")

            def do_POST(self):
                self._serve("POST")

        self.httpd = _Server(("127.0.0.1", 0), _H)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> "FakeServer":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def hits(self, path: str) -> list[Request]:
        return [r for r in self.requests if r.path == path]
