"""Fault injection: latency, proxy errors, connection resets and payload limits.

Faults model what sits in front of a busy DHIS2 (nginx): 502/503 answers with an HTML body,
dropped connections and a 504 for oversized POSTs after the proxy's read timeout. Draws come
from ``random.Random(seed)`` so a run is reproducible. Simulator-only paths (``/__sim__/``) are
never faulted.

``server_error_share`` makes that share of the ``error_rate`` answers DHIS2's own transient 500
instead of a proxy page: the WebMessage ``CrudControllerAdvice.defaultExceptionHandler`` returns
when a request fails on an SQL exception such as a lock timeout (dhis2-core 2.40.0: the message
of "sensitive" exceptions is replaced by ``GENERIC_ERROR_MESSAGE``, typo included). With a share
of 0 the draw sequence is the same as before the field existed.
"""

from __future__ import annotations

import random
import threading
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from simulator.http import SimResponse, error_response

#: `CrudControllerAdvice.GENERIC_ERROR_MESSAGE` (dhis2-core 2.40.0), verbatim.
DHIS2_GENERIC_ERROR = "An unexpected error has occured. Please contact your system administrator"

ALL_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})


@dataclass
class Faults:
    """What to inject; see the module docstring. ``methods`` limits the error, reset and
    payload faults to these HTTP methods (``{"*"}`` or ``None`` = all); latency applies to every
    request."""

    latency_ms: float = 0
    error_rate: float = 0.0
    reset_rate: float = 0.0
    max_payload_bytes: int | None = None
    payload_timeout_delay: float = 0.0
    slow_import_ms_per_1000_values: float = 0
    server_error_share: float = 0.0
    seed: int = 0
    methods: set[str] | None = field(default_factory=lambda: {"POST"})

    def applies_to(self, method: str) -> bool:
        if self.methods is None or "*" in self.methods or "ALL" in self.methods:
            return True
        return method.upper() in {m.upper() for m in self.methods}

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["methods"] = None if self.methods is None else sorted(self.methods)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Faults:
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"Unknown fault settings: {', '.join(sorted(unknown))}")
        values = dict(data)
        if "methods" in values and values["methods"] is not None:
            values["methods"] = set(values["methods"])
        return cls(**values)


@dataclass
class FaultDecision:
    latency_s: float = 0.0
    reset: bool = False
    error_status: int | None = None
    payload_timeout: bool = False
    payload_delay_s: float = 0.0


class FaultInjector:
    """Draws fault decisions deterministically from the fault seed (thread-safe)."""

    def __init__(self, faults: Faults | None = None) -> None:
        self._lock = threading.Lock()
        self.set(faults or Faults())

    def set(self, faults: Faults) -> None:
        with self._lock:
            self.faults = faults
            self._rng = random.Random(faults.seed)

    def decide(self, method: str, body_size: int) -> FaultDecision:
        with self._lock:
            f = self.faults
            decision = FaultDecision(latency_s=max(f.latency_ms, 0) / 1000.0)
            if not f.applies_to(method):
                return decision
            if f.reset_rate > 0 and self._rng.random() < f.reset_rate:
                decision.reset = True
                return decision
            if f.error_rate > 0 and self._rng.random() < f.error_rate:
                if f.server_error_share > 0 and self._rng.random() < f.server_error_share:
                    decision.error_status = 500
                else:
                    decision.error_status = self._rng.choice((502, 503))
                return decision
            if (
                f.max_payload_bytes is not None
                and method.upper() in ("POST", "PUT", "PATCH")
                and body_size > f.max_payload_bytes
            ):
                decision.payload_timeout = True
                decision.payload_delay_s = max(f.payload_timeout_delay, 0.0)
            return decision

    @staticmethod
    def error_response(status: int) -> SimResponse | None:
        """DHIS2's own answer for a drawn 500 (None: a proxy's page, `html_error_page`)."""
        if status == 500:
            return error_response(500, DHIS2_GENERIC_ERROR)
        return None

    def import_delay(self, value_count: int) -> float:
        return self.faults.slow_import_ms_per_1000_values * value_count / 1_000_000.0
