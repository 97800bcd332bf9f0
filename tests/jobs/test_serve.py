"""`manage.py serve` stops every process it started when its process group gets SIGTERM.

A terminal's ``kill -TERM -<pgid>``, a process manager, systemd and ``docker stop`` send SIGTERM,
not SIGINT. django-q2's Sentinel resets SIGTERM to the default action, so a SIGTERM that reaches
it directly kills it while it sleeps on the cluster's stop event; the qcluster main process then
blocks for ever in ``stop_event.set()`` (a multiprocessing Condition waits for the dead sleeper to
acknowledge). These tests start the real platform in its own session, signal the whole group
and check in ``/proc`` that nothing of that session is left.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [
    pytest.mark.e2e,
    pytest.mark.slow,
    pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc"),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _session_pids(sid: int) -> dict[int, str]:
    """Live (non-zombie) processes of session ``sid``: pid -> command line."""
    found: dict[int, str] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
        except OSError:
            continue
        # fields after the parenthesised command name: state ppid pgrp session ...
        fields = stat.rsplit(")", 1)[1].split()
        if fields[0] != "Z" and int(fields[3]) == sid:
            found[int(entry)] = cmdline.replace(b"\0", b" ").decode(errors="replace").strip()
    return found


def _env(tmp_path: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DJANGO_SETTINGS_MODULE", "SECRET_KEY", "ENCRYPTION_KEYS", "REDIS_URL")
    }
    env.update(
        DEBUG="true",
        # explicit keys, so the test never writes the developer's .local/dev-keys.json
        SECRET_KEY="test-serve-secret-key-not-for-production-0123456789",
        ENCRYPTION_KEYS="1k5Cr3-VbDJ_uU5e3m4p1WmnHzrn8m1N4Ybl8DoVx7E=",
        DATABASE_URL=f"sqlite:///{tmp_path / 'serve.sqlite3'}",
        Q_WORKERS="1",
        PYTHONUNBUFFERED="1",
    )
    return env


def _wait_until_up(
    proc: subprocess.Popen[bytes], web_port: int, sim_ports: tuple[int, ...], minimum: int
) -> None:
    """Web and simulators answer, and the session has at least ``minimum`` processes (serve,
    runserver, simulators, qcluster main, its sentinel, one worker, monitor, pusher)."""
    deadline = time.monotonic() + 90
    urls = [f"http://127.0.0.1:{web_port}/accounts/login/"] + [
        f"http://127.0.0.1:{p}/api/system/ping" for p in sim_ports
    ]
    while time.monotonic() < deadline:
        assert proc.poll() is None, "serve exited before it was up"
        try:
            for url in urls:
                httpx.get(url, timeout=2)
        except httpx.HTTPError:
            time.sleep(0.5)
            continue
        if len(_session_pids(proc.pid)) >= minimum:
            time.sleep(1.0)  # let the cluster finish spawning and arm its guard loop
            return
        time.sleep(0.5)
    raise AssertionError(f"platform not up in time; processes: {_session_pids(proc.pid)}")


def _kill_leftovers(proc: subprocess.Popen[bytes]) -> None:
    """SIGKILL what is left of the session (only processes this test started), reap serve."""
    for pid in _session_pids(proc.pid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    if proc.poll() is None:
        proc.kill()
        proc.wait()


def _signal_and_check(proc: subprocess.Popen[bytes], signum: int, *, group: bool) -> None:
    """Send ``signum`` to serve's process group (or serve alone) and expect the whole session
    gone within the bound, with serve exiting 0."""
    before = _session_pids(proc.pid)
    if group:
        os.killpg(proc.pid, signum)
    else:
        os.kill(proc.pid, signum)
    deadline = time.monotonic() + 30
    left = before
    while time.monotonic() < deadline:
        proc.poll()  # reap serve itself when it exits
        left = _session_pids(proc.pid)
        if not left:
            break
        time.sleep(0.2)
    try:
        name = signal.Signals(signum).name
        assert not left, f"left behind after {name} (of {sorted(before)}): {left}"
        assert proc.wait(timeout=5) == 0
    finally:
        _kill_leftovers(proc)


@pytest.fixture(scope="module")
def migrated_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """One migrated throwaway SQLite database for the module (migrating takes seconds)."""
    env = _env(tmp_path_factory.mktemp("serve"))
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=ROOT,
        env=env,
        check=True,
        timeout=180,
    )
    return env


def _start(env: dict[str, str], log: Path, *extra: str) -> tuple[subprocess.Popen[bytes], int]:
    web_port = _free_port()
    out = log.open("wb")
    proc = subprocess.Popen(
        [sys.executable, "manage.py", "serve", "--addr", f"127.0.0.1:{web_port}", *extra],
        cwd=ROOT,
        env=env,
        start_new_session=True,  # its own session and process group, like `make run` in a shell
        stdout=out,
        stderr=subprocess.STDOUT,
    )
    out.close()
    return proc, web_port


def _up(proc: subprocess.Popen[bytes], web_port: int, sims: tuple[int, ...], n: int) -> None:
    try:
        _wait_until_up(proc, web_port, sims, minimum=n)
    except BaseException:
        _kill_leftovers(proc)
        raise


def test_sigterm_to_the_group_stops_web_worker_and_simulators(
    migrated_env: dict[str, str], tmp_path: Path
) -> None:
    sim_ports = (_free_port(), _free_port())
    log = tmp_path / "serve.log"
    proc, web_port = _start(
        migrated_env, log, "--demo", "on", "--demo-ports", f"{sim_ports[0]},{sim_ports[1]}"
    )
    _up(proc, web_port, sim_ports, 9)
    _signal_and_check(proc, signal.SIGTERM, group=True)
    # the cluster stopped itself (its Sentinel stopped the workers), it was not killed
    assert re.search(r"Q Cluster \S+ has stopped", log.read_text()), log.read_text()[-3000:]


def test_sigterm_to_serve_alone_stops_everything(
    migrated_env: dict[str, str], tmp_path: Path
) -> None:
    """``docker stop`` signals only PID 1: serve must pass the stop on to its children."""
    log = tmp_path / "serve.log"
    proc, web_port = _start(migrated_env, log, "--demo", "off")
    _up(proc, web_port, (), 7)
    _signal_and_check(proc, signal.SIGTERM, group=False)
    assert re.search(r"Q Cluster \S+ has stopped", log.read_text()), log.read_text()[-3000:]


def test_sigint_to_the_group_still_stops_everything(
    migrated_env: dict[str, str], tmp_path: Path
) -> None:
    """Ctrl-C in a terminal: SIGINT to the foreground process group."""
    proc, web_port = _start(migrated_env, tmp_path / "serve.log", "--demo", "off")
    _up(proc, web_port, (), 7)
    _signal_and_check(proc, signal.SIGINT, group=True)
