"""``python manage.py dhis2_simulator``: serve the DHIS2 simulator until interrupted."""

from __future__ import annotations

import time
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from simulator import Faults, Simulator
from simulator.datasets import DATASET_NAMES


class Command(BaseCommand):
    help = "Serve a simulated DHIS2 Web API on 127.0.0.1 (no network access needed)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        # ``--version`` selects the DHIS2 version here; it replaces Django's own flag.
        parser.conflict_handler = "resolve"
        for group in parser._action_groups:
            group.conflict_handler = "resolve"
        parser.add_argument("--port", type=int, default=8081)
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--dataset", default="demo-source", choices=DATASET_NAMES)
        parser.add_argument("--version", dest="dhis2_version", default="2.40.4.1")
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--latency-ms", type=float, default=0)
        parser.add_argument("--error-rate", type=float, default=0.0)
        parser.add_argument("--reset-rate", type=float, default=0.0)
        parser.add_argument("--max-payload-bytes", type=int, default=None)
        parser.add_argument("--payload-timeout-delay", type=float, default=0.0)
        parser.add_argument("--context-path", default="")
        parser.add_argument("--today", default=None, help="pretend today is YYYY-MM-DD")

    def handle(self, *args: Any, **options: Any) -> None:
        faults = Faults(
            latency_ms=options["latency_ms"],
            error_rate=options["error_rate"],
            reset_rate=options["reset_rate"],
            max_payload_bytes=options["max_payload_bytes"],
            payload_timeout_delay=options["payload_timeout_delay"],
            seed=options["seed"],
        )
        dataset_options = {"today": options["today"]} if options["today"] else None
        try:
            sim = Simulator(
                options["dhis2_version"],
                options["dataset"],
                seed=options["seed"],
                faults=faults,
                dataset_options=dataset_options,
                context_path=options["context_path"],
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        server = sim.serve(options["host"], options["port"])
        self.stdout.write(f"DHIS2 {sim.version.raw} simulator ({sim.dataset}) at {server.url}")
        self.stdout.write(
            f"Credentials: {Simulator.DEFAULT_USERNAME} / {Simulator.DEFAULT_PASSWORD} "
            f"(Basic) or 'Authorization: ApiToken {Simulator.DEFAULT_TOKEN}'"
        )
        self.stdout.write("Inspect: GET /__sim__/state; faults: GET/POST /__sim__/faults")
        self.stdout.flush()
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            self.stdout.write("Stopping.")
        finally:
            server.stop()
