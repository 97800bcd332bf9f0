"""Every import/summary/report/job sample in tests/fixtures/dhis2 is exercised by a test here."""

from __future__ import annotations

import re
from pathlib import Path

from tests.samples import FIXTURES

RELEVANT = re.compile(
    r"import|Summar|report|jobs|job-|async|tasks-|webmessage|post-409|system-info"
)
HERE = Path(__file__).parent


def test_every_relevant_sample_is_used_by_a_test() -> None:
    relevant = sorted(p.name for p in FIXTURES.glob("*.json") if RELEVANT.search(p.name))
    assert len(relevant) >= 30  # the pattern still matches the sample set
    sources = "\n".join(
        p.read_text(encoding="utf-8")
        for p in HERE.glob("test_*.py")
        if p.name not in {Path(__file__).name, "test_periods.py"}
    )
    unused = [name for name in relevant if name not in sources]
    assert unused == []
