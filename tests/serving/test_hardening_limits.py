"""What an attacker sends: huge bodies, with and without a key. The key is checked from the
headers before the body is read, the body size while it is read: 401 or 413 at once, and the
worker keeps serving. Bodies are streamed through the ASGI app chunk by chunk (never held in
memory), and the test counts how much of each the app pulled."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from serving_world import ADMIN_KEY, API_KEY, KEY

MiB = 1024 * 1024
CHUNK = b"x" * MiB  # one buffer sent again and again


@dataclass
class Exchange:
    status: int = 0
    body: bytes = b""
    bytes_read: int = 0
    headers: dict[str, str] = field(default_factory=dict)


def send_stream(app, method: str, path: str, headers: dict[str, str], total: int,
                content_length: bool = False) -> Exchange:
    """Call the ASGI app with a ``total``-byte body streamed in 1 MiB messages."""
    exchange = Exchange()
    raw = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    raw.append((b"content-type", b"application/json"))
    if content_length:
        raw.append((b"content-length", str(total).encode()))
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
             "method": method.upper(), "scheme": "http", "path": path, "raw_path": path.encode(),
             "root_path": "", "query_string": b"", "headers": raw,
             "client": ("127.0.0.1", 1), "server": ("testserver", 80)}
    chunks = _chunks(total)

    async def receive() -> dict:
        chunk = next(chunks, None)
        if chunk is None:
            await asyncio.sleep(3600)  # the client waits for an answer
        exchange.bytes_read += len(chunk)
        return {"type": "http.request", "body": chunk,
                "more_body": exchange.bytes_read < total}

    async def send(message: dict) -> None:
        if message["type"] == "http.response.start":
            exchange.status = message["status"]
            exchange.headers = {k.decode(): v.decode() for k, v in message["headers"]}
        elif message["type"] == "http.response.body":
            exchange.body += message.get("body", b"")

    asyncio.run(asyncio.wait_for(app(scope, receive, send), timeout=60))
    return exchange


def _chunks(total: int) -> Iterator[bytes]:
    sent = 0
    while sent < total:
        chunk = CHUNK if total - sent >= len(CHUNK) else CHUNK[:total - sent]
        sent += len(chunk)
        yield chunk


ROUTES = [("post", "/v1/events"), ("put", "/v1/learners/x1"), ("put", "/v1/resources/x1"),
          ("post", "/v1/recommendations/anonymous"), ("post", "/v1/admin/reload")]


@pytest.mark.parametrize("method, path", ROUTES)
@pytest.mark.parametrize("content_length", [False, True])
def test_a_gigabyte_without_a_key_is_refused_unread(client, method, path, content_length):
    started = time.perf_counter()
    for headers in ({}, {"X-API-Key": "wrong"}):
        exchange = send_stream(client.app, method, path, headers, 1024 * MiB, content_length)
        assert exchange.status == 401, exchange.body
        assert exchange.bytes_read == 0
        assert b"X-API-Key" in exchange.body
    assert time.perf_counter() - started < 2
    assert client.get("/v1/learners/d0/recommendations", headers=KEY).status_code == 200


def test_a_platform_key_on_an_admin_route_is_refused_unread(client):
    exchange = send_stream(client.app, "post", "/v1/admin/reload", KEY, 200 * MiB)
    assert exchange.status == 403 and exchange.bytes_read == 0


@pytest.mark.parametrize("key", [API_KEY, ADMIN_KEY])
@pytest.mark.parametrize("method, path", ROUTES[:4])
def test_200_megabytes_with_a_key_stop_at_the_limit(client, method, path, key):
    limit = client.app.state.runtime.options.max_body_bytes
    started = time.perf_counter()
    exchange = send_stream(client.app, method, path, {"X-API-Key": key}, 200 * MiB)
    assert exchange.status == 413, exchange.body
    assert exchange.bytes_read <= limit + len(CHUNK)
    assert time.perf_counter() - started < 2
    assert client.get("/v1/learners/d0/recommendations", headers=KEY).status_code == 200


def test_a_too_large_content_length_is_refused_before_reading(client):
    exchange = send_stream(client.app, "post", "/v1/events", KEY, 1024 * MiB,
                           content_length=True)
    assert exchange.status == 413 and exchange.bytes_read == 0


def test_the_limit_is_a_setting(make_client, tmp_path):
    from recommender.serving.app import options_from_settings
    from recommender.settings import Settings

    options, _ = options_from_settings(Settings(workdir=tmp_path, api_keys="a",
                                                max_body_bytes=4096))
    assert options.max_body_bytes == 4096
    event = {"event_id": "big", "learner_id": "d0", "resource_id": "r00",
             "event_type": "view", "timestamp": "2025-01-01T00:00:00Z"}
    with make_client(max_body_bytes=4096) as client:
        small = client.post("/v1/events", json=event, headers=KEY)
        large = client.post("/v1/events", json={"events": [event] * 100}, headers=KEY)
    assert small.status_code == 201
    assert large.status_code == 413
    assert large.json() == {"detail": "request body larger than 4096 bytes"}


def test_open_routes_stay_open_and_unknown_v1_routes_need_a_key(client):
    for path in ("/health", "/ready", "/metrics", "/openapi.json", "/docs"):
        assert client.get(path).status_code == 200, path
    assert client.get("/v1/nothing").status_code == 401
    assert client.get("/v1/nothing", headers=KEY).status_code == 404
