"""``python -m benchmarks.simserve '<json>'``: serve one bench simulator in its own process.

``python -m simulator`` takes only named datasets; a benchmark needs the ``bench`` dataset at a
chosen size, so this entry takes the dataset options as JSON. Each simulator gets a process of
its own so the work it does (building 150,000 values, answering with latency) neither shares
the GIL with the worker being measured nor shows up in its memory. It prints its URL as the
first line of stdout, then serves until SIGTERM.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from simulator import Faults, Simulator
from simulator.__main__ import serve_until_stopped


class _FirstLineOut:
    """stdout that the parent reads line by line: flush each write."""

    def write(self, text: str) -> None:
        sys.stdout.write(text)
        sys.stdout.flush()

    def flush(self) -> None:
        sys.stdout.flush()


def main(argv: list[str]) -> int:
    config: dict[str, Any] = json.loads(argv[0])
    faults = Faults(latency_ms=config.get("latency_ms", 0), methods={"*"})
    sim = Simulator(
        config.get("version", "2.40.4.1"),
        config.get("dataset", "bench"),
        seed=config.get("seed", 0),
        faults=faults,
        dataset_options=config.get("options") or {},
    )
    serve_until_stopped(sim, "127.0.0.1", 0, _FirstLineOut())  # type: ignore[arg-type]
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
