"""Run a WSGI app on a loopback port so real clients (httpx, the anthropic SDK) talk real HTTP to it."""
from __future__ import annotations

import threading
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server


class _QuietHandler(WSGIRequestHandler):
    """Werkzeug logs one line per request; a test suite making thousands of calls only wants errors."""

    def log_request(self, *args: Any, **kwargs: Any) -> None:
        pass


class LiveServer:
    """A running server: `.url` to point a client at, `.stop()` (or `with`) to shut it down."""

    def __init__(self, server: BaseWSGIServer) -> None:
        self._server = server
        # A short poll interval makes stop() return in ~50 ms instead of up to 0.5 s per server.
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=f"fake-http-{server.port}", daemon=True)
        self._thread.start()

    @property
    def port(self) -> int:
        return self._server.port

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        """Stop accepting requests; handler threads still inside a slow reply are daemons and die with the test run."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> LiveServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def serve(app: Any) -> LiveServer:
    """Serve `app` on 127.0.0.1 at a free port, one thread per request so concurrent workers can call at once."""
    return LiveServer(make_server("127.0.0.1", 0, app, threaded=True, request_handler=_QuietHandler))
