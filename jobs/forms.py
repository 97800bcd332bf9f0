"""The schedule form, shared by the schedule pages and the admin."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError

from .cron import timezone_choices, validate_cron, validate_emails, validate_timezone
from .models import Schedule
from .registry import schedulable_operations
from .schedules import validate_job

#: The preset buttons of the cron field: (label, expression).
CRON_PRESETS = [
    ("Hourly", "0 * * * *"),
    ("Daily at 02:00", "0 2 * * *"),
    ("Weekly (Monday 02:00)", "0 2 * * 1"),
    ("Monthly (1st at 02:00)", "0 2 1 * *"),
]


def job_choices() -> list[tuple[str, list[tuple[str, str]]]]:
    """Every schedulable object, grouped by job type, as "<type>:<id>" values.

    One select for "what to run" keeps the form free of per-type code: a new schedulable
    operation in `jobs.registry.OPERATIONS` appears here as a new group.
    """
    groups = []
    for op in schedulable_operations():
        options = [(f"{op.key}:{obj.pk}", str(obj)) for obj in op.objects()[:1000]]
        groups.append((op.label, options))
    return groups


class ScheduleForm(forms.ModelForm[Schedule]):
    job = forms.ChoiceField(
        label="What to run", help_text="The saved transfer (or other job) this schedule starts."
    )
    timezone = forms.ChoiceField(
        label="Time zone", help_text="The cron times are wall-clock times in this zone."
    )

    class Meta:
        model = Schedule
        fields = [
            "name", "cron", "timezone", "enabled", "max_consecutive_failures", "notify_emails",
            "notify_on_success",
        ]  # fmt: skip
        labels = {
            "cron": "Cron expression",
            "max_consecutive_failures": "Pause after this many failures in a row",
            "notify_emails": "E-mail notices to",
            "notify_on_success": "Also e-mail on success",
        }
        widgets = {
            "cron": forms.TextInput(
                attrs={"autocomplete": "off", "spellcheck": "false", "placeholder": "0 2 * * *"}
            ),
            "notify_emails": forms.TextInput(
                attrs={"placeholder": "ops@example.org, me@example.org"}
            ),
            "enabled": forms.CheckboxInput(attrs={"style": "width:auto"}),
            "notify_on_success": forms.CheckboxInput(attrs={"style": "width:auto"}),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The admin drops both fields for read-only viewers (operators).
        if "job" in self.fields:
            job = cast(forms.ChoiceField, self.fields["job"])
            job.choices = [("", "---------"), *job_choices()]
        if "timezone" in self.fields:
            zone = cast(forms.ChoiceField, self.fields["timezone"])
            zone.choices = timezone_choices()
        if self.instance.pk:
            self.initial.setdefault("job", self.instance.target)
        else:
            self.initial.setdefault("timezone", settings.TIME_ZONE)
        self.order_fields(["name", "job", "cron", "timezone", "enabled"])

    def clean_cron(self) -> str:
        return validate_cron(self.cleaned_data.get("cron", ""))

    def clean_timezone(self) -> str:
        return validate_timezone(self.cleaned_data.get("timezone", ""))

    def clean_notify_emails(self) -> str:
        return validate_emails(self.cleaned_data.get("notify_emails", ""))

    def clean_job(self) -> str:
        value: str = self.cleaned_data.get("job", "")
        job_type, _, job_id = value.partition(":")
        try:
            validate_job(job_type, job_id)
        except ValidationError as exc:
            raise ValidationError(" ".join(exc.messages)) from None
        return value

    def _post_clean(self) -> None:
        # Put the chosen job on the instance before the model's own validation runs.
        job = self.cleaned_data.get("job")
        if job:
            job_type, _, job_id = job.partition(":")
            self.instance.job_type, self.instance.job_id = job_type, int(job_id)
        super()._post_clean()  # type: ignore[misc]  # BaseForm's hook; not in django-stubs
