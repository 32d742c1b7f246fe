"""What the Jobs and Submit pages say when the organization's key is missing or refused."""

from django.utils import timezone

from pixxel_dashboard.jobs.models import Project
from pixxel_dashboard.keys import services
from pixxel_dashboard.sandbox import ids

NEW = "/o/acme/jobs/new/"
KEYS_LINK = 'href="/o/acme/settings/keys/"'


def test_without_a_key_the_jobs_page_links_to_adding_one(client_for, alice, bob):
    for user in (alice, bob):
        page = client_for(user).get("/o/acme/jobs/").content.decode()
        notice = page[page.index("key-problem") :]
        assert "has no Pixxel API key yet" in notice
        assert KEYS_LINK in notice[: notice.index("</div>")]


def test_with_a_key_the_jobs_page_says_nothing_about_keys(client_for, bob, acme, alice, sandbox):
    services.add_key(acme, alice, "Sandbox", sandbox.new_key())
    assert "key-problem" not in client_for(bob).get("/o/acme/jobs/").content.decode()


def test_without_a_key_the_submit_page_links_to_adding_one(client_for, bob):
    page = client_for(bob).get(NEW).content.decode()
    notice = page[page.index("key-problem") :]
    assert "has no Pixxel API key yet" in notice
    assert KEYS_LINK in notice[: notice.index("</div>")]


def test_a_key_pixxel_rejects_is_named_at_the_top_of_the_submit_page(
    client_for, bob, acme, alice, sandbox
):
    # Projects listed a minute ago, then the key stopped working (say, revoked at Pixxel).
    Project.objects.create(
        organization=acme,
        pixxel_id=ids.PROJECT_AGRI,
        name="Agricultural Health",
        fetched_at=timezone.now(),
    )
    services.add_key(acme, alice, "Wrong", "not-a-sandbox-key-0000")
    page = client_for(bob).get(f"{NEW}?project={ids.PROJECT_AGRI}").content.decode()
    top = page[: page.index('id="submit-panel"')]
    assert "Pixxel rejects this organization" in top
    assert "(HTTP 403 · invalid API key)" in top
    assert KEYS_LINK in top
    assert "No workflows found" not in page
    assert "Could not load the list" not in page  # one clear message, not two


def test_a_project_the_key_may_not_see_is_not_blamed_on_the_key(
    client_for, bob, acme, alice, sandbox
):
    services.add_key(acme, alice, "Sandbox", sandbox.new_key())
    page = client_for(bob).get(NEW + "?project_id=someone-elses-project").content.decode()
    assert "rejects this organization" not in page
    assert "Could not load the list" in page and "key-problem" not in page


def test_a_rejected_key_is_told_from_one_listing_of_projects(client_for, bob, acme, alice, sandbox):
    services.add_key(acme, alice, "Wrong", "not-a-sandbox-key-0000")
    page = client_for(bob).get(NEW).content.decode()
    assert "Pixxel rejects this organization" in page
    assert sandbox.count("GET", "/v0/projects") == 1  # no second call to ask the same again
