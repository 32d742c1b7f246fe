"""The cost pages: the overview, one project's page, the budget form and the ledger CSV.

The figures are checked against totals worked out by hand on one fixed dataset, in New York time
(a job at 23:30 on the last day of February is a March job in UTC), with the clock fixed at
2026-03-15 12:00 local so "this month" and the forecast are known numbers.
"""

import csv
import io
import re
from datetime import UTC, date, datetime
from decimal import Decimal
from html import unescape

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from pixxel_dashboard.accounts.models import AuditEvent
from pixxel_dashboard.costs import figures, rollups
from pixxel_dashboard.costs.models import ProjectBudget
from pixxel_dashboard.jobs.models import Job, Project, Source, Status, Workflow
from tests.plugins.jobs import finish, submit

OVERVIEW = "/o/acme/costs/"
AGRI = "/o/acme/costs/p-agri/"
NO_PROJECT = "/o/acme/costs/~none/"
LEDGER = "/o/acme/costs/ledger.csv"
NOW = datetime(2026, 3, 15, 16, 0, tzinfo=UTC)  # 12:00 in New York (EDT since 8 March)


def at(text: str) -> datetime:
    """A UTC moment: "2026-03-01 04:30"."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.fixture
def clock(monkeypatch):
    monkeypatch.setattr(timezone, "now", lambda: NOW)
    return NOW


class Dataset:
    def __init__(self, team):
        self.team = team
        org = team.org
        org.time_zone = "America/New_York"
        org.save(update_fields=["time_zone"])
        alice, bob = team.people["alice"], team.people["bob"]
        self.bare = Project.objects.create(organization=org, pixxel_id="p-bare", name="")
        # Farmland: 23:30 on 28 Feb in New York is 04:30 on 1 March in UTC: a February job.
        self.a = self.job(at("2026-03-01 04:30"), by=alice, cost="10.00", estimate="8.00")
        self.b = self.job(at("2026-03-01 05:30"), by=bob, cost="20.50", estimate="20.00")
        self.c = self.job(
            at("2026-03-10 15:00"), by=bob, cost="3.25", estimate="12.00", status=Status.FAILED
        )
        self.d = self.job(
            at("2026-03-14 15:00"), by=alice, cost="4.00", estimate="10.00", status=Status.RUNNING
        )
        # Coast, a project without a name, and an imported job without a project.
        self.e = self.job(
            at("2026-03-02 15:00"), by=alice, cost="7.00", estimate="7.00", workflow=team.shore
        )
        self.g = self.job(at("2026-03-04 15:00"), by=bob, cost="1.00", project=self.bare)
        self.f = self.job(
            at("2026-03-03 15:00"),
            by=None,
            cost="5.00",
            workflow=team.shore,
            project=None,
            source=Source.IMPORTED,
        )
        rollups.rebuild(org)

    def job(self, created, by, cost, estimate=None, status=Status.SUCCEEDED, **values):
        job = self.team.job(
            submitted_by=by,
            cost=Decimal(cost),
            estimated_cost=None if estimate is None else Decimal(estimate),
            status=status,
            time_taken_seconds=60 if status != Status.RUNNING else None,
            **values,
        )
        Job.objects.filter(pk=job.pk).update(created_at=created)
        return job


@pytest.fixture
def data(team, clock):
    return Dataset(team)


def page(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def row_of(body: str, slug: str) -> str:
    found = re.search(rf'<tr id="costs-{re.escape(slug)}">(.*?)</tr>', body, re.S)
    assert found, f"no row {slug}"
    return found.group(1)


def cells(row: str) -> list[str]:
    """The row's cells as text, whitespace collapsed."""
    found = re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)
    return [" ".join(unescape(re.sub(r"<[^>]+>", " ", c)).split()) for c in found]


def links_of(row: str) -> list[str]:
    return [unescape(href) for href in re.findall(r'href="([^"]+)"', row)]


def job_ids(body: str) -> set[str]:
    return set(re.findall(r'id="job-row-([^"]+)"', body))


# --- the overview ---------------------------------------------------------------------------


def test_the_overview_counts_a_late_evening_job_in_its_local_month(client_for, alice, data):
    body = page(client_for(alice), OVERVIEW)
    # Project | this month | last month | in range (this month) | running so far | to come | forecast
    agri = cells(row_of(body, "p-agri"))
    assert agri[0] == "Farmland"
    assert agri[1:4] == ["27.75", "10.00", "27.75"]  # UTC months would say 37.75 and 0.00


def test_the_overview_shows_running_jobs_still_to_come_and_the_forecast(client_for, alice, data):
    agri = cells(row_of(page(client_for(alice), OVERVIEW), "p-agri"))
    # Running: D has cost 4.00 of its 10.00 estimate. Forecast: 27.75 spent + 6.00 to come + the
    # run rate (27.75 over the 14.5 local days since 1 March) × the 16.5 days left = 31.58.
    assert agri[4:7] == ["4.00", "6.00", "65.33"]


def test_the_overview_counts_jobs_by_status_with_the_failure_rate_and_duration(
    client_for, alice, data
):
    agri = cells(row_of(page(client_for(alice), OVERVIEW), "p-agri"))
    assert agri[7] == "✔ 1 succeeded ✖ 1 failed ▶ 1 running … 0 queued"
    assert agri[8] == "50 %"  # the failed job of two finished (its partial cost counted above)
    assert agri[9] == "1m0s"


def test_jobs_without_a_project_and_unnamed_projects_have_rows(client_for, alice, data):
    body = page(client_for(alice), OVERVIEW)
    assert cells(row_of(body, "~none"))[:4] == ["No project", "5.00", "0.00", "5.00"]
    assert cells(row_of(body, "p-bare"))[:2] == ["p-bare", "1.00"]
    assert cells(row_of(body, "p-coast"))[:2] == ["Coast", "7.00"]


def test_the_totals_row_adds_every_project(client_for, alice, data):
    total = cells(row_of(page(client_for(alice), OVERVIEW), "total"))
    assert total[:5] == ["All projects", "40.75", "10.00", "40.75", "4.00"]


def test_the_range_control_chooses_the_range_column(client_for, alice, data):
    client = client_for(alice)
    agri = cells(row_of(page(client, OVERVIEW + "?range=last-month"), "p-agri"))
    assert agri[1:4] == ["27.75", "10.00", "10.00"]
    custom = OVERVIEW + "?range=custom&from=2026-03-01&to=2026-03-09"
    assert cells(row_of(page(client, custom), "p-agri"))[3] == "20.50"


@pytest.mark.parametrize(
    "query",
    [
        "?range=forever",
        "?range=custom&from=yesterday&to=2026-03-01",
        "?range=custom&from=0001-01-01&to=9999-12-31",
        "?sort=nonsense",
        "?range=custom",
    ],
)
def test_bad_range_values_are_dropped_with_a_note(client_for, alice, data, query):
    body = page(client_for(alice), OVERVIEW + query)
    assert 'class="message message-warning"' in body
    assert cells(row_of(body, "p-agri"))[3] == "27.75"  # this month, the default


def test_a_reversed_custom_range_is_swapped(client_for, alice, data):
    body = page(client_for(alice), OVERVIEW + "?range=custom&from=2026-02-28&to=2026-02-01")
    assert "swapped" in body
    assert cells(row_of(body, "p-agri"))[3] == "10.00"


def test_the_range_follows_into_a_project_and_back(client_for, alice, data):
    client = client_for(alice)
    body = page(client, OVERVIEW + "?range=custom&from=2026-02-01&to=2026-02-28")
    project = links_of(row_of(body, "p-agri"))[0]
    assert project == AGRI + "?range=custom&from=2026-02-01&to=2026-02-28"
    body = page(client, project)
    assert '<a href="/o/acme/costs/?range=custom&amp;from=2026-02-01&amp;to=2026-02-28">' in body


def test_the_overview_sorts_by_a_column_on_the_server(client_for, alice, data):
    client = client_for(alice)
    order = re.findall(r'<tr id="costs-([^"]+)">', page(client, OVERVIEW + "?sort=-month"))
    assert order == ["p-agri", "p-coast", "~none", "p-bare", "total"]
    order = re.findall(r'<tr id="costs-([^"]+)">', page(client, OVERVIEW + "?sort=project"))
    assert order == ["p-coast", "p-agri", "~none", "p-bare", "total"]


def test_each_sortable_header_links_to_its_sort_and_marks_the_current_one(client_for, alice, data):
    body = page(client_for(alice), OVERVIEW + "?sort=-last-month")
    headers = dict(re.findall(r'<th scope="col"[^>]*><a href="([^"]+)">([^<]+)</a></th>', body))
    by_label = {label: unescape(url) for url, label in headers.items()}
    assert by_label["Last month"].endswith("sort=last-month")  # a second click flips it
    assert by_label["This month"].endswith("sort=-month")
    assert by_label["Month-end forecast"].endswith("sort=-forecast")
    current = re.findall(r'<th scope="col"[^>]*aria-sort="([a-z]+)"[^>]*><a[^>]*>([^<]+)<', body)
    assert current == [("descending", "Last month")]


def test_a_budget_shows_used_remaining_and_the_warning_state_in_words(client_for, alice, data):
    ProjectBudget.objects.create(
        organization=data.team.org, project=data.team.agri, monthly_credits=Decimal("30.00")
    )
    budget = cells(row_of(page(client_for(alice), OVERVIEW), "p-agri"))[10]
    assert budget.startswith("27.75 of 30.00 used (92 %) ⚠ warning")
    assert "2.25 left · forecast 217 % ✖ forecast over" in budget


def test_a_spent_budget_is_over(client_for, alice, data):
    ProjectBudget.objects.create(
        organization=data.team.org, project=data.team.coast, monthly_credits=Decimal("7.00")
    )
    budget = cells(row_of(page(client_for(alice), OVERVIEW), "p-coast"))[10]
    assert "(100 %) ✖ over budget" in budget


def test_spending_past_the_budget_says_by_how_much_it_is_over(client_for, alice, data):
    ProjectBudget.objects.create(
        organization=data.team.org, project=data.team.agri, monthly_credits=Decimal("20.00")
    )
    client = client_for(alice)
    budget = cells(row_of(page(client, OVERVIEW), "p-agri"))[10]
    assert "7.75 over · forecast" in budget and "-7.75" not in budget
    text = " ".join(re.sub(r"<[^>]+>", " ", page(client, "/o/acme/costs/p-agri/")).split())
    assert "138 % used, 7.75 over ✖ over budget" in unescape(text)


def test_another_organizations_jobs_are_in_none_of_the_figures(
    client_for, alice, charlie, globex, data
):
    """Globex has a project with the same Pixxel id, a budget, an open job and a job without a
    project: none of it reaches Acme's pages or ledger."""
    theirs = Project.objects.create(organization=globex, pixxel_id="p-agri", name="Their farm")
    ProjectBudget.objects.create(organization=globex, project=theirs, monthly_credits=1)
    for project, status in ((theirs, Status.RUNNING), (None, Status.SUCCEEDED)):
        job = Job.objects.create(
            organization=globex,
            pixxel_id=f"globex-{status}",
            workflow_pixxel_id="wf-ndvi",
            project=project,
            status=status,
            cost=Decimal("1000"),
            estimated_cost=Decimal("5000"),
        )
        Job.objects.filter(pk=job.pk).update(created_at=at("2026-03-05 12:00"))
    rollups.rebuild(globex)
    client = client_for(alice)
    body = page(client, OVERVIEW)
    assert cells(row_of(body, "total"))[:5] == ["All projects", "40.75", "10.00", "40.75", "4.00"]
    assert "Their farm" not in body and "no budget" in cells(row_of(body, "p-agri"))[10]
    assert "1,000.00" not in page(client, AGRI) and "1,000.00" not in page(client, NO_PROJECT)
    rows, _ = ledger(client)
    assert not [row for row in rows if row["job_id"].startswith("globex")]


def test_the_page_states_the_forecast_method(client_for, alice, data):
    body = page(client_for(alice), OVERVIEW)
    assert "run rate (spent ÷ days elapsed, at least one) × the days left" in body


# --- drilling down -------------------------------------------------------------------------


def test_every_overview_figure_links_to_exactly_its_jobs(client_for, alice, data):
    client = client_for(alice)
    body = page(client, OVERVIEW)
    this_month, last_month, in_range, running = links_of(row_of(body, "p-agri"))[1:5]
    assert job_ids(page(client, this_month)) == {
        data.b.pixxel_id,
        data.c.pixxel_id,
        data.d.pixxel_id,
    }
    assert job_ids(page(client, last_month)) == {data.a.pixxel_id}
    assert job_ids(page(client, running)) == {data.d.pixxel_id}
    failed = next(link for link in links_of(row_of(body, "p-agri")) if "status=failed" in link)
    assert job_ids(page(client, failed)) == {data.c.pixxel_id}
    nobody = links_of(row_of(body, "~none"))[1]
    assert job_ids(page(client, nobody)) == {data.f.pixxel_id}


def test_a_project_page_figure_links_to_its_jobs(client_for, alice, data):
    client = client_for(alice)
    body = page(client, NO_PROJECT)
    member = re.search(r'<th scope="row"><a href="([^"]+)">Nobody here \(imported\)</a>', body)
    assert job_ids(page(client, unescape(member.group(1)))) == {data.f.pixxel_id}
    body = page(client, AGRI + "?range=last-month")
    feb = re.search(r'<th scope="row">Feb 2026</th><td class="num"><a href="([^"]+)">1</a>', body)
    assert job_ids(page(client, unescape(feb.group(1)))) == {data.a.pixxel_id}


# --- one project ---------------------------------------------------------------------------


def test_the_project_page_charts_twelve_months_with_a_table_of_the_same_numbers(
    client_for, alice, data
):
    body = page(client_for(alice), AGRI)
    chart = re.search(r"<svg .*?</svg>", body, re.S).group(0)
    assert (
        'role="img"' in chart and 'aria-labelledby="months-chart-title months-chart-desc"' in chart
    )
    assert '<title id="months-chart-title">Credits per month, Farmland</title>' in chart
    assert chart.count("<rect") == 12
    assert "style" not in chart
    months = re.findall(r'<th scope="row">(\w{3} \d{4})</th>', body)
    assert months[0] == "Apr 2025" and months[-1] == "Mar 2026" and len(months) == 12
    assert ">10.00</a>" in body and ">27.75</a>" in body
    assert ">27.75</text>" in chart and ">10.00</text>" in chart


def test_the_project_page_splits_the_range_by_workflow_and_member(client_for, alice, data):
    body = page(client_for(alice), AGRI)
    workflow = cells(
        re.search(r'<caption id="workflows-caption">.*?<tbody>(.*?)</tbody>', body, re.S).group(1)
    )
    # NDVI this month: B, C, D; compared (finished, estimate and cost): B 20.00→20.50, C 12.00→3.25.
    assert workflow == ["NDVI mosaic", "3", "27.75", "2", "32.00", "23.75", "-26 %", "0"]
    members = re.search(r'<caption id="members-caption">.*?<tbody>(.*?)</tbody>', body, re.S)
    assert cells(members.group(1)) == ["bob", "2", "23.75", "1", "alice", "1", "4.00", "0"]


def test_estimate_against_actual_flags_jobs_over_by_more_than_20_percent(client_for, alice, data):
    body = page(client_for(alice), AGRI + "?range=last-month")
    expensive = re.search(r'<caption id="expensive-caption">.*?<tbody>(.*?)</tbody>', body, re.S)
    row = cells(expensive.group(1))
    assert row[4:7] == ["8.00", "10.00", "+2.00 ▲ over by > 20 %"]
    workflow = re.search(r'<caption id="workflows-caption">.*?<tbody>(.*?)</tbody>', body, re.S)
    assert cells(workflow.group(1))[6:] == ["+25 % ▲ over estimate", "1"]


def test_the_count_of_jobs_over_their_estimate_links_to_them(client_for, alice, data):
    client = client_for(alice)
    body = page(client, AGRI + "?range=last-month")
    workflow = re.search(r'<caption id="workflows-caption">.*?<tbody>(.*?)</tbody>', body, re.S)
    over = links_of(workflow.group(1))[-1]
    assert "over=1" in over
    assert job_ids(page(client, over)) == {data.a.pixxel_id}


def test_the_most_expensive_jobs_come_first(client_for, alice, data):
    body = page(client_for(alice), AGRI)
    expensive = re.search(r'<caption id="expensive-caption">.*?<tbody>(.*?)</tbody>', body, re.S)
    credits = [cells(row)[5] for row in re.findall(r"<tr>(.*?)</tr>", expensive.group(1), re.S)]
    assert credits == ["20.50", "4.00", "3.25"]


@pytest.mark.parametrize("few", [0, 1000])
def test_the_most_expensive_jobs_are_the_same_whichever_way_they_are_read(
    client_for, alice, data, monkeypatch, few
):
    """A busy range walks the cost index and filters dates; a quiet one reads dates and sorts."""
    monkeypatch.setattr(figures, "FEW_JOBS_IN_RANGE", few)
    body = page(client_for(alice), AGRI)
    expensive = re.search(r'<caption id="expensive-caption">.*?<tbody>(.*?)</tbody>', body, re.S)
    rows = re.findall(r"<tr>(.*?)</tr>", expensive.group(1), re.S)
    assert [cells(row)[5] for row in rows] == ["20.50", "4.00", "3.25"]  # not February's 10.00


@pytest.mark.skipif(connection.vendor != "sqlite", reason="PostgreSQL's planner chooses itself")
def test_on_sqlite_a_busy_range_reads_the_cost_index_from_the_top(acme, data, monkeypatch):
    monkeypatch.setattr(figures, "FEW_JOBS_IN_RANGE", 0)
    cost_range = figures.parse_range({}, date(2026, 3, 15))
    with CaptureQueriesContext(connection) as queries:
        figures._expensive_jobs(acme, data.team.agri, cost_range, jobs_in_range=3)
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN QUERY PLAN " + queries.captured_queries[0]["sql"])
        plan = " ".join(str(row[-1]) for row in cursor.fetchall())
    assert "job_org_project_cost" in plan and "TEMP B-TREE" not in plan, plan


def test_an_unknown_project_is_404(client_for, alice, data):
    assert client_for(alice).get("/o/acme/costs/p-nothing/").status_code == 404


def test_the_figures_move_when_a_job_saved_through_save_job_costs_more(
    client_for, acme, alice, pixxel, sandbox
):
    """Through the real path: a sandbox job submitted and finished, its cost saved by sync."""
    client = client_for(alice)
    job = submit(acme, alice, pixxel)
    slug = job.project.pixxel_id if job.project else "~none"  # the sandbox's project is not listed
    before = cells(row_of(page(client, OVERVIEW), slug))
    assert before[1] == "0.00" and before[5] == "125.00"  # nothing spent, all to come
    finish(job, sandbox)
    job.refresh_from_db()
    assert job.cost
    after = cells(row_of(page(client, OVERVIEW), slug))
    assert after[1] == f"{job.cost:,.2f}" and after[5] == "0.00"


# --- budgets --------------------------------------------------------------------------------


def budget_url(project="p-agri"):
    return f"/o/acme/costs/{project}/budget/"


def test_an_admin_sets_a_budget_and_it_is_audited(client_for, adam, data):
    response = client_for(adam).post(budget_url(), {"monthly_credits": "30", "action": "set"})
    assert response.status_code == 302 and response.url == AGRI
    assert ProjectBudget.objects.get(project=data.team.agri).monthly_credits == Decimal("30.00")
    assert AuditEvent.objects.filter(action="budget.set", actor=adam).exists()


def test_an_owner_clears_a_budget(client_for, alice, data):
    client = client_for(alice)
    client.post(budget_url(), {"monthly_credits": "30", "action": "set"})
    assert "Clear budget" in page(client, AGRI)
    client.post(budget_url(), {"monthly_credits": "", "action": "clear"})
    assert not ProjectBudget.objects.filter(project=data.team.agri).exists()
    assert AuditEvent.objects.filter(action="budget.cleared").exists()


@pytest.mark.parametrize("typed", ["", "-5", "abc", "1e99", "0", "1.234"])
def test_a_bad_budget_is_refused_with_the_input_kept(client_for, alice, data, typed):
    response = client_for(alice).post(budget_url(), {"monthly_credits": typed, "action": "set"})
    assert response.status_code == 400
    body = response.content.decode()
    assert 'aria-invalid="true"' in body and 'class="errorlist"' in body
    assert f'value="{typed}"' in body
    assert not ProjectBudget.objects.exists()


@pytest.mark.parametrize("who", ["bob", "vera"])
def test_members_and_viewers_may_not_set_budgets(client_for, data, who):
    user = data.team.people[who]
    response = client_for(user).post(budget_url(), {"monthly_credits": "30", "action": "set"})
    assert response.status_code == 403
    assert not ProjectBudget.objects.exists()
    assert 'name="monthly_credits"' not in page(client_for(user), AGRI)


def test_the_budget_form_is_post_only_and_not_for_jobs_without_a_project(client_for, alice, data):
    client = client_for(alice)
    assert client.get(budget_url()).status_code == 405
    assert client.post(budget_url("~none"), {"monthly_credits": "5"}).status_code == 404
    assert client.post(budget_url("p-nothing"), {"monthly_credits": "5"}).status_code == 404


def test_a_viewer_sees_the_costs(client_for, vera, data):
    client = client_for(vera)
    assert "Farmland" in page(client, OVERVIEW)
    assert "Costs of Farmland" in page(client, AGRI)
    assert client.get(LEDGER).status_code == 200


def test_every_role_has_the_costs_link(client_for, vera, data):
    body = page(client_for(vera), "/o/acme/jobs/")
    assert '<a href="/o/acme/costs/">Costs</a>' in body
    assert '<a href="/o/acme/costs/" aria-current="page">Costs</a>' in page(
        client_for(vera), OVERVIEW
    )


def test_a_get_writes_nothing(client_for, alice, data):
    client = client_for(alice)
    with CaptureQueriesContext(connection) as queries:
        page(client, OVERVIEW)
        page(client, AGRI)
        b"".join(client.get(LEDGER).streaming_content)
    writes = [
        q["sql"]
        for q in queries.captured_queries
        if q["sql"].split()[0].upper() in ("INSERT", "UPDATE", "DELETE")
        and "django_session" not in q["sql"]
    ]
    assert writes == []


# --- the ledger ---------------------------------------------------------------------------


def ledger(client, query="") -> tuple[list[dict], str]:
    response = client.get(LEDGER + query)
    assert response.status_code == 200
    text = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(text))), response["Content-Disposition"]


def test_the_ledger_has_one_row_per_job_of_the_range_in_local_dates(client_for, alice, data):
    rows, disposition = ledger(client_for(alice), "?range=last-month")
    assert 'filename="acme-costs-2026-02-01-to-2026-02-28.csv"' in disposition
    assert [row["job_id"] for row in rows] == [data.a.pixxel_id]
    assert rows[0]["submitted_on"] == "2026-02-28"  # 1 March in UTC
    assert rows[0] | {"job_id": ""} == {
        "job_id": "",
        "project_id": "p-agri",
        "project": "Farmland",
        "workflow_id": "wf-ndvi",
        "workflow": "NDVI mosaic",
        "member": "alice",
        "submitted_on": "2026-02-28",
        "finished_at": "",
        "status": "succeeded",
        "estimated_credits": "8.00",
        "credits": "10.00",
    }
    rows, _ = ledger(client_for(alice))
    assert len(rows) == 6
    imported = next(row for row in rows if row["job_id"] == data.f.pixxel_id)
    assert imported["project_id"] == "" and imported["member"] == ""


def test_the_ledger_keeps_formulas_from_running_in_a_spreadsheet(client_for, alice, data):
    Workflow.objects.filter(pk=data.team.ndvi.pk).update(name="=HYPERLINK(1)")
    Project.objects.filter(pk=data.team.agri.pk).update(name="+cmd|' /C calc'!A0")
    rows, _ = ledger(client_for(alice))
    agri = [row for row in rows if row["project_id"] == "p-agri"]
    assert {row["workflow"] for row in agri} == {"'=HYPERLINK(1)"}
    assert {row["project"] for row in agri} == {"'+cmd|' /C calc'!A0"}
    body = page(client_for(alice), OVERVIEW)
    assert "+cmd|&#x27; /C calc&#x27;!A0" in body  # on the page it is plain (escaped) text


# --- constant queries ---------------------------------------------------------------------


def more_jobs(team, per_project: int) -> None:
    """A bigger organization: more projects, workflows, members and jobs."""
    org = team.org
    for n in range(4):
        project = Project.objects.create(organization=org, pixxel_id=f"p-more{n}", name=f"More {n}")
        workflow = Workflow.objects.create(
            organization=org, project=project, pixxel_id=f"wf-more{n}", name=f"More {n}"
        )
        for i in range(per_project):
            job = team.job(
                workflow=workflow,
                submitted_by=team.people[("alice", "bob", "vera")[i % 3]],
                cost=Decimal(i),
                estimated_cost=Decimal(i + 1),
                status=(Status.SUCCEEDED, Status.FAILED, Status.RUNNING)[i % 3],
            )
            Job.objects.filter(pk=job.pk).update(created_at=at(f"2026-03-{1 + i % 14:02d} 12:00"))
    agri_more = [
        team.job(submitted_by=team.people["vera"], cost=Decimal(3)) for _ in range(per_project)
    ]
    Job.objects.filter(pk__in=[j.pk for j in agri_more]).update(created_at=at("2026-03-05 12:00"))
    rollups.rebuild(org)


def count_queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
        if hasattr(response, "streaming_content"):
            b"".join(response.streaming_content)
        assert response.status_code == 200
    return len(queries)


@pytest.mark.parametrize("url", [OVERVIEW, AGRI, NO_PROJECT, LEDGER])
def test_each_page_takes_the_same_queries_small_or_big(client_for, alice, data, url):
    client = client_for(alice)
    page(client, OVERVIEW)  # the session settles
    small = count_queries(client, url)
    more_jobs(data.team, 30)
    assert count_queries(client, url) == small
    assert small <= 14, small
