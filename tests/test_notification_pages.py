"""The pages around job emails: a person's notification settings, the owner's organization default
on the organization settings page, and Follow / Unfollow on a job's page."""

import pytest

from pixxel_dashboard.accounts.models import AuditEvent, Membership, Organization, Role
from pixxel_dashboard.jobs.models import Source
from pixxel_dashboard.notifications import preferences
from pixxel_dashboard.notifications.models import JobEmails, JobFollow, MemberJobEmails
from tests.plugins.jobs import mark_synced, submit

SETTINGS = "/accounts/profile/"
DEFAULT = "/o/acme/settings/organization/notifications/"


def effective(user, org) -> str:
    membership = Membership.objects.select_related("organization").get(user=user, organization=org)
    return preferences.effective(membership)


# --- your notifications ---------------------------------------------------------------------------


def test_the_settings_page_offers_each_organization_its_choices(
    client_for, acme, globex, alice, charlie
):
    Membership.objects.create(user=alice, organization=globex, role=Role.VIEWER)
    preferences.set_organization_default(globex, charlie, JobEmails.ALL)
    body = client_for(alice).get(SETTINGS).content.decode()
    assert "<legend>Acme Imaging</legend>" in body and "<legend>Globex Survey</legend>" in body
    assert "The organization&#x27;s default (only failures)" in body  # Acme's
    assert "The organization&#x27;s default (all my jobs)" in body  # Globex's
    for label in ("All my jobs", "Only failures", "None"):
        assert label in body
    # Each organization's history, filtered to the jobs alice follows there.
    assert '<a href="/o/acme/jobs/?followed_by=alice">Acme Imaging</a>' in body
    assert '<a href="/o/globex/jobs/?followed_by=alice">Globex Survey</a>' in body


def test_a_member_chooses_per_organization_and_can_go_back_to_the_default(
    client_for, acme, globex, bob
):
    Membership.objects.create(user=bob, organization=globex, role=Role.MEMBER)
    c = client_for(bob)
    r = c.post(SETTINGS, {"org-acme": "all", "org-globex": "default"})
    assert r.status_code == 302 and r.url == SETTINGS
    assert effective(bob, acme) == "all" and effective(bob, globex) == "failures"
    assert "Saved your job emails for Acme Imaging." in c.get(SETTINGS).content.decode()
    c.post(SETTINGS, {"org-acme": "default", "org-globex": "none"})
    assert effective(bob, acme) == "failures" and effective(bob, globex) == "none"
    assert MemberJobEmails.objects.filter(membership__organization=acme).count() == 0


def test_a_choice_that_is_not_offered_is_refused_with_a_message(client_for, acme, bob):
    r = client_for(bob).post(SETTINGS, {"org-acme": "sometimes"})
    assert r.status_code == 400
    body = r.content.decode()
    assert "Nothing was saved" in body and "“sometimes” is not one of them" in body
    assert effective(bob, acme) == "failures"


def test_the_settings_page_is_for_signed_in_people(client):
    r = client.get(SETTINGS)
    assert r.status_code == 302 and r.url.startswith("/accounts/login/")


def test_the_settings_page_costs_the_same_for_one_organization_or_five(
    client_for, alice, django_assert_num_queries
):
    c = client_for(alice)
    c.get(SETTINGS)
    with django_assert_num_queries(3) as one:  # session, user, memberships (with choices)
        c.get(SETTINGS)
    for i in range(4):
        org = Organization.objects.create(name=f"Org {i}", slug=f"org-{i}")
        Membership.objects.create(user=alice, organization=org, role=Role.MEMBER)
        preferences.set_organization_default(org, alice, JobEmails.ALL)
    with django_assert_num_queries(len(one)):
        c.get(SETTINGS)


def test_the_user_menu_links_to_the_settings(client_for, acme, alice):
    body = client_for(alice).get("/o/acme/settings/members/").content.decode()
    assert f'href="{SETTINGS}">Your notifications</a>' in body


# --- the organization's default -------------------------------------------------------------------


def test_an_owner_sets_the_organizations_default_and_it_is_audited(client_for, acme, alice, bob):
    c = client_for(alice)
    page = c.get("/o/acme/settings/organization/").content.decode()
    assert 'action="/o/acme/settings/organization/notifications/"' in page
    r = c.post(DEFAULT, {"job_emails": "all"})
    assert r.status_code == 302 and r.url == "/o/acme/settings/organization/"
    assert effective(bob, acme) == "all"
    event = AuditEvent.objects.get(action="notifications.default_changed")
    assert (event.actor, event.target, event.details) == (alice, "all", {"old": "failures"})
    assert "Members who have not chosen now get: all my jobs." in c.get(r.url).content.decode()
    c.post(DEFAULT, {"job_emails": "all"})  # the same again: nothing to audit
    assert AuditEvent.objects.filter(action="notifications.default_changed").count() == 1


def test_an_admin_sees_the_default_but_cannot_change_it(client_for, acme, alice, adam):
    page = client_for(adam).get("/o/acme/settings/organization/").content.decode()
    assert "The default here: <strong>only failures</strong>. An owner can change it." in page
    assert 'action="/o/acme/settings/organization/notifications/"' not in page
    assert client_for(adam).post(DEFAULT, {"job_emails": "none"}).status_code == 403
    assert preferences.organization_default(acme) == "failures"


def test_members_and_other_organizations_cannot_set_it(client_for, acme, bob, charlie):
    assert client_for(bob).post(DEFAULT, {"job_emails": "none"}).status_code == 403
    assert client_for(charlie).post(DEFAULT, {"job_emails": "none"}).status_code == 404
    assert preferences.organization_default(acme) == "failures"


def test_a_default_that_is_not_offered_is_refused_with_a_message(client_for, acme, alice):
    c = client_for(alice)
    r = c.post(DEFAULT, {"job_emails": "sometimes"}, follow=True)
    assert "Pick one of the choices for the job emails&#x27; default." in r.content.decode()
    assert preferences.organization_default(acme) == "failures"


# --- follow ---------------------------------------------------------------------------------------


@pytest.fixture
def job(acme, alice, pixxel):
    job = submit(acme, alice, pixxel)
    mark_synced(job)
    return job


def follow_url(job, action="follow") -> str:
    return f"{job.get_absolute_url()}{action}/"


def test_a_teammate_follows_and_unfollows_a_job_without_javascript(client_for, job, bob):
    c = client_for(bob)
    page = c.get(job.get_absolute_url()).content.decode()
    assert f'action="{follow_url(job)}"' in page and ">Follow</button>" in page
    r = c.post(follow_url(job))
    assert r.status_code == 302 and r.url == job.get_absolute_url()
    assert JobFollow.objects.filter(job=job, user=bob).exists()
    page = c.get(job.get_absolute_url()).content.decode()
    assert "You follow this job" in page and ">Unfollow</button>" in page
    c.post(follow_url(job))  # twice: still one follow
    assert JobFollow.objects.filter(job=job, user=bob).count() == 1
    c.post(follow_url(job, "unfollow"))
    assert not JobFollow.objects.filter(job=job).exists()


def test_an_htmx_follow_answers_with_the_control_only(client_for, job, bob, vera):
    JobFollow.objects.create(job=job, user=vera)
    r = client_for(bob).post(follow_url(job), headers={"HX-Request": "true"})
    assert r.status_code == 200
    body = r.content.decode()
    assert "<html" not in body and body.strip().startswith('<div id="job-follow"')
    assert "You follow this job" in body and "Followed by vera." in body


def test_a_viewer_may_follow(client_for, job, vera):
    assert client_for(vera).post(follow_url(job)).status_code == 302
    assert JobFollow.objects.filter(job=job, user=vera).exists()


def test_the_submitter_is_told_they_get_the_email_and_has_no_button(client_for, job, alice):
    page = client_for(alice).get(job.get_absolute_url()).content.decode()
    assert "You submitted this job: you get an email when it ends" in page
    assert ">Follow</button>" not in page


def test_anyone_may_follow_an_imported_job(client_for, job, alice):
    job.source = Source.IMPORTED
    job.save(update_fields=["source"])
    page = client_for(alice).get(job.get_absolute_url()).content.decode()
    assert ">Follow</button>" in page


def test_another_organizations_job_is_404(client_for, job, charlie, globex):
    for action in ("follow", "unfollow"):
        assert client_for(charlie).post(follow_url(job, action)).status_code == 404
    assert not JobFollow.objects.exists()


def test_a_follow_costs_the_same_however_many_follow(
    client_for, job, bob, vera, adam, django_assert_num_queries
):
    c = client_for(bob)
    c.post(follow_url(job), headers={"HX-Request": "true"})
    with django_assert_num_queries(6) as few:
        c.post(follow_url(job), headers={"HX-Request": "true"})
    JobFollow.objects.create(job=job, user=vera)
    JobFollow.objects.create(job=job, user=adam)
    with django_assert_num_queries(len(few)):
        c.post(follow_url(job), headers={"HX-Request": "true"})
