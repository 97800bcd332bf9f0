"""Start the platform: web server and worker together, plus two simulated DHIS2 instances when
asked for a demo (or, with `--demo auto`, when no real DHIS2 instance is configured).

Each part is a child process; Ctrl-C (or one part dying) stops them all.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

from connections.models import Instance

DEMO_PORTS = (8081, 8082)


class Command(BaseCommand):
    help = "Run the web server and the django-q2 worker (and the demo DHIS2 simulators)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--addr", default="127.0.0.1:8000")
        parser.add_argument(
            "--demo",
            choices=["auto", "on", "off"],
            default="auto",
            help="Start two simulated DHIS2 instances (auto: only when no real one is configured).",
        )

    def handle(self, *args, **opts) -> None:
        manage = [sys.executable, str(settings.BASE_DIR / "manage.py")]
        demo_urls = [f"http://127.0.0.1:{port}" for port in DEMO_PORTS]
        real_configured = Instance.objects.exclude(base_url__in=demo_urls).exists()
        demo = opts["demo"] == "on" or (opts["demo"] == "auto" and not real_configured)
        procs: list[subprocess.Popen] = []
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        if demo:
            for port, dataset in zip(DEMO_PORTS, ("demo-source", "demo-destination"), strict=True):
                procs.append(
                    subprocess.Popen(
                        [*manage, "dhis2_simulator", "--port", str(port), "--dataset", dataset],
                        env=env,
                    )
                )
            time.sleep(1.5)
            call_command("setup_demo", source_port=DEMO_PORTS[0], destination_port=DEMO_PORTS[1])
        # Schedules live in the database; make sure each active one is armed before the worker
        # starts (its django-q2 counterpart may have drifted while the platform was down).
        call_command("sync_schedules")
        procs.append(subprocess.Popen([*manage, "qcluster"], env=env))
        procs.append(subprocess.Popen([*manage, "runserver", "--noreload", opts["addr"]], env=env))
        self.stdout.write(
            self.style.SUCCESS(
                f"dhis2sync is running at http://{opts['addr']}/ (admin at /admin/, API docs at "
                "/api/docs/). Press Ctrl-C to stop."
            )
        )
        try:
            while all(p.poll() is None for p in procs):
                time.sleep(0.5)
            self.stderr.write("A part of the platform stopped; shutting the rest down.")
        except KeyboardInterrupt:
            pass
        finally:
            for p in procs:
                if p.poll() is None:
                    p.send_signal(signal.SIGINT)
            deadline = time.monotonic() + 10
            for p in procs:
                try:
                    p.wait(timeout=max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    p.kill()
