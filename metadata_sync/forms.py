"""Forms of the metadata pages: they parse input; the services check it."""

from __future__ import annotations

from django import forms

from connections.models import ConnectionProfile

from .apply import ATOMIC_MODES, IMPORT_STRATEGIES
from .models import TYPE_CHOICES
from .schema import DEFAULT_TYPES


class StartAssessmentForm(forms.Form):
    profile = forms.ModelChoiceField(
        queryset=ConnectionProfile.objects.select_related("source", "destination")
    )
    types = forms.MultipleChoiceField(
        choices=TYPE_CHOICES,
        initial=list(DEFAULT_TYPES),
        widget=forms.CheckboxSelectMultiple,
        help_text="The types their objects depend on are compared too.",
    )


class SyncForm(forms.Form):
    import_strategy = forms.ChoiceField(
        choices=[(s, s) for s in IMPORT_STRATEGIES], initial="CREATE_AND_UPDATE"
    )
    atomic_mode = forms.ChoiceField(
        choices=[(m, m) for m in ATOMIC_MODES],
        initial="ALL",
        help_text="ALL: one error and nothing is imported. NONE: import what is valid.",
    )
