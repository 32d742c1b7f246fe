"""The submit form's own buttons (Show workflows, Search, Refresh lists, Check workflow): they update
the form, keep every choice and the one-time token, and never put a token in a URL."""

import uuid

import pytest

from pixxel_dashboard.jobs.models import Submission
from pixxel_dashboard.keys import services
from pixxel_dashboard.sandbox import ids

NEW = "/o/acme/jobs/new/"
CREATE = "/v0/workflows/{workflow_id}/jobs"


@pytest.fixture
def acme_key(acme, alice, sandbox):
    return services.add_key(acme, alice, "Sandbox", sandbox.new_key())


def form(action, **extra):
    return {
        "action": action,
        "project": ids.PROJECT_AGRI,
        "workflow": ids.WF_LINEAR,
        "token": str(uuid.uuid4()),
        **extra,
    }


def test_no_button_of_the_form_sends_it_as_a_get(client_for, bob, acme_key):
    page = client_for(bob).get(f"{NEW}?project={ids.PROJECT_AGRI}").content.decode()
    # A GET submission of this form would put csrfmiddlewaretoken and token in the URL.
    assert 'formmethod="get"' not in page
    assert 'name="action" value="search"' in page and 'name="action" value="refresh"' in page


@pytest.mark.parametrize("action", ["search", "show", "check"])
def test_without_javascript_updating_the_form_keeps_every_choice_and_the_token(
    client_for, bob, acme_key, sandbox, action
):
    data = form(action, q="a", workflow_id="", confirm_validation_errors="on")
    response = client_for(bob).post(NEW, data)
    assert response.status_code == 200
    page = response.content.decode()
    assert page.count('<form method="post" action="/o/acme/jobs/new/"') == 1
    assert f'<option value="{ids.PROJECT_AGRI}" selected>' in page
    assert f'<option value="{ids.WF_LINEAR}" selected>' in page
    assert 'name="q" id="id_q" value="a"' in page
    assert f'value="{data["token"]}"' in page  # nothing was attempted: the same token
    assert "Estimated cost" in page and ">Submit job</button>" in page  # the panel is whole
    assert not Submission.objects.exists() and sandbox.count("POST", CREATE) == 0


def test_without_javascript_refresh_lists_fetches_again_and_keeps_the_project(
    client_for, bob, acme_key, sandbox
):
    client = client_for(bob)
    client.get(NEW)
    before = sandbox.count("GET", "/v0/projects")
    data = form("refresh", workflow="", project_id="", workflow_id="")
    page = client.post(NEW, data).content.decode()
    assert sandbox.count("GET", "/v0/projects") == before + 1
    assert f'<option value="{ids.PROJECT_AGRI}" selected>' in page
    assert f'value="{data["token"]}"' in page
    assert page.count("<h1>") == 1
    assert not Submission.objects.exists()


def test_refresh_lists_with_htmx_answers_only_the_pickers(client_for, bob, acme_key, sandbox):
    data = form("refresh", workflow_id="typed-workflow-id")
    response = client_for(bob).post(NEW, data, headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert response["HX-Retarget"] == "#pickers" and response["HX-Reswap"] == "innerHTML"
    fragment = response.content.decode()
    assert "<html" not in fragment and "<form" not in fragment and "Submit job" not in fragment
    assert f'<option value="{ids.PROJECT_AGRI}" selected>' in fragment
    assert 'value="typed-workflow-id"' in fragment  # the typed id is kept too
    assert sandbox.count("POST", CREATE) == 0


def test_a_search_that_filters_out_the_chosen_workflow_keeps_it_chosen(client_for, bob, acme_key):
    params = {"project": ids.PROJECT_AGRI, "workflow": ids.WF_LINEAR, "q": "no-such-name"}
    fragment = (
        client_for(bob)
        .get("/o/acme/jobs/new/workflows/", params, headers={"HX-Request": "true"})
        .content.decode()
    )
    assert f'<option value="{ids.WF_LINEAR}" selected>' in fragment
    assert "0 workflows matching" in fragment


def test_updating_the_form_needs_the_csrf_token(bob, acme_key):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(bob)
    assert client.post(NEW, form("refresh")).status_code == 403


def test_updating_the_form_is_for_members_only(client_for, vera, charlie, acme_key):
    assert client_for(vera).post(NEW, form("search")).status_code == 403
    assert client_for(charlie).post(NEW, form("search")).status_code == 404
