"""The benchmark cases. Each runs the platform's real run path (a launched run, a
``manage.py qcluster`` worker, the SQLite database) against simulators served on loopback, and
its baseline in the same run on the same simulators.

A case function takes the shared `Options` and the temporary platform directory and returns
table rows; the first row of a case is the platform, the rows after it the baselines, and the
platform row carries the ratios "x floor" / "x naive" (platform seconds over baseline seconds:
above 1 the platform is slower).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import httpx

from benchmarks.harness import (
    AUTH,
    TODAY,
    Row,
    ServedSim,
    TreePeak,
    cpu_seconds,
    descendants,
    instance,
    qcluster,
    run_child,
    served_simulator,
    wait_finished,
)


@dataclass
class Options:
    latency_ms: float = 30.0
    repeats: int = 2
    naive_repeats: int = 1  # the naive script is sequential, so its time hardly varies
    agg_elements: int = 50  # x 4 option combos x 6 months x 125 facilities = 150,000 values
    large_elements: int = 335  # about 1,000,000 values
    meta_org_units_width: int = 224  # 224 + 224^2 = 50,400 org units (+ root)
    meta_elements: int = 5000
    completeness_width: int = 71  # 71 + 71^2 leaves: 5,041 facilities
    # 100,000 with --large: the engine posts 200-event jobs and polls each to the end in turn
    # (about 1.5 s per job against the simulator), which takes ~15 minutes at that size.
    events: int = 5_000
    web_runs: int = 100_000
    web_seconds: float = 5.0
    web_connections: int = 8


def _get(url: str, path: str, **params: Any) -> Any:
    response = httpx.get(f"{url}{path}", params=params, auth=AUTH, timeout=600)
    response.raise_for_status()
    return response.json()


def _profile(source_url: str, destination_url: str, name: str) -> Any:
    from connections.models import ConnectionProfile

    return ConnectionProfile.objects.create(
        name=name,
        source=instance(f"{name} source", source_url),
        destination=instance(f"{name} destination", destination_url),
    )


def _timed_run(start: Any, tree: TreePeak, cluster: Any) -> tuple[float, Any]:
    """Launch with `start()` (a service's start function), wait for the worker to finish it.
    The CPU seconds the cluster's processes used meanwhile go to `tree.cpu`."""
    cpu_before = cpu_seconds(descendants(cluster.pid))
    tree.run_started = time.monotonic()
    began = time.perf_counter()
    run = start()
    finished = wait_finished(run.pk, cluster)
    seconds = time.perf_counter() - began
    # Processes the cluster started meanwhile count from 0: take the tree as it is now.
    tree.cpu.append(round(cpu_seconds(descendants(cluster.pid)) - cpu_before, 2))
    if finished.started_at and finished.finished_at:  # the rest is the queue and polling
        tree.in_worker.append(
            round((finished.finished_at - finished.started_at).total_seconds(), 2)
        )
    tree.sample()
    if finished.status not in ("succeeded", "warning"):
        raise RuntimeError(f"run #{run.pk} {finished.status}: {finished.error}")
    return seconds, finished


def _platform_runs(
    tmp: Path,
    row: Row,
    repeats: int,
    start: Callable[[], Any],
    *,
    before: Callable[[], None] = lambda: None,
    check: Callable[[Any], None] = lambda run: None,
) -> tuple[Any, TreePeak]:
    """Launch with `start()` `repeats` times on one qcluster worker, each after `before()` and
    checked by `check(finished run)`; each run's seconds go to `row.seconds` and the worker's
    peak to `row.peak_rss_mb`. Returns the last run and the tree (its CPU and time figures)."""
    with qcluster(tmp) as cluster, TreePeak(cluster.pid) as tree:
        for _ in range(repeats):
            before()
            seconds, run = _timed_run(start, tree, cluster)
            check(run)
            row.seconds.append(seconds)
    row.peak_rss_mb = tree.worker_peak_mb
    return run, tree


def _root(url: str) -> str:
    """The uid of the simulator's level-1 org unit."""
    uid: str = _get(url, "/api/organisationUnits", filter="level:eq:1", fields="id")[
        "organisationUnits"
    ][0]["id"]
    return uid


# --- 1 and 2: aggregate transfer ------------------------------------------------------------


def _periods(n: int) -> list[str]:
    from dhis2.periods import relative_periods

    today = date.fromisoformat(TODAY)
    return [p.id for p in relative_periods("Monthly", "LAST_N", today=today, n=n)]


@dataclass
class AggregateSetup:
    src: ServedSim
    dst: ServedSim
    transfer: Any
    data_set: str
    root: str
    periods: list[str]
    leaves: list[str]
    de_map: dict[str, str]
    expected: int


@contextmanager
def aggregate_setup(opts: Options, *, elements: int, label: str) -> Iterator[AggregateSetup]:
    """Two served bench simulators (the destination's data elements have other UIDs, same
    codes) and a saved transfer of every value with one mapping row per data element."""
    from transfers.services import save_transfer

    shape = {"depth": 3, "width": 5, "data_elements": elements, "periods": 6}
    dest_shape = {**shape, "with_values": False, "element_uid_salt": "destination"}
    with (
        served_simulator(shape, latency_ms=opts.latency_ms) as src,
        served_simulator(dest_shape, latency_ms=opts.latency_ms) as dst,
    ):
        fields = "id,code,organisationUnits[id],dataSetElements[dataElement[id,code]]"
        ds = _get(src.url, "/api/dataSets", fields=fields, paging="false")["dataSets"][0]
        dest_ds = _get(dst.url, "/api/dataSets", fields=fields, paging="false")["dataSets"][0]
        by_code = {
            e["dataElement"]["code"]: e["dataElement"]["id"] for e in dest_ds["dataSetElements"]
        }
        de_map = {
            e["dataElement"]["id"]: by_code[e["dataElement"]["code"]] for e in ds["dataSetElements"]
        }
        root = _root(src.url)
        leaves = [o["id"] for o in ds["organisationUnits"]]
        periods = _periods(6)
        profile = _profile(src.url, dst.url, label)
        transfer = save_transfer(
            None,
            user=None,
            mappings=[
                {"source_data_element": s, "target_data_element": t} for s, t in de_map.items()
            ],
            name=label,
            profile=profile,
            data_set=ds["id"],
            periods=periods,
            org_units=[root],
            include_descendants=True,
            continue_on_preflight_problems=True,
        )
        expected = len(leaves) * len(de_map) * 4 * len(periods)
        yield AggregateSetup(src, dst, transfer, ds["id"], root, periods, leaves, de_map, expected)


def aggregate(opts: Options, tmp: Path, *, elements: int, label: str, baselines: bool) -> list[Row]:
    """A mapped transfer of every value of the bench data set (125 facilities x `elements` x 4
    option combos x 6 months), against the floor and the naive script."""
    from transfers.services import start_transfer

    with aggregate_setup(opts, elements=elements, label=label) as setup:
        src, dst, transfer, expected = setup.src, setup.dst, setup.transfer, setup.expected
        root, periods = setup.root, setup.periods
        ds = {"id": setup.data_set}
        leaves, de_map = setup.leaves, setup.de_map
        size = f"{expected:,} values"
        platform = Row("aggregate transfer", "platform", size, expected, "values")

        def all_stored(run: Any) -> None:
            stored = _count_values(dst.url, ds["id"], root, periods)
            if stored != expected or run.stats.get("imported") != expected:
                raise RuntimeError(f"{label}: {stored} stored, stats {run.stats}")

        run, tree = _platform_runs(
            tmp,
            platform,
            opts.repeats,
            lambda: start_transfer(transfer, user=None, trigger="cli", full=True),
            before=dst.reset,
            check=all_stored,
        )
        platform.extra = {
            "stats": run.stats,
            "run_status": run.status,
            "worker_cpu_s": tree.cpu,
            "in_worker_s": tree.in_worker,
            "worker_rss_mb_last_run": tree.resident_profile(tree.run_started),
        }
        rows = [platform]
        if baselines:
            cfg = {
                "source": src.url,
                "destination": dst.url,
                "data_set": ds["id"],
                "root": root,
                "periods": periods,
                "org_units": leaves,
                "de_map": de_map,
            }
            for entry, variant in (("agg_floor", "floor"), ("agg_naive", "naive")):
                row = Row("aggregate transfer", variant, size, expected, "values")
                times = opts.naive_repeats if variant == "naive" else opts.repeats
                for _ in range(times):
                    dst.reset()
                    result = run_child(entry, cfg)
                    if result["stored"] != expected:
                        raise RuntimeError(f"{entry}: {result}")
                    row.seconds.append(result["seconds"])
                    row.peak_rss_mb = max(row.peak_rss_mb, result["peak_rss_mb"])
                    row.extra.setdefault("cpu_s", []).append(result["cpu_s"])
                row.extra["requests"] = result["requests"]
                platform.ratios[f"x {variant}"] = platform.median / row.median
                rows.append(row)
        return rows


def _count_values(url: str, data_set: str, root: str, periods: list[str]) -> int:
    # httpx's list form wants its own (invariant) value type: str | int | float | bool | None.
    params: list[tuple[str, str | int | float | bool | None]] = [
        ("dataSet", data_set),
        ("orgUnit", root),
        ("children", "true"),
    ]
    params += [("period", p) for p in periods]
    response = httpx.get(f"{url}/api/dataValueSets", params=params, auth=AUTH, timeout=600)
    response.raise_for_status()
    return len(response.json().get("dataValues", []))


# --- 3: metadata assessment -----------------------------------------------------------------


def metadata(opts: Options, tmp: Path) -> list[Row]:
    """50,400 org units and 5,000 data elements per side; the destination's data elements
    have other UIDs (same codes), so matching must fall back from UID to code."""
    from metadata_sync.services import create_assessment, start_metadata_assessment

    shape = {
        "depth": 2,
        "width": opts.meta_org_units_width,
        "data_elements": opts.meta_elements,
        "with_values": False,
    }
    units = opts.meta_org_units_width + opts.meta_org_units_width**2 + 1
    objects = 2 * (units + opts.meta_elements)
    size = f"{units:,} OUs + {opts.meta_elements:,} DEs x2"
    with (
        served_simulator(shape, latency_ms=opts.latency_ms) as src,
        served_simulator(
            {**shape, "element_uid_salt": "destination"}, latency_ms=opts.latency_ms
        ) as dst,
    ):
        profile = _profile(src.url, dst.url, "metadata")
        assessment = create_assessment(
            profile, types=["organisationUnits", "dataElements"], user=None
        )
        row = Row("metadata assessment", "platform", size, objects, "objects")
        run, _ = _platform_runs(
            tmp,
            row,
            opts.repeats,
            lambda: start_metadata_assessment(assessment, user=None, trigger="cli"),
        )
        row.extra = {"stats": run.stats, "run_status": run.status}
        row.ratios["x 10 s target"] = row.median / 10.0
        return [row]


# --- 4: completeness ------------------------------------------------------------------------


def completeness(opts: Options, tmp: Path) -> list[Row]:
    """5,041 facilities x 12 months of a 2-element data set, 90 % of the values present."""
    from completeness.services import AssessmentInput, create_and_start_assessment

    width = opts.completeness_width
    shape = {
        "depth": 2,
        "width": width,
        "data_elements": 2,
        "disaggregation": 2,
        "periods": 12,
        "density": 0.9,
    }
    leaves = width * width
    size = f"{leaves:,} OUs x 12 periods"
    with served_simulator(shape, latency_ms=opts.latency_ms) as src:
        from connections.models import Instance

        inst = Instance.objects.filter(name="completeness").first() or instance(
            "completeness", src.url
        )
        ds = _get(src.url, "/api/dataSets", fields="id", paging="false")["dataSets"][0]["id"]
        root = _root(src.url)
        row = Row("completeness", "platform", size, leaves * 12, "forms")

        def start() -> Any:
            data = AssessmentInput(
                instance=inst, data_set=ds, org_units=[root], periods=_periods(12)
            )
            return create_and_start_assessment(data, user=None, trigger="cli")[1]

        run, _ = _platform_runs(tmp, row, opts.repeats, start)
        row.extra = {"stats": run.stats, "run_status": run.status}
        return [row]


# --- 5: events ------------------------------------------------------------------------------


def events(opts: Options, tmp: Path) -> list[Row]:
    """100,000 events of a program without registration through the asynchronous tracker
    import (with polling), against the floor: bare reads, async posts, polling."""
    from tracker.services import save_event_transfer, start_event_transfer

    shape = {"depth": 2, "width": 10, "data_elements": 3, "with_values": False}
    size = f"{opts.events:,} events"
    with (
        served_simulator({**shape, "events": opts.events}, latency_ms=opts.latency_ms) as src,
        served_simulator({**shape, "program": True}, latency_ms=opts.latency_ms) as dst,
    ):
        program = _get(src.url, "/api/programs", fields="id", paging="false")["programs"][0]["id"]
        root = _root(src.url)
        profile = _profile(src.url, dst.url, "events")
        transfer = save_event_transfer(
            None,
            data={"name": "events", "profile": profile, "program": program, "org_units": [root]},
        )
        platform = Row("event transfer", "platform", size, opts.events, "events")

        def all_created(run: Any) -> None:
            if run.stats.get("created") != opts.events:
                raise RuntimeError(f"events: stats {run.stats}")

        run, _ = _platform_runs(
            tmp,
            platform,
            opts.repeats,
            lambda: start_event_transfer(transfer, user=None, trigger="cli", full=True),
            before=dst.reset,
            check=all_created,
        )
        platform.extra = {"stats": run.stats, "run_status": run.status}
        floor = Row("event transfer", "floor", size, opts.events, "events")
        cfg = {"source": src.url, "destination": dst.url, "program": program, "root": root}
        for _ in range(opts.repeats):
            dst.reset()
            result = run_child("events_floor", cfg)
            if result["stored"] != opts.events:
                raise RuntimeError(f"events floor: {result}")
            floor.seconds.append(result["seconds"])
            floor.peak_rss_mb = max(floor.peak_rss_mb, result["peak_rss_mb"])
        platform.ratios["x floor"] = platform.median / floor.median
        return [platform, floor]


def web(opts: Options, tmp: Path) -> list[Row]:
    from benchmarks.web import web_case

    return web_case(opts, tmp)
