"""The simulator's commands: argument parsing, and ``python -m simulator`` served for real."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from simulator.management.commands.dhis2_simulator import Command


def test_command_accepts_documented_options() -> None:
    parser = Command().create_parser("manage.py", "dhis2_simulator")
    opts = parser.parse_args(
        [
            "--port",
            "8081",
            "--dataset",
            "demo-destination",
            "--version",
            "2.39.5",
            "--latency-ms",
            "20",
            "--error-rate",
            "0.2",
            "--max-payload-bytes",
            "1000",
            "--seed",
            "3",
            "--host",
            "127.0.0.1",
        ]
    )
    assert opts.port == 8081 and opts.dataset == "demo-destination"
    assert opts.dhis2_version == "2.39.5" and opts.error_rate == 0.2
    assert opts.max_payload_bytes == 1000 and opts.seed == 3 and opts.latency_ms == 20
    assert parser.parse_args([]).dhis2_version == "2.40.4.1"


# --- `python -m simulator`: the README's command, with no platform configuration at all --------

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.e2e
def test_module_entry_point_serves_without_platform_secrets(tmp_path: Path) -> None:
    """DEBUG unset and no SECRET_KEY/ENCRYPTION_KEYS: the platform's settings would refuse to
    start; the simulator needs none of them. Started from an empty directory, so no ``.env``
    could supply them either."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DEBUG", "SECRET_KEY", "ENCRYPTION_KEYS", "DJANGO_SETTINGS_MODULE")
    }
    env["PYTHONPATH"] = str(ROOT)
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "simulator", "--port", str(port), "--dataset", "empty"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        info = None
        while time.monotonic() < deadline and info is None:
            assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
            try:
                info = httpx.get(
                    f"http://127.0.0.1:{port}/api/system/info",
                    auth=("admin", "district"),
                    timeout=2,
                )
            except httpx.TransportError:
                time.sleep(0.2)
        assert info is not None and info.status_code == 200
        assert info.json()["version"] == "2.40.4.1"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
        out = proc.stdout.read().decode() if proc.stdout else ""
        assert f"at http://127.0.0.1:{port}" in out and "Stopping." in out
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
