"""The run id on every log line written while a run executes.

`execute_run` sets `current_run_id` around the handler call; `RunIdFilter`, attached to the log
handlers in `config.settings.LOGGING`, copies it onto each record as the `run_id` attribute, so a
JSON log line (`LOG_FORMAT=json`) carries it as a field whichever module logged it (the DHIS2
client, a transfer step, Django). A contextvar rather than a thread-local: it follows asyncio
tasks, and `execute_run` resets it even when the handler raises.

This module imports nothing from Django's models: the logging configuration loads it while the
settings are read, before the app registry exists.
"""

from __future__ import annotations

import logging
from contextvars import ContextVar

#: The primary key of the run executing in this context, or None outside a run.
current_run_id: ContextVar[int | None] = ContextVar("current_run_id", default=None)


class RunIdFilter(logging.Filter):
    """Add `run_id` to records logged while a run executes; never drops a record.

    A record that already has `run_id` (passed with `extra=`) keeps it. Outside a run the
    attribute is left unset, so JSON lines of web requests have no `run_id` key at all.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "run_id", None) is None:
            run_id = current_run_id.get()
            if run_id is not None:
                record.run_id = run_id
        return True
