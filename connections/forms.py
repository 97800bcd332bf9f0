"""Instance form with write-only secrets: the stored value is never sent back to the browser."""

from __future__ import annotations

from django import forms

from .models import Instance, validate_token

_KEEP = "Leave blank to keep the stored value."


class InstanceForm(forms.ModelForm):
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
        fields = ["name", "base_url", "auth_type", "username", "verify_tls", "timeout_seconds"]

    def clean_token(self) -> str:
        token = self.cleaned_data.get("token", "")
        validate_token(token)
        return token

    def _post_clean(self) -> None:
        # Put new secrets on the instance before model validation checks that one is present.
        if self.cleaned_data.get("password"):
            self.instance.set_password(self.cleaned_data["password"])
        if self.cleaned_data.get("token"):
            self.instance.set_token(self.cleaned_data["token"])
        super()._post_clean()
