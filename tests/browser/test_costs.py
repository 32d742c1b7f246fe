"""The cost pages in a real browser: from the overview, a project's figure leads to its page and
to the job history filtered to exactly the jobs behind the figure."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from pixxel_dashboard.costs import rollups
from pixxel_dashboard.jobs.models import Job, Status
from tests.plugins.browser import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def spending(team):
    """Farmland: three jobs this month (now), one last month; Coast: one job; one imported job
    without a project or submitter."""
    bob = team.people["bob"]
    # All three now, not minutes apart: minutes before a month's first 00:03 are last month.
    this_month = [
        team.job(submitted_by=bob, cost=Decimal("2.50"), estimated_cost=Decimal(2))
        for _ in range(3)
    ]
    start = timezone.localtime().replace(day=1, hour=12, minute=0, second=0, microsecond=0)
    older = team.job(submitted_by=bob, cost=Decimal("9"))
    Job.objects.filter(pk=older.pk).update(created_at=start - timedelta(days=3))
    team.job(workflow=team.shore, submitted_by=bob, cost=Decimal("1"), status=Status.FAILED)
    loose = team.job(project=None, submitted_by=None, cost=Decimal("4"))
    rollups.rebuild(team.org)
    return {"this_month": this_month, "loose": loose}


def history_rows(page: Page) -> list[str]:
    return page.locator("#history-results tbody tr[id^='job-row-']").evaluate_all(
        "rows => rows.map(row => row.id.slice('job-row-'.length))"
    )


def test_a_projects_month_figure_drills_into_exactly_its_jobs(
    live_server, page: Page, spending, alice
):
    log_in(page, live_server.url, "alice")
    page.get_by_role("navigation", name="Sections").get_by_role("link", name="Costs").click()
    expect(page.get_by_role("heading", name="Costs", exact=True)).to_be_visible()
    farmland = page.locator("#costs-p-agri")
    expect(farmland.locator("td").first).to_have_text("7.50")

    # Into the project's page, then its current month's figure in the months table.
    farmland.get_by_role("link", name="Farmland").click()
    expect(page.get_by_role("heading", name="Costs of Farmland")).to_be_visible()
    expect(page.get_by_role("img", name="Credits per month, Farmland")).to_be_visible()
    month = timezone.localdate().strftime("%b %Y")
    row = page.locator("table.costs tr", has=page.get_by_role("rowheader", name=month))
    expect(row.locator("td").nth(1)).to_have_text("7.50")
    row.locator("td").first.get_by_role("link").click()

    expect(page.get_by_role("heading", name="Jobs", exact=True)).to_be_visible()
    expected = {job.pixxel_id for job in spending["this_month"]}
    assert set(history_rows(page)) == expected
    expect(page.get_by_label("Project", exact=True)).to_have_value("p-agri")
    expect(page.locator(".history-summary")).to_contain_text("3 jobs match the filters")


def test_the_no_project_rows_figure_drills_into_the_imported_job(
    live_server, page: Page, spending, alice
):
    log_in(page, live_server.url, "alice")
    page.goto(live_server.url + "/o/acme/costs/")
    loose = page.locator("[id='costs-~none']")
    expect(loose.locator("th")).to_have_text("No project")
    loose.locator("td").first.get_by_role("link").click()
    expect(page.get_by_label("Project", exact=True)).to_have_value("~none")
    assert history_rows(page) == [spending["loose"].pixxel_id]
