"""The open-loop load generator of ``benchmarks/serve_load.py``: its schedule, and that latency
runs from each request's scheduled send time (no coordinated omission), against a tiny HTTP
server on 127.0.0.1 in the test's own event loop."""

from __future__ import annotations

import asyncio
import importlib.util
import time
from pathlib import Path

import pytest

PATH = Path(__file__).resolve().parents[2] / "benchmarks" / "serve_load.py"


@pytest.fixture(scope="module")
def serve_load():  # noqa: ANN201 - the benchmark script as a module
    spec = importlib.util.spec_from_file_location("serve_load_under_test", PATH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module._install_uvloop = lambda: None  # keep this process's event loop policy
    return module


def test_schedule_has_the_offered_count_and_is_fixed_in_advance(serve_load) -> None:
    poisson = serve_load.arrival_times(200.0, 3.0, "poisson", seed=7)
    assert len(poisson) == 600
    assert poisson == sorted(poisson) and 0.0 <= poisson[0] and poisson[-1] < 3.0
    assert poisson == serve_load.arrival_times(200.0, 3.0, "poisson", seed=7)
    gaps = [b - a for a, b in zip(poisson, poisson[1:])]
    assert max(gaps) > 3 * (1 / 200)  # exponential-like gaps, not a metronome
    fixed = serve_load.arrival_times(200.0, 3.0, "fixed")
    assert len(fixed) == 600 and fixed[1] - fixed[0] == pytest.approx(1 / 200)
    with pytest.raises(ValueError, match="arrivals"):
        serve_load.arrival_times(200.0, 3.0, "bursty")


async def _serve(handler) -> tuple[asyncio.AbstractServer, int]:  # noqa: ANN001
    async def on_connection(reader: asyncio.StreamReader,
                            writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                await reader.readuntil(b"\r\n\r\n")
                await handler()
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(on_connection, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


def _spec(port: int, **more: object) -> dict:
    return {"host": "127.0.0.1", "port": port, "kind": "bare", "warmup": 0.0, "seed": 0,
            "arrivals": "fixed", **more}


def test_a_stall_counts_against_every_request_scheduled_during_it(serve_load) -> None:
    """One connection, 100 requests/s for 1 s, and the server stalls from 0.3 s to 0.6 s: the
    ~30 requests scheduled in the stall wait for it, and their latencies say so (timed from
    their sends, only the one the stall held would)."""

    async def run() -> dict:
        started: list[float] = []

        async def handler() -> None:
            now = time.perf_counter()
            started.append(now)
            since = now - started[0]
            if 0.3 <= since < 0.6:
                await asyncio.sleep(0.6 - since)

        server, port = await _serve(handler)
        async with server:
            return await serve_load._open_load(
                _spec(port, rate=100.0, seconds=1.0, connections=1, drain=2.0))

    result = asyncio.run(run())
    assert result["errors"] == {}
    assert result["completed"] == 100 and result["offered"] == pytest.approx(100.0)
    slow = [latency for latency in result["latencies"] if latency > 0.1]
    assert len(slow) >= 15  # ~20 requests were scheduled more than 0.1 s before the stall's end
    assert max(result["latencies"]) > 0.25
    assert result["peak_in_flight"] >= 15  # queued for the one connection, still counted


def test_unanswered_requests_end_at_the_deadline_as_errors(serve_load) -> None:
    async def run() -> dict:
        async def handler() -> None:
            await asyncio.sleep(60)

        server, port = await _serve(handler)
        async with server:
            started = time.perf_counter()
            result = await serve_load._open_load(
                _spec(port, rate=20.0, seconds=0.5, connections=2, drain=0.3))
            assert time.perf_counter() - started < 3
            return result

    result = asyncio.run(run())
    assert result["errors"] == {"unanswered at the deadline": 10}
    assert result["completed"] == 0 and len(result["latencies"]) == 10
    assert min(result["latencies"]) >= 0.25  # each waited at least the drain
