"""Timing check: ``python -m simulator.benchmark [N]`` imports N data values in-process.

Prints wall-clock times of the POST (JSON encode + import + response) and of the export.
"""

from __future__ import annotations

import sys
import time

import httpx

from simulator import Simulator


def main(total: int = 100_000) -> None:
    sim = Simulator(
        "2.40.4.1",
        "bench",
        dataset_options={
            "with_values": False,
            "depth": 3,
            "width": 5,
            "data_elements": 50,
            "disaggregation": 4,
            "today": "2024-07-15",
        },
    )
    ds = sim.metadata("dataSets")[0]
    ous = [o["id"] for o in ds["organisationUnits"]]
    des = [d["dataElement"]["id"] for d in ds["dataSetElements"]]
    cocs = [c["id"] for c in sim.metadata("categoryOptionCombos") if c["name"] != "default"]
    periods = ["202401", "202402", "202403", "202404", "202405", "202406"]
    values: list[dict[str, str]] = []
    for pe in periods:
        for ou in ous:
            for de in des:
                for coc in cocs:
                    values.append(
                        {
                            "dataElement": de,
                            "period": pe,
                            "orgUnit": ou,
                            "categoryOptionCombo": coc,
                            "value": str(len(values) % 97 + 1),
                        }
                    )
                    if len(values) >= total:
                        break
    values = values[:total]
    client = httpx.Client(
        transport=sim.transport(),
        base_url="http://sim.local",
        auth=("admin", "district"),
        timeout=120,
    )
    started = time.perf_counter()
    r = client.post("/api/dataValueSets", json={"dataValues": values})
    post_s = time.perf_counter() - started
    counts = r.json()["response"]["importCount"]
    started = time.perf_counter()
    exported = client.get(
        "/api/dataValueSets",
        params={
            "dataSet": ds["id"],
            "startDate": "2024-01-01",
            "endDate": "2024-06-30",
            "orgUnit": sim.metadata("organisationUnits")[0]["id"],
            "children": "true",
        },
    ).json()
    get_s = time.perf_counter() - started
    started = time.perf_counter()
    again = client.post("/api/dataValueSets", json={"dataValues": values}).json()
    repost_s = time.perf_counter() - started
    print(f"POST {len(values)} values: {post_s:.2f} s, counts {counts}")
    print(f"GET {len(exported['dataValues'])} values: {get_s:.2f} s")
    print(f"re-POST (all updated): {repost_s:.2f} s, counts {again['response']['importCount']}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000)
