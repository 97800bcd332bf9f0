"""A `manage.py qcluster` worker on the test database that a test can kill and start again.

Unlike the shared `qcluster` fixture (tests/e2e/conftest.py) the worker runs in its own
process group, so `kill()` can SIGKILL the whole cluster (sentinel, pusher, workers, monitor)
at once, as the kernel's OOM killer or a power cut would; extra environment (e.g. a short
`RUN_STALL_SECONDS`) reaches it; and its log goes to a file of its own, so parallel test runs
in one checkout do not overwrite each other's.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from pathlib import Path

from tests.e2e.conftest import ROOT, test_database_url


class Worker:
    def __init__(self, name: str, **env: str) -> None:
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tests.e2e.worker_settings",
            "DATABASE_URL": test_database_url(),
            "Q_SYNC": "0",
            "PYTHONUNBUFFERED": "1",
            **env,
        }
        self.log_path = ROOT / ".local" / f"worker-{name}-{os.getpid()}.log"
        self.proc: subprocess.Popen | None = None

    def start(self) -> Worker:
        with open(self.log_path, "a") as log:
            self.proc = subprocess.Popen(
                [sys.executable, str(ROOT / "manage.py"), "qcluster"],
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return self

    def kill(self) -> None:
        """SIGKILL every process of the cluster: nothing gets to clean up."""
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()
        self.proc = None

    def stop(self) -> None:
        """SIGTERM to the main process only (see jobs/management/commands/serve.py), then
        SIGKILL whatever of the group is left."""
        if self.proc is None:
            return
        self.proc.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=15)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()
        self.proc = None

    def log(self, tail: int = 3000) -> str:
        path = Path(self.log_path)
        return path.read_text()[-tail:] if path.exists() else ""
