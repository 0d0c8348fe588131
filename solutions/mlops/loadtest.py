"""A small load-test client: many concurrent requests, latency percentiles and throughput.

Before a model server goes live, someone asks "how many requests per second can it take, and how
long does the slowest 5% of requests wait?". A load test answers it: fire requests at the server
with a fixed number in flight at once, time each one, and summarise. This exercise writes the
client with ``asyncio`` and ``httpx.AsyncClient``.

``percentile(values, q)``
    The **nearest-rank** percentile, the convention most load-testing tools report: sort the
    values ascending, then take the element at 1-based rank ``ceil(q / 100 * n)`` (at least rank
    1), that is ``sorted_values[max(1, math.ceil(q / 100 * n)) - 1]``. It is always one of the
    measured values (no interpolation, so it is *not* ``np.percentile``'s default). ``q`` is in
    ``(0, 100]``; ``values`` is a non-empty sequence of floats. Returns a float.

``async def load_test(base_url, bodies, concurrency)``
    Sends one ``POST {base_url}/predict`` per element of ``bodies`` (each body a dict sent as JSON
    with ``json=body``), with **at most** ``concurrency`` requests in flight at any moment, and as
    many as that whenever enough requests are left: start every request as a task (for example
    ``asyncio.gather``) and guard the sending with an ``asyncio.Semaphore(concurrency)``. Use one
    ``httpx.AsyncClient`` for the whole test (it reuses connections). A request's **latency** is
    ``time.perf_counter()`` just after the semaphore is acquired to just after the response
    arrived, in seconds. Returns a dict::

        {"n_requests": int,        # len(bodies)
         "n_errors": int,          # responses whose status is not 2xx
         "latencies": [float,...], # one per body, in the order of ``bodies`` (not of completion)
         "p50": float,             # percentile(latencies, 50)
         "p95": float,             # percentile(latencies, 95)
         "throughput": float}      # n_requests / wall-clock seconds of the whole test

    The wall-clock time is measured once around the whole batch (``perf_counter`` before the
    first request starts and after the last one ends), never as the sum of the latencies (the
    requests overlap). Failed requests (a non-2xx status) count in ``n_errors`` and their
    latencies are kept.

Run it from a script with ``asyncio.run(load_test("http://127.0.0.1:8000", bodies, 8))`` (the
grader does the same in a thread of its own, against a server it starts in your sandbox whose
every response takes a known time).
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Sequence
from typing import Any

import httpx


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile: ``sorted(values)[max(1, ceil(q / 100 * n)) - 1]``."""
    # BEGIN SOLUTION
    ordered = sorted(float(v) for v in values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]
    # END SOLUTION


async def load_test(base_url: str, bodies: Sequence[dict[str, Any]], concurrency: int) -> dict[str, Any]:
    """POST every body to ``{base_url}/predict``, ``concurrency`` at a time (module docstring)."""
    # BEGIN SOLUTION
    semaphore = asyncio.Semaphore(concurrency)
    latencies = [0.0] * len(bodies)
    statuses = [0] * len(bodies)

    async with httpx.AsyncClient(base_url=base_url, timeout=30.0) as client:

        async def one(i: int, body: dict[str, Any]) -> None:
            async with semaphore:
                start = time.perf_counter()
                response = await client.post("/predict", json=body)
                latencies[i] = time.perf_counter() - start
                statuses[i] = response.status_code

        wall_start = time.perf_counter()
        await asyncio.gather(*(one(i, body) for i, body in enumerate(bodies)))
        wall = time.perf_counter() - wall_start

    return {
        "n_requests": len(bodies),
        "n_errors": sum(1 for s in statuses if not 200 <= s < 300),
        "latencies": latencies,
        "p50": percentile(latencies, 50),
        "p95": percentile(latencies, 95),
        "throughput": len(bodies) / wall,
    }
    # END SOLUTION
