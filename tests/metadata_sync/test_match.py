"""Matching in every status, its differences, and the defaults of both sides."""

from __future__ import annotations

from typing import Any

from metadata_sync.match import Status, detect_defaults, match_type, normalize_name, slim
from metadata_sync.schema import DEFAULT_UIDS


def de(uid: str, name: str, code: str = "", **kw: Any) -> dict[str, Any]:
    base = {"id": uid, "name": name, "code": code, "valueType": "NUMBER",
            "aggregationType": "SUM", "domainType": "AGGREGATE",
            "categoryCombo": {"id": "bjDvmb4bfuf"}}  # fmt: skip
    base.update(kw)
    return slim("dataElements", base)


def run(type_: str, src: list, dst: list, **kw: Any) -> dict[str, Any]:
    kw.setdefault("resolution", {})
    kw.setdefault("assessed", [type_])
    items, _stats = match_type(type_, src, dst, **kw)
    return {i.source_id: i for i in items}


def test_normalize_name_ignores_case_and_whitespace() -> None:
    assert normalize_name("  ANC\t1st   Visit ") == normalize_name("anc 1st visit")


def test_every_status_for_data_elements() -> None:
    src = [
        de("aaaaaaaaaa1", "Same uid", "C1"),
        de("aaaaaaaaaa2", "By code source name", "C2"),
        de("aaaaaaaaaa3", "Malaria  Cases", "SRC3"),
        de("aaaaaaaaaa4", "Children vaccinated with BCG"),
        de("aaaaaaaaaa5", "Something else entirely"),
        de("aaaaaaaaaa6", "Conflicting", "C6", valueType="TEXT", aggregationType="NONE"),
    ]
    dst = [
        de("aaaaaaaaaa1", "Same uid renamed", "C1"),
        de("bbbbbbbbbb2", "By code other name", "C2"),
        de("bbbbbbbbbb3", "malaria cases", "DST3"),
        de("bbbbbbbbbb4", "Children vaccinated with BCG vaccine"),
        de("bbbbbbbbbb9", "Unrelated stock level"),
        de("aaaaaaaaaa6", "Conflicting", "C6"),
    ]
    got = run("dataElements", src, dst)
    assert got["aaaaaaaaaa1"].status == Status.MATCHED
    assert got["aaaaaaaaaa2"].status == Status.MATCHED_BY_CODE
    assert got["aaaaaaaaaa2"].destination_id == "bbbbbbbbbb2"
    assert got["aaaaaaaaaa3"].status == Status.MATCHED_BY_NAME
    assert got["aaaaaaaaaa3"].destination_code == "DST3"
    suggestion = got["aaaaaaaaaa4"]
    assert suggestion.status == Status.SUGGESTED
    assert suggestion.destination_id == "bbbbbbbbbb4"
    assert 85 <= suggestion.score < 100
    assert got["aaaaaaaaaa5"].status == Status.MISSING
    assert got["aaaaaaaaaa5"].destination_id == ""
    conflict = got["aaaaaaaaaa6"]
    assert conflict.status == Status.CONFLICT
    assert conflict.differences == {
        "valueType": {"source": "TEXT", "destination": "NUMBER"},
        "aggregationType": {"source": "NONE", "destination": "SUM"},
    }


def test_a_destination_object_is_claimed_once_strongest_match_first() -> None:
    # dst X has the UID of source A and the code of source B: A takes it by UID, B is missing.
    src = [de("aaaaaaaaaa1", "Alpha", "A"), de("aaaaaaaaaa2", "Beta", "B")]
    dst = [de("aaaaaaaaaa1", "Alpha", "B")]
    got = run("dataElements", src, dst, fuzzy_threshold=101)
    assert got["aaaaaaaaaa1"].status == Status.MATCHED
    assert got["aaaaaaaaaa2"].status == Status.MISSING


def test_category_combo_difference_goes_through_the_combo_matches() -> None:
    src = [de("aaaaaaaaaa1", "Cases", categoryCombo={"id": "srcCombo001"}),
           de("aaaaaaaaaa2", "Deaths", categoryCombo={"id": "srcCombo001"})]  # fmt: skip
    dst = [de("aaaaaaaaaa1", "Cases", categoryCombo={"id": "dstCombo001"}),
           de("aaaaaaaaaa2", "Deaths", categoryCombo={"id": "dstCombo002"})]  # fmt: skip
    resolution = {"categoryCombos": {"srcCombo001": "dstCombo001"}}
    got = run("dataElements", src, dst, resolution=resolution,
              assessed=["categoryCombos", "dataElements"])  # fmt: skip
    assert got["aaaaaaaaaa1"].status == Status.MATCHED
    assert got["aaaaaaaaaa2"].status == Status.CONFLICT
    assert got["aaaaaaaaaa2"].differences == {
        "categoryCombo": {"source": "srcCombo001", "destination": "dstCombo002"}
    }


def ou(uid: str, name: str, parent: str | None, level: int, code: str = "") -> dict[str, Any]:
    obj = {"id": uid, "name": name, "code": code, "level": level}
    if parent:
        obj["parent"] = {"id": parent}
    return slim("organisationUnits", obj)


def test_org_units_match_names_under_the_matched_parent_and_compare_parent_and_level() -> None:
    src = [
        ou("rootSrc0001", "Country", None, 1),
        ou("distSrc0001", "District A", "rootSrc0001", 2),
        ou("distSrc0002", "District B", "rootSrc0001", 2),
        ou("postSrc0001", "Health Post", "distSrc0001", 3),
        ou("postSrc0002", "Health Post", "distSrc0002", 3),
        ou("moveSrc0001", "Moved Clinic", "distSrc0001", 3),
    ]
    dst = [
        ou("rootDst0001", "country", None, 1),
        ou("distDst0001", "District A", "rootDst0001", 2),
        ou("distDst0002", "District B", "rootDst0001", 2),
        ou("postDst0002", "Health Post", "distDst0002", 3),
        ou("postDst0001", "Health Post", "distDst0001", 3),
        ou("moveSrc0001", "Moved Clinic", "distDst0002", 3),
    ]
    got = run("organisationUnits", src, dst)
    assert got["rootSrc0001"].destination_id == "rootDst0001"
    assert got["postSrc0001"].status == Status.MATCHED_BY_NAME
    assert got["postSrc0001"].destination_id == "postDst0001"
    assert got["postSrc0002"].destination_id == "postDst0002"
    moved = got["moveSrc0001"]
    assert moved.status == Status.CONFLICT
    assert moved.differences == {"parent": {"source": "distSrc0001", "destination": "distDst0002"}}


def test_an_ambiguous_name_is_only_a_suggestion() -> None:
    src = [de("aaaaaaaaaa1", "Visits")]
    dst = [slim("dataElements", {"id": "bbbbbbbbbb2", "name": "visits"}),
           slim("dataElements", {"id": "bbbbbbbbbb1", "name": "VISITS "})]  # fmt: skip
    got = run("dataElements", src, dst)
    assert got["aaaaaaaaaa1"].status == Status.SUGGESTED
    assert got["aaaaaaaaaa1"].destination_id == "bbbbbbbbbb1"
    assert got["aaaaaaaaaa1"].score == 100.0


def coc(uid: str, name: str, combo: str, options: list[str], attribute: bool = False) -> dict:
    return slim("categoryOptionCombos", {
        "id": uid, "name": name,
        "categoryCombo": {"id": combo, "dataDimensionType": "ATTRIBUTE" if attribute else "DISAGGREGATION"},
        "categoryOptions": [{"id": o} for o in options],
    })  # fmt: skip


def test_option_combos_match_by_their_set_of_options_in_the_matched_combo() -> None:
    src = [coc("cocSrc00001", "Female, <5", "ccSrc000001", ["coF", "coU5"], attribute=True)]
    # same options in another order and another name: DHIS2 generated it differently
    dst = [coc("cocDst00009", "Other, name", "ccDst000001", ["coU5x", "coFx"]),
           coc("cocDst00001", "<5, Female", "ccDst000001", ["coFx", "coU5x"])]  # fmt: skip
    dst[0]["categoryOptions"] = ["coOther"]
    resolution = {"categoryCombos": {"ccSrc000001": "ccDst000001"},
                  "categoryOptions": {"coF": "coFx", "coU5": "coU5x"}}  # fmt: skip
    got = run("categoryOptionCombos", src, dst, resolution=resolution,
              assessed=["categoryOptions", "categoryCombos", "categoryOptionCombos"])  # fmt: skip
    item = got["cocSrc00001"]
    assert item.status == Status.MATCHED_BY_NAME
    assert item.destination_id == "cocDst00001"
    assert item.attribute is True
    assert item.differences == {}


def test_data_set_membership_and_assignment_differences() -> None:
    def ds(uid: str, elements: list[str], units: list[str]) -> dict[str, Any]:
        return slim("dataSets", {
            "id": uid, "name": "RCH", "periodType": "Monthly", "categoryCombo": {"id": "bjDvmb4bfuf"},
            "dataSetElements": [{"dataElement": {"id": e}} for e in elements],
            "organisationUnits": [{"id": u} for u in units],
        })  # fmt: skip

    src = [ds("dsRch000001", ["deA", "deB", "deGone"], ["ou1", "ou2"])]
    dst = [ds("dsRch000001", ["deAx", "deB", "deExtra"], ["ou1", "ou3"])]
    resolution = {"dataElements": {"deA": "deAx", "deB": "deB"},
                  "organisationUnits": {"ou1": "ou1", "ou2": "ou2"}}  # fmt: skip
    got = run("dataSets", src, dst, resolution=resolution,
              assessed=["organisationUnits", "dataElements", "dataSets"])  # fmt: skip
    assert got["dsRch000001"].status == Status.CONFLICT
    assert got["dsRch000001"].differences == {
        "dataSetElements": {"only_source": ["deGone"], "only_destination": ["deExtra"]},
        "organisationUnits": {"only_source": ["ou2"], "only_destination": ["ou3"]},
    }


NONSTANDARD = {"categoryOptions": "oldDefOpt01", "categories": "oldDefCat01",
               "categoryCombos": "p0KPaWEg3cf", "categoryOptionCombos": "bRowv6yZOF2"}  # fmt: skip


def test_defaults_with_other_uids_are_matched_never_missing() -> None:
    source = {t: [{"id": uid, "name": "default"}, {"id": "x" + uid[1:], "name": "Sex"}]
              for t, uid in DEFAULT_UIDS.items()}  # fmt: skip
    destination = {t: [{"id": uid, "name": "default"}] for t, uid in NONSTANDARD.items()}
    src_defaults, dst_defaults = detect_defaults(source), detect_defaults(destination)
    assert src_defaults == DEFAULT_UIDS
    assert dst_defaults == NONSTANDARD

    # the default combo and option combo, and a data element using the default combo
    combos, _ = match_type(
        "categoryOptionCombos",
        [coc(DEFAULT_UIDS["categoryOptionCombos"], "default", DEFAULT_UIDS["categoryCombos"],
             [DEFAULT_UIDS["categoryOptions"]])],
        [coc(NONSTANDARD["categoryOptionCombos"], "default", NONSTANDARD["categoryCombos"],
             [NONSTANDARD["categoryOptions"]])],
        resolution={}, assessed=["categoryOptionCombos"], defaults=(src_defaults, dst_defaults),
    )  # fmt: skip
    assert [(c.status, c.destination_id, c.differences) for c in combos] == [
        (Status.MATCHED, "bRowv6yZOF2", {})
    ]
    elements, _ = match_type(
        "dataElements",
        [de("aaaaaaaaaa1", "Cases", categoryCombo={"id": DEFAULT_UIDS["categoryCombos"]})],
        [de("aaaaaaaaaa1", "Cases", categoryCombo={"id": NONSTANDARD["categoryCombos"]})],
        resolution={}, assessed=["dataElements"], defaults=(src_defaults, dst_defaults),
    )  # fmt: skip
    assert elements[0].status == Status.MATCHED


def test_detect_defaults_prefers_the_fixed_uid_then_the_name() -> None:
    objs = {"categoryCombos": [{"id": "p0KPaWEg3cf", "name": "default"},
                               {"id": "bjDvmb4bfuf", "name": "default"}]}  # fmt: skip
    assert detect_defaults(objs) == {"categoryCombos": "bjDvmb4bfuf"}
    assert detect_defaults({"categoryCombos": [{"id": "abcdefghijk", "name": "Sex"}]}) == {}


def test_fuzzy_work_is_capped() -> None:
    src = [de(f"src{i:08d}", f"Element number {i}") for i in range(30)]
    dst = [de(f"dst{i:08d}", f"Elemnt number {i}") for i in range(30)]
    items, stats = match_type("dataElements", src, dst, resolution={},
                              assessed=["dataElements"], fuzzy_budget=300)  # fmt: skip
    assert stats.fuzzy_comparisons <= 300
    assert stats.fuzzy_skipped == 30 - 300 // 30
    assert sum(i.status == Status.SUGGESTED for i in items) == 300 // 30


def test_org_unit_fuzzy_candidates_are_siblings_only() -> None:
    src = [
        ou("rootSrc0001", "Country", None, 1),
        ou("aaSrc000001", "Kolo Health Post", "rootSrc0001", 2),
    ]
    dst = [ou("rootSrc0001", "Country", None, 1),
           ou("otherRoot01", "Elsewhere", None, 1),
           ou("bbDst000001", "Kolo Health Posts", "otherRoot01", 2)]  # fmt: skip
    got = run("organisationUnits", src, dst)
    assert got["aaSrc000001"].status == Status.MISSING
