"""Case 6: the runs page, the admin changelist and ``GET /api/v1/runs/`` with 100,000 runs,
served by gunicorn (the production server, two workers) on loopback under concurrent clients.

The load comes from ``wrk`` when it is installed (``apt-get install wrk``; a Lua ``done`` hook
prints the 95th percentile, which wrk's own ``--latency`` table lacks), otherwise from a small
thread pool of httpx clients here. Both are bounded in time and talk to 127.0.0.1 only. The
query count of each face is asserted by ``tests/jobs/test_query_counts.py``; this measures
what the count costs in time on a big table.
"""

from __future__ import annotations

import os
import shutil
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from benchmarks.harness import ROOT, Row, TreePeak, _stop

URLS = {"runs page": "/runs/", "admin changelist": "/admin/jobs/run/", "api runs": "/api/v1/runs/"}

WRK_SCRIPT = """
done = function(summary, latency, requests)
  io.write(string.format("BENCH %d %d %f %d\\n", summary.requests, summary.duration,
    latency:percentile(95) / 1000.0,
    summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.timeout))
end
"""


def _fill(count: int) -> Any:
    """`count` finished runs (bulk inserts) and a superuser; returns the user."""
    from django.contrib.auth.models import User

    from jobs.models import Run

    user = User.objects.create_superuser("bench", "bench@example.org", "bench-password-1")
    statuses = ("succeeded", "failed", "warning", "cancelled")
    batch = 5000
    for offset in range(0, count, batch):
        Run.objects.bulk_create(
            Run(
                kind="connection_check",
                title=f"Check {offset + i}",
                trigger="web",
                status=statuses[(offset + i) % 4],
                started_by=user,
                progress=100,
            )
            for i in range(min(batch, count - offset))
        )
    return user


def _session_cookie(user: Any) -> str:
    from django.test import Client

    client = Client()
    client.force_login(user)
    return client.cookies["sessionid"].value


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wrk(url: str, cookie: str, seconds: float, connections: int, tmp: Path) -> dict[str, float]:
    script = tmp / "p95.lua"
    script.write_text(WRK_SCRIPT)
    out = subprocess.run(
        [shutil.which("wrk") or "wrk", "-t2", f"-c{connections}", f"-d{seconds:.0f}s",
         "--timeout", "10s", "-s", str(script), "-H", f"Cookie: sessionid={cookie}", url],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    line = next(line for line in out.splitlines() if line.startswith("BENCH "))
    requests, duration_us, p95_ms, errors = line.split()[1:]
    return {
        "requests": int(requests),
        "seconds": int(duration_us) / 1e6,
        "p95_ms": float(p95_ms),
        "errors": int(errors),
    }


def _httpx_load(url: str, cookie: str, seconds: float, connections: int) -> dict[str, float]:
    """The fallback: `connections` threads, each with its own client, until `seconds` pass."""
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def client_loop() -> None:
        with httpx.Client(cookies={"sessionid": cookie}, timeout=10) as http:
            while time.monotonic() < deadline:
                began = time.perf_counter()
                try:
                    ok = http.get(url).status_code == 200
                except httpx.TimeoutException:
                    ok = False
                with lock:
                    latencies.append(time.perf_counter() - began)
                    errors[0] += not ok

    began = time.perf_counter()
    threads = [threading.Thread(target=client_loop) for _ in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return {
        "requests": len(latencies),
        "seconds": time.perf_counter() - began,
        "p95_ms": statistics.quantiles(latencies, n=20)[-1] * 1000 if len(latencies) > 1 else 0,
        "errors": errors[0],
    }


def web_case(opts: Any, tmp: Path) -> list[Row]:
    user = _fill(opts.web_runs)
    cookie = _session_cookie(user)
    port = _free_port()
    log = open(tmp / "gunicorn.log", "wb")  # noqa: SIM115
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "config.wsgi:application", "-w", "2",
         "-b", f"127.0.0.1:{port}"],
        cwd=ROOT, env={**os.environ}, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    rows = []
    tool = "wrk" if shutil.which("wrk") else "httpx"
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                httpx.get(f"{base}/healthz", timeout=2)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        with TreePeak(server.pid) as tree:
            for label, path in URLS.items():
                first = httpx.get(f"{base}{path}", cookies={"sessionid": cookie}, timeout=60)
                if first.status_code != 200:
                    raise RuntimeError(f"{path}: {first.status_code} {first.text[:300]}")
                if tool == "wrk":
                    load = _wrk(base + path, cookie, opts.web_seconds, opts.web_connections, tmp)
                else:
                    load = _httpx_load(base + path, cookie, opts.web_seconds, opts.web_connections)
                row = Row(
                    f"web: {label}",
                    f"{tool} c={opts.web_connections}",
                    f"{opts.web_runs:,} runs",
                    int(load["requests"]),
                    "requests",
                    seconds=[load["seconds"]],
                )
                # Errors (non-2xx, timeouts after 10 s) are a result, shown beside p95.
                row.ratios = {"p95 ms": load["p95_ms"], "errors": load["errors"]}
                row.extra = {"errors": load["errors"], "tool": tool}
                rows.append(row)
        for row in rows:
            row.peak_rss_mb = tree.worker_peak_mb
    finally:
        _stop(server)
        log.close()
    return rows
