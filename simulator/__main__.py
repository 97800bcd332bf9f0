"""``python -m simulator --port 8081 --dataset demo-source``: serve the DHIS2 simulator.

The simulator is framework-free, so its entry point does not load Django: it needs no settings,
no database and none of the platform's secrets (``SECRET_KEY``, ``ENCRYPTION_KEYS``), which the
platform's settings rightly demand when ``DEBUG`` is off. ``manage.py dhis2_simulator`` is the
same command for those who have a configured platform at hand.

It serves on loopback until SIGINT (Ctrl-C) or SIGTERM, then closes its socket and exits 0.
"""

from __future__ import annotations

import signal
import sys
import time
from argparse import ArgumentParser
from collections.abc import Mapping, Sequence
from types import FrameType
from typing import Any, TextIO

from simulator.core import Simulator
from simulator.datasets import DATASET_NAMES
from simulator.faults import Faults

DEFAULT_VERSION = "2.40.4.1"


def add_arguments(parser: ArgumentParser) -> None:
    """The options, shared with ``manage.py dhis2_simulator``."""
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--dataset", default="demo-source", choices=DATASET_NAMES)
    parser.add_argument(
        "--version", dest="dhis2_version", default=DEFAULT_VERSION, help="DHIS2 version to mimic"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--latency-ms", type=float, default=0)
    parser.add_argument("--error-rate", type=float, default=0.0)
    parser.add_argument("--reset-rate", type=float, default=0.0)
    parser.add_argument("--max-payload-bytes", type=int, default=None)
    parser.add_argument("--payload-timeout-delay", type=float, default=0.0)
    parser.add_argument("--context-path", default="")
    parser.add_argument("--today", default=None, help="pretend today is YYYY-MM-DD")


def build_simulator(options: Mapping[str, Any]) -> Simulator:
    """A simulator from parsed options; ``ValueError`` for an unknown version or dataset."""
    faults = Faults(
        latency_ms=options["latency_ms"],
        error_rate=options["error_rate"],
        reset_rate=options["reset_rate"],
        max_payload_bytes=options["max_payload_bytes"],
        payload_timeout_delay=options["payload_timeout_delay"],
        seed=options["seed"],
    )
    return Simulator(
        options["dhis2_version"],
        options["dataset"],
        seed=options["seed"],
        faults=faults,
        dataset_options={"today": options["today"]} if options["today"] else None,
        context_path=options["context_path"],
    )


class _Terminated(Exception):
    pass


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise _Terminated


def serve_until_stopped(sim: Simulator, host: str, port: int, out: TextIO) -> None:
    """Serve ``sim`` and block until SIGINT or SIGTERM (main thread only)."""
    server = sim.serve(host, port)
    previous = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        out.write(f"DHIS2 {sim.version.raw} simulator ({sim.dataset}) at {server.url}\n")
        out.write(
            f"Credentials: {Simulator.DEFAULT_USERNAME} / {Simulator.DEFAULT_PASSWORD} "
            f"(Basic) or 'Authorization: ApiToken {Simulator.DEFAULT_TOKEN}'\n"
        )
        out.write("Inspect: GET /__sim__/state; faults: GET/POST /__sim__/faults\n")
        out.flush()
        while True:
            time.sleep(3600)
    except (KeyboardInterrupt, _Terminated):
        out.write("Stopping.\n")
        out.flush()
    finally:
        server.stop()
        signal.signal(signal.SIGTERM, previous)


def main(argv: Sequence[str] | None = None) -> int:
    parser = ArgumentParser(
        prog="python -m simulator",
        description="Serve a simulated DHIS2 Web API on 127.0.0.1 (no network access needed).",
    )
    add_arguments(parser)
    options = vars(parser.parse_args(argv))
    try:
        sim = build_simulator(options)
    except ValueError as exc:
        parser.error(str(exc))
    serve_until_stopped(sim, options["host"], options["port"], sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
