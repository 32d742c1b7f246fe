import uuid

from django import forms
from django.core.exceptions import ValidationError

from pixxel_dashboard.accounts.forms import PlainLabels
from pixxel_dashboard.pixxel.client import id_problem

ID_HELP = "Not in the list? Type its id."


def validate_pixxel_id(value: str) -> None:
    """An id the Pixxel client would refuse to put in a URL path is a form error, not a request."""
    problem = id_problem(value)
    if value and problem is not None:
        raise ValidationError(f"Not a valid Pixxel id: {problem}.", code="invalid_pixxel_id")


def chosen_ids(params) -> tuple[str, str]:
    """(project id, workflow id) from a query or form: a typed id wins over the picked one."""
    project = params.get("project_id") or params.get("project") or ""
    workflow = params.get("workflow_id") or params.get("workflow") or ""
    return project.strip(), workflow.strip()


class SubmitJobForm(PlainLabels, forms.Form):
    """Project and workflow are picked from lists (filled from Pixxel) or typed as ids."""

    # The picked values are validated too: a browser can send anything as an option's value.
    project = forms.CharField(
        label="Project", required=False, widget=forms.Select, validators=[validate_pixxel_id]
    )
    project_id = forms.CharField(
        label="Project id",
        required=False,
        max_length=100,
        help_text=ID_HELP,
        validators=[validate_pixxel_id],
    )
    workflow = forms.CharField(
        label="Workflow", required=False, widget=forms.Select, validators=[validate_pixxel_id]
    )
    workflow_id = forms.CharField(
        label="Workflow id",
        required=False,
        max_length=100,
        help_text=ID_HELP,
        validators=[validate_pixxel_id],
    )
    token = forms.UUIDField(widget=forms.HiddenInput)
    estimate_seen = forms.DecimalField(required=False, widget=forms.HiddenInput)
    repeat = forms.CharField(required=False, widget=forms.HiddenInput)
    confirm_validation_errors = forms.BooleanField(
        label="Submit anyway: I have read the validation errors", required=False
    )

    def clean(self):
        data = super().clean()
        data["project_pixxel_id"], data["workflow_pixxel_id"] = chosen_ids(data)
        # A field that failed its own validation is already reported (and absent from `data`).
        if not data["project_pixxel_id"] and not self.has_error("project_id"):
            if not self.has_error("project"):
                self.add_error("project", "Choose a project (or type its id).")
        if not data["workflow_pixxel_id"] and not self.has_error("workflow_id"):
            if not self.has_error("workflow"):
                self.add_error("workflow", "Choose a workflow (or type its id).")
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
