"""DHIS2 version parsing and the version-dependent switches the simulator uses.

Every predicate cites the DHIS2 release in which the behaviour changed (see the reference
document of the project, sections 0, 4, 5 and 8).
"""

from __future__ import annotations

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

    @property
    def grouped_conflicts(self) -> bool:
        """2.37+ conflicts carry errorCode/property/objects/indexes (PR dhis2-core#8237)."""
        return self.major >= 37

    @property
    def rejected_indexes(self) -> bool:
        """``rejectedIndexes`` exists from 2.39.2, 2.40.1 and 2.41.0 (PR dhis2-core#13587)."""
        return self.reports_rejected_indexes

    @property
    def not_found_error_code(self) -> bool:
        """404 WebMessages carry ``errorCode: E1005`` from 2.40."""
        return self.major >= 40

    @property
    def api_tokens(self) -> bool:
        """Personal access tokens (``ApiToken d2pat_...``) exist from 2.37."""
        return self.supports_api_tokens

    @property
    def null_comment(self) -> bool:
        """The data value writer of 2.40 writes ``"comment": null``; others write ``""``."""
        return self.major == 40

    @property
    def job_name_style_new(self) -> bool:
        """2.41+: job messages read ``Initiated DATAVALUE_IMPORT (<millis>)``."""
        return self.major >= 41

    @property
    def job_location_header(self) -> bool:
        """2.40+ sets a ``Location`` header on the async job response."""
        return self.major >= 40

    @property
    def job_status_fields(self) -> bool:
        """2.38+ job responses carry ``jobStatus``, ``jobParameters`` and ``responseType``."""
        return self.major >= 38

    @property
    def long_response_types(self) -> bool:
        """2.42+ ``responseType`` is the full class name (``ImportReportWebMessageResponse``)."""
        return self.major >= 42

    @property
    def legacy_events(self) -> bool:
        """``/api/events`` exists until 2.41 and was removed in 2.42."""
        return self.major <= 41

    @property
    def org_unit_descendants_paged(self) -> bool:
        """2.41+ pages ``organisationUnits/{id}?includeDescendants=true`` with a pager."""
        return self.major >= 41
