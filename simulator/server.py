"""Served mode: a threaded HTTP/1.1 server on 127.0.0.1 in a background thread."""

from __future__ import annotations

import socket
import struct
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, cast

from dhis2.closing import ClosesOnExit
from simulator.core import ConnectionResetFault, Simulator
from simulator.http import SimRequest


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body leave at once (no delayed-ACK stalls)
    server_version = "DHIS2Simulator/1.0"
    sim: Simulator

    def log_message(self, format: str, *args: Any) -> None:
        return

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = dict(self.headers.items())
        # An AF_INET server: its address is getsockname()'s (str, int).
        address = cast("tuple[str, int]", self.server.server_address)
        host = self.headers.get("Host") or f"{address[0]}:{address[1]}"
        request = SimRequest.from_url(self.command, f"http://{host}{self.path}", headers, body)
        try:
            response = self.sim.handle(request)
        except ConnectionResetFault:
            # abortive close: SO_LINGER 0 makes the kernel send RST
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True
            self.connection.close()
            return
        self.send_response(response.status)
        for key, value in response.headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if self.command != "HEAD" and response.body:
            self.wfile.write(response.body)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _serve


class SimServer(ClosesOnExit):
    """A running served simulator; ``url``, ``stop()``, usable as a context manager."""

    def __init__(self, sim: Simulator, host: str = "127.0.0.1", port: int = 0) -> None:
        handler = type("BoundHandler", (_Handler,), {"sim": sim})
        self.sim = sim
        self.httpd = ThreadingHTTPServer((host, port), handler)
        self.httpd.daemon_threads = True
        address = cast("tuple[str, int]", self.httpd.server_address)  # AF_INET: (str, int)
        self.host, self.port = address[0], address[1]
        self._thread = threading.Thread(
            target=self.httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="dhis2-simulator",
            daemon=True,
        )
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}{self.sim.context_path}"

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self._thread.join(timeout=5)

    def close(self) -> None:
        """What `ClosesOnExit` calls on leaving a `with` block (late-bound, so a subclass's or
        a patched `stop` is the one called)."""
        self.stop()
