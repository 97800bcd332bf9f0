"""The simulator: routing, authentication, fault injection and the inspection API.

``Simulator.handle(SimRequest) -> SimResponse`` is framework-free; :meth:`Simulator.transport`
wraps it for in-process httpx use and :meth:`Simulator.serve` runs it behind a threaded HTTP
server on 127.0.0.1.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import asdict
from datetime import date, datetime
from typing import Any

from simulator import datasets
from simulator.auth import DEFAULT_TOKEN, User, authenticate, build_users, forbidden
from simulator.clock import SimClock
from simulator.faults import FaultInjector, Faults
from simulator.handlers import completions, datavalues_get, datavalues_import, metadata, system
from simulator.handlers.common import Ctx
from simulator.http import (
    SimRequest,
    SimResponse,
    error_response,
    html_error_page,
    json_response,
    text_response,
)
from simulator.jobs import JobStore
from simulator.schema import KINDS
from simulator.state import RequestLogEntry, State
from simulator.versions import Version

Handler = Callable[[Ctx], SimResponse]


class ConnectionResetFault(Exception):
    """Raised by :meth:`Simulator.handle` when the fault plan drops the connection."""


_API_VERSION = re.compile(r"^/api/(\d{2})(/.*)?$")


def _list_handler(plural: str) -> Handler:
    return lambda ctx: metadata.list_objects(ctx, plural)


def _get_handler(plural: str) -> Handler:
    return lambda ctx: metadata.get_object(ctx, plural)


def _plural_routes() -> list[tuple[str, str, Handler]]:
    routes: list[tuple[str, str, Handler]] = []
    for plural in KINDS:
        routes.append(("GET", rf"/api/{plural}", _list_handler(plural)))
        routes.append(("GET", rf"/api/{plural}/(?P<id>[A-Za-z0-9]+)", _get_handler(plural)))
    return routes


class Simulator:
    """A stateful DHIS2 Web API simulator; see the package docstring."""

    DEFAULT_TOKEN = DEFAULT_TOKEN
    DEFAULT_USERNAME = "admin"
    DEFAULT_PASSWORD = "district"

    def __init__(
        self,
        version: str = "2.40.4.1",
        dataset: str = "demo-source",
        *,
        users: dict[str, dict[str, Any]] | None = None,
        seed: int = 0,
        dataset_options: dict[str, Any] | None = None,
        faults: Faults | None = None,
        tracker_job_delay: float = 0.5,
        context_path: str = "",
    ) -> None:
        self.version = Version.parse(version)
        self.dataset = dataset
        self.seed = seed
        self.dataset_options = dict(dataset_options or {})
        self.context_path = context_path.rstrip("/")
        self.tracker_job_delay = tracker_job_delay
        self.job_delay = self.dataset_options.get("job_delay", 0.05)
        self._users_spec = users
        self._fault_injector = FaultInjector(faults)
        self._log_lock = threading.Lock()
        # Pinned or not, every timestamp the server writes or reports comes from this clock.
        pinned = self.dataset_options.get("today") is not None
        self.clock = SimClock(datasets.parse_today(self.dataset_options) if pinned else None)
        self.jobs = JobStore(seed, clock=self.clock.now)
        self.state: State = datasets.build(dataset, seed, self.dataset_options)
        self.users: dict[str, User] = build_users(users, self._root_org_units())
        self._routes = self._build_routes()

    # --- configuration --------------------------------------------------------------

    def _root_org_units(self) -> list[str]:
        return sorted(
            u for u, o in self.state.objects["organisationUnits"].items() if o.get("level") == 1
        )

    def now(self) -> datetime:
        """The server's current UTC time (naive): ``serverDate`` and every write stamp."""
        return self.clock.now()

    def today(self) -> date:
        """The server's current date: ``dataset_options["today"]`` when the simulator was
        created (then advancing with the clock), else the real UTC date."""
        return self.clock.today()

    @property
    def faults(self) -> FaultInjector:
        return self._fault_injector

    def set_faults(self, faults: Faults | None = None, **changes: Any) -> Faults:
        """Replace the fault plan (``set_faults(Faults(...))``) or change fields of it
        (``set_faults(error_rate=0.2)``). The draw sequence restarts from the seed."""
        current = faults or self._fault_injector.faults
        if changes:
            current = Faults.from_dict({**current.to_dict(), **changes})
        self._fault_injector.set(current)
        return current

    def reset(self) -> None:
        """Rebuild the dataset and forget jobs and the request log (faults are kept)."""
        self.jobs.cancel_all()
        with self.state.lock:
            fresh = datasets.build(self.dataset, self.seed, self.dataset_options)
            self.state.__dict__.update({k: v for k, v in fresh.__dict__.items() if k != "lock"})
        self.users = build_users(self._users_spec, self._root_org_units())

    # --- routing --------------------------------------------------------------------

    def _build_routes(self) -> list[tuple[str, re.Pattern[str], Handler]]:
        table: list[tuple[str, str, Handler]] = [
            ("GET", r"/api/system/info", system.system_info),
            ("GET", r"/api/system/ping", system.ping),
            ("GET", r"/api/system/id", system.system_id),
            ("GET", r"/api/me", system.me),
            ("GET", r"/api/system/tasks/(?P<type>[A-Z_]+)/(?P<id>[A-Za-z0-9]+)", system.tasks),
            ("GET", r"/api/system/tasks/(?P<type>[A-Z_]+)", system.tasks_by_type),
            (
                "GET",
                r"/api/system/taskSummaries/(?P<type>[A-Z_]+)/(?P<id>[A-Za-z0-9]+)",
                system.task_summary,
            ),
            ("GET", r"/api/filledOrganisationUnitLevels", metadata.filled_levels),
            ("GET", r"/api/dataValueSets", datavalues_get.get_data_value_sets),
            ("POST", r"/api/dataValueSets", datavalues_import.post_data_value_sets),
            ("GET", r"/api/completeDataSetRegistrations", completions.get_registrations),
            ("POST", r"/api/completeDataSetRegistrations", completions.post_registrations),
            ("DELETE", r"/api/completeDataSetRegistrations", completions.delete_registrations),
        ]
        table.extend(self._extra_routes())
        table.extend(_plural_routes())
        return [(m, re.compile(f"^{p}$"), h) for m, p, h in table]

    def _extra_routes(self) -> list[tuple[str, str, Handler]]:
        """Routes of later parts (metadata import/export, tracker) when present."""
        routes: list[tuple[str, str, Handler]] = []
        try:
            from simulator.handlers import metadata_io
        except ImportError:  # pragma: no cover - optional module
            metadata_io = None  # type: ignore[assignment]
        if metadata_io is not None:
            routes.extend(metadata_io.ROUTES)
        try:
            from simulator.handlers import tracker
        except ImportError:  # pragma: no cover - optional module
            tracker = None  # type: ignore[assignment]
        if tracker is not None:
            routes.extend(tracker.ROUTES)
        return routes

    def _normalise(self, path: str) -> tuple[str, int | None]:
        if self.context_path and not path.startswith("/__sim__"):
            if path != self.context_path and not path.startswith(self.context_path + "/"):
                return "/__outside_context__", None
            path = path[len(self.context_path) :] or "/"
        api_version = None
        match = _API_VERSION.match(path)
        if match:
            api_version = int(match.group(1))
            path = "/api" + (match.group(2) or "")
        if len(path) > 1:
            path = path.rstrip("/")
        for suffix in (".json", ".json.gz", ".json.zip"):
            if path.endswith(suffix):
                path = path[: -len(suffix)]
                break
        return path, api_version

    # --- request handling -----------------------------------------------------------

    def handle(self, request: SimRequest) -> SimResponse:
        """Answer one request (may sleep for latency or raise :class:`ConnectionResetFault`)."""
        started = time.time()
        path, api_version = self._normalise(request.path)
        fault: str | None = None
        if path.startswith("/__sim__"):
            response = self._sim_endpoint(request, path)
        else:
            decision = self._fault_injector.decide(request.method, len(request.body))
            if decision.latency_s:
                time.sleep(decision.latency_s)
            if decision.reset:
                self._log(request, 0, 0, started, "reset")
                raise ConnectionResetFault("connection reset by simulator fault plan")
            if decision.error_status:
                response = self._fault_injector.error_response(
                    decision.error_status
                ) or html_error_page(decision.error_status)
                fault = f"error {decision.error_status}"
            elif decision.payload_timeout:
                if decision.payload_delay_s:
                    time.sleep(decision.payload_delay_s)
                response = html_error_page(504)
                fault = "payload timeout"
            else:
                response = self._dispatch(request, path, api_version)
        self._log(request, response.status, len(response.body), started, fault)
        return response

    def _log(
        self, request: SimRequest, status: int, size: int, started: float, fault: str | None
    ) -> None:
        entry = RequestLogEntry(
            method=request.method,
            path=request.path,
            params={k: list(v) for k, v in request.query.items()},
            status=status,
            bytes=len(request.body),
            response_bytes=size,
            time=started,
            fault=fault,
        )
        with self._log_lock:
            self.state.request_log.append(entry)

    def _dispatch(self, request: SimRequest, path: str, api_version: int | None) -> SimResponse:
        if not path.startswith("/api"):
            if path.startswith("/dhis-web-commons/security/login") or path == "/login":
                return text_response(
                    "<html><body>DHIS 2 login</body></html>", content_type="text/html;charset=UTF-8"
                )
            return error_response(404, f"No handler found for {request.method} {path}")
        user = authenticate(request, self.users, self.version.api_tokens)
        if isinstance(user, SimResponse):
            return user
        method_mismatch = False
        for method, pattern, handler in self._routes:
            match = pattern.match(path)
            if match is None:
                continue
            if method != request.method and not (method == "GET" and request.method == "HEAD"):
                method_mismatch = True
                continue
            ctx = Ctx(self, request, user, self.version, api_version, path, match.groupdict())
            try:
                return handler(ctx)
            except Exception as exc:  # a simulator bug must not kill the server thread
                return error_response(500, f"Simulator error: {type(exc).__name__}: {exc}")
        if method_mismatch:
            return error_response(405, f"Request method '{request.method}' not supported")
        return error_response(404, f"No handler found for {request.method} {path}")

    # --- simulator-only endpoints -------------------------------------------------------

    def _sim_endpoint(self, request: SimRequest, path: str) -> SimResponse:
        if path == "/__sim__/state" and request.method == "GET":
            return json_response(self.snapshot())
        if path == "/__sim__/faults":
            if request.method == "GET":
                return json_response(self._fault_injector.faults.to_dict())
            if request.method == "POST":
                try:
                    body = json.loads(request.body.decode("utf-8") or "{}")
                    faults = Faults.from_dict(body)
                except (ValueError, TypeError, AttributeError) as exc:
                    return error_response(400, str(exc))
                self.set_faults(faults)
                return json_response(faults.to_dict())
        if path == "/__sim__/reset" and request.method in ("POST", "GET"):
            self.reset()
            return json_response({"status": "OK"})
        if path == "/__sim__/log" and request.method == "GET":
            return json_response([asdict(e) for e in self.request_log])
        return error_response(404, f"No simulator endpoint {request.method} {path}")

    # --- inspection API -------------------------------------------------------------

    @property
    def request_log(self) -> list[RequestLogEntry]:
        with self._log_lock:
            return list(self.state.request_log)

    def clear_request_log(self) -> None:
        with self._log_lock:
            self.state.request_log.clear()

    def requests(
        self, method: str | None = None, path_contains: str | None = None
    ) -> list[RequestLogEntry]:
        return [
            e
            for e in self.request_log
            if (method is None or e.method == method.upper())
            and (path_contains is None or path_contains in e.path)
        ]

    def data_values(
        self,
        data_set: str | None = None,
        period: str | None = None,
        org_unit: str | None = None,
        data_element: str | None = None,
        include_deleted: bool = False,
    ) -> list[dict[str, Any]]:
        """Stored data values as plain dicts (UIDs; ``value`` as stored)."""
        st = self.state
        with st.lock:
            des = st.derived.ds_des.get(data_set, set()) if data_set else None
            out = []
            for (ou, pe), slice_ in st.values.items():
                if (period and pe != period) or (org_unit and ou != org_unit):
                    continue
                for (de, coc, aoc), rec in slice_.items():
                    if des is not None and de not in des:
                        continue
                    if data_element and de != data_element:
                        continue
                    if rec["deleted"] and not include_deleted:
                        continue
                    out.append(
                        {
                            "dataElement": de,
                            "period": pe,
                            "orgUnit": ou,
                            "categoryOptionCombo": coc,
                            "attributeOptionCombo": aoc,
                            **rec,
                        }
                    )
            return out

    def completions(self, data_set: str | None = None) -> list[dict[str, Any]]:
        with self.state.lock:
            return [
                {
                    "dataSet": ds,
                    "period": pe,
                    "organisationUnit": ou,
                    "attributeOptionCombo": aoc,
                    **reg,
                }
                for (ds, pe, ou, aoc), reg in self.state.completions.items()
                if data_set is None or ds == data_set
            ]

    def events(self, program: str | None = None) -> list[dict[str, Any]]:
        with self.state.lock:
            return [
                dict(e)
                for e in self.state.events.values()
                if program is None or e["program"] == program
            ]

    def metadata(self, kind: str) -> list[dict[str, Any]]:
        with self.state.lock:
            return [dict(o) for o in self.state.objects[kind].values()]

    def update_metadata(self, kind: str, uid: str, **props: Any) -> dict[str, Any]:
        """Change properties of a stored object (e.g. ``expiryDays`` of a data set)."""
        with self.state.lock:
            obj = self.state.objects[kind][uid]
            obj.update(props)
            self.state.touch()
            return dict(obj)

    def lock_period(self, data_set: str, period: str) -> None:
        with self.state.lock:
            self.state.locked_periods[data_set].add(period)

    def snapshot(self) -> dict[str, Any]:
        """Counts and settings, as served at ``/__sim__/state``."""
        st = self.state
        with st.lock:
            return {
                "version": self.version.raw,
                "dataset": self.dataset,
                "seed": self.seed,
                "metadata": {k: len(v) for k, v in st.objects.items()},
                "dataValues": st.value_count(),
                "deletedDataValues": st.value_count(include_deleted=True) - st.value_count(),
                "completeDataSetRegistrations": len(st.completions),
                "events": len(st.events),
                "requests": len(st.request_log),
                "faults": self._fault_injector.faults.to_dict(),
            }

    # --- transports -----------------------------------------------------------------

    def transport(self) -> Any:
        """An ``httpx.BaseTransport`` answering in-process."""
        from simulator.transport import SimTransport

        return SimTransport(self)

    def serve(self, host: str = "127.0.0.1", port: int = 0) -> Any:
        """Start a threaded HTTP server in a background thread; returns a ``SimServer``."""
        from simulator.server import SimServer

        return SimServer(self, host, port)


__all__ = ["ConnectionResetFault", "Simulator", "forbidden"]
