"""Admin forms for instances and profiles. They only parse input: `connections.services`
validates (`prepare_*`, while the form validates, so errors show on its fields) and saves
(`save_*`, from the admin's `save_model`). Secrets are write-only: the stored value is never
sent back to the browser."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from .models import ConnectionProfile, Instance
from .services import INSTANCE_FIELDS, PROFILE_FIELDS, prepare_instance, prepare_profile

_KEEP = "Leave blank to keep the stored value."


class InstanceForm(forms.ModelForm[Instance]):
    password = forms.CharField(
        required=False, widget=forms.PasswordInput(render_value=False), help_text=_KEEP
    )
    token = forms.CharField(
        label="Personal access token",
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text="A DHIS2 personal access token (d2pat_...). " + _KEEP,
    )

    class Meta:
        model = Instance
        fields = list(INSTANCE_FIELDS)

    def service_fields(self) -> dict[str, Any]:
        """The parsed input, as `save_instance` takes it."""
        data = self.cleaned_data
        fields = {name: data[name] for name in INSTANCE_FIELDS if name in data}
        return {**fields, "password": data.get("password"), "token": data.get("token")}

    def _post_clean(self) -> None:
        # The service decides (instead of the model validation a ModelForm runs here).
        try:
            prepare_instance(self.instance, **self.service_fields())
        except ValidationError as exc:
            self._update_errors(exc)  # type: ignore[attr-defined]  # BaseModelForm's, not in the stubs


class ConnectionProfileForm(forms.ModelForm[ConnectionProfile]):
    class Meta:
        model = ConnectionProfile
        fields = list(PROFILE_FIELDS)

    def service_fields(self) -> dict[str, Any]:
        return {
            name: self.cleaned_data[name] for name in PROFILE_FIELDS if name in self.cleaned_data
        }

    def _post_clean(self) -> None:
        try:
            prepare_profile(self.instance, **self.service_fields())
        except ValidationError as exc:
            self._update_errors(exc)  # type: ignore[attr-defined]  # as above
