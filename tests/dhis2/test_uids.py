"""UID validation and generation."""

from __future__ import annotations

import pytest

from dhis2.uids import UID_RE, generate_uid, is_valid_uid, validate_uid

from .conftest import load


@pytest.mark.parametrize(
    "uid", ["HllvX50cXC0", "bjDvmb4bfuf", "Rp268JB6Ne4", "xYerKDKCefk", "A0000000000"]
)
def test_valid(uid: str) -> None:
    assert is_valid_uid(uid)
    assert validate_uid(uid) == uid


@pytest.mark.parametrize(
    "uid",
    [
        "",
        "HllvX50cXC",
        "HllvX50cXC01",
        "0llvX50cXC0",
        "Hllv-50cXC0",
        "HllvX50cXC\u00e9",
        "HllvX50cXC0\n",
        None,
        12345678901,
    ],
)
def test_invalid(uid: object) -> None:
    assert not is_valid_uid(uid)
    with pytest.raises(ValueError):
        validate_uid(uid)


def test_validate_messages_say_what_is_wrong() -> None:
    with pytest.raises(ValueError, match=r"data set 'abc' .* 3 characters instead of 11"):
        validate_uid("abc", what="data set")
    with pytest.raises(ValueError, match="start with a letter"):
        validate_uid("1bcdefghijk")
    with pytest.raises(ValueError, match="only letters"):
        validate_uid("abcdefghij_")
    with pytest.raises(ValueError, match="must be text"):
        validate_uid(None, what="org unit")


def test_generate_uid_shape_and_randomness() -> None:
    uids = {generate_uid() for _ in range(2000)}
    assert len(uids) == 2000
    assert all(UID_RE.match(u) for u in uids)
    assert all(u[0].isalpha() for u in uids)
    # Every alphabet class appears somewhere (digits only after the first character).
    joined = "".join(uids)
    assert any(c.isdigit() for c in joined)
    assert any(c.islower() for c in joined) and any(c.isupper() for c in joined)


def test_every_org_unit_id_in_the_samples_is_a_valid_uid() -> None:
    for name in (
        "organisationUnits-list-page1-pager-2.40.truncated.json",
        "organisationUnits-list-page2-pager-2.40.truncated.json",
    ):
        for ou in load(name)["organisationUnits"]:
            assert is_valid_uid(ou["id"]), ou["id"]
