"""openapi-core adapters for httpx exchanges (openapi-core ships none for httpx), shared by the OpenAPI tests.

Capture every request a connector's own httpx client sends with `capture(client)`, then validate each exchange
with `OpenAPIRequest(request, server)` / `OpenAPIResponse(response)`; `server` maps our loopback fake onto the
spec's server URL.
"""
from __future__ import annotations

import httpx
from openapi_core.datatypes import RequestParameters
from werkzeug.datastructures import Headers, ImmutableMultiDict


class OpenAPIRequest:
    """openapi-core's Request protocol over an httpx.Request, re-hosted on the spec's server."""

    def __init__(self, request: httpx.Request, server: str) -> None:
        self.host_url = server
        self.path = request.url.path
        self.method = request.method.lower()
        self.body = request.content or None
        self.content_type = request.headers.get("Content-Type", "application/octet-stream")
        self.parameters = RequestParameters(query=ImmutableMultiDict(request.url.params.multi_items()),
                                            header=Headers(request.headers.multi_items()),
                                            cookie=ImmutableMultiDict())


class OpenAPIResponse:
    """openapi-core's Response protocol over an httpx.Response (its body already read)."""

    def __init__(self, response: httpx.Response) -> None:
        self.status_code = response.status_code
        self.data = response.content
        self.content_type = response.headers.get("Content-Type", "")
        self.headers = Headers(response.headers.multi_items())


def capture(client: httpx.Client) -> list[httpx.Response]:
    """Every response the client receives from now on (retries and errors included), bodies read."""
    seen: list[httpx.Response] = []

    def keep(response: httpx.Response) -> None:
        response.read()
        seen.append(response)

    client.event_hooks["response"].append(keep)
    return seen
