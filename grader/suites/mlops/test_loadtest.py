"""Hidden suite for mlops/loadtest: a concurrent load-test client, its percentiles and throughput.

A probe starts a tiny ASGI server with uvicorn on a free port of the sandbox's loopback, in a
thread of the learner's kernel. Each request's JSON body says how long the server waits before it
answers (``delay_ms``) and whether it answers 500; the server counts the requests in flight and
keeps the maximum. The learner's ``load_test`` runs with ``asyncio.run`` in another thread, and
the server is stopped in a ``finally``.

Verdicts are computed here: the percentiles are recomputed from the returned latencies with the
nearest-rank rule; every latency must be at least its request's known delay (so they are in
request order and really timed); the server's in-flight maximum must equal the concurrency; the
throughput must lie between ``n / (the grader's own clock around the whole call)`` and the most
that ``concurrency`` slots allow, ``n * concurrency / sum(delays)``.
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np
import pytest

from grader.helpers import assert_close, fail

_PROBE_SRC = r"""
import asyncio as _asyncio, json as _json, socket as _socket, threading as _threading, time as _time

class DelayApp:
    def __init__(self):
        self.in_flight = 0
        self.max_in_flight = 0
        self.served = 0

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return
        body, more = b"", True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            data = _json.loads(body or b"{}")
            await _asyncio.sleep(float(data.get("delay_ms", 0)) / 1000)
        finally:
            self.in_flight -= 1
            self.served += 1
        status = 500 if data.get("fail") else 200
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": b'{"ok": true}'})

def run_load_test(load_test, delays_ms, fails, concurrency):
    import uvicorn
    app = DelayApp()
    sock = _socket.socket(_socket.AF_INET, _socket.SOCK_STREAM)
    sock.setsockopt(_socket.SOL_SOCKET, _socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="critical", lifespan="off"))
    thread = _threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    outcome = {}
    try:
        deadline = _time.monotonic() + 15
        while not server.started:
            if not thread.is_alive() or _time.monotonic() > deadline:
                raise RuntimeError("the grader's test server did not start")
            _time.sleep(0.01)
        bodies = [{"delay_ms": d, "fail": f} for d, f in zip(delays_ms, fails)]
        def client():
            try:
                outcome["value"] = _asyncio.run(load_test(f"http://127.0.0.1:{port}", bodies, concurrency))
            except BaseException as exc:
                outcome["error"] = exc
        worker = _threading.Thread(target=client, daemon=True)
        worker.start()
        worker.join(60)
        if worker.is_alive():
            raise TimeoutError("load_test did not finish within 60 s")
    finally:
        server.should_exit = True
        thread.join(15)
        sock.close()
    if "error" in outcome:
        raise outcome["error"]
    return {"result": outcome["value"], "max_in_flight": app.max_in_flight, "served": app.served}
"""

_H_RANK = (
    "Use the nearest-rank percentile: sorted(values)[max(1, math.ceil(q / 100 * n)) - 1], always one of the "
    "values, with no interpolation (np.percentile interpolates)."
)
_H_ORDER = (
    "Store each latency at its request's index (latencies[i] for bodies[i]), not in the order the responses "
    "complete, and time from just after acquiring the semaphore to just after the response."
)
_H_AT_MOST = "Guard each request with an asyncio.Semaphore(concurrency): never more than `concurrency` in flight."
_H_CONCURRENT = (
    "Start all requests as tasks at once (asyncio.gather) so that `concurrency` of them really are in flight "
    "together; awaiting them one after another runs them sequentially."
)
_H_WALL = (
    "throughput = n_requests / the wall-clock time of the whole batch (perf_counter around asyncio.gather); the "
    "requests overlap, so the sum of latencies is far longer than the test took."
)
_H_ERRORS = "Count as errors the responses whose status is not 2xx (response.status_code), e.g. a 500."


def _nearest_rank(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(1, math.ceil(q / 100 * len(ordered))) - 1]


def _run(sub: Any, rng: np.random.Generator, n: int = 40, concurrency: int = 6) -> dict[str, Any]:
    __tracebackhide__ = True
    delays = [int(d) for d in rng.integers(150, 300, size=n)]
    fails = [bool(i % 13 == 5) for i in range(n)]
    probe = sub.define(_PROBE_SRC)
    start = time.perf_counter()
    out = probe["run_load_test"](sub.load_test, delays, fails, concurrency)
    elapsed = time.perf_counter() - start
    result = out["result"]
    keys = {"n_requests", "n_errors", "latencies", "p50", "p95", "throughput"}
    if not isinstance(result, dict) or set(result) != keys:
        got = sorted(result) if isinstance(result, dict) else type(result).__name__
        fail(f"`load_test` should return a dict with exactly the keys {sorted(keys)}; got {got}.")
    lat = result["latencies"]
    if not isinstance(lat, list | np.ndarray) or len(lat) != n:
        fail(f"`latencies` should be a list of {n} floats, one per body; got {type(lat).__name__} of {len(lat)}.")
    return {
        "result": result,
        "latencies": [float(v) for v in lat],
        "delays": delays,
        "fails": fails,
        "concurrency": concurrency,
        "elapsed": elapsed,
        "max_in_flight": int(out["max_in_flight"]),
        "served": int(out["served"]),
    }


# ---------------------------------------------------------------- tests


@pytest.mark.public
@pytest.mark.points(2)
def test_percentile_is_nearest_rank(sub: Any, rng: np.random.Generator) -> None:
    values = [40.0, 15.0, 50.0, 35.0, 20.0]
    for q, expected in ((5, 15.0), (30, 20.0), (40, 20.0), (50, 35.0), (95, 50.0), (100, 50.0)):
        got = sub.percentile(values, q)
        assert_close(got, expected, rtol=0, name=f"percentile([40, 15, 50, 35, 20], {q})", hint=_H_RANK)
    sample = [float(v) for v in np.round(rng.exponential(0.1, size=37), 6)]
    for q in (50, 90, 95, 99):
        assert_close(
            sub.percentile(sample, q),
            _nearest_rank(sample, q),
            rtol=0,
            name=f"percentile of 37 latencies, q={q}",
            hint=_H_RANK,
        )


@pytest.mark.public
@pytest.mark.points(3)
def test_load_test_times_every_request_in_order(sub: Any, rng: np.random.Generator) -> None:
    run = _run(sub, rng)
    result, lat, delays = run["result"], run["latencies"], run["delays"]
    if result["n_requests"] != len(delays) or run["served"] != len(delays):
        fail(
            f"`load_test` reported {result['n_requests']} requests and the server answered {run['served']}; "
            f"expected {len(delays)}, one POST per body."
        )
    for i, (latency, delay) in enumerate(zip(lat, delays, strict=True)):
        if latency < 0.95 * delay / 1000:
            fail(
                f"latencies[{i}] is {latency * 1000:.1f} ms, but the server held that request for {delay} ms: "
                "a latency cannot be shorter than its request.",
                _H_ORDER,
            )
    expected_errors = sum(run["fails"])
    if result["n_errors"] != expected_errors:
        fail(
            f"`n_errors` is {result['n_errors']}, but the server answered {expected_errors} requests with status 500.",
            _H_ERRORS,
        )
    for key, q in (("p50", 50), ("p95", 95)):
        expected = _nearest_rank(lat, q)
        assert_close(
            float(result[key]), expected, rtol=1e-12, name=f"{key} (recomputed from your own latencies)", hint=_H_RANK
        )


@pytest.mark.points(3)
def test_concurrency_is_real_and_bounded(sub: Any, rng: np.random.Generator) -> None:
    run = _run(sub, rng)
    c, seen = run["concurrency"], run["max_in_flight"]
    if seen > c:
        fail(f"With concurrency={c}, the server saw {seen} requests in flight at once.", _H_AT_MOST)
    if seen < c:
        fail(
            f"With concurrency={c} and {len(run['delays'])} requests, the server never saw more than {seen} in "
            "flight at once.",
            _H_CONCURRENT,
        )
    sequential = sum(run["delays"]) / 1000
    if run["elapsed"] >= sequential:
        fail(
            f"The whole test took {run['elapsed']:.2f} s by the grader's clock, no faster than sending the requests "
            f"one by one ({sequential:.2f} s).",
            _H_CONCURRENT,
        )


@pytest.mark.points(2)
def test_throughput_is_requests_per_wall_second(sub: Any, rng: np.random.Generator) -> None:
    run = _run(sub, rng)
    n, c = len(run["delays"]), run["concurrency"]
    throughput = float(run["result"]["throughput"])
    lowest = n / run["elapsed"]  # the grader's clock ran around the whole call, server start-up included
    highest = n * c / (sum(run["delays"]) / 1000)  # c slots can do no better
    if run["max_in_flight"] > c:
        fail(
            "The throughput is checked against the concurrency limit, which was exceeded: this follows from the "
            "in-flight problem reported by test_concurrency_is_real_and_bounded."
        )
    if not lowest * 0.98 <= throughput <= highest * 1.02:
        fail(
            f"`throughput` is {throughput:.2f} requests/s, but {n} requests took at most {run['elapsed']:.2f} s by the "
            f"grader's clock (at least {lowest:.2f}/s), and {c} slots allow at most {highest:.2f}/s.",
            _H_WALL,
        )
