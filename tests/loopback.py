"""A real HTTP server on 127.0.0.1 for the live-source tests: it serves recorded answers (with
headers that match the body it sends) and the faults the live services show, as scripted.

    with Loopback() as server:
        server.script("/data", [Reply(429, headers={"Retry-After": "1"}), Reply.recorded(cassette, "IMTS/")])
        fetch.get(server.url("/data"))
        server.requests("/data")  # the paths and query strings asked, in order

Each path answers its script in order and repeats the last reply once the script is used up; a
path given a function instead (`server.route(path, answer)`) answers `answer(query: dict, headers)`.
"""

from __future__ import annotations

import gzip
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs

import yaml


@dataclass
class Reply:
    """One scripted answer. `gzip`: send the body gzip-compressed with Content-Encoding gzip.
    `delay`: seconds before the answer starts. `cut_at`: send only this many bytes of the body,
    with the full Content-Length, then close the connection (a body cut short)."""

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    gzip: bool = False
    delay: float = 0.0
    cut_at: int | None = None

    @classmethod
    def recorded(cls, cassette: Path, uri_part: str) -> "Reply":
        """The cassette's answer to the request whose URI contains `uri_part`: its status, content
        type and body. A body the recording keeps gzip-compressed is sent as recorded; a body kept
        decoded under a gzip Content-Encoding is compressed again, so header and body agree."""
        for interaction in yaml.safe_load(Path(cassette).read_text())["interactions"]:
            if uri_part in interaction["request"]["uri"]:
                response = interaction["response"]
                headers = {k.lower(): v[0] if isinstance(v, list) else v for k, v in response["headers"].items() if v}
                body = response["body"]["string"]
                gzipped = headers.get("content-encoding") == "gzip"
                if isinstance(body, bytes) and body[:2] == b"\x1f\x8b":
                    body, gzipped = gzip.decompress(body), True
                body = body if isinstance(body, bytes) else body.encode()
                return cls(
                    response["status"]["code"], body, {"Content-Type": headers.get("content-type", "")}, gzip=gzipped
                )
        raise KeyError(f"{cassette}: no request with {uri_part!r}")


class Loopback:
    """The server, on a free port of 127.0.0.1, in a thread; a context manager."""

    def __init__(self) -> None:
        self._scripts: dict[str, list[Reply]] = {}
        self._routes: dict[str, Callable[[dict, dict], Reply]] = {}
        self._seen: list[str] = []
        self._headers: list[dict] = []
        self._lock = threading.Lock()
        loopback = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:  # quiet
                pass

            def do_GET(self) -> None:  # noqa: N802 (the standard library's name)
                path, _, query = self.path.partition("?")
                with loopback._lock:
                    loopback._seen.append(self.path)
                    loopback._headers.append(dict(self.headers.items()))
                    route = loopback._routes.get(path)
                    script = loopback._scripts.get(path) or [Reply(404, b"no such path on the test server")]
                    reply = None if route else (script.pop(0) if len(script) > 1 else script[0])
                if route:
                    reply = route({k: v[0] for k, v in parse_qs(query).items()}, dict(self.headers.items()))
                time.sleep(reply.delay)
                body = gzip.compress(reply.body) if reply.gzip else reply.body
                self.send_response(reply.status)
                for k, v in reply.headers.items():
                    self.send_header(k, v)
                if reply.gzip:
                    self.send_header("Content-Encoding", "gzip")
                self.send_header("Content-Length", str(len(body)))
                if reply.cut_at is not None:
                    self.send_header("Connection", "close")
                self.end_headers()
                try:
                    self.wfile.write(body if reply.cut_at is None else body[: reply.cut_at])
                    self.wfile.flush()
                except (BrokenPipeError, ConnectionResetError):  # the client gave up (a timeout)
                    pass
                if reply.cut_at is not None:
                    self.close_connection = True

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> "Loopback":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()

    def url(self, path: str) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}{path}"

    def script(self, path: str, replies: list[Reply]) -> None:
        with self._lock:
            self._scripts[path] = list(replies)

    def route(self, path: str, answer: Callable[[dict, dict], Reply]) -> None:
        with self._lock:
            self._routes[path] = answer

    def headers(self) -> list[dict]:
        """The headers of every request seen, in order."""
        with self._lock:
            return list(self._headers)

    def requests(self, path: str | None = None) -> list[str]:
        """The request targets (path and query) seen, in order; only `path`'s when given."""
        with self._lock:
            return [s for s in self._seen if path is None or s.split("?")[0] == path]
