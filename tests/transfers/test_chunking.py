"""Chunk building and checkpoint keys."""

from __future__ import annotations

import hashlib
import json
import random

import pytest

from transfers.chunking import Chunker, chunk_key, halves
from transfers.mapping import DataValue


def values(n: int, start: int = 0) -> list[DataValue]:
    return [
        DataValue(f"de{i % 7}", "202401", f"ou{i}", "coc", "aoc", str(i)) for i in range(start, n)
    ]


def build(vals: list[DataValue], size: int, strategy: str = "CREATE_AND_UPDATE") -> list:
    chunker = Chunker(size, data_set="dsA", id_scheme="UID")
    out = [c for v in vals if (c := chunker.add(v, strategy)) is not None]
    return out + list(chunker.flush())


def test_chunks_fill_to_size_and_flush_the_rest() -> None:
    chunks = build(values(25), 10)
    assert [len(c) for c in chunks] == [10, 10, 5]
    assert [c.index for c in chunks] == [1, 2, 3]
    assert [v for c in chunks for v in c.values] == values(25)


def test_keys_are_deterministic_across_runs() -> None:
    first = [c.key for c in build(values(25), 10)]
    second = [c.key for c in build(values(25), 10)]
    assert first == second
    assert len(set(first)) == 3


def test_key_is_the_hash_of_the_body_as_posted() -> None:
    """The recipe (dvs2): SHA-256 of version, strategy and id scheme, then the request body,
    here rebuilt with the stdlib's compact JSON rather than the code's own encoder."""
    vals = [*values(3), DataValue("de9", "202401", "ouX", None, None, "7", "a note", True)]
    chunks = build(vals, 10)
    rows = [
        {"dataElement": v.data_element, "period": v.period, "orgUnit": v.org_unit,
         "categoryOptionCombo": "coc", "attributeOptionCombo": "aoc", "value": v.value}
        for v in vals[:3]
    ]  # fmt: skip
    rows.append({"dataElement": "de9", "period": "202401", "orgUnit": "ouX", "value": "7",
                 "comment": "a note", "followup": True})  # fmt: skip
    body = json.dumps({"dataSet": "dsA", "dataValues": rows}, separators=(",", ":")).encode()
    digest = hashlib.sha256(b"dvs2\x1eCREATE_AND_UPDATE\x1eUID\x1d" + body).hexdigest()[:32]
    assert chunks[0].body == body
    assert chunks[0].key == digest
    kw = {"strategy": "CREATE_AND_UPDATE", "data_set": "dsA", "id_scheme": "UID"}
    assert chunk_key(vals, **kw) == digest


def test_key_follows_the_fixed_order_of_values_inside_a_chunk() -> None:
    """The engine feeds values in a fixed order (plan order, each page sorted), so the same
    values in another order are another body, and another key."""
    vals = values(10)
    shuffled = vals[:]
    random.Random(3).shuffle(shuffled)
    kw = {"strategy": "CREATE_AND_UPDATE", "data_set": "dsA", "id_scheme": "UID"}
    assert chunk_key(vals, **kw) == chunk_key(list(vals), **kw)
    assert chunk_key(vals, **kw) != chunk_key(shuffled, **kw)


@pytest.mark.parametrize(
    "change",
    [
        lambda v: v._replace(value="999"),
        lambda v: v._replace(comment="new comment"),
        lambda v: v._replace(followup=True),
        lambda v: v._replace(attribute_option_combo="other"),
    ],
)
def test_a_changed_value_changes_only_its_chunk_key(change) -> None:
    base = values(25)
    changed = base[:]
    changed[13] = change(changed[13])
    before = [c.key for c in build(base, 10)]
    after = [c.key for c in build(changed, 10)]
    assert before[0] == after[0] and before[2] == after[2]
    assert before[1] != after[1]


def test_key_depends_on_strategy_data_set_and_scheme() -> None:
    vals = values(5)
    base = {"strategy": "CREATE_AND_UPDATE", "data_set": "dsA", "id_scheme": "UID"}
    keys = {
        chunk_key(vals, **base),
        chunk_key(vals, **{**base, "strategy": "DELETE"}),
        chunk_key(vals, **{**base, "data_set": "dsB"}),
        chunk_key(vals, **{**base, "id_scheme": "CODE"}),
    }
    assert len(keys) == 4
    assert all(len(k) == 32 and int(k, 16) >= 0 for k in keys)


def test_strategies_get_separate_chunks_deletions_last() -> None:
    chunker = Chunker(3, data_set="dsA", id_scheme="UID")
    emitted = []
    for i, v in enumerate(values(8)):
        chunk = chunker.add(v, "DELETE" if i % 2 else "CREATE_AND_UPDATE")
        if chunk:
            emitted.append(chunk)
    emitted += list(chunker.flush())
    assert [(c.strategy, len(c)) for c in emitted] == [
        ("CREATE_AND_UPDATE", 3),
        ("DELETE", 3),
        ("CREATE_AND_UPDATE", 1),
        ("DELETE", 1),
    ]


def test_halves_split_down_to_single_values() -> None:
    left, right = halves(values(5))
    assert (len(left), len(right)) == (3, 2)
    assert left + right == values(5)
    assert halves(values(1)) == (values(1), [])


def test_chunk_size_must_be_positive() -> None:
    with pytest.raises(ValueError):
        Chunker(0, data_set=None, id_scheme="UID")
