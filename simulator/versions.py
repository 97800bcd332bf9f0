"""DHIS2 version parsing and the version-dependent switches the simulator uses.

Every predicate cites the DHIS2 release in which the behaviour changed (see the reference
document of the project, sections 0, 4, 5 and 8).
"""

from __future__ import annotations

from dhis2.version import MajorSwitch
from dhis2.version import Version as _LibraryVersion


class Version(_LibraryVersion):
    """The DHIS2 library's version value (parsing, ordering, `major`/`minor`/`patch`) plus the
    behaviour switches only a server needs."""

    __slots__ = ()

    def at_least(self, major: int, minor: int = 0) -> bool:
        return (self.major, self.minor) >= (major, minor)

    # --- API version of a request -------------------------------------------------------

    @property
    def default_api_version(self) -> int:
        """``DhisApiVersion.DEFAULT``: V37 in 2.37, V38 in 2.38 ... V41 in 2.41 and 2.42."""
        return min(self.major, 41)

    def plain_import_response(self, api_version: int | None) -> bool:
        """Whether import endpoints answer the bare summary with HTTP 200 (reference §0).

        2.36 always renders the bare summary; 2.37 too (default API version 37); 2.38-2.41
        answer bare only on an explicit ``/api/37/...`` (or lower) path; 2.42 always wraps.
        """
        if self.major <= 37:
            return True
        if self.major >= 42:
            return False
        return api_version is not None and api_version < 38

    # --- import summaries ---------------------------------------------------------------

    grouped_conflicts = MajorSwitch(
        since=37,
        doc="2.37+ conflicts carry errorCode/property/objects/indexes (PR dhis2-core#8237).",
    )

    # ``rejectedIndexes`` exists from 2.39.2, 2.40.1 and 2.41.0 (PR dhis2-core#13587).
    rejected_indexes = _LibraryVersion.reports_rejected_indexes

    not_found_error_code = MajorSwitch(
        since=40, doc="404 WebMessages carry ``errorCode: E1005`` from 2.40."
    )

    # Personal access tokens (``ApiToken d2pat_...``) exist from 2.37.
    api_tokens = _LibraryVersion.supports_api_tokens

    null_comment = MajorSwitch(
        since=40,
        until=40,
        doc='The data value writer of 2.40 writes ``"comment": null``; others write ``""``.',
    )

    job_name_style_new = MajorSwitch(
        since=41, doc="2.41+: job messages read ``Initiated DATAVALUE_IMPORT (<millis>)``."
    )

    job_location_header = MajorSwitch(
        since=40, doc="2.40+ sets a ``Location`` header on the async job response."
    )

    job_status_fields = MajorSwitch(
        since=38,
        doc="2.38+ job responses carry ``jobStatus``, ``jobParameters`` and ``responseType``.",
    )

    long_response_types = MajorSwitch(
        since=42,
        doc="2.42+ ``responseType`` is the full class name (``ImportReportWebMessageResponse``).",
    )

    legacy_events = MajorSwitch(
        until=41, doc="``/api/events`` exists until 2.41 and was removed in 2.42."
    )

    org_unit_descendants_paged = MajorSwitch(
        since=41, doc="2.41+ pages ``organisationUnits/{id}?includeDescendants=true`` with a pager."
    )
