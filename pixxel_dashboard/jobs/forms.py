from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast

from django import forms
from django.core.exceptions import ValidationError
from django.http import QueryDict

from pixxel_dashboard.core.forms import PlainLabels
from pixxel_dashboard.pixxel.client import id_problem

from .models import Job

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


def chosen_ids(params: Mapping[str, Any]) -> tuple[str, str]:
    """(project id, workflow id) from a query or form: a typed id wins over the picked one."""
    project = params.get("project_id") or params.get("project") or ""
    workflow = params.get("workflow_id") or params.get("workflow") or ""
    return project.strip(), workflow.strip()


@dataclass(frozen=True)
class Choice:
    """The project and workflow a query or form names, and the workflow search."""

    project_id: str = ""
    workflow_id: str = ""
    workflow_query: str = ""
    # Why the ids were dropped: an id no Pixxel object can have is neither looked up nor kept.
    id_problem: str = ""

    @classmethod
    def from_params(
        cls, params: Mapping[str, Any], repeat_of: Job | None = None, search: bool = True
    ) -> Choice:
        """What `params` chose; a job being run again fills in what they leave out."""
        project_id, workflow_id = chosen_ids(params)
        if repeat_of is not None:
            project_id = project_id or (repeat_of.project.pixxel_id if repeat_of.project else "")
            workflow_id = workflow_id or repeat_of.workflow_pixxel_id
        query = params.get("q", "").strip() if search else ""
        problem = ""
        for chosen in (project_id, workflow_id):
            try:
                validate_pixxel_id(chosen)
            except ValidationError as error:
                problem = error.messages[0]
        if problem:
            return cls(workflow_query=query, id_problem=problem)
        return cls(project_id, workflow_id, query)


# A typed id is not something the browser should suggest from earlier entries.
_TYPED_ID = forms.TextInput(attrs={"autocomplete": "off"})


class SubmitJobForm(PlainLabels, forms.Form):
    """Project and workflow are picked from lists (filled from Pixxel) or typed as ids."""

    project = forms.CharField(label="Project", required=False, widget=forms.Select)
    project_id = forms.CharField(
        label="Project id", required=False, help_text=ID_HELP, widget=_TYPED_ID
    )
    workflow = forms.CharField(label="Workflow", required=False, widget=forms.Select)
    workflow_id = forms.CharField(
        label="Workflow id", required=False, help_text=ID_HELP, widget=_TYPED_ID
    )
    token = forms.UUIDField(widget=forms.HiddenInput)
    # The pre-flight's estimate, signed by the server (catalog.sign_estimate): never a number.
    estimate_seen = forms.CharField(required=False, max_length=500, widget=forms.HiddenInput)
    repeat = forms.CharField(required=False, widget=forms.HiddenInput)
    confirm_validation_errors = forms.BooleanField(
        label="Submit anyway: I have read the validation errors", required=False
    )
    # Shown to owners and admins when the estimate would take the project over its budget.
    confirm_over_budget = forms.BooleanField(label="Submit anyway, over the budget", required=False)

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
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

    @classmethod
    def refilled(cls, params: QueryDict, choice: Choice, token: str) -> SubmitJobForm:
        """The form as a query or a form-updating POST left it, unbound (nothing to complain about)."""
        return cls(
            initial={
                "project": choice.project_id,
                "workflow": choice.workflow_id,
                "project_id": params.get("project_id", "").strip(),
                "workflow_id": params.get("workflow_id", "").strip(),
                "confirm_validation_errors": bool(params.get("confirm_validation_errors")),
                "confirm_over_budget": bool(params.get("confirm_over_budget")),
                "token": token,
                "repeat": params.get("repeat", ""),
            }
        )

    def again(self, keep_token: bool = False) -> SubmitJobForm:
        """The member's input with its errors, to show again. A fresh token unless nothing was
        attempted: retrying after a failure must be a deliberate new submission."""
        data = cast(QueryDict, self.data).copy()  # bound from request.POST
        if not keep_token:
            data["token"] = new_token()
        form = type(self)(data)
        form.is_valid()
        return form


# Shown when a workflow's pre-flight found validation errors the member has not yet confirmed.
CONFIRM_VALIDATION_ERRORS = (
    "This workflow has validation errors (listed below). Tick the box to submit anyway."
)


# Shown when an owner or admin submits a job that would cross its project's budget unconfirmed.
CONFIRM_OVER_BUDGET = (
    "This job would take the project over its monthly budget (see the budget below). "
    "Tick “Submit anyway, over the budget” to submit it."
)


def over_budget_refusal(approvers: list[str]) -> str:
    """Why a member may not submit a job that would cross its project's budget, and who may."""
    who = ", ".join(approvers) if approvers else "an owner or admin"
    return (
        "This job would take the project over its monthly budget, and only owners and admins "
        f"may submit over the budget. Ask {who} to submit it or to raise the budget."
    )


def new_token() -> str:
    return str(uuid.uuid4())


def same_token(value: str) -> str:
    """A form's one-time token kept while the form is only being updated (nothing attempted), or ""."""
    try:
        return str(uuid.UUID(value))
    except (TypeError, ValueError):
        return ""


class ImportJobsForm(PlainLabels, forms.Form):
    workflow_id = forms.CharField(
        label="Workflow id", max_length=100, validators=[validate_pixxel_id]
    )
    project_id = forms.CharField(
        label="Project id", max_length=100, required=False, validators=[validate_pixxel_id]
    )
