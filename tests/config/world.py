"""One of every object the API and the pages expose, for the role matrix and the schema fuzzing.

Both instances point at the discard port of the loopback interface (127.0.0.1:9): nothing
listens there, so every DHIS2 call fails at once with "connection refused" and no test can
reach the network. The API answers such a DHIS2 with 502 and a run records it as a failure.
"""

from __future__ import annotations

from dataclasses import dataclass

from auditlog.models import LogEntry
from django.contrib.auth.models import User

from completeness.models import CompletenessAssessment, CompletenessRow
from connections.models import ConnectionProfile, Instance
from jobs.models import Run, Schedule
from metadata_sync.models import AssessmentItem, MetadataAssessment, ProfileMapping
from tests.conftest import instance_with_secret, mapped_transfer
from tracker.models import EventTransfer, EventTransferError
from transfers.models import Transfer, TransferConflict

UNREACHABLE = "http://127.0.0.1:9"


@dataclass
class World:
    source: Instance
    destination: Instance
    profile: ConnectionProfile
    run: Run
    transfer: Transfer
    conflict: TransferConflict
    schedule: Schedule
    md_assessment: MetadataAssessment
    md_item: AssessmentItem
    mapping: ProfileMapping
    completeness: CompletenessAssessment
    tracker_transfer: EventTransfer
    tracker_error: EventTransferError

    def pk_for(self, family: str) -> int:
        """The primary key the URL of an endpoint family's detail routes takes."""
        return {
            "instances": self.source.pk,
            "profiles": self.profile.pk,
            "runs": self.run.pk,
            "schedules": self.schedule.pk,
            "transfers": self.transfer.pk,
            "transfer-conflicts": self.conflict.pk,
            "metadata-assessments": self.md_assessment.pk,
            "profile-mappings": self.mapping.pk,
            "completeness-assessments": self.completeness.pk,
            "tracker-transfers": self.tracker_transfer.pk,
            "tracker-errors": self.tracker_error.pk,
            # Saving the instances above wrote audit entries (django-auditlog).
            "audit": LogEntry.objects.order_by("pk").values_list("pk", flat=True).first(),
        }[family]


def _failed_run(kind: str, **params: int) -> Run:
    """A finished, failed API run of `kind` on the object `params` names (not a dry run)."""
    return Run.objects.create(
        kind=kind, trigger="api", status=Run.Status.FAILED, params={**params, "dry_run": False}
    )


def build_world(owner: User | None = None) -> World:
    """Create the objects (owned by `owner` where a model records who created it)."""
    source = instance_with_secret(
        "Source HMIS", UNREACHABLE + "/dhis", username="admin", password="world-source-password"
    )
    destination = instance_with_secret(
        "National HMIS",
        UNREACHABLE + "/national",
        token="d2pat_worldtokenworldtokenworldtoken0123456789",
    )
    profile = ConnectionProfile.objects.create(
        name="Source to national", source=source, destination=destination
    )
    transfer = mapped_transfer(profile, ["202401"])
    run = _failed_run("transfer", transfer_id=transfer.pk)
    conflict = TransferConflict.objects.create(
        run=run, error_code="E7617", message="Data element not found", data_element="fbfJHSPpUQD"
    )
    schedule = Schedule.objects.create(
        name="Nightly", job_type="transfer", job_id=transfer.pk, cron="0 2 * * *", timezone="UTC"
    )
    md_assessment = MetadataAssessment.objects.create(
        profile=profile, types=["dataElements"], status=MetadataAssessment.State.DONE
    )
    md_item = AssessmentItem.objects.create(
        assessment=md_assessment, type="dataElements", source_id="abcdefghijk",
        source_name="ANC 1st visit", destination_id="bcdefghijkl", status="suggested",
    )  # fmt: skip
    mapping = ProfileMapping.objects.create(
        profile=profile, type="organisationUnits", source_id="Cdefghijklm",
        destination_id="Ddefghijklm", assessment=md_assessment, accepted_by=owner,
    )  # fmt: skip
    completeness = CompletenessAssessment.objects.create(
        instance=source,
        data_set="BfMAe6Itzgt",
        data_set_name="Child Health",
        period_type="Monthly",
        periods=["202401"],
        assessed=1,
        compliant=1,
        params={
            "periods": ["202401"],
            "relative_period": None,
            "relative_count": None,
            "org_units": ["ImspTQPwCqd"],
            "include_descendants": True,
            "level": None,
            "required_data_elements": [],
            "threshold": 100.0,
            "disaggregation": "any",
        },
    )  # fmt: skip  (params as completeness.services stores them)
    CompletenessRow.objects.create(
        assessment=completeness, org_unit="ImspTQPwCqd", org_unit_name="Sierra Leone",
        period="202401", compliance=100.0, compliant=True,
    )  # fmt: skip
    tracker_transfer = EventTransfer.objects.create(
        name="Malaria events", profile=profile, program="VBqh0ynB2wv", org_units=["ImspTQPwCqd"]
    )
    tracker_run = _failed_run("event_transfer", event_transfer_id=tracker_transfer.pk)
    tracker_error = EventTransferError.objects.create(
        run=tracker_run, event="a1234567890", error_code="E1000", message="No access"
    )
    return World(
        source=source, destination=destination, profile=profile, run=run, transfer=transfer,
        conflict=conflict, schedule=schedule, md_assessment=md_assessment, md_item=md_item,
        mapping=mapping, completeness=completeness, tracker_transfer=tracker_transfer,
        tracker_error=tracker_error,
    )  # fmt: skip
