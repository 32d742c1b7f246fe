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

    project = forms.CharField(label="Project", required=False, widget=forms.Select)
    project_id = forms.CharField(
        label="Project id", required=False, max_length=100, help_text=ID_HELP
    )
    workflow = forms.CharField(label="Workflow", required=False, widget=forms.Select)
    workflow_id = forms.CharField(
        label="Workflow id", required=False, max_length=100, help_text=ID_HELP
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
