"""Value type validation of data values (``ValidationUtils.dataValueIsValid``).

Returns the i18n key DHIS2 returns (``value_not_numeric``...) and its English text. The texts
of ``value_not_numeric`` and ``value_not_positive_integer`` are confirmed by recorded responses
(android-sdk fixtures); the others follow DHIS2's ``i18n_global.properties`` wording as closely
as we could establish.
"""

from __future__ import annotations

import re
from datetime import date

_INT = re.compile(r"^(0|-?[1-9]\d*)$")
_NUM = re.compile(r"^(-?0|-?[1-9]\d*)(\.\d+)?([eE]-?\d+)?$")
_ZERO = re.compile(r"^-?0(\.0*)?$")
MAX_TEXT = 50000

I18N = {
    "value_not_numeric": "Data value is not numeric",
    "value_not_unit_interval": "Data value is not a unit interval",
    "value_not_percentage": "Data value is not a percentage",
    "value_not_integer": "Data value is not an integer",
    "value_not_positive_integer": "Data value is not a positive integer",
    "value_not_negative_integer": "Data value is not a negative integer",
    "value_not_zero_or_positive_integer": "Data value is not zero or positive integer",
    "value_not_bool": "Data value is not a boolean",
    "value_not_true_only": "Data value is not true (true only)",
    "value_not_valid_date": "Data value is not a valid date",
    "value_length_greater_than_max_length": "Data value length is greater than maximum length",
    "comment_length_greater_than_max_length": "Comment length is greater than maximum length",
    "stored_by_length_greater_than_max_length": "Stored by length is greater than maximum length",
}

NUMERIC_TYPES = {
    "NUMBER",
    "UNIT_INTERVAL",
    "PERCENTAGE",
    "INTEGER",
    "INTEGER_POSITIVE",
    "INTEGER_NEGATIVE",
    "INTEGER_ZERO_OR_POSITIVE",
}
_TRUE = {"true", "1", "t", "yes"}
_FALSE = {"false", "0", "f", "no"}


def normalise_boolean(value: str, value_type: str) -> str:
    """``ValidationUtils.normalizeBoolean``: boolean spellings become ``true``/``false``."""
    if value_type in ("BOOLEAN", "TRUE_ONLY"):
        low = value.strip().lower()
        if low in _TRUE:
            return "true"
        if low in _FALSE:
            return "false"
    return value


def check(value: str, value_type: str) -> str | None:
    """``None`` if valid, else the i18n key of the violation."""
    if value_type in ("TEXT", "LONG_TEXT", "LETTER", "PHONE_NUMBER", "EMAIL", "USERNAME", "URL"):
        return "value_length_greater_than_max_length" if len(value) > MAX_TEXT else None
    if value_type == "NUMBER":
        return None if _NUM.match(value) else "value_not_numeric"
    if value_type in (
        "INTEGER",
        "INTEGER_POSITIVE",
        "INTEGER_NEGATIVE",
        "INTEGER_ZERO_OR_POSITIVE",
    ):
        if not _INT.match(value):
            return {
                "INTEGER": "value_not_integer",
                "INTEGER_POSITIVE": "value_not_positive_integer",
                "INTEGER_NEGATIVE": "value_not_negative_integer",
                "INTEGER_ZERO_OR_POSITIVE": "value_not_zero_or_positive_integer",
            }[value_type]
        n = int(value)
        if value_type == "INTEGER_POSITIVE" and n <= 0:
            return "value_not_positive_integer"
        if value_type == "INTEGER_NEGATIVE" and n >= 0:
            return "value_not_negative_integer"
        if value_type == "INTEGER_ZERO_OR_POSITIVE" and n < 0:
            return "value_not_zero_or_positive_integer"
        return None
    if value_type == "PERCENTAGE":
        if not _NUM.match(value) or not 0 <= float(value) <= 100:
            return "value_not_percentage"
        return None
    if value_type == "UNIT_INTERVAL":
        if not _NUM.match(value) or not 0 <= float(value) <= 1:
            return "value_not_unit_interval"
        return None
    if value_type == "BOOLEAN":
        return None if value in ("true", "false") else "value_not_bool"
    if value_type == "TRUE_ONLY":
        return None if value == "true" else "value_not_true_only"
    if value_type == "DATE":
        try:
            date.fromisoformat(value)
        except ValueError:
            return "value_not_valid_date"
        return None
    return None


def is_zero_and_insignificant(value: str, value_type: str, zero_is_significant: bool) -> bool:
    """``ValidationUtils.dataValueIsZeroAndInsignificant``."""
    return (not zero_is_significant) and value_type in NUMERIC_TYPES and bool(_ZERO.match(value))
