"""Every organization-scoped URL, for every kind of visitor.

Another organization's owner gets 404 (he cannot learn the organization or the object exists), an
anonymous visitor is sent to log in (403 for the live poll), a member without the role gets 403, and
a member with exactly the least role a URL needs gets in.
"""

import pytest

from pixxel_dashboard.accounts.models import Invitation, Membership
from pixxel_dashboard.jobs.models import Project
from pixxel_dashboard.sandbox import ids
from pixxel_dashboard.webhooks import delivery, services
from tests.plugins.jobs import submit


@pytest.fixture
def world(acme, alice, bob, vera, charlie, pixxel):
    job = submit(acme, alice, pixxel)
    task = job.tasks.first()
    invitation, _ = Invitation.issue(acme, "new@example.com", "member", alice)
    key = acme.api_keys.get()
    project = Project.objects.create(organization=acme, pixxel_id="p-matrix", name="Matrix")
    webhook, _ = services.create_endpoint(
        acme, alice, "https://hooks.example.com/matrix", "", ["job.failed"]
    )
    return {
        "webhook": webhook.pk,
        "delivery": delivery.send_test_event(webhook),
        "project": project.pixxel_id,
        "job": job.pixxel_id,
        "task": task.pixxel_id,
        "member": Membership.objects.get(user=bob).pk,
        "invitation": invitation.pk,
        "key": key.pk,
    }


# (method, path, the least role that may use it)
URLS = [
    ("get", "/o/acme/", "viewer"),
    ("get", "/o/acme/jobs/", "viewer"),
    ("get", "/o/acme/jobs/?show=failed", "viewer"),
    ("get", "/o/acme/jobs/export.csv", "viewer"),
    ("get", "/o/acme/jobs/{job}/", "viewer"),
    ("get", "/o/acme/jobs/{job}/tasks/{task}/", "viewer"),
    ("get", "/o/acme/jobs/{job}/tasks/{task}/logs.txt", "viewer"),
    ("post", "/o/acme/jobs/{job}/download/", "viewer"),
    ("post", "/o/acme/jobs/{job}/tasks/{task}/download/", "viewer"),
    ("post", "/o/acme/jobs/{job}/follow/", "viewer"),
    ("post", "/o/acme/jobs/{job}/unfollow/", "viewer"),
    ("get", "/o/acme/jobs/new/", "member"),
    ("get", f"/o/acme/jobs/new/workflows/?project={ids.PROJECT_AGRI}", "member"),
    (
        "get",
        f"/o/acme/jobs/new/preflight/?project={ids.PROJECT_AGRI}&workflow={ids.WF_LINEAR}",
        "member",
    ),
    ("post", "/o/acme/jobs/new/", "member"),
    ("post", "/o/acme/jobs/import/", "admin"),
    ("get", "/o/acme/costs/", "viewer"),
    ("get", "/o/acme/costs/ledger.csv", "viewer"),
    ("get", "/o/acme/costs/{project}/", "viewer"),
    ("get", "/o/acme/costs/~none/", "viewer"),
    ("post", "/o/acme/costs/{project}/budget/", "admin"),
    ("get", "/o/acme/settings/organization/", "admin"),
    ("post", "/o/acme/settings/organization/", "admin"),
    ("post", "/o/acme/settings/organization/notifications/", "owner"),
    ("get", "/o/acme/settings/members/", "viewer"),
    ("post", "/o/acme/settings/members/invite/", "admin"),
    ("post", "/o/acme/settings/members/{member}/role/", "admin"),
    ("post", "/o/acme/settings/members/{member}/remove/", "admin"),
    ("post", "/o/acme/settings/invitations/{invitation}/revoke/", "admin"),
    ("get", "/o/acme/settings/keys/", "viewer"),
    ("post", "/o/acme/settings/keys/add/", "admin"),
    ("post", "/o/acme/settings/keys/{key}/test/", "admin"),
    ("get", "/o/acme/settings/keys/{key}/revoke/", "admin"),
    ("post", "/o/acme/settings/keys/{key}/revoke/", "admin"),
    ("get", "/o/acme/settings/webhooks/", "admin"),
    ("post", "/o/acme/settings/webhooks/add/", "admin"),
    ("get", "/o/acme/settings/webhooks/{webhook}/", "admin"),
    ("post", "/o/acme/settings/webhooks/{webhook}/enabled/", "admin"),
    ("post", "/o/acme/settings/webhooks/{webhook}/test/", "admin"),
    ("post", "/o/acme/settings/webhooks/{webhook}/deliveries/{delivery}/redeliver/", "admin"),
    ("get", "/o/acme/settings/webhooks/{webhook}/delete/", "admin"),
    ("post", "/o/acme/settings/webhooks/{webhook}/delete/", "admin"),
]
IDS = [f"{method} {path.split('?')[0]}" for method, path, _ in URLS]


def call(client, method, path, world):
    return getattr(client, method)(path.format(**world))


@pytest.mark.parametrize(("method", "path", "role"), URLS, ids=IDS)
def test_another_organization_gets_404(client_for, charlie, world, method, path, role):
    assert call(client_for(charlie), method, path, world).status_code == 404


@pytest.mark.parametrize(("method", "path", "role"), URLS, ids=IDS)
def test_anonymous_visitors_are_sent_to_log_in(client, world, method, path, role):
    response = call(client, method, path, world)
    assert response.status_code == 302
    assert response.url.startswith("/accounts/login/")


@pytest.mark.parametrize(
    ("method", "path", "role"),
    [u for u in URLS if u[2] != "viewer"],
    ids=[i for i, u in zip(IDS, URLS) if u[2] != "viewer"],
)
def test_a_viewer_gets_403_where_a_higher_role_is_needed(
    client_for, vera, world, method, path, role
):
    assert call(client_for(vera), method, path, world).status_code == 403


@pytest.mark.parametrize(
    ("method", "path", "role"),
    [u for u in URLS if u[2] in ("admin", "owner")],
    ids=[i for i, u in zip(IDS, URLS) if u[2] in ("admin", "owner")],
)
def test_a_member_gets_403_where_an_admin_is_needed(client_for, bob, world, method, path, role):
    assert call(client_for(bob), method, path, world).status_code == 403


@pytest.mark.parametrize(
    ("method", "path", "role"),
    [u for u in URLS if u[2] == "owner"],
    ids=[i for i, u in zip(IDS, URLS) if u[2] == "owner"],
)
def test_an_admin_gets_403_where_an_owner_is_needed(client_for, adam, world, method, path, role):
    assert call(client_for(adam), method, path, world).status_code == 403


@pytest.mark.parametrize(("method", "path", "role"), URLS, ids=IDS)
def test_the_least_role_allowed_gets_in(
    client_for, vera, bob, adam, alice, world, method, path, role
):
    least = {"viewer": vera, "member": bob, "admin": adam, "owner": alice}[role]
    response = call(client_for(least), method, path, world)
    assert response.status_code not in (403, 404), response.status_code
    assert not (response.status_code == 302 and response.url.startswith("/accounts/login/"))


LIVE_POLLS = ["/o/acme/jobs/{job}/live/", "/o/acme/jobs/live/?job={job}.0"]


@pytest.mark.parametrize("path", LIVE_POLLS)
def test_the_live_polls_answer_anonymous_visitors_403_not_a_login_page(client, world, path):
    assert client.get(path.format(**world)).status_code == 403


@pytest.mark.parametrize("path", LIVE_POLLS)
def test_the_live_polls_of_another_organization_are_404(client_for, charlie, world, path):
    assert client_for(charlie).get(path.format(**world)).status_code == 404


@pytest.mark.parametrize("path", LIVE_POLLS)
def test_a_viewer_may_poll(client_for, vera, world, path):
    assert client_for(vera).get(path.format(**world)).status_code in (200, 204, 286)
