"""DHIS2 server versions (`/api/system/info` → `version`).

DHIS2 numbers releases `2.<major>.<minor>[.<patch>]` (`2.40.4.1`, `2.38.7`, `2.39`), dev builds add
`-SNAPSHOT` (`2.41-SNAPSHOT`). The "major" is the second number: API behaviour changes with it
(wrapped import answers from 2.38, legacy `/api/events` gone in 2.42, ...).
"""

from __future__ import annotations

import functools
import re
from typing import Any, Self, overload

__all__ = ["MajorSwitch", "Version"]

_VERSION_RE = re.compile(
    r"^\s*v?(?P<numbers>\d+(?:\.\d+)+)(?:[-_+ ](?P<suffix>[0-9A-Za-z][0-9A-Za-z.\-_]*))?\s*$"
)


class MajorSwitch:
    """A read-only `bool` attribute of a `Version`: whether its major lies in `since..until`
    (both included, either end open).

    Most behaviour switches are exactly that; declaring each as one `MajorSwitch(...)` keeps the
    release that changed the behaviour next to its reason (`doc`), which is what a reader looks
    for, instead of a property body per switch.
    """

    def __init__(self, *, since: int | None = None, until: int | None = None, doc: str) -> None:
        self.since = since
        self.until = until
        self.__doc__ = doc

    @overload
    def __get__(self, version: None, owner: type | None = None) -> MajorSwitch: ...

    @overload
    def __get__(self, version: Version, owner: type | None = None) -> bool: ...

    def __get__(self, version: Version | None, owner: type | None = None) -> bool | MajorSwitch:
        if version is None:
            return self
        major = version.major
        return (self.since is None or major >= self.since) and (
            self.until is None or major <= self.until
        )


@functools.total_ordering
class Version:
    """Comparable, hashable DHIS2 version.

    Ordering is numeric (`2.40.10 > 2.40.9`, `2.40 == 2.40.0`); a `-SNAPSHOT` build sorts just
    before the release with the same numbers (`2.41-SNAPSHOT < 2.41.0`). Use `major` for feature
    checks so a snapshot of 2.41 counts as 2.41. Compares with `Version` or with version strings.
    """

    __slots__ = ("_key", "numbers", "raw", "snapshot", "suffix")

    def __init__(self, raw: str) -> None:
        if not isinstance(raw, str):
            raise ValueError(
                f"A DHIS2 version must be text like '2.40.4', not {type(raw).__name__}."
            )
        match = _VERSION_RE.match(raw)
        if not match:
            shown = raw if len(raw) <= 60 else raw[:60] + "…"
            raise ValueError(
                f"Not a DHIS2 version: {shown!r}. Expected something like '2.40.4.1', '2.39' or "
                "'2.41-SNAPSHOT'."
            )
        numbers = tuple(int(n) for n in match.group("numbers").split("."))
        suffix = match.group("suffix")
        self.raw = raw.strip()
        self.numbers: tuple[int, ...] = numbers
        self.suffix: str | None = suffix
        self.snapshot: bool = bool(suffix) and suffix.upper().startswith("SNAPSHOT")
        trimmed = list(numbers)
        while len(trimmed) > 1 and trimmed[-1] == 0:
            trimmed.pop()
        self._key: tuple[tuple[int, ...], int] = (tuple(trimmed), 0 if self.snapshot else 1)

    @classmethod
    def parse(cls, raw: str) -> Self:
        """Parse a version string; raises ValueError with an example of a valid one."""
        return cls(raw)

    @property
    def generation(self) -> int:
        """The leading `2` of every DHIS2 version so far."""
        return self.numbers[0]

    @property
    def major(self) -> int:
        """DHIS2's release number: 40 for `2.40.4.1`."""
        return self.numbers[1]

    @property
    def minor(self) -> int:
        """4 for `2.40.4.1`, 0 when absent."""
        return self.numbers[2] if len(self.numbers) > 2 else 0

    @property
    def patch(self) -> int:
        """1 for `2.40.4.1`, 0 when absent."""
        return self.numbers[3] if len(self.numbers) > 3 else 0

    # ---- behaviour switches (see the DHIS2 API reference, §0, §5, §8) -------------------------

    wraps_import_summaries = MajorSwitch(
        since=38,
        doc="2.38+: import answers are wrapped in a WebMessage and WARNING/ERROR come back as 409.",
    )
    supports_api_tokens = MajorSwitch(
        since=37, doc="Personal access tokens (`Authorization: ApiToken`) exist from 2.37."
    )

    @property
    def reports_rejected_indexes(self) -> bool:
        """ImportSummary `rejectedIndexes` exists from 2.39.2, 2.40.1 and 2.41.0."""
        if self.major == 39:
            return self.minor >= 2
        if self.major == 40:
            return self.minor >= 1
        return self.major >= 41

    has_legacy_events_api = MajorSwitch(until=41, doc="Legacy `/api/events` was removed in 2.42.")
    tracker_lists_use_instances_key = MajorSwitch(
        until=40,
        doc="`/api/tracker/*` lists put items under `instances` up to 2.40, under the resource "
        "name from 2.41.",
    )

    # ---- comparison ---------------------------------------------------------------------------

    @staticmethod
    def _coerce(other: Any) -> Version | None:
        if isinstance(other, Version):
            return other
        if isinstance(other, str):
            return Version(other)
        return None

    def __eq__(self, other: object) -> bool:
        if isinstance(other, str):
            try:
                other = Version(other)
            except ValueError:
                return False
        if not isinstance(other, Version):
            return NotImplemented
        return self._key == other._key

    def __lt__(self, other: Any) -> bool:
        coerced = self._coerce(other)
        if coerced is None:
            return NotImplemented
        return self._key < coerced._key

    def __hash__(self) -> int:
        return hash(self._key)

    def __str__(self) -> str:
        return self.raw

    def __repr__(self) -> str:
        return f"Version({self.raw!r})"
