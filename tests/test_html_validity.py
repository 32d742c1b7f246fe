"""Every page and every htmx fragment is valid HTML, as the Nu HTML Checker (vnu) reads it.

The pages are fetched with Django's test client, filled with real data (jobs running, failed and
finished in the sandbox, a failed submission, form errors); each fragment is wrapped in a minimal
document. All of them go to ONE java run of vnu (its start-up is the slow part). The only errors
allowed are vnu's "attribute not allowed" for htmx's own `hx-*` attributes. A canary document with
known errors goes in the same run: a checker that reports nothing fails the test.

vnu comes from `scripts/ensure-vnu` (run by `make test`); without it the test is skipped, except in
CI (CI=true), where that is a failure.
"""

import json
import os
import re
import subprocess
import uuid
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest
from django.test import override_settings
from django.urls import path as url_path

import pixxel_dashboard.urls as root_urls
from pixxel_dashboard.accounts.models import Invitation
from pixxel_dashboard.costs.budgets import set_budget
from pixxel_dashboard.jobs import catalog
from pixxel_dashboard.jobs.models import Job, Status
from pixxel_dashboard.jobs.sync import sync_job
from pixxel_dashboard.keys import services
from pixxel_dashboard.notifications.unsubscribe import make_token
from pixxel_dashboard.sandbox import ids
from tests.plugins.jobs import age_claim, mark_synced, page_poll_url, poll_url, submit, token
from tests.plugins.pages import costs_in_warning

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_JAR = ROOT / ".cache" / "vnu" / "node_modules" / "vnu-jar" / "build" / "dist" / "vnu.jar"
NO_VNU = (
    "The Nu HTML Checker is not installed: run `bash scripts/ensure-vnu` (make test does), "
    "or set VNU_JAR to a vnu.jar."
)

FRAGMENT_DOCUMENT = (
    "<!doctype html><html lang=en><head><meta charset=utf-8><title>x</title></head><body>\n"
    "{}\n</body></html>\n"
)

# What vnu says about an attribute it does not know, e.g. htmx's hx-get: the one allowed error.
HTMX_ATTRIBUTE = re.compile(
    r"^Attribute “hx-[a-z-]+” not allowed on element “[^”]+” at this point\.$"
)

# A document with errors vnu must report: proof that the run checked something.
CANARY = "canary.html"
CANARY_DOCUMENT = FRAGMENT_DOCUMENT.format(
    '<form action=""></form><time datetime="2026-01-01T10:00:00.123456+00:00">now</time>'
    '<div hx-get="/x">htmx is allowed</div>'
)


def vnu_jar() -> Path | None:
    jar = Path(os.environ.get("VNU_JAR") or DEFAULT_JAR)
    return jar if jar.is_file() else None


@dataclass
class Problem:
    file: str
    line: int | None
    message: str
    extract: str

    def __str__(self) -> str:
        extract = self.extract.replace("\n", "⏎")
        return f"{self.file}:{self.line}: {self.message}\n    {extract}"


def problems(vnu_answer: dict) -> list[Problem]:
    """vnu's errors, less those about htmx's attributes."""
    found = []
    for message in vnu_answer["messages"]:
        if message["type"] not in ("error", "non-document-error"):
            continue
        if HTMX_ATTRIBUTE.match(message.get("message", "")):
            continue
        found.append(
            Problem(
                file=message.get("url", "").rsplit("/", 1)[-1],
                line=message.get("lastLine"),
                message=message.get("message", ""),
                extract=message.get("extract", ""),
            )
        )
    return found


def run_vnu(jar: Path, folder: Path) -> dict:
    """One java run over every .html file of the folder."""
    files = sorted(str(p) for p in folder.glob("*.html"))
    result = subprocess.run(
        # Short-lived JVM: C1 only and the serial collector start fastest; vnu wants a deep stack.
        ["java", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-Xss8m", "-jar", str(jar)]
        + ["--format", "json", "--errors-only", "--stdout", *files],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.stdout.strip(), f"vnu said nothing (exit {result.returncode}): {result.stderr}"
    return json.loads(result.stdout)


# --- the filter, checked without java ----------------------------------------------------------


def test_only_vnus_complaints_about_hx_attributes_are_allowed():
    def error(text):
        return {"type": "error", "url": "file:/t/a.html", "lastLine": 1, "message": text}

    answer = {
        "messages": [
            error("Attribute “hx-get” not allowed on element “div” at this point."),
            error("Attribute “hx-swap-oob” not allowed on element “tr” at this point."),
            error("Attribute “data-hx” not allowed on element “div” at this point."),
            error("Attribute “hx-get” not allowed on element “div” at this point. Also: x"),
            error("Bad value “” for attribute “action” on element “form”: Must be non-empty."),
            error("Element “hx-get” not allowed as child of element “body” in this context."),
            {"type": "info", "message": "Trailing slash on void elements has no effect."},
        ]
    }
    assert [p.message for p in problems(answer)] == [
        "Attribute “data-hx” not allowed on element “div” at this point.",
        "Attribute “hx-get” not allowed on element “div” at this point. Also: x",
        "Bad value “” for attribute “action” on element “form”: Must be non-empty.",
        "Element “hx-get” not allowed as child of element “body” in this context.",
    ]


# --- every page and fragment -------------------------------------------------------------------


class Pages:
    """Fetches pages and fragments with the test client; keeps each as a document to check."""

    def __init__(self, client):
        self.client = client
        self.documents: dict[str, str] = {}

    def _keep(self, name: str, response, status: int, fragment: bool) -> str:
        assert response.status_code == status, (name, response.status_code)
        body = response.content.decode()
        if fragment:
            assert "<html" not in body, f"{name}: a fragment, yet a whole page"
            body = FRAGMENT_DOCUMENT.format(body)
        assert name + ".html" not in self.documents, name
        self.documents[name + ".html"] = body
        return response.content.decode()

    def page(self, name: str, url: str, status: int = 200, **kwargs) -> str:
        return self._keep(name, self.client.get(url, **kwargs), status, fragment=False)

    def posted(self, name: str, url: str, data: dict, status: int) -> str:
        return self._keep(name, self.client.post(url, data), status, fragment=False)

    def followed(self, name: str, url: str, data: dict) -> str:
        """A POST that redirects, and the page it lands on (with its message)."""
        return self._keep(name, self.client.post(url, data, follow=True), 200, fragment=False)

    def fragment(self, name: str, url: str, status: int = 200, data: dict | None = None) -> str:
        headers = {"HX-Request": "true"}
        if data is None:
            response = self.client.get(url, headers=headers)
        else:
            response = self.client.post(url, data, headers=headers)
        return self._keep(name, response, status, fragment=True)


def boom(request):
    raise RuntimeError("boom")


def collect(pages: Pages, client, acme, alice, vera, sandbox, settings) -> None:
    """Visit everything, in an order that shows each state: empty first, then filled."""
    # Anonymous.
    pages.page("login", "/accounts/login/")
    pages.posted("login-error", "/accounts/login/", {"username": "x", "password": "y"}, 200)
    pages.page("signup", "/accounts/signup/")
    pages.posted("signup-errors", "/accounts/signup/", {"username": ""}, 200)
    pages.page("password-reset", "/accounts/password_reset/")
    pages.page("password-reset-done", "/accounts/password_reset/done/")
    pages.page("password-reset-bad-link", "/accounts/reset/x/y-z/")
    pages.page("verify-email-bad-link", "/accounts/verify/x/y-z/", status=410)
    pages.page("invitation-unknown", "/invitations/no-such-token/", status=410)
    _, invitation = Invitation.issue(acme, "new@example.com", "member", alice)
    pages.page("invitation", f"/invitations/{invitation}/")
    unsubscribe = f"/notifications/unsubscribe/{make_token(alice.pk, acme.pk, 'job.failed')}/"
    pages.page("unsubscribe", unsubscribe)
    pages.page("unsubscribe-invalid-link", "/notifications/unsubscribe/nonsense/", status=400)
    pages.posted("unsubscribe-done", unsubscribe, {}, 200)

    client.force_login(alice)
    pages.page("jobs-empty-no-key", "/o/acme/jobs/")
    pages.page("keys-empty", "/o/acme/settings/keys/")
    services.add_key(acme, alice, "Sandbox", sandbox.new_key())
    pages.page("jobs-empty", "/o/acme/jobs/")
    pages.page("create-organization", "/orgs/new/")
    pages.page("password-change", "/accounts/password_change/")
    pages.page("password-change-done", "/accounts/password_change/done/")
    pages.page("members", "/o/acme/settings/members/")
    pages.posted("members-invite-error", "/o/acme/settings/members/invite/", {"email": "x"}, 400)
    pages.page("organization-settings", "/o/acme/settings/organization/")
    pages.page("notification-settings", "/accounts/profile/")
    pages.posted("notification-settings-error", "/accounts/profile/", {"org-acme": "x"}, 400)
    pages.followed("notification-settings-saved", "/accounts/profile/", {"org-acme": "all"})

    # The submit form, its fragments and its errors (a failed submission for the history, too).
    new = "/o/acme/jobs/new/"
    pages.page("submit", new)
    chosen = f"?project={ids.PROJECT_COASTAL}&workflow={ids.WF_VALIDATION}"
    pages.page("submit-preflight", new + chosen)
    pages.fragment("submit-workflow-options", f"{new}workflows/?project={ids.PROJECT_ARCHIVE}")
    pages.fragment(
        "submit-workflow-search", f"{new}workflows/?project={ids.PROJECT_ARCHIVE}&q=survey+11"
    )
    pages.fragment("submit-preflight-panel", f"{new}preflight/{chosen}")
    pages.posted("submit-missing-choices", new, {"token": uuid.uuid4()}, 400)
    confirm = {"project": ids.PROJECT_COASTAL, "workflow": ids.WF_VALIDATION}
    pages.posted("submit-confirm", new, {**confirm, "token": uuid.uuid4()}, 400)
    pages.fragment("submit-confirm-panel", new, 400, {**confirm, "token": uuid.uuid4()})
    pages.fragment("submit-refresh", new, data={**confirm, "action": "refresh"})
    refused = {"project_id": ids.PROJECT_AGRI, "workflow_id": "no-such-workflow"}
    pages.posted("submit-refused", new, {**refused, "token": uuid.uuid4()}, 400)
    # The project's budget beside the estimate: within it, and crossed (the confirmation asked).
    agri = catalog.ensure_project(acme, ids.PROJECT_AGRI, "Agricultural Health")
    set_budget(acme, agri, Decimal("1000"), alice)
    linear = f"?project={ids.PROJECT_AGRI}&workflow={ids.WF_LINEAR}"
    pages.fragment("submit-within-budget-panel", f"{new}preflight/{linear}")
    set_budget(acme, agri, Decimal("100"), alice)
    pages.page("submit-over-budget", new + linear)
    over = {"project": ids.PROJECT_AGRI, "workflow": ids.WF_LINEAR}
    pages.posted("submit-over-budget-confirm", new, {**over, "token": uuid.uuid4()}, 400)
    pages.fragment("submit-over-budget-confirm-panel", new, 400, {**over, "token": uuid.uuid4()})
    set_budget(acme, agri, None, alice)

    # Jobs: failed, rejected (validation errors) and finished ones, then running ones.
    sandbox.set_speed(0)
    pixxel = services.client_for_organization(acme)
    with pixxel[0]:
        failed = submit(acme, alice, pixxel, ids.WF_FAILING, ids.PROJECT_URBAN)
        rejected = submit(acme, alice, pixxel, ids.WF_VALIDATION, ids.PROJECT_COASTAL)
        finished = submit(acme, alice, pixxel)
        sandbox.advance(900)
        running = submit(acme, alice, pixxel)
        fanout = submit(acme, alice, pixxel, ids.WF_FANOUT, ids.PROJECT_COASTAL)
    for job in (failed, rejected, finished):
        assert sync_job(job, force=True)
    sandbox.advance(20)
    for job in (running, fanout):
        assert sync_job(job, force=True)
    running.refresh_from_db()
    assert (failed.status, finished.status, running.status) == ("failed", "succeeded", "running")

    jobs = "/o/acme/jobs/"
    history = pages.page("jobs", jobs)
    pages.page("jobs-filtered", jobs + "?status=failed&status=running&sort=-status")
    pages.page("jobs-search", jobs + f"?q={ids.WF_LINEAR[:8]}&by=alice")
    pages.page("jobs-no-match", jobs + "?q=nothing-like-this")
    pages.page("jobs-failed-submissions", jobs + "?show=failed")
    pages.fragment("jobs-results", jobs + "?status=running")
    pages.followed("jobs-message", jobs + "import/", {"workflow_id": ""})
    live = re.search(r'<div id="history-live"[^>]* hx-get="([^"]+)"', history)
    assert live, "the history polls its running rows"
    Job.objects.filter(pk=running.pk).update(progress=60, version=running.version + 1)
    pages.fragment("jobs-live-rows", live.group(1).replace("&amp;", "&"))
    Job.objects.filter(pk=running.pk).update(progress=running.progress, version=running.version)

    # Someone else's job (imported): the Follow control, followed without and with JavaScript.
    Job.objects.filter(pk=rejected.pk).update(source="imported", submitted_by=None)
    pages.fragment("job-follow-fragment", rejected.get_absolute_url() + "follow/", data={})
    pages.followed("job-unfollowed", rejected.get_absolute_url() + "unfollow/", {})
    for name, job in (("failed", failed), ("rejected", rejected), ("finished", finished)):
        pages.page(f"job-{name}", job.get_absolute_url())
    pages.page("job-fanout", fanout.get_absolute_url())
    pages.page("job-fanout-page-3", fanout.get_absolute_url() + "?p=3&log_q=output")
    mark_synced(running)
    page = pages.page("job-running", running.get_absolute_url())
    sandbox.advance(20)
    age_claim(running)
    pages.fragment("job-poll-changed-rows", page_poll_url(page))
    settings.PIXXEL_MAX_RETRIES = 0
    age_claim(running)
    sandbox.inject("500", method="GET", times=1)
    assert "Pixxel unreachable" in pages.page("job-pixxel-unreachable", running.get_absolute_url())
    running.refresh_from_db()
    pages.fragment("job-poll-all-rows", poll_url(running, v=token(running) + "0", s="running"))
    old = token(running)
    sandbox.advance(900)
    assert sync_job(running, force=True)
    pages.fragment("job-poll-final", poll_url(running, v=old, s="running"), status=286)
    running.refresh_from_db()
    pages.fragment("job-poll-ended", poll_url(running, v=token(running), s="succeeded"), 286)

    # The cost pages: a project whose budget is in warning, the jobs without a project, a form error.
    coastal = costs_in_warning(acme, ids.PROJECT_COASTAL, [finished, fanout])
    pages.page("costs", "/o/acme/costs/")
    pages.page(
        "costs-custom-sorted", "/o/acme/costs/?range=custom&from=2020-01-01&to=x&sort=budget"
    )
    pages.page("project-costs", f"/o/acme/costs/{coastal.pixxel_id}/")
    pages.page("costs-no-project", "/o/acme/costs/~none/?range=year")
    pages.posted(
        "project-budget-error",
        f"/o/acme/costs/{coastal.pixxel_id}/budget/",
        {"monthly_credits": "abc", "action": "set"},
        400,
    )
    pages.page("jobs-no-project", jobs + "?project=~none&by=~none")

    task = finished.tasks.order_by("position").first()
    task_url = finished.get_absolute_url() + f"tasks/{task.pixxel_id}/"
    pages.page("task", task_url)
    pages.fragment("task-fragment", task_url)
    failed_task = failed.tasks.get(status=Status.FAILED)
    pages.fragment(
        "task-failed-fragment", failed.get_absolute_url() + f"tasks/{failed_task.pixxel_id}/"
    )

    pages.page("keys", "/o/acme/settings/keys/")
    key = acme.api_keys.get(revoked_at=None)
    pages.fragment("keys-test-result", f"/o/acme/settings/keys/{key.id}/test/", data={})
    pages.page("keys-revoke", f"/o/acme/settings/keys/{key.id}/revoke/")
    services.revoke_key(key, alice)
    pages.page("jobs-key-revoked", jobs)
    pages.page("submit-key-revoked", new)
    age_claim(fanout)
    assert "has no Pixxel API key" in pages.page("job-key-revoked", fanout.get_absolute_url())

    # Error pages, as production shows them.
    settings.DEBUG = False
    pages.page("404", "/o/acme/nothing-here/", status=404)
    client.force_login(vera)
    pages.posted("403", "/o/acme/settings/members/invite/", {"email": "x@example.com"}, 403)
    urls = type("U", (), {"urlpatterns": [url_path("boom/", boom), *root_urls.urlpatterns]})
    client.raise_request_exception = False
    with override_settings(ROOT_URLCONF=urls):
        pages.page("500", "/boom/", status=500)


@pytest.mark.django_db
def test_every_page_and_fragment_is_valid_html(
    client, acme, alice, vera, sandbox, settings, tmp_path
):
    jar = vnu_jar()
    if jar is None:
        if os.environ.get("CI") == "true":
            pytest.fail(NO_VNU)
        pytest.skip(NO_VNU)

    pages = Pages(client)
    collect(pages, client, acme, alice, vera, sandbox, settings)
    for name, document in pages.documents.items():
        (tmp_path / name).write_text(document)
    (tmp_path / CANARY).write_text(CANARY_DOCUMENT)

    found = problems(run_vnu(jar, tmp_path))

    canary = [p.message for p in found if p.file == CANARY]
    assert [m.split(" for attribute ")[1][:18] for m in canary] == [
        "“action” on elemen",
        "“datetime” on elem",
    ], f"vnu did not report the canary's known errors (and only those): {canary}"
    found = [p for p in found if p.file != CANARY]
    checked = {p.file for p in found} | set(pages.documents)
    assert not found, (
        f"{len(found)} HTML errors in {len({p.file for p in found})} of {len(checked)} documents "
        f"(kept in {tmp_path}):\n" + "\n".join(map(str, found))
    )
