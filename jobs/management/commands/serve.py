"""Start the platform: web server and worker together, plus two simulated DHIS2 instances when
asked for a demo (or, with `--demo auto`, when no real DHIS2 instance is configured).

Each part is a child process. Ctrl-C (SIGINT), SIGTERM (a terminal's ``kill``, a process
manager, systemd, ``docker stop``) or one part dying stops them all, in order: the web server
first (no new work), then the worker (it finishes with the simulators still there), then the
simulators; a part that does not stop within its grace period is killed.

The worker runs in a process group of its own. django-q2's Sentinel resets SIGTERM to the default
action, so a SIGTERM sent to our whole group would kill it while it sleeps on the cluster's stop
event, and the qcluster main process would then block for ever in ``stop_event.set()`` (a
multiprocessing Condition waits for the dead sleeper to wake). Kept out of our group, the cluster
gets exactly one signal, from us, to its main process, which stops the Sentinel, the workers,
the monitor and the pusher cleanly; if it is still there after its grace period, its whole group
is killed. On Linux it also gets SIGTERM if this process dies without cleaning up.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from types import FrameType
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

from connections.models import Instance

DEMO_PORTS = (8081, 8082)
# Grace periods in seconds, per part, for the stop in order. Their sum stays below the 10 s
# `docker stop` waits before SIGKILL.
WEB_GRACE = 2.0
WORKER_GRACE = 5.0
SIMULATOR_GRACE = 1.0


class _Stop(Exception):
    """Raised in the main thread by SIGTERM, as SIGINT raises KeyboardInterrupt."""


def _raise_stop(signum: int, frame: FrameType | None) -> None:
    raise _Stop(signum)


def _parent_death_signal() -> Callable[[], None] | None:
    """A ``preexec_fn`` asking Linux to send the child SIGTERM when this process dies (so even a
    SIGKILL of `serve` does not orphan the worker, which is outside our process group)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None, use_errno=True)
    except OSError:
        return None
    pr_set_pdeathsig = 1

    def preexec() -> None:
        libc.prctl(pr_set_pdeathsig, int(signal.SIGTERM), 0, 0, 0)

    return preexec


def _demo_ports(value: str) -> tuple[int, int]:
    try:
        source, destination = (int(p) for p in value.split(","))
    except ValueError as exc:
        raise CommandError("--demo-ports takes two ports: SOURCE,DESTINATION") from exc
    return source, destination


class _Part:
    """One child process and how to stop it."""

    def __init__(self, name: str, proc: subprocess.Popen[bytes], grace: float, *, group: bool):
        self.name = name
        self.proc = proc
        self.grace = grace
        self.own_group = group  # the child leads a process group of its own

    def stop(self) -> None:
        if self.proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=self.grace)
            return
        except subprocess.TimeoutExpired:
            pass
        # Still not reaped, so its pid (and process group id) cannot have been reused.
        with contextlib.suppress(ProcessLookupError):
            if self.own_group:
                os.killpg(self.proc.pid, signal.SIGKILL)
            else:
                self.proc.kill()
        self.proc.wait()


class Command(BaseCommand):
    help = "Run the web server and the django-q2 worker (and the demo DHIS2 simulators)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--addr", default="127.0.0.1:8000")
        parser.add_argument(
            "--demo",
            choices=["auto", "on", "off"],
            default="auto",
            help="Start two simulated DHIS2 instances (auto: only when no real one is configured).",
        )
        parser.add_argument(
            "--demo-ports",
            type=_demo_ports,
            default=DEMO_PORTS,
            help="Ports of the source and destination simulators (default 8081,8082).",
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        previous = signal.signal(signal.SIGTERM, _raise_stop)
        parts: list[_Part] = []
        try:
            self._start(parts, opts)
            self.stdout.write(
                self.style.SUCCESS(
                    f"dhis2sync is running at http://{opts['addr']}/ (admin at /admin/, API docs "
                    "at /api/docs/). Press Ctrl-C to stop."
                )
            )
            while all(p.proc.poll() is None for p in parts):
                time.sleep(0.5)
            stopped = next(p.name for p in parts if p.proc.poll() is not None)
            self.stderr.write(f"The {stopped} stopped; shutting the rest down.")
        except (KeyboardInterrupt, _Stop):
            self.stdout.write("Stopping.")
        finally:
            # A second signal must not cut the stop short and orphan a part.
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            order = {"web server": 0, "worker": 1}
            for part in sorted(parts, key=lambda p: order.get(p.name, 2)):
                part.stop()
            signal.signal(signal.SIGTERM, previous)
            signal.signal(signal.SIGINT, signal.default_int_handler)

    def _start(self, parts: list[_Part], opts: dict[str, Any]) -> None:
        manage = [sys.executable, str(settings.BASE_DIR / "manage.py")]
        ports: tuple[int, int] = opts["demo_ports"]
        demo_urls = [f"http://127.0.0.1:{port}" for port in ports]
        real_configured = Instance.objects.exclude(base_url__in=demo_urls).exists()
        demo = opts["demo"] == "on" or (opts["demo"] == "auto" and not real_configured)
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        if demo:
            for port, dataset in zip(ports, ("demo-source", "demo-destination"), strict=True):
                # the simulator's own entry point: no Django settings, no platform secrets
                cmd = [sys.executable, "-m", "simulator", "--port", str(port), "--dataset", dataset]
                proc = subprocess.Popen(cmd, env=env, cwd=settings.BASE_DIR)
                parts.append(_Part(f"simulator on port {port}", proc, SIMULATOR_GRACE, group=False))
            time.sleep(1.5)
            call_command("setup_demo", source_port=ports[0], destination_port=ports[1])
        # Schedules live in the database; make sure each active one is armed before the worker
        # starts (its django-q2 counterpart may have drifted while the platform was down).
        call_command("sync_schedules")
        worker = subprocess.Popen(
            [*manage, "qcluster"],
            env=env,
            process_group=0,
            preexec_fn=_parent_death_signal(),  # no other thread runs at this point
        )
        parts.append(_Part("worker", worker, WORKER_GRACE, group=True))
        web = subprocess.Popen([*manage, "runserver", "--noreload", opts["addr"]], env=env)
        parts.append(_Part("web server", web, WEB_GRACE, group=False))
