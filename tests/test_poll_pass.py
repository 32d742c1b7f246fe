"""The job poll's pass (jobs/poll_pass.py): an unchanged poll costs one read of the job row, and
the pass can never answer anything but "nothing changed", nor outlive its checks for long."""

import time
import types

import pytest
from django.core import signing
from django.test import Client

from pixxel_dashboard.accounts.models import Membership
from pixxel_dashboard.jobs import poll_pass
from pixxel_dashboard.jobs.models import Job
from tests.plugins.jobs import age_claim, finish, mark_synced, poll_url, submit, token


@pytest.fixture
def watched(acme, alice, client_for, pixxel, sandbox):
    """Alice's running job, its page open in her browser (which now holds a pass)."""
    sandbox.set_speed(0)  # Pixxel's clock moves only when the test says so
    job = submit(acme, alice, pixxel)
    mark_synced(job)
    c = client_for(alice)
    page = c.get(job.get_absolute_url())
    assert page.status_code == 200
    return job, c


def unchanged(job: Job) -> str:
    job.refresh_from_db()
    return poll_url(job, v=token(job), s=job.status)


def later(monkeypatch, seconds: float) -> None:
    """The pass's checker sees the clock `seconds` ahead (the rest of the process does not)."""
    now = time.time() + seconds
    monkeypatch.setattr(signing, "time", types.SimpleNamespace(time=lambda: now))


def test_the_page_hands_out_a_short_lived_pass_for_its_poll_only(watched):
    job, c = watched
    cookie = c.cookies[poll_pass.COOKIE_NAME]
    assert cookie["path"] == poll_url(job)
    assert cookie["max-age"] == poll_pass.PASS_SECONDS <= 60
    assert cookie["httponly"] is True
    # Signed, not secret: what it says is the user's own; the session key is not in it.
    assert c.cookies["sessionid"].value not in cookie.value


def test_an_unchanged_poll_with_a_pass_reads_the_job_row_and_nothing_else(
    watched, django_assert_num_queries
):
    job, c = watched
    url = unchanged(job)
    # Without the pass: the session, the user, the memberships, the job.
    without = Client()
    without.cookies["sessionid"] = c.cookies["sessionid"].value
    with django_assert_num_queries(4):
        assert without.get(url).status_code == 204
    with django_assert_num_queries(1) as queries:
        r = c.get(url)
    assert r.status_code == 204 and r.content == b""
    assert "jobs_job" in queries[0]["sql"] and "django_session" not in queries[0]["sql"]
    assert "Cache-Control" in r and "no-store" in r["Cache-Control"]


def test_a_poll_with_a_pass_still_sees_a_change_through_the_checked_path(watched, sandbox):
    job, c = watched
    url = unchanged(job)
    sandbox.advance(20)
    age_claim(job)  # due: the poll refreshes it inline, which the pass alone never does
    r = c.get(url, headers={"HX-Request": "true"})
    assert r.status_code == 200
    assert 'id="job-header"' in r.content.decode()
    assert f"v={token(Job.objects.get(pk=job.pk))}" in r.content.decode()
    # A page whose token is not the job's (it changed since) gets the fragments too.
    r = c.get(poll_url(job, v="0.0.0", s="queued"), headers={"HX-Request": "true"})
    assert r.status_code == 200 and 'id="job-header"' in r.content.decode()


def test_a_pass_never_answers_for_a_job_that_ended(watched, sandbox):
    job, c = watched
    finish(job, sandbox)
    r = c.get(unchanged(job))
    assert r.status_code == 286  # the checked path's stop, with its final fragment
    assert poll_pass.COOKIE_NAME not in r.cookies  # and no new pass for a job no longer polled


def test_logout_stops_the_pass_at_once_in_that_browser(watched):
    job, c = watched
    url = unchanged(job)
    assert c.get(url).status_code == 204
    c.post("/accounts/logout/")
    assert poll_pass.COOKIE_NAME in c.cookies  # still in the jar: the session cookie is not
    assert c.get(url).status_code == 403


def test_a_session_ended_elsewhere_stops_the_pass_when_it_expires(watched, monkeypatch):
    job, c = watched
    url = unchanged(job)
    stolen = {name: morsel.value for name, morsel in c.cookies.items()}
    c.post("/accounts/logout/")

    def replay(url: str) -> int:
        """The cookies as they were before the logout, whatever the answers delete."""
        replayer = Client()
        for name, value in stolen.items():
            replayer.cookies[name] = value
        return replayer.get(url).status_code

    # Within its life the pass may still say "nothing changed" (and only that)…
    assert replay(url) == 204
    assert replay(poll_url(job, v="0.0.0", s="queued")) == 403
    # …and not a second longer.
    later(monkeypatch, poll_pass.PASS_SECONDS + 1)
    assert replay(url) == 403


def test_a_removed_membership_stops_the_pass_when_it_expires(watched, alice, monkeypatch):
    job, c = watched
    url = unchanged(job)
    Membership.objects.filter(user=alice).delete()
    assert c.get(url).status_code == 204
    assert c.get(poll_url(job, v="0.0.0", s="queued")).status_code == 404
    later(monkeypatch, poll_pass.PASS_SECONDS + 1)
    assert c.get(url).status_code == 404


def test_a_pass_opens_no_other_job_nor_another_organization(
    watched, globex, charlie, sandbox, django_assert_max_num_queries
):
    job, c = watched
    # Charlie's own job, in Globex.
    theirs = Job.objects.create(
        organization=globex, pixxel_id="globex-job", workflow_pixxel_id="wf", status="running"
    )
    mark_synced(theirs)
    alices_pass = c.cookies[poll_pass.COOKIE_NAME].value
    # Alice's pass on Charlie's job's URL: not for that job, so the checked path: 404.
    assert c.get(unchanged(theirs)).status_code == 404
    # A pass rewritten to name Charlie's job no longer verifies.
    forged = alices_pass.replace(job.pixxel_id, theirs.pixxel_id)
    c.cookies[poll_pass.COOKIE_NAME] = forged
    assert c.get(unchanged(theirs)).status_code == 404
    # Alice's pass beside Charlie's session: bound to Alice's session, so nothing.
    other = Client()
    other.force_login(charlie)
    other.cookies[poll_pass.COOKIE_NAME] = alices_pass
    assert other.get(unchanged(job)).status_code == 404
