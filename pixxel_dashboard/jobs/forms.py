import re
import uuid

from django import forms
from django.core.exceptions import ValidationError

from pixxel_dashboard.accounts.forms import PlainLabels
from pixxel_dashboard.pixxel.client import id_problem

ID_HELP = "Not in the list? Type its id."
# Pixxel's ids are UUIDs; allow the characters of any sane id, nothing that needs escaping.
_PIXXEL_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:~-]*")


def validate_pixxel_id(value: str) -> None:
    """A typed or picked id that is not one Pixxel could have made is a form error, not a request
    (the client refuses what would change a URL path; ids keep to sane characters)."""
    if not value:
        return
    problem = id_problem(value)
    if problem is None and not _PIXXEL_ID.fullmatch(value):
        problem = "only letters, digits and . _ : ~ - may be used"
    if problem is not None:
        shown = f"{value[:40]}{'…' if len(value) > 40 else ''}"
        raise ValidationError(
            f"“{shown}” is not a Pixxel id: {problem}.",
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
        for what in ("project", "workflow"):
            chosen = data[f"{what}_pixxel_id"]
            if not chosen:
                self.add_error(what, f"Choose a {what} (or type its id).")
                continue
            # Typed or picked (a browser can send anything as an option's value), the id goes into
            # Pixxel URLs: the error is shown by the picker, where the form shows its errors.
            try:
                validate_pixxel_id(chosen)
            except ValidationError as error:
                self.add_error(what, error)
        return data


def new_token() -> str:
    return str(uuid.uuid4())


class ImportJobsForm(PlainLabels, forms.Form):
    workflow_id = forms.CharField(
        label="Workflow id", max_length=100, validators=[validate_pixxel_id]
    )
    project_id = forms.CharField(
        label="Project id", max_length=100, required=False, validators=[validate_pixxel_id]
    )
