"""Transfer form for the pages: lists are typed one per line (or comma-separated), maps as
`source=destination` lines, and the mapping rows are an inline formset."""

from __future__ import annotations

import re

from django import forms
from django.forms import inlineformset_factory

from dhis2.periods import RELATIVE_CHOICES

from .models import Transfer, TransferMapping

_SPLIT = re.compile(r"[\s,;]+")


def _list(text: str) -> list[str]:
    return [item for item in _SPLIT.split(text.strip()) if item]


def _map(text: str, label: str) -> dict[str, str]:
    out = {}
    for n, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line:
            continue
        if "=" not in line:
            raise forms.ValidationError(f"{label}, line {n}: write source=destination.")
        src, dst = (part.strip() for part in line.split("=", 1))
        out[src] = dst
    return out


class TransferForm(forms.ModelForm):
    periods_text = forms.CharField(
        label="Periods",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="DHIS2 period ids, e.g. 202401 202402 or 2024Q1. Or choose a relative period.",
    )
    relative_period = forms.ChoiceField(
        choices=[("", "— explicit periods —"), *RELATIVE_CHOICES], required=False
    )
    org_units_text = forms.CharField(
        label="Org units", widget=forms.Textarea(attrs={"rows": 2}), help_text="Org unit UIDs."
    )
    org_unit_map_text = forms.CharField(
        label="Org unit mapping",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="One source=destination UID pair per line, where they differ.",
    )
    attribute_option_combo_map_text = forms.CharField(
        label="Attribute option combo mapping",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="One source=destination UID pair per line, where they differ.",
    )

    class Meta:
        model = Transfer
        fields = [
            "name", "profile", "data_set", "target_data_set", "relative_period", "relative_count",
            "include_descendants", "unmapped", "id_scheme", "import_strategy", "mark_complete",
            "incremental", "chunk_size", "continue_on_preflight_problems",
        ]  # fmt: skip

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        t = self.instance
        if t.pk:
            self.initial["periods_text"] = " ".join(t.periods)
            self.initial["org_units_text"] = " ".join(t.org_units)
            self.initial["org_unit_map_text"] = "\n".join(
                f"{k}={v}" for k, v in t.org_unit_map.items()
            )
            self.initial["attribute_option_combo_map_text"] = "\n".join(
                f"{k}={v}" for k, v in t.attribute_option_combo_map.items()
            )
        profiles = self.fields["profile"].queryset.select_related("source")
        self.fields["profile"].widget.attrs["data-sources"] = ",".join(
            f"{p.pk}:{p.source_id}:{p.destination_id}" for p in profiles
        )

    def clean(self) -> dict:
        data = super().clean()
        self.instance.periods = _list(data.get("periods_text", ""))
        self.instance.org_units = _list(data.get("org_units_text", ""))
        try:
            self.instance.org_unit_map = _map(data.get("org_unit_map_text", ""), "Org unit mapping")
        except forms.ValidationError as exc:
            self.add_error("org_unit_map_text", exc)
        try:
            self.instance.attribute_option_combo_map = _map(
                data.get("attribute_option_combo_map_text", ""), "Attribute option combo mapping"
            )
        except forms.ValidationError as exc:
            self.add_error("attribute_option_combo_map_text", exc)
        return data

    def _post_clean(self) -> None:
        super()._post_clean()
        # Model validation of the JSON lists reports on the model field names; show them on
        # the text inputs the user actually typed in.
        for model_field, form_field in (
            ("periods", "periods_text"),
            ("org_units", "org_units_text"),
            ("org_unit_map", "org_unit_map_text"),
            ("attribute_option_combo_map", "attribute_option_combo_map_text"),
        ):
            if model_field in self.errors:
                for error in self.errors.pop(model_field):
                    self.add_error(form_field, error)


MappingFormSet = inlineformset_factory(
    Transfer,
    TransferMapping,
    fields=[
        "source_data_element",
        "source_category_option_combo",
        "target_data_element",
        "target_category_option_combo",
    ],
    extra=3,
    can_delete=True,
)
