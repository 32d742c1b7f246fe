"""A GET only reads: typing an id into the submit page stores nothing; ids are validated."""

import uuid

import pytest

from pixxel_dashboard.jobs.models import Project, Submission, Workflow
from pixxel_dashboard.keys import services
from pixxel_dashboard.sandbox import ids

NEW = "/o/acme/jobs/new/"
HTMX = {"HX-Request": "true"}
LONG_ID = "p" * 300


@pytest.fixture
def acme_key(acme, alice, sandbox):
    return services.add_key(acme, alice, "Sandbox", sandbox.new_key())


def test_the_preflight_panel_writes_no_rows(client_for, bob, acme_key):
    fragment = client_for(bob).get(
        f"{NEW}preflight/?project_id={ids.PROJECT_URBAN}&workflow_id={ids.WF_FAILING}",
        headers=HTMX,
    )
    assert fragment.status_code == 200 and "credits" in fragment.content.decode()
    assert not Project.objects.exists() and not Workflow.objects.exists()


@pytest.mark.parametrize("path", ["", "workflows/", "preflight/"])
def test_a_typed_project_id_is_looked_up_not_stored(client_for, bob, acme_key, path):
    typed = "made-up-project-42"
    response = client_for(bob).get(f"{NEW}{path}?project_id={typed}&workflow_id={ids.WF_LINEAR}")
    assert response.status_code == 200
    assert not Project.objects.filter(pixxel_id=typed).exists()


@pytest.mark.parametrize("path", ["", "workflows/", "preflight/"])
@pytest.mark.parametrize("bad", [LONG_ID, "../../v0/projects", "a b", "x\u202e"])
def test_an_impossible_id_is_refused_with_a_message(client_for, bob, acme_key, sandbox, path, bad):
    response = client_for(bob).get(f"{NEW}{path}", {"project_id": bad, "workflow_id": bad})
    assert response.status_code == 200
    assert "is not a Pixxel id" in response.content.decode()
    assert not Project.objects.filter(pixxel_id=bad).exists()
    # Nothing about that id was asked of Pixxel.
    assert not [r for r in sandbox.requests() if bad in r["path"] + str(r["query"])]


def test_a_post_with_an_impossible_id_is_refused_before_pixxel(client_for, bob, acme_key, sandbox):
    response = client_for(bob).post(
        NEW, {"project_id": LONG_ID, "workflow_id": ids.WF_LINEAR, "token": str(uuid.uuid4())}
    )
    assert response.status_code == 400
    assert "is not a Pixxel id" in response.content.decode()
    assert not Submission.objects.exists()
    assert not [r for r in sandbox.requests() if LONG_ID in r["path"] + str(r["query"])]
