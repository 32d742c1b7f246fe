"""Job emails in a real browser: following a teammate's job (htmx, and without JavaScript), and
choosing one's job emails on the notification settings page."""

import pytest
from playwright.sync_api import Browser, Page, expect

from pixxel_dashboard.accounts.models import Membership
from pixxel_dashboard.notifications import preferences
from pixxel_dashboard.notifications.models import JobFollow
from tests.plugins.browser import log_in, wait_for_htmx
from tests.plugins.jobs import mark_synced, submit

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def alices_job(acme, alice, bob, pixxel, sandbox):
    job = submit(acme, alice, pixxel)
    sandbox.set_speed(0)
    mark_synced(job)
    return job


def test_a_teammate_follows_and_unfollows_a_job_in_place(live_server, page: Page, alices_job, bob):
    log_in(page, live_server.url, "bob")
    page.goto(live_server.url + alices_job.get_absolute_url())
    page.evaluate("window.notReloaded = true")
    page.get_by_role("button", name="Follow").click()
    control = page.locator("#job-follow")
    expect(control).to_contain_text("You follow this job")
    expect(page.get_by_role("button", name="Unfollow")).to_be_focused()  # focus kept on the control
    assert page.evaluate("window.notReloaded") is True  # swapped in place, not a new page
    assert JobFollow.objects.filter(job=alices_job, user=bob).exists()

    page.reload()
    expect(page.locator("#job-follow")).to_contain_text("You follow this job")
    page.get_by_role("button", name="Unfollow").click()
    wait_for_htmx(page)
    expect(page.get_by_role("button", name="Follow")).to_be_visible()
    assert not JobFollow.objects.filter(job=alices_job, user=bob).exists()


def test_following_works_without_javascript(live_server, browser: Browser, alices_job, bob):
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        log_in(page, live_server.url, "bob")
        page.goto(live_server.url + alices_job.get_absolute_url())
        page.get_by_role("button", name="Follow").click()
        expect(page.locator("#messages")).to_contain_text("You follow this job")
        expect(page.get_by_role("button", name="Unfollow")).to_be_visible()
        assert JobFollow.objects.filter(job=alices_job, user=bob).exists()
    finally:
        context.close()


def test_a_member_chooses_their_job_emails(live_server, page: Page, acme, alice, bob):
    log_in(page, live_server.url, "bob")
    page.goto(live_server.url + "/o/acme/jobs/")
    page.locator(".user-menu summary").click()
    page.get_by_role("link", name="Your notifications").click()
    expect(page.get_by_role("heading", name="Your notifications")).to_be_visible()
    group = page.get_by_role("group", name="Acme Imaging")
    expect(group.get_by_label("The organization's default (only failures)")).to_be_checked()
    group.get_by_label("All my jobs").check()
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#messages")).to_contain_text("Saved your job emails for Acme Imaging.")
    expect(
        page.get_by_role("group", name="Acme Imaging").get_by_label("All my jobs")
    ).to_be_checked()
    membership = Membership.objects.select_related("organization").get(user=bob)
    assert preferences.effective(membership) == "all"


def test_an_owner_sets_the_default_on_the_organization_page(live_server, page: Page, acme, alice):
    log_in(page, live_server.url, "alice")
    page.goto(live_server.url + "/o/acme/settings/organization/")
    section = page.locator("section", has=page.get_by_role("heading", name="Job emails"))
    section.get_by_label("None").check()
    section.get_by_role("button", name="Save the default").click()
    expect(page.locator("#messages")).to_contain_text("Members who have not chosen now get: none.")
    assert preferences.organization_default(acme) == "none"
