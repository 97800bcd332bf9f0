"""Transfer form for the pages: lists are typed one per line (or comma-separated), maps as
`source=destination` lines, and the mapping rows are an inline formset."""

from __future__ import annotations

import re

from django import forms
from django.core.exceptions import ValidationError
from django.forms import inlineformset_factory

from dhis2.periods import RELATIVE_CHOICES

from .models import (
    Transfer,
    TransferMapping,
    validate_identifier_map,
    validate_period_list,
    validate_uid_list,
)

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
            "incremental", "propagate_deletions", "async_import", "chunk_size",
            "continue_on_preflight_problems",
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
        """Turn the text inputs into the model's lists and maps, validated like the API does
        (the JSON fields are not form fields, so model validation would skip them)."""
        data = super().clean()
        scheme = data.get("id_scheme") or Transfer.IdScheme.UID
        checks = (
            ("periods_text", "periods", _list, validate_period_list),
            ("org_units_text", "org_units", _list, validate_uid_list),
            (
                "org_unit_map_text",
                "org_unit_map",
                lambda t: _map(t, "Org unit mapping"),
                lambda v: validate_identifier_map(v, scheme),
            ),
            (
                "attribute_option_combo_map_text",
                "attribute_option_combo_map",
                lambda t: _map(t, "Attribute option combo mapping"),
                lambda v: validate_identifier_map(v, scheme),
            ),
        )
        for text_field, model_field, parse, validate in checks:
            try:
                value = parse(data.get(text_field, ""))
                validate(value)
            except ValidationError as exc:
                self.add_error(text_field, exc)
                continue
            setattr(self.instance, model_field, value)
        return data

    _TEXT_FOR = {
        "periods": "periods_text",
        "org_units": "org_units_text",
        "org_unit_map": "org_unit_map_text",
        "attribute_option_combo_map": "attribute_option_combo_map_text",
    }

    def _update_errors(self, errors: ValidationError) -> None:
        # Model validation names the JSON fields; show those errors on the text inputs.
        if hasattr(errors, "error_dict"):
            errors = ValidationError(
                {self._TEXT_FOR.get(k, k): v for k, v in errors.error_dict.items()}
            )
        super()._update_errors(errors)


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
