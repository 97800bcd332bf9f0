"""``python -m benchmarks`` (``make bench``): run the cases, print one table, write JSON.

Every figure comes from the platform's real run path against DHIS2 simulators served on
loopback with ``--latency-ms`` per request; each case runs ``--repeats`` times and the table
shows the median. ``--large`` adds the 1,000,000-value transfer and moves 100,000 events;
``--only`` picks cases; ``--profile`` runs the aggregate transfer's task in this process under
pyinstrument.
"""

from __future__ import annotations

import argparse
import json
import platform
import signal
import sys
import time
from pathlib import Path

from benchmarks import cases
from benchmarks.harness import ROOT, Row, table, temporary_platform

CASES = ("aggregate", "metadata", "completeness", "events", "web")


def _exit_on_sigterm(signum: int, frame: object) -> None:
    """SIGTERM unwinds like Ctrl-C, so the simulators, qcluster and gunicorn are stopped."""
    raise SystemExit(143)


def main(argv: list[str] | None = None) -> int:
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--latency-ms", type=float, default=30.0)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--only", nargs="+", choices=(*CASES, "large"), default=None)
    parser.add_argument("--large", action="store_true", help="add the 1,000,000-value case")
    parser.add_argument("--scale", type=float, default=1.0, help="multiply every dataset size")
    parser.add_argument("--profile", action="store_true", help="profile the aggregate case")
    parser.add_argument("--json", type=Path, default=ROOT / ".local" / "bench.json")
    args = parser.parse_args(argv)
    opts = cases.Options(latency_ms=args.latency_ms, repeats=args.repeats)
    if args.scale != 1.0:
        opts.agg_elements = max(1, round(opts.agg_elements * args.scale))
        opts.meta_elements = max(1, round(opts.meta_elements * args.scale))
        opts.meta_org_units_width = max(2, round(opts.meta_org_units_width * args.scale**0.5))
        opts.completeness_width = max(2, round(opts.completeness_width * args.scale**0.5))
        opts.events = max(1, round(opts.events * args.scale))
        opts.web_runs = max(1, round(opts.web_runs * args.scale))
    selected = list(args.only or CASES)
    if args.large:
        opts.events = 100_000
        if "large" not in selected:
            selected.append("large")

    rows: list[Row] = []
    started = time.perf_counter()
    with temporary_platform() as tmp:
        if args.profile:
            from benchmarks.profiling import profile_aggregate

            profile_aggregate(opts, tmp)
            return 0
        for name in selected:
            print(f"== {name}", file=sys.stderr, flush=True)
            if name == "aggregate":
                new = cases.aggregate(
                    opts, tmp, elements=opts.agg_elements, label="aggregate", baselines=True
                )
            elif name == "large":
                new = cases.aggregate(
                    cases.Options(**{**vars(opts), "repeats": 1}),
                    tmp,
                    elements=opts.large_elements,
                    label="large",
                    baselines=False,
                )
                new[0].case = "aggregate 1M (large)"
            else:
                new = getattr(cases, name)(opts, tmp)
            rows.extend(new)
            print(table(new), file=sys.stderr, flush=True)
    total = time.perf_counter() - started
    print(table(rows))
    print(f"\nlatency {opts.latency_ms:g} ms per request, {opts.repeats} repeats, {total:.0f} s")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(
        json.dumps(
            {
                "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                "python": sys.version.split()[0],
                "machine": platform.machine(),
                "options": vars(opts),
                "total_seconds": total,
                "rows": [r.as_dict() for r in rows],
            },
            indent=2,
        )
    )
    print(f"JSON: {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
