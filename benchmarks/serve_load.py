"""Load-test the production server on a sample world of 100k resources and 1M learners.

One run prints, side by side:

* requests/s, p50 and p99 latency of ``GET /v1/learners/{id}/recommendations?k=10`` and of a
  bare FastAPI endpoint returning a fixed 10-item JSON, both under the same uvicorn settings
  (workers, loop, HTTP parser, no access log: uvicorn's is off for both, and so is the app's
  own unless ``--access-log``, 50-100 us of CPU per request), at the same concurrency,
  with the server CPU each request cost; and beside them a *floor* endpoint under the same
  settings doing only what no list endpoint can skip (key check, durable store read, one
  search of the served index, 10 items as JSON), which bounds what a list endpoint built from
  the served path's parts could reach on the machine;
* beside those closed-loop figures, in the same table, the same endpoints in an *open loop*:
  after their closed loops, each endpoint is driven again at a fixed offered rate, requests
  sent on a schedule fixed in advance (Poisson arrivals by default) whatever the answers do,
  and its p50/p99/p99.9 run from each request's *scheduled* send time, so time spent queued
  behind slow answers counts (no coordinated omission): the latency a platform sees. The
  bare, floor and list endpoints get one common rate, ``--open-loop-share`` (default 0.5) of
  the slowest list endpoint's closed-loop req/s (the list endpoint's, unless the machine
  slowed the floor's run): the same traffic on each, so the rows differ only by what each
  request costs, their server CPU per request is compared at equal rates (it moves with the
  load), and no endpoint is pushed to a share of a maximum that a lucky closed-loop run
  overstated (a per-endpoint share on this shared machine once sent the floor past its
  capacity). The list endpoint's row is the issue's "50% of the measured maximum". Event
  ingestion, whose traffic is not a list request's, gets the same share of its own maximum.
  The list endpoint's server CPU per request over the floor's is printed on its own line
  against the issue's target (at most 1.75x);
* raw query time (one query at a time, one thread, as each worker asks) of the served index,
  of a full FAISS scan, of the exact norm-pruned search and of an approximate FAISS index
  (HNSW by default), each with its recall@10 against exact search. The served index defaults
  to ``NormPrunedFlat,approx`` (the longest 2% of the resource vectors, read deeper when a
  filter leaves them too few): its recall@10 is printed beside the exact path's (longest 5%
  first, then the rest as the norm bound asks) in the same run, and must stay >= 0.95. On
  this model's vectors HNSW's recall@10 stays near 0.6 (resource norms span four orders of
  magnitude), so it is measured beside them, not served;
* event ingestion rate through ``POST /v1/events`` with durability on (SQLite WAL,
  ``synchronous=FULL``), one event per request at the same concurrency, its share of the bare
  endpoint's request rate and its p99 against the issue's targets (>= 25%, <= 50 ms), and
  beside it the rate for batches of ``BATCH`` events per request (concurrent requests share
  one transaction and one fsync: the group commit of ``recommender.store.committer``); every
  acknowledgement follows an fsync;
* the error count, and a kill -9 of the server during ingestion: every event the server
  acknowledged must be in the database afterwards.

The servers are real (``recommender.serving.server.serve``, the ``recommender serve`` code path)
and listen on 127.0.0.1 only; the load comes from a separate process (asyncio, HTTP/1.1
keep-alive), bounded in time. The world, model and bundle are built once and cached under
``--workdir``.

Run: ``.venv/bin/python benchmarks/serve_load.py`` (``--help`` for sizes; ``--learners 20000
--resources 2000 --seconds 5`` for a quick look; ``--open-loop-share 0`` skips the open loop).
"""

from __future__ import annotations

import argparse
import asyncio
import hmac
import json
import os
import random
import resource
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Annotated

import numpy as np
from fastapi import Depends, HTTPException, Query
from fastapi.security import APIKeyHeader
from starlette.concurrency import run_in_threadpool

from recommender.serving.schemas import (
    LearnerId,
    RecommendationList,
    RecommendationQuery,
    RecommendedResource,
)

HERE = Path(__file__).resolve().parent
LIST_FLOOR_TARGET = 1.75  # issue 14: the list endpoint's server CPU per request over the floor's
KEY = "bench-platform-key"
ADMIN_KEY = "bench-admin-key"
BATCH = 100  # events per request of the batch ingestion run
EVENTS_SHARE_TARGET = 0.25  # issue 16: one-event ingestion's rate over the bare request rate
EVENTS_P99_TARGET_MS = 50.0


# --- the bare endpoint (same server settings, no work) -----------------------------------------

def bare_app():  # noqa: ANN201 - a uvicorn factory
    """A FastAPI app with one endpoint returning a fixed 10-item delivery list."""
    from fastapi import FastAPI

    app = FastAPI()
    body = {
        "learner_id": "L0000001", "model_version": "bare", "cold_start": False,
        "cold_start_path": None,
        "items": [{"rank": i, "resource_id": f"R{i:06d}", "title": f"智能手机入门 {i}",
                   "score": 1.0 - i / 10, "reason": "because you completed \u201c微信入门\u201d",
                   "reason_kind": "similar"} for i in range(1, 11)],
    }

    @app.get("/bare")
    async def bare() -> dict:
        return body

    return app


def floor_app():  # noqa: ANN201 - a uvicorn factory
    """The least work the issue's list endpoint cannot skip, done with the served path's own
    parts under the same server settings: the API key compared in constant time, the
    learner's stored events and profile read from the durable store (read-your-write on any
    worker), the learner's trained vector, one search of the served index (the same
    retriever, with a mask leaving out what they are done with), and the 10 ids, titles and
    scores as JSON. No filters, fold-in, reasons, metrics or middleware of the app's, and no
    FastAPI parameter solving (a bare Starlette route). Its throughput beside the bare
    endpoint's bounds what a list endpoint built from these parts could reach here."""

    import faiss
    from fastapi import FastAPI
    from starlette.responses import Response
    from threadpoolctl import threadpool_limits

    from recommender.bundle import load_bundle
    from recommender.store import Store
    try:
        from recommender.delivery.served import ServedModel
    except ImportError:  # before the served model moved into the delivery core
        from recommender.serving.model_state import ServedModel

    faiss.omp_set_num_threads(1)  # one worker, one core: as the production app sets it
    threadpool_limits(1)
    served = ServedModel.from_bundle(load_bundle(os.environ["FLOOR_BUNDLE_PATH"]),
                                     os.environ["FLOOR_INDEX_FACTORY"],
                                     os.environ.get("FLOOR_INDEX_PARAMS", ""))
    store = Store.from_url(os.environ["FLOOR_DATABASE_URL"])
    vectors, exclusions = served.bundle.learner_factors, served.bundle.exclusions
    all_open = np.ones(served.n_resources, dtype=bool)
    key = KEY.encode()

    def floor_items(learner_id: str) -> list[tuple[str, str, float]]:
        """The floor's scoring for one learner (after its store read): id, title, score."""
        row = served.learner_idx(learner_id)
        allowed = all_open.copy()
        allowed[exclusions.indices[exclusions.indptr[row]: exclusions.indptr[row + 1]]] = False
        found = served.retriever.search(vectors[row], 10, allowed)
        idx = found.resource_idx
        return list(zip(served.resource_ids[idx].tolist(), served.titles[idx].tolist(),
                        found.scores.tolist()))

    def floor_list(learner_id: str) -> bytes:
        """The floor's JSON body for one learner."""
        items = [{"rank": rank, "resource_id": resource_id, "title": title, "score": score}
                 for rank, (resource_id, title, score) in enumerate(floor_items(learner_id), 1)]
        return json.dumps({"learner_id": learner_id, "items": items},
                          ensure_ascii=False).encode()  # UTF-8, as FastAPI's

    # The floor's handler has the served list handler's shape: the store read leaves the
    # event loop in one thread-pool hop (as the app's learner dependency does), the search and
    # the JSON body run on the loop (as the app's scoring and response serialisation do).
    async def floor(request):  # noqa: ANN001, ANN202 - a Starlette endpoint
        if not hmac.compare_digest(request.headers.get("x-api-key", "").encode(), key):
            return Response(status_code=401)
        learner_id = request.path_params["learner_id"]
        await run_in_threadpool(store.learner_snapshot, learner_id)
        return Response(floor_list(learner_id), media_type="application/json")

    app = FastAPI()
    app.add_route("/floor/{learner_id}", floor, methods=["GET"])
    _add_idiom_floor(app, store, floor_items, key)
    return app


def _add_idiom_floor(app, store, floor_items, key: bytes) -> None:  # noqa: ANN001
    """The floor's work (the same store read in one thread-pool hop, the same search) in the
    list route's FastAPI idiom: the key as a security dependency, the learner as a dependency,
    the list's query model, a response model. What it costs over the floor is what the idiom
    costs any list endpoint; what the list endpoint costs over it is what filters, fold-in,
    reasons and metrics add. (Its handlers are module-level functions, so FastAPI can resolve
    their annotations; this fills in what they work with.)"""
    _IDIOM.update(store=store, floor_items=floor_items, key=key)
    app.add_api_route("/idiom/{learner_id}", _idiom_list, methods=["GET"],
                      response_model=RecommendationList, dependencies=[Depends(_idiom_key)])


_IDIOM: dict = {}
_KEY_HEADER = APIKeyHeader(name="X-API-Key", auto_error=False)


async def _idiom_key(given: Annotated[str | None, Depends(_KEY_HEADER)]) -> None:
    if not given or not hmac.compare_digest(given.encode(), _IDIOM["key"]):
        raise HTTPException(401)


async def _idiom_learner(learner_id: LearnerId) -> str:
    await run_in_threadpool(_IDIOM["store"].learner_snapshot, learner_id)
    return learner_id


async def _idiom_list(query: Annotated[RecommendationQuery, Query()],
                      learner_id: Annotated[str, Depends(_idiom_learner)]) -> RecommendationList:
    return RecommendationList(learner_id=learner_id, model_version="floor", items=[
        RecommendedResource(rank=rank, resource_id=resource_id, title=title, score=score,
                            reason="", reason_kind="popular")
        for rank, (resource_id, title, score) in enumerate(_IDIOM["floor_items"](learner_id), 1)])


# --- load generator (runs in its own process) ---------------------------------------------------

def _install_uvloop() -> None:
    try:
        import uvloop
        uvloop.install()
    except ImportError:
        pass


EVENT = ('{"event_id": "%s", "learner_id": %s, "resource_id": %s, "event_type": "view", '
         '"timestamp": "2025-01-15T10:00:00Z"}')


def _requests(spec: dict):  # noqa: ANN202 - (worker, n, rng) -> (payload, event id or None)
    """The request builder of a load spec's ``kind``: one request's bytes, and the event id
    when it posts an event."""
    host = spec["host"]
    learners, resources = spec.get("learners", []), spec.get("resources", [])
    kind = spec["kind"]
    headers = f"Host: {host}\r\nX-API-Key: {KEY}\r\n"
    # An event's JSON from a template (ids quoted once, here): the load generator shares the
    # machine's cores with the server, so building a body must cost it next to nothing.
    pid = os.getpid()
    quoted_learners = [json.dumps(learner) for learner in learners]
    quoted_resources = [json.dumps(resource) for resource in resources]

    def request(worker: int, n: int, rng: random.Random) -> tuple[bytes, str | None]:
        if kind == "bare":
            return f"GET /bare HTTP/1.1\r\nHost: {host}\r\n\r\n".encode(), None
        if kind == "floor":
            learner = rng.choice(learners)
            return f"GET /floor/{learner} HTTP/1.1\r\n{headers}\r\n".encode(), None
        if kind == "idiom":
            learner = rng.choice(learners)
            return f"GET /idiom/{learner}?k=10 HTTP/1.1\r\n{headers}\r\n".encode(), None
        if kind == "recommend":
            learner = rng.choice(learners)
            return (f"GET /v1/learners/{learner}/recommendations?k=10 HTTP/1.1\r\n"
                    f"{headers}\r\n").encode(), None
        event_id = f"bench-{pid}-{worker}-{n}"
        size = BATCH if kind == "ingest_batch" else 1
        events = [EVENT % (f"{event_id}-{j}" if size > 1 else event_id,
                           rng.choice(quoted_learners), rng.choice(quoted_resources))
                  for j in range(size)]
        body = (events[0] if size == 1 else '{"events": [' + ", ".join(events) + "]}").encode()
        return (f"POST /v1/events HTTP/1.1\r\n{headers}Content-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\n\r\n").encode() + body, (
                    event_id if size == 1 else None)  # the kill -9 check follows single events

    return request


async def _exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                    payload: bytes) -> int:
    """Send one request on a keep-alive connection and read its whole response: its status."""
    writer.write(payload)
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = 0
    for line in head.split(b"\r\n"):
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
    await reader.readexactly(length)
    return status


async def _load(spec: dict) -> dict:
    """Keep ``concurrency`` keep-alive connections busy for ``seconds``; latency per request."""
    _install_uvloop()
    host, port = spec["host"], spec["port"]
    seconds, warmup = spec["seconds"], spec.get("warmup", 1.0)
    start = time.perf_counter()
    measure_from, stop_at = start + warmup, start + warmup + seconds
    latencies: list[float] = []
    answered = [0]  # every response, warm-up included (for CPU per request)
    errors: dict[str, int] = {}
    acked: list[str] = []
    request = _requests(spec)

    async def worker(index: int) -> None:
        rng = random.Random(index)
        n = 0
        reader = writer = None
        while time.perf_counter() < stop_at:
            try:
                if writer is None:
                    reader, writer = await asyncio.open_connection(host, port)
                payload, event_id = request(index, n, rng)
                n += 1
                sent = time.perf_counter()
                status = await _exchange(reader, writer, payload)
                done = time.perf_counter()
                answered[0] += 1
                if 200 <= status < 300:
                    if event_id is not None:
                        acked.append(event_id)  # acknowledged: the server says it is stored
                    if sent >= measure_from and done <= stop_at:
                        latencies.append(done - sent)
                elif sent >= measure_from:
                    errors[f"HTTP {status}"] = errors.get(f"HTTP {status}", 0) + 1
            except (OSError, asyncio.IncompleteReadError, ValueError, IndexError) as exc:
                if time.perf_counter() >= measure_from:
                    errors[type(exc).__name__] = errors.get(type(exc).__name__, 0) + 1
                if writer is not None:
                    writer.close()
                reader = writer = None
                if spec.get("stop_on_error"):
                    return
                await asyncio.sleep(0.05)
        if writer is not None:
            writer.close()

    await asyncio.gather(*(worker(i) for i in range(spec["concurrency"])))
    return {"latencies": latencies, "errors": errors, "acked": acked, "seconds": seconds,
            "answered": answered[0]}


def arrival_times(rate: float, seconds: float, arrivals: str = "poisson", seed: int = 0
                  ) -> list[float]:
    """The send times (seconds from the start) of ``round(rate * seconds)`` requests over
    ``seconds``, fixed before a run starts: the arrivals of a Poisson process given its count
    (independent uniform times, sorted: the gaps of many independent users' requests), or one
    every 1/``rate`` s (``fixed``). Given the count, an endpoint that keeps up answers exactly
    the offered rate, so a shortfall is the endpoint's, not the dice's."""
    if arrivals not in ("poisson", "fixed"):
        raise ValueError(f"arrivals must be 'poisson' or 'fixed', not {arrivals!r}")
    count = round(rate * seconds)
    if arrivals == "fixed":
        return [n / rate for n in range(count)]
    rng = random.Random(seed)
    return sorted(rng.uniform(0.0, seconds) for _ in range(count))


# The event loop sleeps in whole milliseconds (rounded up): a request due within half of one is
# sent now, so sends land within +-0.5 ms of their schedule, not up to 1 ms late.
EARLY = 0.0005
OPEN_LOOP_DRAIN = 5.0  # seconds after the last scheduled send before the unanswered are errors


async def _open_load(spec: dict) -> dict:
    """Open loop: send requests at ``rate`` per second on a schedule fixed in advance
    (``arrival_times``: the warm-up's, then the measured seconds'), whatever the responses do,
    over ``connections`` keep-alive connections opened before it starts (in turn, so the
    server's workers share them as they accepted them); a request that finds them all busy
    waits for one. Each latency runs from the request's scheduled send time to its last byte
    (from its send if that was up to ``EARLY`` before schedule), so a server stall counts
    against every request scheduled during it, not just the one it held (no coordinated
    omission). Latencies are kept for requests scheduled after the warm-up. A request
    unanswered ``drain`` seconds after the last scheduled send is an error, and the time it
    waited (a lower bound) its latency."""
    _install_uvloop()
    host, port = spec["host"], spec["port"]
    seconds, warmup, drain = spec["seconds"], spec.get("warmup", 1.0), spec.get("drain", 5.0)
    rate, arrivals, seed = spec["rate"], spec.get("arrivals", "poisson"), spec.get("seed", 0)
    times = (arrival_times(rate, warmup, arrivals, seed)
             + [warmup + at for at in arrival_times(rate, seconds, arrivals, seed + 1)])
    measured = round(rate * seconds)
    latencies: list[float] = []
    lags: list[float] = []  # when the generator queued each measured request, past its time
    answered = [0]  # every response, warm-up included (for CPU per request)
    completed = [0]  # measured and answered 2xx
    in_flight, peak = [0], [0]  # requests due and not yet answered (queued for a connection too)
    errors: dict[str, int] = {}
    acked: list[str] = []
    request = _requests(spec)
    due: asyncio.Queue[float | None] = asyncio.Queue()

    async def connect() -> tuple[asyncio.StreamReader, asyncio.StreamWriter] | None:
        try:
            return await asyncio.wait_for(asyncio.open_connection(host, port), 10)
        except (OSError, TimeoutError):
            return None  # its worker tries again on its first request

    pool = [await connect() for _ in range(spec["connections"])]
    start = time.perf_counter() + 0.01
    measure_from, deadline = start + warmup, start + warmup + seconds + drain

    def failed(kind: str, at: float) -> None:
        if at >= measure_from:
            errors[kind] = errors.get(kind, 0) + 1

    def unanswered(at: float) -> None:
        failed("unanswered at the deadline", at)
        if at >= measure_from:
            latencies.append(max(deadline - at, 0.0))  # a lower bound

    async def dispatcher() -> None:
        for offset in times:
            at = start + offset
            wait = at - time.perf_counter() - EARLY
            if wait > 0:
                await asyncio.sleep(wait)
            due.put_nowait(at)
            in_flight[0] += 1
            peak[0] = max(peak[0], in_flight[0])
            if at >= measure_from:
                lags.append(time.perf_counter() - at)
        for _ in pool:
            due.put_nowait(None)

    async def worker(index: int) -> None:
        rng = random.Random(index)
        n = 0
        reader, writer = pool[index] or (None, None)
        at = None  # the request in hand, unanswered if the deadline comes first
        loop = asyncio.get_running_loop()
        try:
            # One timer for the whole run, not one per request (wait_for makes a task each).
            async with asyncio.timeout_at(loop.time() + deadline - time.perf_counter()):
                while (at := await due.get()) is not None:
                    payload, event_id = request(index, n, rng)
                    n += 1
                    try:
                        if writer is None or reader.at_eof():  # none yet, or closed when idle
                            if writer is not None:
                                writer.close()
                            reader, writer = await asyncio.open_connection(host, port)
                        sent = time.perf_counter()
                        status = await _exchange(reader, writer, payload)
                        done = time.perf_counter()
                    except (OSError, asyncio.IncompleteReadError, ValueError, IndexError) as exc:
                        in_flight[0] -= 1
                        failed(type(exc).__name__, at)
                        at = None
                        if writer is not None:
                            writer.close()
                        reader = writer = None
                        continue
                    in_flight[0] -= 1
                    answered[0] += 1
                    if 200 <= status < 300:
                        if event_id is not None:
                            acked.append(event_id)  # acknowledged: the server says it is stored
                        if at >= measure_from:
                            latencies.append(done - min(at, sent))
                            completed[0] += 1
                    else:
                        failed(f"HTTP {status}", at)
                    at = None
        except TimeoutError:
            if at is not None:
                unanswered(at)
        if writer is not None:
            writer.close()

    await asyncio.gather(dispatcher(), *(worker(i) for i in range(len(pool))))
    while not due.empty():  # due, and no worker took it before the deadline
        if (at := due.get_nowait()) is not None:
            unanswered(at)
    lag = np.array(lags) * 1000
    return {"latencies": latencies, "errors": errors, "acked": acked, "seconds": seconds,
            "answered": answered[0], "completed": completed[0], "rate": rate,
            "offered": measured / seconds, "peak_in_flight": peak[0],
            "connections": len(pool),
            "lag_p50_ms": float(np.percentile(lag, 50)) if len(lag) else float("nan"),
            "lag_p99_ms": float(np.percentile(lag, 99)) if len(lag) else float("nan")}


def run_loadgen(spec_path: str) -> None:
    spec = json.loads(Path(spec_path).read_text())
    result = asyncio.run(_open_load(spec) if spec.get("rate") else _load(spec))
    Path(spec["out"]).write_text(json.dumps(result))


def session_cpu_ticks(session: int) -> dict[int, int]:
    """CPU ticks (user + system) used so far by each live process of one session (a server
    and its workers), by pid; empty where /proc is not there to ask."""
    ticks: dict[int, int] = {}
    proc = Path("/proc")
    if not proc.is_dir():
        return ticks
    for stat in proc.glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        fields = text[text.rindex(")") + 2:].split()  # from field 3 (state) on
        if int(fields[3]) == session:  # field 6: session id
            ticks[int(stat.parent.name)] = int(fields[11]) + int(fields[12])  # utime, stime
    return ticks


def drive(spec: dict, workdir: Path, timeout: float, server: subprocess.Popen) -> dict:
    """Run the load generator as a separate process and return its result, with the CPU
    time the server and the load generator each spent per response: on a shared machine
    req/s moves with whatever else runs, CPU per request does not (much)."""
    name = spec.get("name", spec["kind"])
    spec_path = workdir / f"load-{name}.json"
    spec["out"] = str(workdir / f"result-{name}.json")
    spec_path.write_text(json.dumps(spec))
    server_before = session_cpu_ticks(server.pid)
    children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run([sys.executable, __file__, "--loadgen", str(spec_path)], check=True,
                   timeout=timeout)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    server_after = session_cpu_ticks(server.pid)
    per_process = sorted((server_after[pid] - server_before.get(pid, 0) for pid in server_after),
                         reverse=True)
    server_cpu = sum(per_process) / os.sysconf("SC_CLK_TCK") if per_process else float("nan")
    loadgen_cpu = (children.ru_utime - children_before.ru_utime
                   + children.ru_stime - children_before.ru_stime)
    result = json.loads(Path(spec["out"]).read_text())
    answered = max(result.get("answered", 0), 1)
    result["server_cpu_ms"] = server_cpu / answered * 1000
    # How the work spread over the server's processes (the busiest first): uneven shares
    # mean some workers queue requests while others idle.
    result["cpu_shares"] = [round(100 * t / max(sum(per_process), 1)) for t in per_process]
    result["loadgen_cpu_ms"] = loadgen_cpu / answered * 1000
    return result


def summarise(result: dict) -> dict:
    lat = np.array(result["latencies"]) * 1000
    return {
        "rps": len(lat) / result["seconds"],
        "p50": float(np.percentile(lat, 50)) if len(lat) else float("nan"),
        "p99": float(np.percentile(lat, 99)) if len(lat) else float("nan"),
        "n": len(lat), "errors": sum(result["errors"].values()), "error_kinds": result["errors"],
        "server_cpu_ms": result.get("server_cpu_ms", float("nan")),
        "loadgen_cpu_ms": result.get("loadgen_cpu_ms", float("nan")),
        "cpu_shares": result.get("cpu_shares", []),
    }


def summarise_open(result: dict | None) -> dict:
    """An open-loop run's figures (all NaN when it did not run)."""
    nan = float("nan")
    if result is None:
        return {"offered": nan, "achieved": nan, "p50": nan, "p99": nan, "p999": nan,
                "errors": 0, "error_kinds": {}, "server_cpu_ms": nan, "loadgen_cpu_ms": nan,
                "lag_p50_ms": nan, "lag_p99_ms": nan, "peak_in_flight": 0,
                "connections": 0}
    lat = np.array(result["latencies"]) * 1000

    def pct(q: float) -> float:
        return float(np.percentile(lat, q)) if len(lat) else nan

    return {"offered": result["offered"], "achieved": result["completed"] / result["seconds"],
            "p50": pct(50), "p99": pct(99), "p999": pct(99.9),
            "errors": sum(result["errors"].values()), "error_kinds": result["errors"],
            "server_cpu_ms": result.get("server_cpu_ms", nan),
            "loadgen_cpu_ms": result.get("loadgen_cpu_ms", nan),
            "lag_p50_ms": result["lag_p50_ms"], "lag_p99_ms": result["lag_p99_ms"],
            "peak_in_flight": result["peak_in_flight"], "connections": result["connections"]}


# --- servers ------------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_ready(port: int, path: str, seconds: float, process: subprocess.Popen) -> None:
    import httpx

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}; see its log")
        try:
            if httpx.get(f"http://127.0.0.1:{port}{path}", headers={"X-API-Key": KEY},
                         timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"server on {port} not ready after {seconds:.0f}s")


def start_server(args: argparse.Namespace, bundle: Path, database: Path, port: int,
                 log: Path) -> subprocess.Popen:
    """The production server, exactly as ``recommender serve`` starts it, in its own session
    (so kill -9 can take the whole process group)."""
    env = {**os.environ, "RECOMMENDER_BUNDLE_PATH": str(bundle),
           "RECOMMENDER_API_KEYS": KEY, "RECOMMENDER_ADMIN_KEYS": ADMIN_KEY,
           "RECOMMENDER_WORKERS": str(args.workers), "RECOMMENDER_PORT": str(port),
           "RECOMMENDER_HOST": "127.0.0.1", "RECOMMENDER_INDEX_FACTORY": args.index_factory,
           "RECOMMENDER_INDEX_PARAMS": args.index_params,
           "RECOMMENDER_DATABASE_URL": f"sqlite:///{database}",
           "RECOMMENDER_ACCESS_LOG": str(args.access_log).lower(),
           "RECOMMENDER_WORKDIR": str(args.workdir)}
    code = ("from recommender.serving.server import serve; "
            "from recommender.settings import load_settings; serve(load_settings())")
    return subprocess.Popen([sys.executable, "-c", code], env=env, stdout=log.open("w"),
                            stderr=subprocess.STDOUT, start_new_session=True)


def start_bare(args: argparse.Namespace, port: int, log: Path, factory: str = "bare_app",
               env: dict | None = None) -> subprocess.Popen:
    """A benchmark app (``bare_app`` or ``floor_app``) under the production server's uvicorn
    settings."""
    code = (f"import uvicorn; uvicorn.run('serve_load:{factory}', factory=True, "
            f"app_dir={str(HERE)!r}, host='127.0.0.1', port={port}, workers={args.workers}, "
            "log_level='info', access_log=False, loop='auto', http='auto')")
    return subprocess.Popen([sys.executable, "-c", code], stdout=log.open("w"),
                            stderr=subprocess.STDOUT, start_new_session=True,
                            env={**os.environ, **(env or {})})


def stop(process: subprocess.Popen, hard: bool = False) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL if hard else signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


# --- the world, the model, the bundle -----------------------------------------------------------

def build_bundle(args: argparse.Namespace) -> Path:
    """Generate the world, fit ALS and its cold start, save the bundle (cached)."""
    path = args.workdir / f"bundle-{args.learners}-{args.resources}-{args.events_per_learner}"
    if (path / "manifest.json").is_file():
        print(f"bundle: cached at {path}")
        return path
    from recommender.bundle import build_bundle as bundle_of, save_bundle
    from recommender.data.sample_world import generate_world
    from recommender.features import build_feature_set
    from recommender.models import ALSModel, ColdStart, ContentModel

    started = time.perf_counter()
    world = generate_world(args.learners, args.resources, 0,
                           events_per_learner=args.events_per_learner)
    print(f"world: {len(world.learners):,} learners, {len(world.resources):,} resources, "
          f"{len(world.events):,} events ({time.perf_counter() - started:.0f}s)", flush=True)
    features = build_feature_set(world)
    started = time.perf_counter()
    model = ALSModel(factors=args.factors, iterations=args.iterations).fit(features)
    print(f"ALS ({args.factors} factors, {args.iterations} iterations): "
          f"{time.perf_counter() - started:.0f}s", flush=True)
    started = time.perf_counter()
    cold = ColdStart(model, content=ContentModel(n_components=64)).fit(features)
    print(f"cold start (content mapping): {time.perf_counter() - started:.0f}s", flush=True)
    bundle = bundle_of(model, cold, features,
                       {"version": f"als-bench-{args.learners}", "data": world.summary()},
                       regions=world.regions)
    save_bundle(bundle, path)
    return path


# --- raw FAISS ----------------------------------------------------------------------------------

def index_figures(bundle_path: Path, indexes: list[tuple[str, str]], n_queries: int = 2000
                  ) -> tuple[dict, list[dict]]:
    """Per index (factory, params): single-query latency of the raw index (k=10, one query at
    a time, one thread: as each worker asks) and recall@10 against an exact full scan."""
    import faiss
    from threadpoolctl import threadpool_limits

    from recommender.bundle import load_bundle
    from recommender.index import ResourceIndex

    faiss.omp_set_num_threads(1)
    threadpool_limits(1)
    bundle = load_bundle(bundle_path)
    rng = np.random.default_rng(0)
    warm = np.flatnonzero(np.diff(bundle.interactions.indptr) > 0)
    queries = bundle.learner_factors[rng.choice(warm, n_queries, replace=False)]
    exact = faiss.IndexFlatIP(bundle.resource_factors.shape[1])
    exact.add(bundle.resource_factors)
    _, truth = exact.search(queries, 10)
    rows = [{"name": "exact Flat (full scan)", "recall": 1.0,
             **_timed(lambda q: exact.search(q, 10), queries[:500])}]
    for factory, params in indexes:
        raw = ResourceIndex(bundle.resource_factors, factory, params)._index  # no exclusions
        _, found = raw.search(queries, 10)
        recall = float(np.mean([len(set(a) & set(b)) / 10 for a, b in zip(found, truth)]))
        rows.append({"name": f"{factory} ({params or 'defaults'})", "recall": recall,
                     **_timed(lambda q, raw=raw: raw.search(q, 10), queries)})
    ids = {"learner_ids": bundle.learner_map.ids, "resource_ids": bundle.resource_map.ids,
           "warm": warm}
    return ids, rows


def _timed(search, queries: np.ndarray) -> dict:
    times = []
    for query in queries:
        started = time.perf_counter()
        search(query[None, :])
        times.append(time.perf_counter() - started)
    return {"p50_us": np.percentile(times, 50) * 1e6, "p99_us": np.percentile(times, 99) * 1e6}


# --- the run ------------------------------------------------------------------------------------

def main() -> None:
    args = parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    bundle = build_bundle(args)
    ids, figures = index_figures(bundle, [(args.index_factory, args.index_params),
                                          ("NormPrunedFlat", args.index_params),
                                          (args.compare_factory, args.compare_params)])
    rng = np.random.default_rng(1)
    # Every learner with a history, each request picking one uniformly (as a platform's
    # traffic spreads over its population): a short list re-asked would mostly meet the
    # workers' learner-view caches and measure them instead of the request.
    learners = [str(x) for x in ids["learner_ids"][ids["warm"]]]
    args.request_learners = len(learners)
    resources = [str(x) for x in rng.choice(ids["resource_ids"], 20000)]
    database = args.workdir / "serving.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{database}{suffix}").unlink(missing_ok=True)

    port, bare_port, floor_port = free_port(), free_port(), free_port()
    server = start_server(args, bundle, database, port, args.workdir / "server.log")
    bare = start_bare(args, bare_port, args.workdir / "bare.log")
    floor = start_bare(args, floor_port, args.workdir / "floor.log", "floor_app", {
        "FLOOR_BUNDLE_PATH": str(bundle), "FLOOR_INDEX_FACTORY": args.index_factory,
        "FLOOR_INDEX_PARAMS": args.index_params,
        "FLOOR_DATABASE_URL": f"sqlite:///{database}"})
    try:
        wait_ready(bare_port, "/bare", 60, bare)
        wait_ready(port, "/ready", 900, server)
        wait_ready(floor_port, f"/floor/{learners[0]}", 900, floor)
        common = {"host": "127.0.0.1", "concurrency": args.concurrency, "seconds": args.seconds,
                  "warmup": 2.0, "learners": learners, "resources": resources}
        timeout = args.seconds + 120

        def open_loop(kind: str, at_port: int, rate: float, process: subprocess.Popen
                      ) -> dict:
            """The same endpoint again at a fixed offered rate (none when it is 0)."""
            if not rate > 0:
                return summarise_open(None)
            return summarise_open(drive(
                {**common, "port": at_port, "kind": kind, "name": f"{kind}-open",
                 "rate": rate, "arrivals": args.open_loop_arrivals,
                 "connections": args.open_loop_connections, "drain": OPEN_LOOP_DRAIN},
                args.workdir, timeout, process))

        bare_result = summarise(drive({**common, "port": bare_port, "kind": "bare"},
                                      args.workdir, timeout, bare))
        floor_result = summarise(drive({**common, "port": floor_port, "kind": "floor"},
                                       args.workdir, timeout, floor))
        idiom_result = summarise(drive({**common, "port": floor_port, "kind": "idiom"},
                                       args.workdir, timeout, floor))
        recs = summarise(drive({**common, "port": port, "kind": "recommend"}, args.workdir,
                               timeout, server))
        # One offered rate for the three GET endpoints, a share of the slowest list endpoint's
        # maximum: the same traffic on each, which none of them is measured to be unable to
        # carry (see the module's docstring).
        list_rate = args.open_loop_share * min(floor_result["rps"], recs["rps"])
        opened = {"bare": open_loop("bare", bare_port, list_rate, bare),
                  "floor": open_loop("floor", floor_port, list_rate, floor),
                  "idiom": open_loop("idiom", floor_port, list_rate, floor),
                  "recommend": open_loop("recommend", port, list_rate, server)}
        stop(bare)
        stop(floor)
        ingest = summarise(drive({**common, "port": port, "kind": "ingest"}, args.workdir,
                                 timeout, server))
        ingest_batch = summarise(drive({**common, "port": port, "kind": "ingest_batch"},
                                       args.workdir, timeout, server))
        opened["ingest_batch"] = summarise_open(None)  # closed loop only
        opened["ingest"] = open_loop("ingest", port, args.open_loop_share * ingest["rps"],
                                     server)
    finally:
        stop(bare)
        stop(floor)
    durability = kill_during_ingestion(args, server, port, database, common)
    report(args, figures, bare_result, floor_result, recs, ingest, durability, opened,
           idiom_result, ingest_batch)


def kill_during_ingestion(args: argparse.Namespace, server: subprocess.Popen, port: int,
                          database: Path, common: dict) -> dict:
    """Ingest from a separate process, kill -9 the whole server mid-stream, then check that
    every acknowledged event is in the database."""
    from recommender.store import Store

    spec = {**common, "port": port, "kind": "ingest", "seconds": args.kill_after + 5,
            "warmup": 0.0, "stop_on_error": True}
    spec_path = args.workdir / "load-kill.json"
    spec["out"] = str(args.workdir / "result-kill.json")
    spec_path.write_text(json.dumps(spec))
    loadgen = subprocess.Popen([sys.executable, __file__, "--loadgen", str(spec_path)])
    time.sleep(args.kill_after)
    stop(server, hard=True)  # SIGKILL to the server's whole process group
    loadgen.wait(timeout=120)
    acked = json.loads(Path(spec["out"]).read_text())["acked"]
    store = Store.from_url(f"sqlite:///{database}")
    found = store.existing_event_ids(acked) if acked else set()
    store.dispose()
    return {"acked": len(acked), "found": len(found), "lost": len(set(acked) - found)}


def report(args: argparse.Namespace, figures: list[dict], bare: dict, floor: dict, recs: dict,
           ingest: dict, durability: dict, opened: dict[str, dict], idiom: dict,
           ingest_batch: dict) -> None:
    ratio = recs["rps"] / bare["rps"] if bare["rps"] else float("nan")
    floor_ratio = floor["rps"] / bare["rps"] if bare["rps"] else float("nan")
    errors = (bare["errors"] + floor["errors"] + idiom["errors"] + recs["errors"] + ingest["errors"]
              + ingest_batch["errors"]
              + sum(row["errors"] for row in opened.values()))
    print()
    print(f"server: uvicorn, {args.workers} workers, index {args.index_factory} "
          f"({args.index_params or 'default params'}), SQLite WAL synchronous=FULL, app access "
          f"log {'on' if args.access_log else 'off (as the bare server)'}; "
          f"{args.concurrency} concurrent clients, {args.seconds:.0f}s per run, loopback; "
          f"{os.cpu_count()} CPUs shared by servers and load generator; each recommendation "
          f"request for one of {args.request_learners:,} learners, picked uniformly")
    if args.open_loop_share > 0:
        print(f"open loop: bare, floor and recommendations at one offered rate, "
              f"{args.open_loop_share:.0%} of the slower list endpoint's closed-loop req/s "
              f"(events at {args.open_loop_share:.0%} of their own), {args.open_loop_arrivals} "
              f"arrivals on a schedule fixed in advance, over {args.open_loop_connections} "
              f"keep-alive connections, {args.seconds:.0f}s measured after the same warm-up; "
              "latency from each request's scheduled send time, so time queued behind slow "
              "responses counts (no coordinated omission)")
    else:
        print("open loop: skipped (--open-loop-share 0)")
    closed_columns = (f"{'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7} "
                      f"{'server CPU ms/req':>18} {'loadgen CPU ms/req':>19}")
    open_columns = (f"{'offered/s':>9} {'achieved/s':>10} {'p50 ms':>8} {'p99 ms':>8} "
                    f"{'p99.9 ms':>8} {'errors':>7} {'server CPU ms/req':>18}")
    print(f"{'':<44} {'closed loop: maximum throughput':<{len(closed_columns)}} | "
          f"open loop: fixed offered rate")
    print(f"{'endpoint':<44} {closed_columns} | {open_columns}")
    for name, row, key in (("bare FastAPI (fixed 10-item JSON)", bare, "bare"),
                           ("floor: key + store read + FAISS, 10 items", floor, "floor"),
                           ("floor in FastAPI's idiom (deps, models)", idiom, "idiom"),
                           ("GET /v1/learners/{id}/recommendations k=10", recs, "recommend"),
                           ("POST /v1/events (one event, fsync)", ingest, "ingest"),
                           (f"POST /v1/events ({BATCH} events, fsync)", ingest_batch,
                            "ingest_batch")):
        fixed = opened[key]
        print(f"{name:<44} {row['rps']:>9,.0f} {row['p50']:>8.2f} {row['p99']:>8.2f} "
              f"{row['errors']:>7} {row['server_cpu_ms']:>18.3f} {row['loadgen_cpu_ms']:>19.3f}"
              f" | {fixed['offered']:>9,.0f} {fixed['achieved']:>10,.0f} {fixed['p50']:>8.2f} "
              f"{fixed['p99']:>8.2f} {fixed['p999']:>8.2f} {fixed['errors']:>7} "
              f"{fixed['server_cpu_ms']:>18.3f}")
    cpu_ratio = bare["server_cpu_ms"] / recs["server_cpu_ms"] if recs["server_cpu_ms"] else 0
    print(f"server CPU per request, bare / recommendations: {cpu_ratio:.0%} (the throughput "
          "ratio a machine with spare cores for the load generator would approach)")
    print(f"throughput of bare: floor {floor_ratio:.0%}, recommendations {ratio:.0%}; server CPU "
          f"per request of the floor's: recommendations "
          f"{recs['server_cpu_ms'] / floor['server_cpu_ms']:.2f}x (what filters, fold-in, "
          "reasons and metrics add to the work no list endpoint can skip)")

    def over(a: float, b: float) -> float:
        return a / b if b else float("nan")

    list_floor = over(recs["server_cpu_ms"], floor["server_cpu_ms"])
    open_list_floor = over(opened["recommend"]["server_cpu_ms"],
                           opened["floor"]["server_cpu_ms"])
    at_one_rate = (f"; at their common open-loop rate {open_list_floor:.2f}x"
                   if args.open_loop_share > 0 else "")
    print(f"list/floor server CPU per request: {list_floor:.2f}x (target <= {LIST_FLOOR_TARGET}x;"
          f" closed loop{at_one_rate})")
    idiom_floor = over(idiom["server_cpu_ms"], floor["server_cpu_ms"])
    list_idiom = over(recs["server_cpu_ms"], idiom["server_cpu_ms"])
    open_idiom_floor = over(opened["idiom"]["server_cpu_ms"], opened["floor"]["server_cpu_ms"])
    open_list_idiom = over(opened["recommend"]["server_cpu_ms"],
                           opened["idiom"]["server_cpu_ms"])
    print(f"of which the idiom (the floor's work as a FastAPI route like the list's) "
          f"{idiom_floor:.2f}x the floor, and the list {list_idiom:.2f}x that (open loop: "
          f"{open_idiom_floor:.2f}x and {open_list_idiom:.2f}x)")
    if args.open_loop_share > 0:
        print("open loop, per endpoint: requests in flight at most (queued for a connection too) "
              "/ connections; sends after their scheduled time p50/p99 ms (in the latencies; below "
              "0: up to 0.5 ms early, timed from the send); load generator CPU ms/req: "
              + "; ".join(f"{label} {row['peak_in_flight']}/{row['connections']}, "
                          f"{row['lag_p50_ms']:.2f}/{row['lag_p99_ms']:.2f}, "
                          f"{row['loadgen_cpu_ms']:.3f}"
                          for label, row in (("bare", opened["bare"]), ("floor", opened["floor"]),
                                             ("idiom floor", opened["idiom"]),
                                             ("recommendations", opened["recommend"]),
                                             ("events", opened["ingest"]))))
    print("server CPU by process, busiest first: "
          + "; ".join(f"{label} {'/'.join(f'{share}%' for share in row['cpu_shares'])}"
                      for label, row in (("bare", bare), ("floor", floor),
                                         ("idiom floor", idiom),
                                         ("recommendations", recs),
                                         ("events", ingest),
                                         (f"event batches of {BATCH}", ingest_batch))))
    print(f"{'raw index, one query, k=10, 1 thread':<44} {'p50 us':>9} {'p99 us':>8} "
          f"{'recall@10':>10}")
    for row in figures:
        print(f"{row['name']:<44} {row['p50_us']:>9.0f} {row['p99_us']:>8.0f} "
              f"{row['recall']:>10.3f}")
    served = figures[1]
    events_share = ingest["rps"] / bare["rps"] if bare["rps"] else float("nan")
    print(f"event ingestion with durability on: {ingest['rps']:,.0f} events/s acknowledged "
          f"(one event per request, {args.concurrency} writers: {events_share:.0%} of bare's "
          f"request rate, p99 {ingest['p99']:.1f} ms); batches of {BATCH}: "
          f"{ingest_batch['rps'] * BATCH:,.0f} events/s ({ingest_batch['rps']:,.0f} requests/s, "
          f"p99 {ingest_batch['p99']:.1f} ms)")
    print(f"kill -9 during ingestion: {durability['acked']:,} acknowledged, "
          f"{durability['found']:,} in the database, {durability['lost']} lost")
    if any(row["error_kinds"] for row in (bare, floor, recs, ingest, ingest_batch)):
        print("error kinds:", {k: v for row in (bare, floor, recs, ingest, ingest_batch)
                               for k, v in row["error_kinds"].items()})
    if any(row["error_kinds"] for row in opened.values()):
        print("open-loop error kinds:", {f"{label}: {k}": v for label, row in opened.items()
                                         for k, v in row["error_kinds"].items()})
    checks = [
        ("recommendation throughput >= 60% of bare", ratio >= 0.6, f"{ratio:.0%}"),
        ("recommendation p99 <= 25 ms at 32 clients", recs["p99"] <= 25, f"{recs['p99']:.1f} ms"),
        (f"served index recall@10 >= 0.95 ({served['name']})", served["recall"] >= 0.95,
         f"{served['recall']:.3f}"),
        (f"list/floor server CPU per request <= {LIST_FLOOR_TARGET}x",
         list_floor <= LIST_FLOOR_TARGET, f"{list_floor:.2f}x"),
        (f"one-event ingestion >= {EVENTS_SHARE_TARGET:.0%} of bare's request rate",
         events_share >= EVENTS_SHARE_TARGET, f"{events_share:.0%}"),
        (f"one-event ingestion p99 <= {EVENTS_P99_TARGET_MS:.0f} ms at {args.concurrency} "
         "writers", ingest["p99"] <= EVENTS_P99_TARGET_MS, f"{ingest['p99']:.1f} ms"),
        ("zero errors", errors == 0, str(errors)),
        ("no acknowledged event lost on kill -9", durability["lost"] == 0,
         f"{durability['lost']} lost of {durability['acked']}"),
    ]
    for name, ok, value in checks:
        print(f"  [{'met' if ok else 'MISSED'}] {name}: {value}")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--learners", type=int, default=1_000_000)
    parser.add_argument("--resources", type=int, default=100_000)
    parser.add_argument("--events-per-learner", type=float, default=6.0)
    parser.add_argument("--factors", type=int, default=64)
    parser.add_argument("--iterations", type=int, default=6)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=15.0, help="measured seconds per run")
    parser.add_argument("--kill-after", type=float, default=4.0,
                        help="seconds of ingestion before the kill -9")
    parser.add_argument("--index-factory", default="NormPrunedFlat,approx",
                        help="the served index (RECOMMENDER_INDEX_FACTORY); the exact "
                        "NormPrunedFlat is measured beside it")
    parser.add_argument("--index-params", default="",
                        help="its parameters (default: NormPrunedFlat's, head_share 0.02 "
                        "approximate, 0.05 exact)")
    parser.add_argument("--compare-factory", default="HNSW32,Flat",
                        help="an approximate index measured beside it (not served)")
    parser.add_argument("--compare-params", default="efSearch=64")
    parser.add_argument("--open-loop-share", type=float, default=0.5,
                        help="after the closed loops, drive the bare, floor and list endpoints "
                        "again at one rate, this share of the slower list endpoint's closed-loop "
                        "req/s (events: this share of theirs), requests sent on a schedule, not "
                        "on answers (0 skips the open loop)")
    parser.add_argument("--open-loop-arrivals", choices=("poisson", "fixed"), default="poisson",
                        help="the open loop's schedule: exponential gaps or a fixed gap")
    parser.add_argument("--open-loop-connections", type=int, default=128,
                        help="keep-alive connections the open loop opens before it starts; a "
                        "request finding them all busy waits for one, and the wait counts in its "
                        "latency")
    parser.add_argument("--access-log", action="store_true",
                        help="keep the app's access log on (RECOMMENDER_ACCESS_LOG); off by "
                        "default, as uvicorn's is for both servers")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/recommender-serve-load"))
    return parser.parse_args()


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--loadgen":
        run_loadgen(sys.argv[2])
    else:
        main()
