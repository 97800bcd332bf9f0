"""Shift the wall clock of this Python process, and of every Python process it starts.

Put this folder on ``PYTHONPATH`` and set ``DHIS2SYNC_FAKE_NOW`` (ISO 8601, UTC unless an offset
is given: ``2026-12-28T23:50:00``, ``2027-03-01``) and Python imports this module at start-up
(``site`` imports ``sitecustomize``). It starts ``time_machine.travel(..., tick=True)``: the wall
clock (``time.time``, ``datetime.now``, ``date.today``) then runs at real speed from that
instant, while ``time.monotonic``, ``perf_counter`` and sleeps stay real, so timeouts and
back-off waits behave as usual.

The first process converts the target into an offset from the real clock and exports it as
``DHIS2SYNC_FAKE_OFFSET``; processes it starts (the simulators, ``qcluster`` workers, ``manage.py``
commands the tests spawn) inherit that variable and apply the same offset, so every process
agrees on one shifted "now" instead of each restarting at the target.

``make test-dates`` runs the suite this way at dates where calendars break (ISO week 53, new
year, the first of a month, the evening before a month ends). Setting ``DHIS2SYNC_FAKE_NOW``
without time-machine installed stops the interpreter: a run that silently used the real clock
would prove nothing.
"""

from __future__ import annotations

import os
import sys
import time
from datetime import UTC, datetime


def _target_timestamp(text: str) -> float:
    moment = datetime.fromisoformat(text.strip())
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def _start() -> None:
    fake = os.environ.get("DHIS2SYNC_FAKE_NOW", "").strip()
    if not fake:
        return
    try:
        import time_machine
    except ImportError:
        sys.stderr.write("clockshift: DHIS2SYNC_FAKE_NOW is set but time-machine is missing.\n")
        raise SystemExit(2) from None
    inherited = os.environ.get("DHIS2SYNC_FAKE_OFFSET")
    try:
        offset = float(inherited) if inherited else _target_timestamp(fake) - time.time()
    except ValueError:
        sys.stderr.write(f"clockshift: cannot read DHIS2SYNC_FAKE_NOW={fake!r} as ISO 8601.\n")
        raise SystemExit(2) from None
    if not inherited:
        os.environ["DHIS2SYNC_FAKE_OFFSET"] = repr(offset)
    time_machine.travel(time.time() + offset, tick=True).start()
    if not inherited:
        shifted = datetime.now(UTC).isoformat(timespec="seconds")
        sys.stderr.write(f"clockshift: wall clock shifted to {shifted}\n")


_start()
