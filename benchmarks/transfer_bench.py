"""Benchmark: one large aggregate transfer between two DHIS2 simulators served on loopback.

Run:  python benchmarks/transfer_bench.py [--values-scale N] [--chunk-size N]

Prints, for the same data in the same run:
  * baseline: what a plain script does, one GET of everything and one POST of everything
    (no mapping, chunking, checkpoints or retries), the floor for the work DHIS2 itself does;
  * engine: the platform's transfer engine over the same HTTP, with its chunking and checks;
  * engine under faults: 20% of POSTs answered 502/503 and a payload limit that forces 504s,
    with the retries and splits it needed and whether every value still landed.
Figures are wall-clock seconds on this machine and peak memory of this process (tracemalloc).
"""

from __future__ import annotations

import argparse
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import logging

import httpx

from dhis2.auth import BasicAuth
from dhis2.client import Client, RetryPolicy
from simulator import Faults, Simulator
from transfers.engine import TransferSpec, run_transfer

TODAY = "2026-07-15"


class QuietObserver:
    def __init__(self) -> None:
        self.chunks = 0

    def log(self, level: str, message: str) -> None:
        pass

    def progress(self, percent: float, message: str) -> None:
        pass

    def chunk_accepted(self, key: str, summary: object) -> None:
        self.chunks += 1

    def retry(self, event: object) -> None:
        pass


def simulators(scale: int) -> tuple[Simulator, Simulator]:
    options = {
        "depth": 3,
        "width": 5,
        "data_elements": 35 * scale,
        "disaggregation": 4,
        "today": TODAY,
    }
    source = Simulator("2.40.4.1", "bench", dataset_options=options)
    destination = Simulator("2.40.4.1", "bench", dataset_options={**options, "with_values": False})
    return source, destination


def client(url: str) -> Client:
    retry = RetryPolicy(max_attempts=8, backoff_base=0.05, backoff_max=0.5)
    return Client(url, BasicAuth("admin", "district"), timeout=120, retry=retry)


def baseline(
    source_url: str, destination_url: str, data_set: str, root: str, periods: list[str]
) -> int:
    auth = ("admin", "district")
    with httpx.Client(timeout=600, auth=auth) as http:
        params = [("dataSet", data_set), ("orgUnit", root), ("children", "true")]
        params += [("period", p) for p in periods]
        values = http.get(f"{source_url}/api/dataValueSets", params=params).json()["dataValues"]
        body = {
            "dataValues": [
                {
                    k: v[k]
                    for k in (
                        "dataElement",
                        "period",
                        "orgUnit",
                        "categoryOptionCombo",
                        "attributeOptionCombo",
                        "value",
                    )
                }
                for v in values
            ]
        }
        http.post(f"{destination_url}/api/dataValueSets", json=body).raise_for_status()
    return len(values)


def measure(label: str, fn) -> tuple[object, float, float]:
    tracemalloc.start()
    started = time.perf_counter()
    result = fn()
    seconds = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1] / 1e6
    tracemalloc.stop()
    print(f"  {label:<22} {seconds:8.2f} s   peak {peak:7.1f} MB")
    return result, seconds, peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--values-scale", type=int, default=1, help="1 = about 105,000 values")
    parser.add_argument("--chunk-size", type=int, default=2000)
    args = parser.parse_args()
    logging.disable(logging.WARNING)  # the retry warnings are counted below instead

    source, destination = simulators(args.values_scale)
    data_set = source.metadata("dataSets")[0]
    root = next(o["id"] for o in source.metadata("organisationUnits") if o.get("level") == 1)
    periods = sorted({v["period"] for v in source.data_values(data_set=data_set["id"])})
    total = len(source.data_values(data_set=data_set["id"]))
    units, elements = len(data_set["organisationUnits"]), len(data_set["dataSetElements"])
    print(
        f"{total:,} values: {len(periods)} periods, {units} org units, "
        f"{elements} data elements x 4 option combos"
    )

    with source.serve() as s, destination.serve() as d:
        print("baseline (one GET, one POST):")
        sent, base_s, _ = measure(
            "plain script", lambda: baseline(s.url, d.url, data_set["id"], root, periods)
        )
        assert sent == total

        spec = TransferSpec(
            data_set=data_set["id"],
            target_data_set=None,
            periods=periods,
            org_units=[root],
            chunk_size=args.chunk_size,
        )
        for label, faults in (
            ("engine", None),
            ("engine under faults", Faults(error_rate=0.2, max_payload_bytes=150_000, seed=3)),
        ):
            destination.reset()
            if faults:
                destination.set_faults(faults)
            observer = QuietObserver()
            with client(s.url) as src, client(d.url) as dst:
                print(f"{label}:")
                result, seconds, _ = measure(
                    label,
                    lambda src=src, dst=dst, observer=observer: run_transfer(
                        src, dst, spec, observer
                    ),
                )
            destination.set_faults(Faults())
            landed = len(destination.data_values(data_set=data_set["id"]))
            st = result.stats
            complete = "all" if landed == total else f"MISSING {total - landed}"
            print(
                f"    values {st['sent']:,} sent, {landed:,} stored ({complete}); "
                f"{st['chunks']} chunks, {st['retries']} retries, {st['splits']} splits; "
                f"{total / seconds:,.0f} values/s ({seconds / base_s:.1f}x baseline)"
            )


if __name__ == "__main__":
    main()
