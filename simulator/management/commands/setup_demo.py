"""Point the platform at the two demo simulators: instances, a profile and a ready transfer.

The transfer's mapping rows come from the demo datasets' documented differences
(`simulator.datasets.DEMO_MAPPING`), so a newcomer's first run lands data on the destination and
shows, as conflicts, what cannot land (an element and a facility the destination lacks).
Idempotent: run it as often as you like; it updates the demo objects in place.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from connections.models import ConnectionProfile, Instance
from simulator import Simulator, datasets
from tracker.models import EventTransfer
from tracker.services import save_event_transfer
from transfers.models import Transfer, TransferMapping

DEMO_USERNAME = "admin"
DEMO_PASSWORD = "district"  # the simulator's built-in demo user, like DHIS2's demo databases


class Command(BaseCommand):
    help = "Create or update the demo DHIS2 instances and profile for the local simulators."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--source-port", type=int, default=8081)
        parser.add_argument("--destination-port", type=int, default=8082)

    def handle(self, *args: Any, **opts: Any) -> None:
        instances = {}
        for key, name, port in (
            ("source", "Demo source (simulated)", opts["source_port"]),
            ("destination", "Demo destination (simulated)", opts["destination_port"]),
        ):
            instance = Instance.objects.filter(name=name).first() or Instance(name=name)
            instance.base_url = f"http://127.0.0.1:{port}"
            instance.auth_type = Instance.AuthType.BASIC
            instance.username = DEMO_USERNAME
            instance.set_password(DEMO_PASSWORD)
            instance.timeout_seconds = 30
            instance.save()
            instances[key] = instance
        profile, _ = ConnectionProfile.objects.update_or_create(
            name="Demo: source to destination",
            defaults={
                "source": instances["source"],
                "destination": instances["destination"],
                "description": "Two simulated DHIS2 instances started by `make run` for the demo.",
            },
        )
        self._transfer(profile)
        self._event_transfer(profile)
        self.stdout.write(self.style.SUCCESS("Demo instances, profile and transfers are ready."))

    def _transfer(self, profile: ConnectionProfile) -> None:
        data_set = datasets.DEMO["dataSets"]["RCH Monthly"]
        transfer, _ = Transfer.objects.update_or_create(
            name="Demo: RCH Monthly",
            defaults={
                "profile": profile,
                "data_set": data_set,
                "periods": [],
                "relative_period": "LAST_3_MONTHS",
                "relative_count": None,
                "org_units": [datasets.DEMO["organisationUnits"]["Demoland"]],
                "include_descendants": True,
                "continue_on_preflight_problems": True,
                "mark_complete": True,
            },
        )
        transfer.mappings.all().delete()
        TransferMapping.objects.bulk_create(
            TransferMapping(transfer=transfer, **row) for row in demo_mapping_rows(data_set)
        )

    def _event_transfer(self, profile: ConnectionProfile) -> None:
        """The demo's event program, Demoland and below. Saved without asking the source (its
        simulator may not be running yet); the names are the demo dataset's own."""
        program = datasets.DEMO["programs"]["Malaria case register"]
        root = datasets.DEMO["organisationUnits"]["Demoland"]
        transfer = save_event_transfer(
            EventTransfer.objects.filter(name="Demo: Malaria case register").first(),
            data={
                "name": "Demo: Malaria case register",
                "profile": profile,
                "program": program,
                "program_stage": "",
                "org_units": [root],
                "ou_mode": EventTransfer.OuMode.DESCENDANTS,
                "incremental": True,
            },
            verify_on_source=False,
        )
        names = {program: "Malaria case register", root: "Demoland"}
        EventTransfer.objects.filter(pk=transfer.pk).update(source_names=names)


def demo_mapping_rows(data_set: str) -> list[dict[str, str]]:
    """Rows that map the demo source's renamed data elements and option combos."""
    source = Simulator(dataset="demo-source")
    ds = next(d for d in source.metadata("dataSets") if d["id"] == data_set)
    elements = {d["id"]: d for d in source.metadata("dataElements")}
    combos = {c["id"]: c for c in source.metadata("categoryCombos")}
    de_map = datasets.DEMO_MAPPING["dataElements"]
    coc_map = datasets.DEMO_MAPPING["categoryOptionCombos"]
    rows = []
    for dse in ds["dataSetElements"]:
        de = dse["dataElement"]["id"]
        combo = (dse.get("categoryCombo") or elements[de]["categoryCombo"])["id"]
        renamed = [c["id"] for c in combos[combo]["categoryOptionCombos"] if c["id"] in coc_map]
        for coc in renamed:
            rows.append(
                {
                    "source_data_element": de,
                    "source_category_option_combo": coc,
                    "target_data_element": de_map.get(de, de),
                    "target_category_option_combo": coc_map[coc],
                }
            )
        if de in de_map:
            rows.append(
                {
                    "source_data_element": de,
                    "source_category_option_combo": "",
                    "target_data_element": de_map[de],
                    "target_category_option_combo": "",
                }
            )
    return rows
