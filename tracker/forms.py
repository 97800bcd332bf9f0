"""The event transfer form of the pages: it only parses input; `save_event_transfer` checks
and saves, and its errors are put back on the form's fields.

Program and stage are `<select>`s the page fills with names from the source
(`/api/v1/instances/{id}/event-programs/`); org units are chips with names whose UIDs travel
in one hidden field.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from connections.models import ConnectionProfile
from jobs.faces import show_service_errors, tokens

from .models import STRIPPABLE_FIELDS, EventTransfer
from .services import save_event_transfer


class EventTransferForm(forms.Form):
    name = forms.CharField(max_length=100)
    profile = forms.ModelChoiceField(queryset=ConnectionProfile.objects.all())
    program = forms.CharField(
        max_length=11, widget=forms.Select, help_text="An event program of the source."
    )
    program_stage = forms.CharField(
        max_length=11, required=False, widget=forms.Select, help_text="Empty: every stage."
    )
    org_units = forms.CharField(required=False, widget=forms.HiddenInput)
    ou_mode = forms.ChoiceField(
        label="Org unit mode",
        choices=EventTransfer.OuMode.choices,
        initial=EventTransfer.OuMode.DESCENDANTS,
    )
    start_date = forms.DateField(
        required=False, widget=forms.DateInput(attrs={"type": "date"}), label="Events from"
    )
    end_date = forms.DateField(
        required=False, widget=forms.DateInput(attrs={"type": "date"}), label="Events to"
    )
    incremental = forms.BooleanField(
        required=False, help_text="Send only events updated since the last run without errors."
    )
    use_profile_mappings = forms.BooleanField(
        required=False, initial=True, help_text="Apply the profile's mappings under these."
    )
    strip_fields = forms.MultipleChoiceField(
        required=False,
        choices=[(f, f.replace("_", " ")) for f in STRIPPABLE_FIELDS],
        widget=forms.CheckboxSelectMultiple,
        label="Do not send",
    )
    mappings = forms.JSONField(
        required=False,
        initial=dict,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text='Where UIDs differ: {"data_element": {"source UID": "destination UID"}, '
        '"org_unit": {...}}.',
    )

    def __init__(self, *args: Any, instance: EventTransfer, **kwargs: Any) -> None:
        self.instance = instance
        if instance.pk and "initial" not in kwargs:
            kwargs["initial"] = {
                "name": instance.name,
                "profile": instance.profile_id,
                "program": instance.program,
                "program_stage": instance.program_stage,
                "org_units": ",".join(instance.org_units),
                "ou_mode": instance.ou_mode,
                "start_date": instance.start_date,
                "end_date": instance.end_date,
                "incremental": instance.incremental,
                "use_profile_mappings": instance.use_profile_mappings,
                "strip_fields": instance.strip_fields,
                "mappings": instance.mappings,
            }
        super().__init__(*args, **kwargs)
        # profile id → source instance id, for the pickers (which ask the source).
        self.fields["profile"].widget.attrs["data-sources"] = ",".join(
            f"{p.pk}:{p.source_id}" for p in ConnectionProfile.objects.only("pk", "source_id")
        )
        # The saved choices, by name, until the page has loaded the source's list.
        for name in ("program", "program_stage"):
            value = self.data.get(name) if self.is_bound else getattr(instance, name, "")
            options = [("", "— every stage —")] if name == "program_stage" else []
            if value:
                options.append((value, instance.name_of(value)))
            self.fields[name].widget.choices = options

    def clean_org_units(self) -> list[str]:
        return tokens(self.cleaned_data.get("org_units"))

    def clean_mappings(self) -> Any:  # the JSON as typed: `save_event_transfer` checks it
        return self.cleaned_data.get("mappings") or {}

    def save(self) -> EventTransfer | None:
        """Save through the service; on its errors, put them on the form and return None."""
        try:
            return save_event_transfer(
                self.instance if self.instance.pk else None, data=dict(self.cleaned_data)
            )
        except ValidationError as exc:
            show_service_errors(self, exc.message_dict)
            return None
