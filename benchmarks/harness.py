"""The machinery the cases share: served simulators in child processes, a temporary platform
(SQLite file + a real ``manage.py qcluster``), peak-RSS sampling of process trees, repeats.

Peak RSS is the kernel's high-water mark (``VmHWM`` in ``/proc/<pid>/status``) of the process
doing the work, not tracemalloc of this process: tracemalloc misses C allocations (SQLite,
httpx's buffers, json) and would count the bench's own objects. For the qcluster the work
happens in a worker, a child of the cluster's main process, so the whole tree is sampled and
the largest worker counts.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
TODAY = "2024-07-15"  # every simulator's "today": a fixed day keeps periods and data stable
AUTH = ("admin", "district")


# --- memory ----------------------------------------------------------------------------------


def vm_hwm_mb(pid: int | str = "self", key: str = "VmHWM") -> float:
    """Peak resident set size of `pid` in MB (0.0 once the process is gone); with
    `key="VmRSS"` the resident set size now."""
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith(f"{key}:"):
                    return int(line.split()[1]) / 1024
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        pass
    return 0.0


def cpu_seconds(pids: list[int]) -> float:
    """User plus system CPU time the processes `pids` used so far (``/proc/<pid>/stat``);
    a process that is gone counts 0. Unlike wall time this hardly depends on what else the
    shared machine runs, so it shows a change in the worker's own work."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as fh:
                stat = fh.read().rsplit(")", 1)[1].split()  # the name may hold spaces
        except OSError:
            continue
        total += int(stat[11]) + int(stat[12])  # utime, stime (fields 14 and 15)
    return total / ticks


def descendants(pid: int) -> list[int]:
    """`pid` and every process below it (from the parent ids in ``/proc/*/stat``)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                stat = fh.read()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])  # the name may hold spaces and ')'
        children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [pid]
    while todo:
        current = todo.pop()
        out.append(current)
        todo.extend(children.get(current, []))
    return out


class TreePeak:
    """Samples the peak RSS of every process under `pid` in a thread, until stopped.

    The kernel keeps each process's own high-water mark, so sampling only has to see every
    process before it exits; a worker that lives as long as the cluster is never missed.
    """

    def __init__(self, pid: int, interval: float = 0.1) -> None:
        self.pid, self.interval = pid, interval
        self.peaks: dict[int, float] = {}
        self.cpu: list[float] = []  # CPU seconds of the tree per timed run (see cases)
        self.in_worker: list[float] = []  # seconds from the run's start to its end, per run
        self.resident: list[tuple[float, float]] = []  # (monotonic time, largest worker MB)
        self.run_started = 0.0  # monotonic time the last timed run was launched
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self.interval)

    def sample(self) -> None:
        now, resident = time.monotonic(), 0.0
        for pid in descendants(self.pid):
            mb = vm_hwm_mb(pid)
            if mb:
                self.peaks[pid] = max(mb, self.peaks.get(pid, 0.0))
            if pid != self.pid:
                resident = max(resident, vm_hwm_mb(pid, "VmRSS"))
        self.resident.append((now, resident))

    def resident_profile(self, since: float, points: int = 10) -> list[int]:
        """The largest worker's resident set size (MB) at `points` even steps from `since`
        (a `time.monotonic()`) to now: flat when a run's memory does not grow with its size."""
        window = [mb for at, mb in self.resident if at >= since]
        if not window:
            return []
        step = max(1, len(window) // points)
        return [round(mb) for mb in window[step - 1 :: step]][:points]

    def __enter__(self) -> TreePeak:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.sample()
        self._stop.set()
        self._thread.join()

    @property
    def worker_peak_mb(self) -> float:
        """The largest process other than the cluster's main one (which does no task work)."""
        others = [mb for pid, mb in self.peaks.items() if pid != self.pid]
        return max(others or [self.peaks.get(self.pid, 0.0)])


# --- simulators ------------------------------------------------------------------------------


@dataclass
class ServedSim:
    url: str
    proc: subprocess.Popen[str]

    def reset(self) -> None:
        httpx.post(f"{self.url}/__sim__/reset", timeout=600).raise_for_status()


def _stop(proc: subprocess.Popen[Any], timeout: float = 15) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextmanager
def served_simulator(
    options: dict[str, Any], *, latency_ms: float, version: str = "2.40.4.1"
) -> Iterator[ServedSim]:
    """A ``bench`` simulator with dataset `options` in its own process, on 127.0.0.1."""
    config = {
        "version": version,
        "latency_ms": latency_ms,
        "options": {"today": TODAY, **options},
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.simserve", json.dumps(config)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()  # blocks while the dataset is built
        if " at " not in line:
            raise RuntimeError(f"simulator did not start: {line!r}")
        url = line.split(" at ", 1)[1].strip()
        yield ServedSim(url, proc)
    finally:
        _stop(proc)


# --- child processes that report their own peak ---------------------------------------------


def run_child(
    entry: str, config: dict[str, Any], env: dict[str, str] | None = None
) -> dict[str, Any]:
    """Run ``python -m benchmarks.child <entry>``; it prints one JSON line with its figures,
    including its own ``peak_rss_mb`` read just before it exits."""
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.child", entry, json.dumps(config)],
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{entry} failed:\n{done.stderr[-3000:]}")
    figures: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return figures


# --- the platform ----------------------------------------------------------------------------


def platform_env(db_path: Path) -> dict[str, str]:
    """Settings for the bench process and its qcluster: a temporary SQLite file, DEBUG off
    (DEBUG keeps every SQL query in memory, which would inflate the worker's RSS)."""
    return {
        "DJANGO_SETTINGS_MODULE": "config.settings_test",
        "DATABASE_URL": f"sqlite:///{db_path}",
        "Q_SYNC": "0",
        "DEBUG": "false",
        "PYTHONUNBUFFERED": "1",
        "Q_WORKERS": "1",
        "ALLOWED_HOSTS": "127.0.0.1",
    }


@contextmanager
def temporary_platform() -> Iterator[Path]:
    """Point this process's Django at a fresh migrated SQLite file; yield its directory."""
    with tempfile.TemporaryDirectory(prefix="dhis2sync-bench-") as tmp:
        db = Path(tmp) / "bench.sqlite3"
        os.environ.update(platform_env(db))
        import django
        from django.core.management import call_command

        django.setup()
        call_command("migrate", verbosity=0, interactive=False)
        yield Path(tmp)


@contextmanager
def qcluster(tmp: Path) -> Iterator[subprocess.Popen[bytes]]:
    """A real ``manage.py qcluster`` on the platform database (one worker: the work of a run
    happens in one process, whose peak is then unambiguous)."""
    log = open(tmp / "qcluster.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "manage.py"), "qcluster"],
        cwd=ROOT,
        env={**os.environ},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        time.sleep(1.0)
        if proc.poll() is not None:
            raise RuntimeError((tmp / "qcluster.log").read_text()[-3000:])
        yield proc
    finally:
        _stop(proc)
        log.close()


def wait_finished(
    run_id: int, worker: subprocess.Popen[bytes] | None = None, timeout: float = 1800
) -> Any:
    """Poll the run until it is finished (every 50 ms, so the figure is not rounded up);
    `RuntimeError` at once if the `worker` process died meanwhile."""
    from jobs.models import Run

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = Run.objects.get(pk=run_id)
        if run.status in Run.FINISHED:
            return run
        if worker is not None and worker.poll() is not None:
            raise RuntimeError(f"the qcluster exited ({worker.returncode}); see qcluster.log")
        time.sleep(0.05)
    raise TimeoutError(f"run #{run_id} did not finish in {timeout:.0f} s")


def instance(name: str, url: str) -> Any:
    from connections.models import Instance

    obj = Instance(name=name, base_url=url, username=AUTH[0], timeout_seconds=300)
    obj.set_password(AUTH[1])
    obj.save()
    return obj


# --- results ---------------------------------------------------------------------------------


@dataclass
class Row:
    """One line of the table: a case or a baseline, over `repeats` runs."""

    case: str
    variant: str
    size: str
    units: int  # values, objects or requests the rate is per
    unit: str
    seconds: list[float] = field(default_factory=list)
    peak_rss_mb: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)
    ratios: dict[str, float] = field(default_factory=dict)

    @property
    def median(self) -> float:
        return statistics.median(self.seconds) if self.seconds else float("nan")

    @property
    def rate(self) -> float:
        return self.units / self.median if self.seconds and self.median else 0.0

    def as_dict(self) -> dict[str, Any]:
        """The fields and the derived figures, with the case's extras flat beside them."""
        own = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "extra"}
        return {**own, "median_seconds": self.median, "per_second": self.rate, **self.extra}


def repeat(times: int, fn: Callable[[], float]) -> list[float]:
    return [fn() for _ in range(times)]


def table(rows: list[Row]) -> str:
    head = f"{'case':<22} {'variant':<16} {'size':<24} {'s (median)':>10} {'per s':>16} "
    head += f"{'peak RSS':>9}  ratios"
    lines = [head, "-" * len(head)]
    for r in rows:
        ratios = ", ".join(
            f"{k} {v:.2f}x" if k.startswith("x ") else f"{k} {v:,.0f}" for k, v in r.ratios.items()
        )
        digits = 0 if r.rate >= 100 else 1
        lines.append(
            f"{r.case:<22} {r.variant:<16} {r.size:<24} {r.median:>10.2f} "
            f"{r.rate:>10,.{digits}f} {r.unit[:5]:<5} {r.peak_rss_mb:>7.0f}MB  {ratios}"
        )
    return "\n".join(lines)
