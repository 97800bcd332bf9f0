"""The assessment form: parses what the page posts into `services.AssessmentInput`.

Validation against DHIS2 lives in `services.create_assessment`; its `ValidationError` is mapped
back onto these fields by the view. Lists (periods, org units, required elements) arrive as
UIDs separated by spaces or commas: the page's pickers fill them by name (see
`static/completeness/assessment_form.js`), and they still work without JavaScript.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError

from connections.models import Instance
from dhis2.periods import RELATIVE_CHOICES
from jobs.faces import lines_field, show_service_errors, tokens

from .compliance import DISAGGREGATIONS
from .services import AssessmentInput


class AssessmentForm(forms.Form):
    instance = forms.ModelChoiceField(queryset=Instance.objects.order_by("name"))
    data_set = forms.CharField(
        max_length=50, help_text="Pick by name; the data set's period type decides the periods."
    )
    periods_text = lines_field(
        "Periods",
        "Period ids of the data set's type (e.g. 202405), or choose a relative period.",
    )
    relative_period = forms.ChoiceField(
        choices=[("", "—"), *RELATIVE_CHOICES], required=False, label="Relative period"
    )
    relative_count = forms.IntegerField(
        required=False, min_value=1, label="N", help_text="For LAST_N and THIS_AND_LAST_N only."
    )
    org_units_text = lines_field("Org units", "Search by name.", required=True)
    include_descendants = forms.BooleanField(required=False, initial=True)
    level = forms.IntegerField(
        required=False, min_value=1, help_text="Only this level under the selection (optional)."
    )
    required_text = lines_field(
        "Required data elements", "Leave empty to count every element of the data set."
    )
    threshold = forms.FloatField(initial=100, help_text="Percent of elements a form needs.")
    disaggregation = forms.ChoiceField(
        choices=[
            (DISAGGREGATIONS[0], "any option combo counts"),
            (DISAGGREGATIONS[1], "every option combo is needed"),
        ],
        initial="any",
    )

    #: the service's field name in its ValidationError -> the form field typed into
    SERVICE_FIELDS = {
        "periods": "periods_text",
        "org_units": "org_units_text",
        "required_data_elements": "required_text",
    }

    def to_input(self) -> AssessmentInput:
        d: dict[str, Any] = self.cleaned_data
        return AssessmentInput(
            instance=d["instance"],
            data_set=d["data_set"].strip(),
            org_units=tokens(d["org_units_text"]),
            periods=tokens(d["periods_text"]),
            relative_period=d.get("relative_period") or None,
            relative_count=d.get("relative_count"),
            include_descendants=bool(d.get("include_descendants")),
            level=d.get("level"),
            required_data_elements=tuple(tokens(d.get("required_text") or "")),
            threshold=d["threshold"],
            disaggregation=d["disaggregation"],
        )

    def add_service_errors(self, exc: ValidationError) -> None:
        """What `create_assessment` refused, on the inputs it is about (the rest on top)."""
        errors: dict[str, list[str]] = (
            exc.message_dict if hasattr(exc, "error_dict") else {NON_FIELD_ERRORS: exc.messages}
        )
        show_service_errors(self, errors, inputs=self.SERVICE_FIELDS)
