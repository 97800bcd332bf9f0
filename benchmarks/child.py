"""``python -m benchmarks.child <entry> '<json>'``: a baseline's work in a process of its own.

Each baseline runs in a fresh interpreter, like the worker does, so its peak RSS (``VmHWM``,
read by the process itself just before it prints its figures) is the baseline's own and is
comparable with the worker's. The last stdout line is the JSON result.

Entries:

* ``agg_floor``: the least any tool can do over HTTP: one GET of every value of the data set
  (``children=true``), the data elements mapped with one dict lookup, one POST of everything (the
  served simulator has no payload limit, so that is the largest POST it accepts).
* ``agg_naive``: what a first script does: one GET per org unit and period, one after the other,
  and 1,000-value chunks posted one after another as they fill up.
* ``events_floor``: pages of events read with bare httpx, each page posted as an asynchronous
  tracker import as soon as it is read, then every job polled until DHIS2 says it completed.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any

import httpx

from benchmarks.harness import AUTH, vm_hwm_mb

KEYS = ("dataElement", "period", "orgUnit", "categoryOptionCombo", "attributeOptionCombo", "value")


def _post_values(http: httpx.Client, url: str, values: list[dict[str, Any]]) -> int:
    response = http.post(f"{url}/api/dataValueSets", json={"dataValues": values})
    response.raise_for_status()
    body = response.json()
    counts = (body.get("response") or body).get("importCount") or {}
    return int(counts.get("imported", 0)) + int(counts.get("updated", 0))


def _mapped(values: list[dict[str, Any]], de_map: dict[str, str]) -> list[dict[str, Any]]:
    out = []
    for v in values:
        row = {k: v[k] for k in KEYS}
        row["dataElement"] = de_map.get(row["dataElement"], row["dataElement"])
        out.append(row)
    return out


def agg_floor(cfg: dict[str, Any]) -> dict[str, Any]:
    with httpx.Client(timeout=1800, auth=AUTH) as http:
        params = [("dataSet", cfg["data_set"]), ("orgUnit", cfg["root"]), ("children", "true")]
        params += [("period", p) for p in cfg["periods"]]
        response = http.get(f"{cfg['source']}/api/dataValueSets", params=params)
        response.raise_for_status()
        values = _mapped(response.json()["dataValues"], cfg["de_map"])
        stored = _post_values(http, cfg["destination"], values)
    return {"values": len(values), "stored": stored, "requests": 2}


def agg_naive(cfg: dict[str, Any]) -> dict[str, Any]:
    chunk, requests, stored, read = [], 0, 0, 0
    with httpx.Client(timeout=600, auth=AUTH) as http:
        for ou in cfg["org_units"]:
            for pe in cfg["periods"]:
                params = {"dataSet": cfg["data_set"], "period": pe, "orgUnit": ou}
                response = http.get(f"{cfg['source']}/api/dataValueSets", params=params)
                response.raise_for_status()
                requests += 1
                values = _mapped(response.json().get("dataValues", []), cfg["de_map"])
                read += len(values)
                chunk.extend(values)
                while len(chunk) >= 1000:
                    stored += _post_values(http, cfg["destination"], chunk[:1000])
                    chunk, requests = chunk[1000:], requests + 1
        if chunk:
            stored += _post_values(http, cfg["destination"], chunk)
            requests += 1
    return {"values": read, "stored": stored, "requests": requests}


def events_floor(cfg: dict[str, Any]) -> dict[str, Any]:
    page_size = cfg.get("page_size", 10_000)
    jobs, read, page = [], 0, 1
    drop = {"createdAt", "updatedAt", "storedBy"}
    with httpx.Client(timeout=600, auth=AUTH) as http:
        while True:
            params = {
                "program": cfg["program"],
                "orgUnit": cfg["root"],
                "orgUnitMode": "DESCENDANTS",
                "page": page,
                "pageSize": page_size,
            }
            response = http.get(f"{cfg['source']}/api/tracker/events", params=params)
            response.raise_for_status()
            body = response.json()
            events = body.get("events", body.get("instances", []))
            if not events:
                break
            read += len(events)
            batch = [{k: v for k, v in e.items() if k not in drop} for e in events]
            posted = http.post(
                f"{cfg['destination']}/api/tracker",
                params={"async": "true", "importStrategy": "CREATE_AND_UPDATE"},
                json={"events": batch},
            )
            posted.raise_for_status()
            jobs.append(posted.json()["response"]["id"])
            if len(events) < page_size:
                break
            page += 1
        created = 0
        for job in jobs:
            while True:
                notes = http.get(f"{cfg['destination']}/api/tracker/jobs/{job}").json()
                if any(n.get("completed") for n in notes):
                    break
                time.sleep(0.2)
            report = http.get(f"{cfg['destination']}/api/tracker/jobs/{job}/report").json()
            stats = report.get("stats") or {}
            created += int(stats.get("created", 0)) + int(stats.get("updated", 0))
    return {"events": read, "stored": created, "requests": 2 * page + len(jobs)}


ENTRIES = {"agg_floor": agg_floor, "agg_naive": agg_naive, "events_floor": events_floor}


def main(argv: list[str]) -> int:
    entry, cfg = argv[0], json.loads(argv[1])
    started, cpu_started = time.perf_counter(), time.process_time()
    result = ENTRIES[entry](cfg)
    result["seconds"] = time.perf_counter() - started
    result["cpu_s"] = round(time.process_time() - cpu_started, 2)
    result["peak_rss_mb"] = vm_hwm_mb()
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
