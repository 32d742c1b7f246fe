import re
import uuid

from django import forms
from django.core.exceptions import ValidationError

from pixxel_dashboard.accounts.forms import PlainLabels

ID_HELP = "Not in the list? Type its id."
PIXXEL_ID_MAX_LENGTH = 100  # the columns that keep ids
# Pixxel's ids are UUIDs; allow the characters of any sane id, nothing that needs escaping.
_PIXXEL_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:~-]*")


def validate_pixxel_id(value: str) -> None:
    """A project, workflow or job id as Pixxel could have made it (length and characters)."""
    if len(value) > PIXXEL_ID_MAX_LENGTH or not _PIXXEL_ID.fullmatch(value):
        raise ValidationError(
            f"“{value[:40]}{'…' if len(value) > 40 else ''}” is not a Pixxel id: at most "
            f"{PIXXEL_ID_MAX_LENGTH} letters, digits and . _ : ~ -",
            code="invalid_pixxel_id",
        )


def chosen_ids(params) -> tuple[str, str]:
    """(project id, workflow id) from a query or form: a typed id wins over the picked one."""
    project = params.get("project_id") or params.get("project") or ""
    workflow = params.get("workflow_id") or params.get("workflow") or ""
    return project.strip(), workflow.strip()


class SubmitJobForm(PlainLabels, forms.Form):
    """Project and workflow are picked from lists (filled from Pixxel) or typed as ids."""

    project = forms.CharField(label="Project", required=False, widget=forms.Select)
    project_id = forms.CharField(label="Project id", required=False, help_text=ID_HELP)
    workflow = forms.CharField(label="Workflow", required=False, widget=forms.Select)
    workflow_id = forms.CharField(label="Workflow id", required=False, help_text=ID_HELP)
    token = forms.UUIDField(widget=forms.HiddenInput)
    # The pre-flight's estimate, signed by the server (catalog.sign_estimate): never a number.
    estimate_seen = forms.CharField(required=False, max_length=500, widget=forms.HiddenInput)
    repeat = forms.CharField(required=False, widget=forms.HiddenInput)
    confirm_validation_errors = forms.BooleanField(
        label="Submit anyway: I have read the validation errors", required=False
    )

    def clean(self):
        data = super().clean()
        data["project_pixxel_id"], data["workflow_pixxel_id"] = chosen_ids(data)
        for field, what in (("project", "project"), ("workflow", "workflow")):
            chosen = data[f"{field}_pixxel_id"]
            if not chosen:
                self.add_error(field, f"Choose a {what} (or type its id).")
                continue
            try:
                validate_pixxel_id(chosen)
            except ValidationError as error:
                # Shown beside the picker, where the page shows this field's errors.
                self.add_error(field, error)
        return data


def new_token() -> str:
    return str(uuid.uuid4())


class ImportJobsForm(PlainLabels, forms.Form):
    workflow_id = forms.CharField(label="Workflow id", validators=[validate_pixxel_id])
    project_id = forms.CharField(
        label="Project id", required=False, validators=[validate_pixxel_id]
    )
