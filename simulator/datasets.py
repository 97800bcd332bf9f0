"""Deterministic generated DHIS2 databases for the simulator.

Datasets by name: ``demo-source``, ``demo-destination``, ``bench``, ``empty``. Metadata UIDs of
the demo pair are derived from object names (:func:`simulator.builder.stable_uid`), so they never
change; data values and events come from ``random.Random(seed)`` and are placed in the most
recent *finished* periods relative to ``today`` (``dataset_options["today"]``, default: the
real current UTC date), so the demo always has recent data.

Generated data never lies in the future of the server's own clock (:mod:`simulator.clock`),
as on a real DHIS2: every generated timestamp (``created``/``lastUpdated`` of values, completion
dates, event dates) falls on a day *before* ``today``. Capping at the previous day rather than at
the time of day keeps a build a function of ``(seed, today)`` alone (builds are cached), and it
stays true however late on ``today`` the simulator runs. Without the cap, values of the latest
weeks were "entered" up to 10 days after their period ended, i.e. after today, and matched
every incremental ``lastUpdated`` window.

Demo source (``demo-source``)
-----------------------------
* Org units (levels 1-4: National, Region, District, Facility): ``Demoland`` → 4 regions → 10
  districts → 40 facilities (``path``, ``parent``, ``level``, ``openingDate``, facility points).
* Categories: defaults (``xYerKDKCefk``/``GLevLNI9wkl``/``bjDvmb4bfuf``/``HllvX50cXC0``), Sex
  (Female, Male), Age (<5y, 5-14y, 15y+), attribute category Funding (Government, Partner).
  Combos: Sex, Age, Sex and Age (6 COCs), Funding (attribute, 2 COCs).
* 16 data elements: aggregate NUMBER / INTEGER / INTEGER_ZERO_OR_POSITIVE / PERCENTAGE / TEXT /
  BOOLEAN, several disaggregated; 5 tracker data elements for the event program.
* Data sets: ``RCH Monthly`` (Monthly, 12 elements, one ``categoryCombo`` override on a data set
  element), ``HIV Quarterly`` (Quarterly, attribute combo Funding), ``IDSR Weekly`` (Weekly).
* Data values: 6 finished months, 4 finished quarters, 8 finished weeks (~85 % filled), some
  with comments and follow-up flags, a few soft-deleted; complete registrations for most
  monthly reports.
* Event program ``Malaria case register`` (WITHOUT_REGISTRATION) with one stage and 5 stage
  data elements; 300 events over the last 6 months.

Demo destination (``demo-destination``): same metadata except

=============================================  =============================================
what differs                                   how
=============================================  =============================================
data element "ANC 4th visit"                   other UID and code (``DE_ANC4`` → ``ANC_4``)
data element "Malaria cases confirmed"         other UID and code (``DE_MAL_CONF`` → ``MAL_CONF``)
data element "OPD consultations"               other UID (same code)
COCs "Female, <5y" and "Male, 15y+"            other UIDs (names equal)
data element "Facility remarks" (TEXT)         missing entirely (not in RCH Monthly either)
facility "Kolo Health Post"                    missing entirely (not assigned to data sets)
data values, registrations, events             none
=============================================  =============================================

Programmatic access: :data:`DEMO_MAPPING` (kind → source UID → destination UID for the objects
with other UIDs), :data:`DEMO_MISSING` (kind → source UIDs absent in the destination) and
:data:`DEMO` (named UIDs of the demo objects).
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

from dhis2.periods import Period, relative_periods
from simulator.builder import (
    META_TS,
    add_defaults,
    generate_option_combos,
    ident,
    put_data_element,
    put_org_unit,
    random_uid,
    stable_uid,
)
from simulator.schema import DEFAULT_UIDS
from simulator.state import State, fmt_value_ts, now_utc

DATASET_NAMES = ("demo-source", "demo-destination", "bench", "empty")

# --- demo definitions (names are the stable keys of the UIDs) ---------------------------------

REGIONS = {
    "Northern Region": ["Kolo", "Marafa", "Tamba"],
    "Southern Region": ["Benti", "Sula"],
    "Eastern Region": ["Kanda", "Lumo", "Pendu"],
    "Western Region": ["Wara", "Yele"],
}
FACILITY_TYPES = ["Health Post", "Health Centre", "Clinic", "District Hospital"]
LEVEL_NAMES = ["National", "Region", "District", "Facility"]

# name, code, valueType, category combo name, zeroIsSignificant
AGG_ELEMENTS: list[tuple[str, str, str, str, bool]] = [
    ("ANC 1st visit", "DE_ANC1", "INTEGER_ZERO_OR_POSITIVE", "default", False),
    ("ANC 4th visit", "DE_ANC4", "INTEGER_ZERO_OR_POSITIVE", "default", False),
    ("Deliveries in facility", "DE_DELIV", "INTEGER_ZERO_OR_POSITIVE", "default", False),
    ("Malaria cases confirmed", "DE_MAL_CONF", "INTEGER_ZERO_OR_POSITIVE", "Sex and Age", False),
    ("Malaria tests performed", "DE_MAL_TEST", "INTEGER_ZERO_OR_POSITIVE", "Age", False),
    ("OPD consultations", "DE_OPD", "INTEGER_ZERO_OR_POSITIVE", "Sex", False),
    ("Measles doses given", "DE_MEASLES", "INTEGER_ZERO_OR_POSITIVE", "Age", False),
    ("BCG doses given", "DE_BCG", "INTEGER_ZERO_OR_POSITIVE", "default", False),
    ("Average stock on hand", "DE_STOCK", "NUMBER", "default", False),
    ("Bed occupancy rate", "DE_BED_OCC", "PERCENTAGE", "default", False),
    ("Facility has electricity", "DE_ELEC", "BOOLEAN", "default", False),
    ("Facility remarks", "DE_REMARKS", "TEXT", "default", False),
    ("Staff on duty", "DE_STAFF", "INTEGER", "default", True),
    ("HIV tests performed", "DE_HIV_TEST", "INTEGER_ZERO_OR_POSITIVE", "Sex", False),
    ("Weekly suspected cholera cases", "DE_W_CHOL", "INTEGER_ZERO_OR_POSITIVE", "default", True),
    ("Weekly suspected measles cases", "DE_W_MEAS", "INTEGER_ZERO_OR_POSITIVE", "default", True),
]
EVENT_ELEMENTS: list[tuple[str, str, str]] = [
    ("Patient age in years", "EV_AGE", "INTEGER_ZERO_OR_POSITIVE"),
    ("Patient sex", "EV_SEX", "TEXT"),
    ("Malaria test result", "EV_RESULT", "TEXT"),
    ("Treated with ACT", "EV_ACT", "BOOLEAN"),
    ("Patient weight (kg)", "EV_WEIGHT", "NUMBER"),
]
# data set name -> (code, periodType, attribute combo, element names, dse overrides)
DATA_SETS: dict[str, tuple[str, str, str, list[str], dict[str, str]]] = {
    "RCH Monthly": (
        "DS_RCH",
        "Monthly",
        "default",
        [e[0] for e in AGG_ELEMENTS[:13]],
        {"BCG doses given": "Sex"},
    ),
    "HIV Quarterly": (
        "DS_HIV",
        "Quarterly",
        "Funding",
        ["HIV tests performed", "Bed occupancy rate"],
        {},
    ),
    "IDSR Weekly": (
        "DS_IDSR",
        "Weekly",
        "default",
        ["Weekly suspected cholera cases", "Weekly suspected measles cases"],
        {},
    ),
}
CATEGORIES = {
    "Sex": ["Female", "Male"],
    "Age": ["<5y", "5-14y", "15y+"],
    "Funding": ["Government", "Partner"],
}
COMBOS = {"Sex": ["Sex"], "Age": ["Age"], "Sex and Age": ["Sex", "Age"], "Funding": ["Funding"]}

MISSING_FACILITY = "Kolo Health Post"
MISSING_ELEMENT = "Facility remarks"
DEST_RENAMED_ELEMENTS = {
    "ANC 4th visit": "ANC_4",
    "Malaria cases confirmed": "MAL_CONF",
    "OPD consultations": None,
}
DEST_RENAMED_COCS = ["Female, <5y", "Male, 15y+"]


def _uid(kind: str, name: str) -> str:
    return stable_uid(f"demo:{kind}:{name}")


def _dest_uid(kind: str, name: str) -> str:
    return stable_uid(f"demo-destination:{kind}:{name}")


def _facility_names() -> list[tuple[str, str, list[str]]]:
    rng = random.Random("demo-tree")
    out = []
    for region, districts in REGIONS.items():
        for district in districts:
            count = 4
            types = rng.sample(FACILITY_TYPES, k=count)
            out.append((region, district, [f"{district} {t}" for t in types]))
    return out


def _named_demo_uids() -> dict[str, dict[str, str]]:
    names: dict[str, dict[str, str]] = {
        "dataElements": {e[0]: _uid("de", e[0]) for e in AGG_ELEMENTS + EVENT_ELEMENTS},
        "dataSets": {n: _uid("ds", n) for n in DATA_SETS},
        "categoryCombos": {n: _uid("cc", n) for n in COMBOS},
        "organisationUnits": {"Demoland": _uid("ou", "Demoland")},
        "programs": {"Malaria case register": _uid("pr", "Malaria case register")},
        "programStages": {"Malaria case": _uid("ps", "Malaria case")},
    }
    names["categoryCombos"]["default"] = DEFAULT_UIDS["categoryCombos"]
    for region, district, facilities in _facility_names():
        names["organisationUnits"][region] = _uid("ou", region)
        names["organisationUnits"][district] = _uid("ou", district)
        for f in facilities:
            names["organisationUnits"][f] = _uid("ou", f)
    return names


DEMO: dict[str, dict[str, str]] = _named_demo_uids()
DEMO_MAPPING: dict[str, dict[str, str]] = {
    "dataElements": {_uid("de", n): _dest_uid("de", n) for n in DEST_RENAMED_ELEMENTS},
    "categoryOptionCombos": {_uid("coc", n): _dest_uid("coc", n) for n in DEST_RENAMED_COCS},
}
DEMO_MISSING: dict[str, list[str]] = {
    "dataElements": [_uid("de", MISSING_ELEMENT)],
    "organisationUnits": [_uid("ou", MISSING_FACILITY)],
}


def parse_today(options: dict[str, Any]) -> date:
    """``options["today"]`` as a date; else the current UTC date (the simulator's server runs
    in ``Etc/UTC``, so its date is the UTC one, not the host's local date)."""
    today = options.get("today")
    if today is None:
        return now_utc().date()
    if isinstance(today, datetime):
        return today.date()
    if isinstance(today, date):
        return today
    return date.fromisoformat(str(today))


# --- demo metadata --------------------------------------------------------------------------


def _build_demo_metadata(state: State, destination: bool) -> None:
    add_defaults(state)
    uid_of: Callable[[str, str], str] = _uid

    def de_uid(name: str) -> str:
        if destination and name in DEST_RENAMED_ELEMENTS:
            return _dest_uid("de", name)
        return uid_of("de", name)

    # org unit levels and tree
    for i, lname in enumerate(LEVEL_NAMES, start=1):
        state.put("organisationUnitLevels", ident(_uid("oul", lname), lname, None, level=i))
    geo = random.Random("demo-geo")
    root = put_org_unit(
        state, _uid("ou", "Demoland"), "Demoland", "OU_DEMOLAND", level=1, opened="1970-01-01"
    )
    facilities: list[str] = []
    counter = 0
    for region, district, names in _facility_names():
        reg_uid = _uid("ou", region)
        reg = state.get("organisationUnits", reg_uid) or put_org_unit(
            state,
            reg_uid,
            region,
            f"OU_{region.split()[0].upper()}",
            level=2,
            opened="1970-01-01",
            parent=root,
        )
        dis = put_org_unit(
            state,
            _uid("ou", district),
            district,
            f"OU_{district.upper()}",
            level=3,
            opened="1980-01-01",
            parent=reg,
        )
        for fname in names:
            counter += 1
            lon, lat = round(geo.uniform(-13.3, -10.3), 4), round(geo.uniform(6.9, 10.0), 4)
            if destination and fname == MISSING_FACILITY:
                continue
            facility = put_org_unit(
                state,
                _uid("ou", fname),
                fname,
                f"OU_{counter:04d}",
                level=4,
                opened="1994-01-01",
                parent=dis,
                geometry={"type": "Point", "coordinates": [lon, lat]},
            )
            facilities.append(facility["id"])

    # categories
    for cat, options in CATEGORIES.items():
        for opt in options:
            state.put("categoryOptions", ident(_uid("co", opt), opt, f"CO_{opt}", shortName=opt))
        state.put(
            "categories",
            ident(
                _uid("cat", cat),
                cat,
                f"CAT_{cat.upper()}",
                shortName=cat,
                dataDimensionType="ATTRIBUTE" if cat == "Funding" else "DISAGGREGATION",
                dataDimension=True,
                categoryOptions=[{"id": _uid("co", o)} for o in options],
            ),
        )
    for combo, cats in COMBOS.items():
        cc = ident(
            _uid("cc", combo),
            combo,
            f"CC_{combo.upper().replace(' ', '_')}",
            dataDimensionType="ATTRIBUTE" if combo == "Funding" else "DISAGGREGATION",
            skipTotal=False,
            categories=[{"id": _uid("cat", c)} for c in cats],
        )

        def coc_uid(names: str) -> str:
            if destination and names in DEST_RENAMED_COCS:
                return _dest_uid("coc", names)
            return _uid("coc", names)

        cocs = generate_option_combos(state, cc, coc_uid)
        state.put("categoryCombos", cc)
        for coc in cocs:
            state.put("categoryOptionCombos", coc)

    cc_uid = {**{c: _uid("cc", c) for c in COMBOS}, "default": DEFAULT_UIDS["categoryCombos"]}
    for name, code, vtype, combo, zero_sig in AGG_ELEMENTS:
        if destination and name == MISSING_ELEMENT:
            continue
        if destination and name in DEST_RENAMED_ELEMENTS:
            code = DEST_RENAMED_ELEMENTS[name] or code
        put_data_element(
            state,
            de_uid(name),
            name,
            code,
            form_name=name,
            value_type=vtype,
            domain_type="AGGREGATE",
            zero_is_significant=zero_sig,
            combo=cc_uid[combo],
        )
    for name, code, vtype in EVENT_ELEMENTS:
        put_data_element(
            state,
            de_uid(name),
            name,
            code,
            value_type=vtype,
            domain_type="TRACKER",
            combo=DEFAULT_UIDS["categoryCombos"],
        )

    for ds_name, (code, ptype, attr_combo, members, overrides) in DATA_SETS.items():
        ds_uid = _uid("ds", ds_name)
        dses = []
        for m in members:
            if destination and m == MISSING_ELEMENT:
                continue
            dse: dict[str, Any] = {"dataSet": {"id": ds_uid}, "dataElement": {"id": de_uid(m)}}
            if m in overrides:
                dse["categoryCombo"] = {"id": cc_uid[overrides[m]]}
            dses.append(dse)
        if ds_name == "HIV Quarterly":
            assigned = [
                f
                for f in facilities
                if "Hospital" in state.objects["organisationUnits"][f]["name"]
                or "Centre" in state.objects["organisationUnits"][f]["name"]
            ]
        else:
            assigned = list(facilities)
        state.put(
            "dataSets",
            ident(
                ds_uid,
                ds_name,
                code,
                shortName=ds_name,
                periodType=ptype,
                openFuturePeriods=0,
                expiryDays=0,
                timelyDays=15,
                version=1,
                categoryCombo={"id": cc_uid[attr_combo]},
                dataSetElements=dses,
                organisationUnits=[{"id": f} for f in sorted(assigned)],
            ),
        )

    pr_uid, ps_uid = _uid("pr", "Malaria case register"), _uid("ps", "Malaria case")
    state.put(
        "programs",
        ident(
            pr_uid,
            "Malaria case register",
            "PR_MALARIA",
            shortName="Malaria cases",
            programType="WITHOUT_REGISTRATION",
            version=1,
            categoryCombo={"id": DEFAULT_UIDS["categoryCombos"]},
            organisationUnits=[{"id": f} for f in sorted(facilities)],
            programStages=[{"id": ps_uid}],
        ),
    )
    state.put(
        "programStages",
        ident(
            ps_uid,
            "Malaria case",
            "PS_MALARIA",
            program={"id": pr_uid},
            repeatable=False,
            sortOrder=1,
            programStageDataElements=[
                {
                    "id": _uid("psde", n),
                    "compulsory": False,
                    "dataElement": {"id": de_uid(n)},
                    "programStage": {"id": ps_uid},
                }
                for n, _c, _t in EVENT_ELEMENTS
            ],
        ),
    )


# --- demo data ------------------------------------------------------------------------------

REMARKS = [
    "Generator repaired",
    "Staff training week",
    "Road flooded",
    "Supervision visit",
    "Stock delivered late",
]


def _value_for(rng: random.Random, value_type: str, zero_sig: bool) -> str:
    if value_type == "INTEGER_ZERO_OR_POSITIVE":
        low = 0 if zero_sig else 1
        return str(rng.randint(low, 80))
    if value_type == "INTEGER":
        return str(rng.randint(0, 12))
    if value_type == "NUMBER":
        return str(round(rng.uniform(0, 500), 1))
    if value_type == "PERCENTAGE":
        return str(rng.randint(35, 100))
    if value_type == "BOOLEAN":
        return rng.choice(["true", "false"])
    return rng.choice(REMARKS)


def _ts(day: date, rng: random.Random) -> str:
    dt = datetime(
        day.year,
        day.month,
        day.day,
        rng.randint(7, 18),
        rng.randint(0, 59),
        rng.randint(0, 59),
        rng.randint(0, 999) * 1000,
    )
    return fmt_value_ts(dt)


def _finished_periods(period_type: str, today: date, count: int) -> list[Period]:
    """The ``count`` periods before the one holding ``today``, oldest first (DHIS2's
    ``LAST_N``): generated data is only ever for finished periods, and a count of 0 means none."""
    return relative_periods(period_type, "LAST_N", today=today, n=count) if count > 0 else []


def _build_demo_data(state: State, seed: int, today: date) -> None:
    rng = random.Random(seed)
    counts = {"Monthly": 6, "Quarterly": 4, "Weekly": 8}
    last_entry_day = today - timedelta(days=1)
    d = state.derived
    for ds_uid in sorted(state.objects["dataSets"]):
        ds = state.objects["dataSets"][ds_uid]
        periods = _finished_periods(ds["periodType"], today, counts.get(ds["periodType"], 4))
        aocs = sorted(d.cc_cocs.get(ds["categoryCombo"]["id"], {d.default_coc}))
        des = sorted(d.ds_des[ds_uid])
        for pe in periods:
            # Reports come in 1-10 days after the period ends, but never later than yesterday.
            entered = min(pe.end + timedelta(days=rng.randint(1, 10)), last_entry_day)
            for ou in sorted(d.ds_ous[ds_uid]):
                if rng.random() < 0.1:
                    continue  # this facility did not report this period
                slice_ = state.values.setdefault((ou, pe.id), {})
                for aoc in aocs:
                    for de_uid in des:
                        de = state.objects["dataElements"][de_uid]
                        cocs = sorted(d.cc_cocs[d.ds_de_cc[(ds_uid, de_uid)]])
                        for coc in cocs:
                            if rng.random() < 0.12:
                                continue
                            ts = _ts(entered, rng)
                            slice_[(de_uid, coc, aoc)] = {
                                "value": _value_for(
                                    rng, de["valueType"], de.get("zeroIsSignificant", False)
                                ),
                                "storedBy": rng.choice(["admin", "district_clerk", "hmis_officer"]),
                                "created": ts,
                                "lastUpdated": ts,
                                "comment": rng.choice(REMARKS) if rng.random() < 0.03 else None,
                                "followup": rng.random() < 0.02,
                                "deleted": rng.random() < 0.005,
                            }
                if ds["periodType"] == "Monthly" and rng.random() < 0.8:
                    state.completions[(ds_uid, pe.id, ou, aocs[0])] = {
                        "date": entered.isoformat(),
                        "storedBy": "district_clerk",
                        "completed": True,
                        "lastUpdated": entered.isoformat() + "T00:00:00.000",
                        "lastUpdatedBy": "district_clerk",
                    }
    _build_demo_events(state, rng, today)


def _build_demo_events(state: State, rng: random.Random, today: date, count: int = 300) -> None:
    program = next(iter(state.objects["programs"].values()))
    stage_uid = program["programStages"][0]["id"]
    stage = state.objects["programStages"][stage_uid]
    des = [p["dataElement"]["id"] for p in stage["programStageDataElements"]]
    ous = [o["id"] for o in program["organisationUnits"]]
    for _ in range(count):
        day = today - timedelta(days=rng.randint(1, 180))
        ts = _ts(day, rng)[:-5]
        age = rng.randint(0, 80)
        values = [
            str(age),
            rng.choice(["Female", "Male"]),
            rng.choice(["Positive", "Negative"]),
            rng.choice(["true", "false"]),
            str(round(3 + age * 0.9 + rng.uniform(-2, 8), 1)),
        ]
        uid = random_uid(rng)
        org_unit = rng.choice(ous)
        status = "COMPLETED" if rng.random() < 0.85 else "ACTIVE"
        state.events[uid] = {
            "event": uid,
            "program": program["id"],
            "programStage": stage_uid,
            "orgUnit": org_unit,
            "status": status,
            "occurredAt": day.isoformat() + "T00:00:00.000",
            "scheduledAt": day.isoformat() + "T00:00:00.000",
            "createdAt": ts,
            "updatedAt": ts,
            # Completed when it was last saved (not before it was created); open events have none.
            "completedAt": ts if status == "COMPLETED" else None,
            "storedBy": "admin",
            "attributeOptionCombo": DEFAULT_UIDS["categoryOptionCombos"],
            "attributeCategoryOptions": DEFAULT_UIDS["categoryOptions"],
            "deleted": False,
            "geometry": None,
            "notes": [],
            "dataValues": [
                {
                    "dataElement": de,
                    "value": v,
                    "providedElsewhere": False,
                    "storedBy": "admin",
                    "createdAt": ts,
                    "updatedAt": ts,
                }
                for de, v in zip(des, values, strict=True)
            ],
        }


# --- bench ----------------------------------------------------------------------------------

BENCH_DEFAULTS: dict[str, Any] = {
    "depth": 3,  # levels below the root
    "width": 4,  # children per org unit
    "data_elements": 20,
    "disaggregation": 4,  # category options in the single disaggregation category
    "periods": 6,
    "period_type": "Monthly",
    "events": 0,
    "density": 1.0,
    "with_values": True,
    # Another UID space for the data elements (e.g. a destination whose elements a transfer must
    # map): "" keeps the default UIDs.
    "element_uid_salt": "",
    "program": False,  # the event program even without events (a destination for them)
}


def _build_bench(state: State, seed: int, today: date, options: dict[str, Any]) -> None:
    opts = {**BENCH_DEFAULTS, **options}
    rng = random.Random(seed)
    add_defaults(state)
    for level in range(1, opts["depth"] + 2):
        state.put(
            "organisationUnitLevels",
            ident(stable_uid(f"bench:oul:{level}"), f"Level {level}", None, level=level),
        )
    root = put_org_unit(
        state, stable_uid("bench:ou:root"), "Bench Root", "BENCH_ROOT", level=1, opened="1970-01-01"
    )
    frontier = [root]
    for level in range(2, opts["depth"] + 2):
        nxt = []
        for parent in frontier:
            for i in range(opts["width"]):
                name = f"{parent['name']}.{i + 1}" if level > 2 else f"Unit {i + 1}"
                ou = put_org_unit(
                    state,
                    stable_uid(f"bench:ou:{name}"),
                    name,
                    f"B_{name}",
                    level=level,
                    opened="1970-01-01",
                    parent=parent,
                )
                nxt.append(ou)
        frontier = nxt
    leaves = [o["id"] for o in frontier]
    options_ = [f"Option {i + 1}" for i in range(opts["disaggregation"])]
    for o in options_:
        state.put("categoryOptions", ident(stable_uid(f"bench:co:{o}"), o, None, shortName=o))
    cat = ident(
        stable_uid("bench:cat"),
        "Bench category",
        None,
        shortName="Bench category",
        dataDimensionType="DISAGGREGATION",
        dataDimension=True,
        categoryOptions=[{"id": stable_uid(f"bench:co:{o}")} for o in options_],
    )
    state.put("categories", cat)
    cc = ident(
        stable_uid("bench:cc"),
        "Bench combo",
        None,
        dataDimensionType="DISAGGREGATION",
        skipTotal=False,
        categories=[{"id": cat["id"]}],
    )
    cocs = generate_option_combos(state, cc, lambda n: stable_uid(f"bench:coc:{n}"))
    state.put("categoryCombos", cc)
    for coc in cocs:
        state.put("categoryOptionCombos", coc)
    de_uids = []
    salt = opts["element_uid_salt"]
    for i in range(opts["data_elements"]):
        uid = stable_uid(f"bench:de:{salt}:{i}" if salt else f"bench:de:{i}")
        de_uids.append(uid)
        put_data_element(
            state,
            uid,
            f"Bench element {i + 1}",
            f"BENCH_DE_{i + 1}",
            short_name=f"Bench {i + 1}",
            value_type="INTEGER_ZERO_OR_POSITIVE",
            domain_type="AGGREGATE",
            combo=cc["id"],
        )
    ds_uid = stable_uid("bench:ds")
    state.put(
        "dataSets",
        ident(
            ds_uid,
            "Bench data set",
            "BENCH_DS",
            shortName="Bench",
            periodType=opts["period_type"],
            openFuturePeriods=0,
            expiryDays=0,
            categoryCombo={"id": DEFAULT_UIDS["categoryCombos"]},
            dataSetElements=[
                {"dataSet": {"id": ds_uid}, "dataElement": {"id": u}} for u in de_uids
            ],
            organisationUnits=[{"id": u} for u in leaves],
        ),
    )
    if opts["with_values"]:
        entered = today - timedelta(days=1)  # never after the server's clock (module docstring)
        ts = fmt_value_ts(datetime(entered.year, entered.month, entered.day))
        aoc = DEFAULT_UIDS["categoryOptionCombos"]
        coc_uids = [c["id"] for c in cocs]
        for pe in _finished_periods(opts["period_type"], today, opts["periods"]):
            for ou in leaves:
                slice_ = state.values.setdefault((ou, pe.id), {})
                for de in de_uids:
                    for coc in coc_uids:
                        if opts["density"] < 1.0 and rng.random() >= opts["density"]:
                            continue
                        slice_[(de, coc, aoc)] = {
                            "value": str(rng.randint(1, 500)),
                            "storedBy": "bench",
                            "created": ts,
                            "lastUpdated": ts,
                            "comment": None,
                            "followup": False,
                            "deleted": False,
                        }
    if opts["events"] or opts["program"]:
        pr_uid, ps_uid = stable_uid("bench:pr"), stable_uid("bench:ps")
        state.put(
            "programs",
            ident(
                pr_uid,
                "Bench program",
                "BENCH_PR",
                shortName="Bench program",
                programType="WITHOUT_REGISTRATION",
                categoryCombo={"id": DEFAULT_UIDS["categoryCombos"]},
                organisationUnits=[{"id": u} for u in leaves],
                programStages=[{"id": ps_uid}],
            ),
        )
        state.put(
            "programStages",
            ident(
                ps_uid,
                "Bench stage",
                None,
                program={"id": pr_uid},
                repeatable=False,
                programStageDataElements=[
                    {
                        "id": stable_uid(f"bench:psde:{u}"),
                        "dataElement": {"id": u},
                        "programStage": {"id": ps_uid},
                    }
                    for u in de_uids[:3]
                ],
            ),
        )
        for i in range(opts["events"]):
            day = today - timedelta(days=1 + i % 180)
            uid = random_uid(rng)
            stamp = day.isoformat() + "T00:00:00.000"
            state.events[uid] = {
                "event": uid,
                "program": pr_uid,
                "programStage": ps_uid,
                "orgUnit": leaves[i % len(leaves)],
                "status": "COMPLETED",
                "occurredAt": stamp,
                "scheduledAt": stamp,
                "createdAt": stamp,
                "updatedAt": stamp,
                "completedAt": stamp,
                "storedBy": "bench",
                "attributeOptionCombo": DEFAULT_UIDS["categoryOptionCombos"],
                "attributeCategoryOptions": DEFAULT_UIDS["categoryOptions"],
                "deleted": False,
                "geometry": None,
                "notes": [],
                "dataValues": [
                    {
                        "dataElement": u,
                        "value": str(rng.randint(0, 9)),
                        "providedElsewhere": False,
                        "storedBy": "bench",
                        "createdAt": stamp,
                        "updatedAt": stamp,
                    }
                    for u in de_uids[:3]
                ],
            }


_CACHE: dict[str, State] = {}


def _clone(src: State) -> State:
    """A deep copy of a built state (faster than ``copy.deepcopy`` for these shapes)."""
    state = State()
    for kind, objs in json.loads(json.dumps(src.objects)).items():
        for obj in objs.values():
            state.put(kind, obj)
    state.values = {k: {kk: dict(v) for kk, v in s.items()} for k, s in src.values.items()}
    state.completions = {k: dict(v) for k, v in src.completions.items()}
    state.events = json.loads(json.dumps(src.events))
    for ds_uid, periods in src.locked_periods.items():
        state.locked_periods[ds_uid].update(periods)
    state.settings.update(src.settings)
    state.touch()
    return state


def build(name: str, seed: int = 0, options: dict[str, Any] | None = None) -> State:
    """Create the :class:`State` of dataset ``name`` (built once per arguments, then cloned)."""
    options = dict(options or {})
    key = json.dumps(
        [name, seed, parse_today(options).isoformat(), options], sort_keys=True, default=str
    )
    template = _CACHE.get(key)
    if template is None:
        template = _CACHE[key] = _build(name, seed, options)
    return _clone(template)


def _build(name: str, seed: int, options: dict[str, Any]) -> State:
    today = parse_today(options)
    state = State()
    if name == "demo-source":
        _build_demo_metadata(state, destination=False)
        _build_demo_data(state, seed, today)
    elif name == "demo-destination":
        _build_demo_metadata(state, destination=True)
    elif name == "bench":
        _build_bench(state, seed, today, options)
    elif name == "empty":
        add_defaults(state)
    else:
        raise ValueError(f"Unknown dataset {name!r}; choose one of {', '.join(DATASET_NAMES)}")
    for ds_uid, periods in (options.get("locked_periods") or {}).items():
        state.locked_periods[ds_uid].update(periods)
    for ds_uid, days in (options.get("expiry_days") or {}).items():
        ds = state.get("dataSets", ds_uid)
        if ds is not None:
            ds["expiryDays"] = days
    for ds_uid, n in (options.get("open_future_periods") or {}).items():
        ds = state.get("dataSets", ds_uid)
        if ds is not None:
            ds["openFuturePeriods"] = n
    state.settings.update(options.get("settings") or {})
    state.touch()
    return state


__all__ = [
    "DATASET_NAMES",
    "DEMO",
    "DEMO_MAPPING",
    "DEMO_MISSING",
    "META_TS",
    "build",
    "parse_today",
]
