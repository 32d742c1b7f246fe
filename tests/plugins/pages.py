"""Every page of the product, in the states worth checking, for suites that visit them all (axe-core,
phone width, HTML validity...): `every_page` builds the data and returns the visits in order.

A visit is a URL, optionally followed by what a person does there (open the pre-flight panel, submit a
form with an error). Visits marked `anonymous` come first, before the browser logs in as alice.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

import pytest
from django.urls import path
from playwright.sync_api import Page, expect

from pixxel_dashboard.accounts.models import Membership, Organization, Role
from pixxel_dashboard.costs import rollups
from pixxel_dashboard.costs.budgets import set_budget
from pixxel_dashboard.costs.models import ProjectBudget
from pixxel_dashboard.costs.month import month_position
from pixxel_dashboard.jobs import catalog
from pixxel_dashboard.jobs.models import FailureKind, Job, Outcome, Project, Source, Submission
from pixxel_dashboard.notifications.models import JobFollow
from pixxel_dashboard.notifications.unsubscribe import make_token
from pixxel_dashboard.sandbox import ids
from tests.plugins.browser import log_in
from tests.plugins.jobs import finish, submit
from tests.plugins.webhooks import ALL_EVENTS

# The fan-out workflow: scene fetch, tiling, 52 tiles, mosaic, export.
FANOUT_TASKS = 56


@dataclass(frozen=True)
class Visit:
    name: str
    url: str
    then: Callable[[Page], None] | None = None
    anonymous: bool = False
    status: int = 200


@dataclass(frozen=True)
class World:
    """What `every_page` made, for tests that look closer at one page."""

    visits: list[Visit]
    running: Job
    failed: Job
    fanout: Job


def open_page(page: Page, base: str, visit: Visit) -> None:
    response = page.goto(base + visit.url)
    assert response is not None and response.status == visit.status, (
        f"{visit.name}: {response and response.status}"
    )
    if visit.then:
        visit.then(page)
    # Until htmx (on the pages that load it) has settled what the page asked for on load.
    page.wait_for_function(
        "() => !window.htmx || !document.querySelector("
        "'.htmx-request, .htmx-swapping, .htmx-settling, .htmx-added')"
    )


def visit_all(
    pages: list[Page], base: str, visits: list[Visit], check: Callable[[Visit], None]
) -> None:
    """Open each page in each browser page given (the anonymous ones first, then the rest as
    alice), and `check` each once it is open in all of them."""
    for page in pages:
        page.context.clear_cookies()
    anonymous = [v for v in visits if v.anonymous]
    for visit in anonymous:
        for page in pages:
            open_page(page, base, visit)
        check(visit)
    for page in pages:
        log_in(page, base, "alice")
    for visit in [v for v in visits if not v.anonymous]:
        for page in pages:
            open_page(page, base, visit)
        check(visit)


def _submit_without_confirming(page: Page) -> None:
    """The pre-flight lists validation errors; submitting without confirming them is refused."""
    expect(page.locator("#preflight")).to_contain_text("validation error")
    page.get_by_role("button", name="Submit job").click()
    expect(page.locator("#preflight .errorlist", has_text="validation error")).to_be_visible()


def _submit_over_the_budget_without_confirming(page: Page) -> None:
    """The estimate would cross the project's budget; submitting without confirming is refused."""
    expect(page.locator("#preflight")).to_contain_text("over its budget")
    page.get_by_role("button", name="Submit job").click()
    expect(page.locator("#preflight .budget-check .errorlist")).to_be_visible()


def costs_in_warning(organization, project_pixxel_id: str, jobs: list[Job]) -> Project:
    """File `jobs` under the project and give it a budget it has used 90 % of (warning state)."""
    project = catalog.ensure_project(organization, project_pixxel_id, "Coastal monitoring")
    Job.objects.filter(pk__in=[job.pk for job in jobs]).update(project=project)
    rollups.rebuild(organization)
    spent = month_position(organization, project.pk).spent
    assert spent, "the project's jobs cost something this month"
    ProjectBudget.objects.create(
        organization=organization,
        project=project,
        monthly_credits=(spent / Decimal("0.9")).quantize(Decimal("0.01")),
    )
    assert month_position(organization, project.pk).state == "warning"
    return project


def _set_a_bad_budget(page: Page) -> None:
    page.get_by_label("Monthly budget (credits)").fill("-5")
    page.get_by_role("button", name="Set budget").click()
    expect(page.locator("#budget-error")).to_be_visible()


def _unsubscribe(page: Page) -> None:
    page.get_by_role("button", name="Unsubscribe").click()
    expect(page.get_by_role("status")).to_contain_text("you get no job emails")


def _add_a_webhook(page: Page) -> None:
    """Add one: the answer shows its secret, once."""
    page.get_by_label("URL").fill("https://hooks.example.com/new")
    page.get_by_label("Job failed").check()
    page.get_by_role("button", name="Add webhook").click()
    expect(page.get_by_role("textbox", name="Signing secret")).to_be_visible()


def _add_a_plain_http_webhook(page: Page) -> None:
    page.get_by_label("URL").fill("http://hooks.example.com/plain")
    page.get_by_role("button", name="Add webhook").click()
    expect(page.locator("#error-summary")).to_be_visible()


def webhook_with_history(organization, user):
    """A webhook with a delivered event and a failed one (attempts with an answer's excerpt)."""
    from pixxel_dashboard.webhooks import delivery, services
    from pixxel_dashboard.webhooks.models import Delivery

    endpoint, _ = services.create_endpoint(
        organization, user, "https://hooks.example.com/pixxel/events", "CI relay", ALL_EVENTS
    )
    now = delivery.clock.now()
    ok, refused = (Delivery.objects.get(pk=delivery.send_test_event(endpoint)) for _ in range(2))
    delivery._record(ok, now, delivery.Outcome(status_code=200, latency_ms=84, excerpt="ok"), False)
    for _ in range(2):
        delivery._record(
            refused,
            now,
            delivery.Outcome(status_code=503, latency_ms=5003, excerpt="upstream busy " * 30),
            False,
        )
    delivery._record(refused, now, delivery.Outcome(error="No answer within 5 seconds."), True)
    return endpoint


def _boom(request):
    raise RuntimeError("a deliberate failure, for the 500 page")


@pytest.fixture
def every_page(acme, alice, pixxel, sandbox, settings) -> World:
    """Acme with a finished fan-out job, a failed job, a running job and a failed submission; an
    empty organization where alice is only a viewer (an empty history, and a 403); `/boom/`, a 500."""
    import pixxel_dashboard.urls as root

    settings.ROOT_URLCONF = type(
        "WithBoom", (), {"urlpatterns": [path("boom/", _boom), *root.urlpatterns]}
    )
    empty = Organization.objects.create(name="Quiet Fields", slug="quiet")
    Membership.objects.create(user=alice, organization=empty, role=Role.VIEWER)

    fanout = submit(acme, alice, pixxel, workflow=ids.WF_FANOUT, project=ids.PROJECT_COASTAL)
    failed = submit(acme, alice, pixxel, workflow=ids.WF_FAILING, project=ids.PROJECT_URBAN)
    followed = submit(acme, alice, pixxel)
    finish(fanout, sandbox, 3600)
    finish(failed, sandbox, 0)
    finish(followed, sandbox, 0)
    # A job imported from elsewhere that alice follows (its page shows Unfollow).
    Job.objects.filter(pk=followed.pk).update(source=Source.IMPORTED, submitted_by=None)
    JobFollow.objects.create(job=followed, user=alice)
    running = submit(acme, alice, pixxel)
    sandbox.set_speed(0)  # stays running while the suites look at it
    assert fanout.status == "succeeded" and fanout.tasks.count() == FANOUT_TASKS
    assert failed.status == "failed", failed.status
    Submission.objects.create(
        organization=acme,
        user=alice,
        project_pixxel_id=ids.PROJECT_AGRI,
        workflow_pixxel_id=ids.WF_LINEAR,
        outcome=Outcome.FAILED,
        error_kind=FailureKind.SERVER_ERROR,
        http_status=502,
        user_message="Pixxel answered with an error (502). Nothing was created; try again.",
    )
    coastal = costs_in_warning(acme, ids.PROJECT_COASTAL, [fanout])
    costs = f"/o/acme/costs/{coastal.pixxel_id}/"
    task = fanout.tasks.get(name="Tiling")
    # A budget the linear workflow's estimate (120 credits) would cross.
    agri = catalog.ensure_project(acme, ids.PROJECT_AGRI, "Agricultural Health")
    set_budget(acme, agri, Decimal("100"), alice)
    over_budget = f"/o/acme/jobs/new/?project={ids.PROJECT_AGRI}&workflow={ids.WF_LINEAR}"
    preflight = f"/o/acme/jobs/new/?project={ids.PROJECT_COASTAL}&workflow={ids.WF_VALIDATION}"
    unsubscribe = f"/notifications/unsubscribe/{make_token(alice.pk, acme.pk, 'job.failed')}/"
    webhook = f"/o/acme/settings/webhooks/{webhook_with_history(acme, alice).pk}/"
    visits = [
        Visit("login", "/accounts/login/", anonymous=True),
        Visit("sign-up", "/accounts/signup/", anonymous=True),
        Visit("unsubscribe", unsubscribe, anonymous=True),
        Visit("unsubscribe, done", unsubscribe, then=_unsubscribe, anonymous=True),
        Visit(
            "unsubscribe, link not valid",
            "/notifications/unsubscribe/nonsense/",
            anonymous=True,
            status=400,
        ),
        Visit("jobs, empty", "/o/quiet/jobs/"),
        Visit("jobs", "/o/acme/jobs/"),
        Visit("jobs, filtered", "/o/acme/jobs/?status=failed&q=Land"),
        Visit("jobs, no project, over estimate", "/o/acme/jobs/?project=~none&by=~none&over=1"),
        Visit("failed submissions", "/o/acme/jobs/?show=failed"),
        Visit("submit", "/o/acme/jobs/new/"),
        Visit("submit, pre-flight open", preflight),
        Visit("submit, form error", preflight, then=_submit_without_confirming),
        Visit(
            "submit, over the budget",
            over_budget,
            then=_submit_over_the_budget_without_confirming,
        ),
        Visit("running job", running.get_absolute_url()),
        Visit("failed job", failed.get_absolute_url()),
        Visit(f"finished {FANOUT_TASKS}-task job", fanout.get_absolute_url()),
        Visit("followed imported job", followed.get_absolute_url()),
        Visit("task", f"{fanout.get_absolute_url()}tasks/{task.pixxel_id}/"),
        Visit("costs, a budget in warning", "/o/acme/costs/"),
        Visit("costs, last month", "/o/acme/costs/?range=last-month&sort=project"),
        Visit("project costs", costs),
        Visit("project costs, budget error", costs, then=_set_a_bad_budget),
        Visit("costs without a project", "/o/acme/costs/~none/?range=90-days"),
        Visit("keys", "/o/acme/settings/keys/"),
        Visit("team", "/o/acme/settings/members/"),
        Visit("organization settings", "/o/acme/settings/organization/"),
        Visit("your notifications", "/accounts/profile/"),
        Visit("webhooks", "/o/acme/settings/webhooks/"),
        Visit("webhooks, form error", "/o/acme/settings/webhooks/", then=_add_a_plain_http_webhook),
        Visit("webhook added, its secret", "/o/acme/settings/webhooks/", then=_add_a_webhook),
        Visit("webhook with deliveries", webhook),
        Visit("delete webhook", webhook + "delete/"),
        Visit("403", "/o/quiet/jobs/new/", status=403),
        Visit("404", "/o/acme/nothing-here/", status=404),
        Visit("500", "/boom/", status=500),
    ]
    return World(visits, running=running, failed=failed, fanout=fanout)
