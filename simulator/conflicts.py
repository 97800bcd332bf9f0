"""Import conflicts in both DHIS2 styles.

* ≤2.36: ``{"object", "value"}``; equal conflicts collapse (``ImportSummary`` holds a set).
* 2.37+ (PR dhis2-core#8237): ``{"object", "objects", "value", "errorCode", "property",
  "indexes"}``; equal conflicts are grouped and ``indexes`` lists every input row. Texts are
  the 2.37-2.40 ``ErrorCode`` messages; ``objects`` maps the argument types of
  ``DataValueImportConflict`` to the arguments (``I18n`` arguments appear as ``value``, as in
  the recorded android fixture).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# code -> (message template, property, argument object keys)
CODES: dict[str, tuple[str, str | None, tuple[str | None, ...]]] = {
    "E7600": ("Data set not found or not accessible: `{0}`", "dataSet", ("dataSet",)),
    "E7601": ("User does not have write access for DataSet: `{0}`", "dataSet", ("dataSet",)),
    "E7603": ("Org unit not found or not accessible: `{0}`", "orgUnit", ("organisationUnit",)),
    "E7604": (
        "Attribute option combo not found or not accessible: `{0}`",
        "attributeOptionCombo",
        ("categoryOptionCombo",),
    ),
    "E7610": ("Data element not found or not accessible: `{0}`", "dataElement", ("dataElement",)),
    "E7611": ("Period not valid: `{0}`", "period", ("period",)),
    "E7612": (
        "Organisation unit not found or not accessible: `{0}`",
        "orgUnit",
        ("organisationUnit",),
    ),
    "E7613": (
        "Category option combo not found or not accessible for writing data: `{0}`",
        "categoryOptionCombo",
        ("categoryOptionCombo",),
    ),
    "E7615": (
        "Attribute option combo not found or not accessible for writing data: `{0}`",
        "attributeOptionCombo",
        ("categoryOptionCombo",),
    ),
    "E7617": (
        "Organisation unit: `{0}` not in hierarchy of current user: `{1}`",
        "orgUnit",
        ("organisationUnit", "user"),
    ),
    "E7618": (
        "Data value or comment not specified for data element: `{0}`",
        "value",
        ("dataElement",),
    ),
    "E7619": (
        "Value must match data element's `{0}` type constraints: {1}",
        "value",
        ("dataElement", "value"),
    ),
    "E7620": ("Invalid comment: {0}", "comment", ("value",)),
    "E7630": ("Category option combo is required but is not specified", "categoryOptionCombo", ()),
    "E7631": (
        "Attribute option combo is required but is not specified",
        "attributeOptionCombo",
        (),
    ),
    "E7632": (
        "Period type of period: `{0}` not valid for data element: `{1}`",
        None,
        ("period", "dataElement"),
    ),
    "E7633": (
        "Data element: `{0}` is not part of dataset: `{1}`",
        "dataElement",
        ("dataElement", "dataSet"),
    ),
    "E7634": (
        "Category option combo: `{0}` must be part of category combo of data element: `{1}`",
        "categoryOptionCombo",
        ("categoryOptionCombo", "dataElement"),
    ),
    "E7636": (
        "Data element: `{1}` must be assigned through data sets to organisation unit: `{0}`",
        "orgUnit",
        ("organisationUnit", "dataElement"),
    ),
    "E7637": ("Invalid storedBy: {0}", "storedBy", ("value",)),
    "E7640": (
        "Current date is past expiry days for period: `{0}`  and data set: `{1}`",
        "period",
        ("period", "dataSet"),
    ),
    "E7641": (
        "Period: `{0}` is after latest open future period: `{2}` for data element: `{1}`",
        "period",
        ("period", "dataElement", None),
    ),
    "E7643": (
        "Period: `{0}` is not open for this data set at this time: `{1}`",
        "period",
        ("period", "dataSet"),
    ),
}


@dataclass
class Conflict:
    code: str
    args: tuple[str, ...]
    legacy_object: str
    legacy_value: str
    display_args: tuple[str, ...] | None = None


class ConflictCollector:
    """Collects conflicts in input order and renders them for a version."""

    def __init__(self, grouped: bool) -> None:
        self.grouped = grouped
        self._groups: dict[tuple[Any, ...], dict[str, Any]] = {}
        self.rejected: list[int] = []

    def add(self, index: int | None, conflict: Conflict) -> None:
        if index is not None:
            self.rejected.append(index)
        if not self.grouped:
            key: tuple[Any, ...] = (conflict.legacy_object, conflict.legacy_value)
            self._groups.setdefault(
                key, {"object": conflict.legacy_object, "value": conflict.legacy_value}
            )
            return
        template, prop, arg_keys = CODES[conflict.code]
        shown = conflict.display_args or conflict.args
        message = template.format(*shown) if shown else template
        key = (conflict.code, conflict.args, message)
        group = self._groups.get(key)
        if group is None:
            objects = {k: a for k, a in zip(arg_keys, conflict.args, strict=False) if k}
            group = {
                "object": conflict.args[0] if conflict.args else None,
                "objects": objects,
                "value": message,
                "errorCode": conflict.code,
            }
            if group["object"] is None:
                del group["object"]
            if prop is not None:
                group["property"] = prop
            group["indexes"] = []
            self._groups[key] = group
        if index is not None:
            group["indexes"].append(index)

    def __bool__(self) -> bool:
        return bool(self._groups)

    def render(self) -> list[dict[str, Any]]:
        return list(self._groups.values())
