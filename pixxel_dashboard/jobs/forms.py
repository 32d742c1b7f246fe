import uuid

from django import forms

from pixxel_dashboard.accounts.forms import PlainLabels

ID_HELP = "Not in the list? Type its id."


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
    # The pre-flight's estimate, signed by the server (catalog.sign_estimate): never a number.
    estimate_seen = forms.CharField(required=False, max_length=500, widget=forms.HiddenInput)
    repeat = forms.CharField(required=False, widget=forms.HiddenInput)
    confirm_validation_errors = forms.BooleanField(
        label="Submit anyway: I have read the validation errors", required=False
    )

    def clean(self):
        data = super().clean()
        data["project_pixxel_id"], data["workflow_pixxel_id"] = chosen_ids(data)
        if not data["project_pixxel_id"]:
            self.add_error("project", "Choose a project (or type its id).")
        if not data["workflow_pixxel_id"]:
            self.add_error("workflow", "Choose a workflow (or type its id).")
        return data


def new_token() -> str:
    return str(uuid.uuid4())


class ImportJobsForm(PlainLabels, forms.Form):
    workflow_id = forms.CharField(label="Workflow id", max_length=100)
    project_id = forms.CharField(label="Project id", max_length=100, required=False)
