"""The real DHIS2 bodies in tests/fixtures/dhis2 (each file name says its origin), for every
test that answers or checks like DHIS2."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "dhis2"


def load_sample(name: str) -> Any:
    """Parsed JSON of a sample body in tests/fixtures/dhis2."""
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))
