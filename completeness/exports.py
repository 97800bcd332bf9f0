"""Exports of an assessment: CSV (streamed), JSON and XLSX, each with its parameters.

* CSV: a header block of `# key: value` lines (the parameters and summary), then the rows
  (`part=rows`, one line per form, missing elements by name) or the missing elements
  (`part=missing`, one line per form and missing element). Streamed row by row from an
  iterator over the database, so a 60,000-form assessment never sits in memory.
* JSON: `{"parameters", "summary", "elements", "rows"}`, each row with the contract's fields.
* XLSX (openpyxl, write-only mode): sheets "Parameters", "Rows" and "Missing elements".

Cells that a spreadsheet would run as a formula (text from DHIS2 such as a name starting with
"=") are neutralised with a leading apostrophe.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from typing import Any

from django.db.models import QuerySet

from jobs.faces import spreadsheet_cell

from .models import ROW_API_FIELDS, CompletenessAssessment, CompletenessRow

ROW_COLUMNS = [
    "org_unit", "org_unit_name", "level", "period", "compliance", "compliant", "no_data",
    "registered", "present_count", "missing_count", "missing_names", "missing",
]  # fmt: skip
MISSING_COLUMNS = [
    "org_unit", "org_unit_name", "level", "period", "data_element", "data_element_name",
]  # fmt: skip


def safe(value: Any) -> Any:
    """Neutralise text a spreadsheet would run as a formula (`spreadsheet_cell`, as the CSV
    downloads do); numbers and booleans pass as they are, so XLSX cells keep their types."""
    return spreadsheet_cell(value) if isinstance(value, str) else value


def parameters(assessment: CompletenessAssessment) -> list[tuple[str, Any]]:
    """(name, value) pairs describing what was assessed and what was found."""
    p = assessment.params or {}
    names = assessment.element_names or {}
    required = p.get("required_data_elements") or []
    return [
        ("assessment", assessment.pk),
        ("instance", assessment.instance.name),
        ("data_set", assessment.data_set),
        ("data_set_name", assessment.data_set_name),
        ("period_type", assessment.period_type),
        ("periods", " ".join(assessment.periods or p.get("periods") or [])),
        ("relative_period", p.get("relative_period") or ""),
        ("relative_count", "" if p.get("relative_count") is None else p["relative_count"]),
        ("org_units", " ".join(p.get("org_units") or [])),
        ("include_descendants", bool(p.get("include_descendants", True))),
        ("level", "" if p.get("level") is None else p["level"]),
        (
            "required_data_elements",
            "; ".join(names.get(de, de) for de in required) if required else "all",
        ),
        ("threshold", p.get("threshold", 100.0)),
        ("disaggregation", p.get("disaggregation", "any")),
        ("run", assessment.run_id or ""),
        *assessment.summary.items(),
    ]


def _row_values(row: CompletenessRow, names: dict[str, str]) -> list[Any]:
    return [
        row.org_unit,
        safe(row.org_unit_name),
        row.level,
        row.period,
        row.compliance,
        row.compliant,
        row.no_data,
        row.registered,
        len(row.present),
        len(row.missing),
        safe("; ".join(names.get(de, de) for de in row.missing)),
        " ".join(row.missing),
    ]


def _missing_values(row: CompletenessRow, names: dict[str, str]) -> Iterator[list[Any]]:
    for de in row.missing:
        yield [row.org_unit, safe(row.org_unit_name), row.level, row.period, de,
               safe(names.get(de, de))]  # fmt: skip


class _Echo:
    """A file-like object whose write returns the line (csv.writer into a generator)."""

    def write(self, value: str) -> str:
        return value


def csv_lines(
    assessment: CompletenessAssessment, rows: QuerySet[CompletenessRow], *, part: str = "rows"
) -> Iterator[str]:
    """The CSV export, line by line (for `StreamingHttpResponse`)."""
    writer = csv.writer(_Echo())
    for key, value in parameters(assessment):
        yield writer.writerow([f"# {key}: {safe(str(value))}"])
    names = assessment.element_names or {}
    if part == "missing":
        yield writer.writerow(MISSING_COLUMNS)
        for row in rows.iterator(chunk_size=2000):
            for values in _missing_values(row, names):
                yield writer.writerow(values)
        return
    yield writer.writerow(ROW_COLUMNS)
    for row in rows.iterator(chunk_size=2000):
        yield writer.writerow(_row_values(row, names))


def row_json(row: CompletenessRow) -> dict[str, Any]:
    """A row as the API shows it."""
    return {name: getattr(row, name) for name in ROW_API_FIELDS}


def json_document(
    assessment: CompletenessAssessment, rows: Iterable[CompletenessRow]
) -> dict[str, Any]:
    summary = assessment.summary
    return {
        "parameters": {k: v for k, v in parameters(assessment) if k not in summary},
        "summary": summary,
        "elements": dict(assessment.element_names or {}),
        "rows": [row_json(r) for r in rows],
    }


def xlsx_bytes(assessment: CompletenessAssessment, rows: QuerySet[CompletenessRow]) -> bytes:
    """The workbook: parameters, rows, missing elements (write-only: constant memory)."""
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("Parameters")
    sheet.append(["parameter", "value"])
    for key, value in parameters(assessment):
        sheet.append([key, safe(value) if value is not None else ""])
    names = assessment.element_names or {}
    row_sheet = book.create_sheet("Rows")
    row_sheet.append(ROW_COLUMNS)
    missing_sheet = book.create_sheet("Missing elements")
    missing_sheet.append(MISSING_COLUMNS)
    for row in rows.iterator(chunk_size=2000):
        row_sheet.append(_row_values(row, names))
        for values in _missing_values(row, names):
            missing_sheet.append(values)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def filename(assessment: CompletenessAssessment, ext: str, part: str = "rows") -> str:
    suffix = "-missing" if part == "missing" else ""
    return f"completeness-{assessment.pk}{suffix}.{ext}"
