"""The simulator server's own clock.

A real DHIS2 stamps every write (``lastUpdated``, ``created``, job times) and reports
``serverDate`` from one clock, and never stores a time after its own "now". Clients such as our
transfers resolve relative periods and incremental watermarks from ``serverDate``, so the
simulator must answer every one of those from a single clock too.

``dataset_options["today"]`` pins the date the simulator believes it is. The clock then runs at
real speed from the real time of day on that date: it is the process's UTC clock shifted by a
whole number of days, fixed when the simulator is created. It is therefore monotonic, never
wraps back at midnight (the date advances like a real server's would), and follows whatever
the process's wall clock says (a test that travels in time moves it as well).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from simulator.state import now_utc


class SimClock:
    """UTC wall clock of one simulator: real time plus a whole-day offset."""

    def __init__(self, today: date | None = None) -> None:
        real = now_utc()
        self.offset = timedelta(days=(today - real.date()).days) if today else timedelta(0)

    def now(self) -> datetime:
        """The server's current UTC time, naive (DHIS2 runs here in ``Etc/UTC``)."""
        return now_utc() + self.offset

    def today(self) -> date:
        """The server's current date."""
        return self.now().date()
