"""``python -m benchmarks --profile``: where the aggregate transfer spends its time.

The run is launched without a queue and its task body (``jobs.tasks.execute_run``, what the
qcluster worker calls) runs in this process under pyinstrument, against the same served
simulators as the benchmark. Prints the functions with the most time of their own (self time,
summed over the call tree) and the call tree above 2 % of the run, and writes an HTML report to
``.local/profile-aggregate.html``.
"""

from __future__ import annotations

import gc
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from benchmarks.cases import Options, aggregate_setup
from benchmarks.harness import ROOT


def _self_times(frame: Any, out: dict[str, float]) -> None:
    if frame is None:
        return
    owner = frame.parent if frame.function == "[self]" and frame.parent else frame
    where = f"{owner.function} ({owner.file_path_short}:{owner.line_no})"
    if frame.function == "[self]" or not frame.children:  # leaves and synthetic "self" frames
        out[where] += frame.time
    for child in frame.children:
        _self_times(child, out)


class _GcTimer:
    """CPU time spent in the cyclic garbage collector (on any thread) while the block runs:
    it does not show as a function of its own in a profile, but a run that keeps many
    container objects alive pays for it in every collection. A collection runs on the thread
    whose allocation triggered it, holding the GIL, so that thread's CPU time is its cost."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.collections = 0
        self.full = 0
        self.by_generation: dict[int, float] = defaultdict(float)
        self._started = 0.0

    def _callback(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = time.thread_time()
            return
        spent = time.thread_time() - self._started
        self.seconds += spent
        self.collections += 1
        self.full += info.get("generation") == 2
        self.by_generation[info.get("generation", -1)] += spent

    def __enter__(self) -> _GcTimer:
        gc.callbacks.append(self._callback)
        return self

    def __exit__(self, *exc: object) -> None:
        gc.callbacks.remove(self._callback)


def profile_aggregate(opts: Options, tmp: Path) -> None:
    from pyinstrument import Profiler

    from jobs.models import Run
    from jobs.tasks import execute_run
    from transfers.services import start_transfer

    with aggregate_setup(opts, elements=opts.agg_elements, label="profiled") as setup:
        run = start_transfer(setup.transfer, user=None, trigger="cli", enqueue=False, full=True)
        profiler = Profiler(interval=0.001)
        began, cpu_began = time.perf_counter(), time.process_time()
        with _GcTimer() as gc_time:
            profiler.start()
            execute_run(run.pk)
            session = profiler.stop()  # also kept as `profiler.last_session`
        seconds = time.perf_counter() - began
        cpu = time.process_time() - cpu_began
        run = Run.objects.get(pk=run.pk)
        print(f"run #{run.pk} {run.status} in {seconds:.2f} s; stats {run.stats}")
        print(
            f"CPU of this process, every thread: {cpu:.2f} s, of which the cyclic garbage "
            f"collector {gc_time.seconds:.2f} s in {gc_time.collections} collections "
            f"({gc_time.full} full); by generation "
            + ", ".join(f"{g}: {t:.2f} s" for g, t in sorted(gc_time.by_generation.items()))
        )
        totals: dict[str, float] = defaultdict(float)
        _self_times(session.root_frame(), totals)
        print("\nself time of the calling thread (pyinstrument samples that thread only)")
        for where, spent in sorted(totals.items(), key=lambda kv: -kv[1])[:25]:
            print(f"  {spent:7.2f} s  {100 * spent / seconds:5.1f} %  {where}")
        print(profiler.output_text(unicode=False, color=False, show_all=False, time="seconds"))
        out = ROOT / ".local" / "profile-aggregate.html"
        out.write_text(profiler.output_html())
        print(f"HTML: {out}")
