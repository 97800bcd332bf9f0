"""Transfer form for the pages: lists are typed one per line (or comma-separated), maps as
`source=destination` lines, and the mapping rows are an inline formset.

The form and the formset only parse input; `services.save_transfer` validates and saves, and
`show_errors` puts what it refused back on the inputs the user typed into."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS
from django.db.models import QuerySet
from django.forms import BaseInlineFormSet, inlineformset_factory

from connections.models import ConnectionProfile
from dhis2.periods import RELATIVE_CHOICES
from jobs.faces import lines_field, show_service_errors, tokens

from .models import Transfer, TransferMapping
from .services import EDITABLE_FIELDS, MAPPING_FIELDS, TransferInvalid


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


PAIRS_HELP = "One source=destination UID pair per line, where they differ."


class TransferForm(forms.ModelForm[Transfer]):
    periods_text = lines_field(
        "Periods",
        "DHIS2 period ids, e.g. 202401 202402 or 2024Q1. Or choose a relative period.",
    )
    relative_period = forms.ChoiceField(
        choices=[("", "— explicit periods —"), *RELATIVE_CHOICES], required=False
    )
    org_units_text = lines_field("Org units", "Org unit UIDs.", required=True)
    org_unit_map_text = lines_field("Org unit mapping", PAIRS_HELP)
    attribute_option_combo_map_text = lines_field("Attribute option combo mapping", PAIRS_HELP)

    class Meta:
        model = Transfer
        fields = [
            "name", "profile", "data_set", "target_data_set", "relative_period", "relative_count",
            "include_descendants", "unmapped", "id_scheme", "import_strategy", "mark_complete",
            "incremental", "propagate_deletions", "async_import", "chunk_size",
            "continue_on_preflight_problems", "use_profile_mappings", "min_completeness",
        ]  # fmt: skip

    #: Model field -> the text input it is typed into.
    _TEXT_FOR = {
        "periods": "periods_text",
        "org_units": "org_units_text",
        "org_unit_map": "org_unit_map_text",
        "attribute_option_combo_map": "attribute_option_combo_map_text",
    }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
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
        # The profile foreign key's form field: a ModelChoiceField, always with a queryset.
        profile = cast("forms.ModelChoiceField[ConnectionProfile]", self.fields["profile"])
        profiles = cast("QuerySet[ConnectionProfile]", profile.queryset).select_related("source")
        self.fields["profile"].widget.attrs["data-sources"] = ",".join(
            f"{p.pk}:{p.source_id}:{p.destination_id}" for p in profiles
        )

    def clean(self) -> dict[str, Any]:
        """Split the text inputs into the model's lists and maps (syntax only)."""
        # A ModelForm's `clean` returns `cleaned_data` (the stubs allow a plain form's None).
        data = cast(dict[str, Any], super().clean())
        parsers = (
            ("periods_text", "periods", tokens),
            ("org_units_text", "org_units", tokens),
            ("org_unit_map_text", "org_unit_map", lambda t: _map(t, "Org unit mapping")),
            (
                "attribute_option_combo_map_text",
                "attribute_option_combo_map",
                lambda t: _map(t, "Attribute option combo mapping"),
            ),
        )
        for text_field, model_field, parse in parsers:
            try:
                data[model_field] = parse(data.get(text_field) or "")
            except forms.ValidationError as exc:
                self.add_error(text_field, exc)
        return data

    def _post_clean(self) -> None:
        """No model validation here: `save_transfer` validates (once, for every face)."""

    def service_fields(self) -> dict[str, Any]:
        """The parsed input, as `save_transfer` takes it."""
        return {
            name: self.cleaned_data[name] for name in EDITABLE_FIELDS if name in self.cleaned_data
        }

    def show_errors(self, exc: TransferInvalid) -> None:
        """Put the service's field errors on the inputs (rows: `MappingFormSet.show_errors`)."""
        errors = {
            key: messages
            for key, messages in exc.detail.items()
            if not (key == "mappings" and isinstance(messages, dict))
        }
        show_service_errors(self, errors, inputs=self._TEXT_FOR)


class MappingRowFormSet(
    BaseInlineFormSet[TransferMapping, Transfer, forms.ModelForm[TransferMapping]]
):
    """Mapping rows as typed; `save_transfer` checks them (in the transfer's id scheme, and
    for duplicates) and replaces the stored rows, so the formset neither validates models nor
    saves."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.row_forms: list[forms.ModelForm[TransferMapping]] = []
        for form in self.forms:
            form._post_clean = lambda: None  # type: ignore[attr-defined]  # private: not in the stubs

    def validate_unique(self) -> None:
        """Duplicates are the service's to report (on the row that repeats)."""

    def rows(self) -> list[Mapping[str, str]]:
        """The rows to keep, in order: stored ones not deleted, new ones not left empty."""
        self.row_forms = []
        out: list[Mapping[str, str]] = []
        for index, form in enumerate(self.forms):
            if self.can_delete and self._should_delete_form(form):  # type: ignore[attr-defined]
                continue
            if index >= self.initial_form_count() and not form.has_changed():
                continue
            self.row_forms.append(form)
            out.append({name: form.cleaned_data.get(name) or "" for name in MAPPING_FIELDS})
        return out

    def show_errors(self, exc: TransferInvalid) -> None:
        nested = exc.detail.get("mappings")
        if not isinstance(nested, dict):
            if nested:
                self._non_form_errors = self.error_class(list(nested))
            return
        for key, fields in nested.items():
            form = self.row_forms[int(key)]
            for name, messages in fields.items():
                form.add_error(name if name in form.fields else NON_FIELD_ERRORS, messages)


# A subclass of `formset`, which the stubs type as the `BaseInlineFormSet` it derives from.
MappingFormSet = cast(
    "type[MappingRowFormSet]",
    inlineformset_factory(
        Transfer,
        TransferMapping,
        formset=MappingRowFormSet,
        fields=list(MAPPING_FIELDS),
        extra=3,
        can_delete=True,
    ),
)
