"""Budget alerts: one email to the owners and admins per crossing of 80 % / 100 % of a project's
monthly budget, by spend and by forecast, sent by the task worker, never twice."""

from decimal import Decimal
from functools import partial

import pytest
from django.core import mail
from django.core.management import call_command
from django.db import connection, transaction
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from pixxel_dashboard.accounts.models import EmailVerification, Membership, Role
from pixxel_dashboard.costs import alerts, month, rollups
from pixxel_dashboard.costs.alerts import send_budget_alerts
from pixxel_dashboard.costs.budgets import set_budget
from pixxel_dashboard.costs.models import BudgetAlert
from pixxel_dashboard.jobs.models import Job, Project
from tests.conftest import make_user
from tests.plugins.jobs import report
from tests.plugins.month import DayOfMonth, EndOfMonth
from tests.plugins.worker import at_once, run_worker

# Every test here runs one second before the month ends (a forecast is spent + still to come).
pytestmark = pytest.mark.usefixtures("worker_keeps_test_connection", "end_of_month")


@pytest.fixture
def farmland(acme, alice, adam, bob, vera):
    project = Project.objects.create(organization=acme, pixxel_id="p-agri", name="Farmland")
    set_budget(acme, project, Decimal("100"), alice)
    return project


def alert_emails(to: str) -> list:
    return [m for m in mail.outbox if m.to == [to]]


def claimed() -> set[tuple[str, int]]:
    return set(BudgetAlert.objects.values_list("measure", "threshold"))


# --- crossings ----------------------------------------------------------------------------------


def test_each_crossing_sends_one_email_to_every_owner_and_admin(
    acme, farmland, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        report(acme, "a", project=farmland, estimate=50)  # forecast 50 %
        report(acme, "a", project=farmland, estimate=50, cost=30, progress=40)  # still 50 %
    run_worker()
    assert claimed() == set() and mail.outbox == []

    with django_capture_on_commit_callbacks(execute=True):
        report(acme, "b", project=farmland, estimate=40)  # forecast 90 %
    run_worker()
    assert claimed() == {("forecast", 80)}
    assert len(alert_emails("alice@example.com")) == 1

    with django_capture_on_commit_callbacks(execute=True):
        report(
            acme, "a", project=farmland, estimate=50, cost=85, progress=80
        )  # spend 85 %, forecast 125 %
        report(
            acme, "a", project=farmland, status="succeeded", cost=95, progress=100
        )  # no new crossing
    run_worker()
    assert claimed() == {("forecast", 80), ("spend", 80), ("forecast", 100)}
    latest = alert_emails("alice@example.com")[-1]
    assert (
        len(alert_emails("alice@example.com")) == 2
    )  # one email for the two crossings of one save
    assert "Farmland" in latest.subject and "forecast over 125 %" in latest.subject
    assert "Spend reached 85 % of the budget (80 % threshold)" in latest.body
    assert (
        "Month-end forecast reached 125 % of the budget (100 % threshold: over budget)"
        in latest.body
    )

    with django_capture_on_commit_callbacks(execute=True):
        report(acme, "b", project=farmland, estimate=40, cost=10, progress=10)  # spend 105 %
    run_worker()
    assert len(claimed()) == 4
    assert len(alert_emails("alice@example.com")) == 3
    assert "spend over 105 %" in alert_emails("alice@example.com")[-1].subject
    # Owners and admins alike, each their own email; every alert sent once.
    assert len(alert_emails("adam@example.com")) == 3
    assert len(mail.outbox) == 6
    assert not BudgetAlert.objects.filter(sent_at__isnull=True).exists()


def test_only_this_organizations_owners_and_admins_with_a_confirmed_address_are_emailed(
    acme, globex, charlie, farmland, django_capture_on_commit_callbacks
):
    newcomer = make_user("nina")
    Membership.objects.create(user=newcomer, organization=acme, role=Role.ADMIN)
    EmailVerification.objects.create(user=newcomer, email=newcomer.email, sent_at=timezone.now())
    gone = make_user("otto")
    gone.is_active = False
    gone.save()
    Membership.objects.create(user=gone, organization=acme, role=Role.OWNER)
    # charlie owns Globex and has a budget there too: Acme's crossing is none of his business.
    with django_capture_on_commit_callbacks(execute=True):
        report(acme, "a", project=farmland, cost=90, progress=90)
    run_worker()
    assert sorted(m.to[0] for m in mail.outbox) == ["adam@example.com", "alice@example.com"]


def test_the_email_says_project_month_amounts_and_links_to_the_projects_costs(
    acme, farmland, settings, django_capture_on_commit_callbacks
):
    settings.SITE_URL = "https://dash.example.com"
    with django_capture_on_commit_callbacks(execute=True):
        report(acme, "a", project=farmland, estimate=40, cost=81.5, progress=90)
    run_worker()
    email = alert_emails("alice@example.com")[0]
    when = f"{EndOfMonth().at:%B %Y}"
    assert email.subject == f"Farmland: spend at 81 % of the {when} budget"
    assert f"Farmland (Acme Imaging) has crossed its budget for {when}" in email.body
    assert "- Spend reached 81 % of the budget (80 % threshold)." in email.body
    assert "- Month-end forecast reached 81 % of the budget (80 % threshold)." in email.body
    assert "spent 81.50 credits of the 100-credit budget" in email.body
    assert "month-end forecast 81.50 credits" in email.body
    assert "https://dash.example.com/o/acme/costs/p-agri/\n" in email.body


# --- never twice ----------------------------------------------------------------------------------


def test_a_duplicated_or_retried_task_sends_nothing_twice(
    acme, farmland, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        report(acme, "a", project=farmland, cost=90, progress=90)
    (queued,) = DBTaskResult.objects.filter(task_path=send_budget_alerts.module_path)
    ids = queued.args_kwargs["args"][0]
    # The worker runs it, then the same task runs again (a duplicate, a retry after a crash).
    run_worker()
    assert send_budget_alerts.call(ids) == 0
    send_budget_alerts.enqueue(ids)
    run_worker()
    assert len(alert_emails("alice@example.com")) == 1


def test_a_crossing_seen_again_by_another_worker_is_not_claimed_again(acme, farmland):
    with transaction.atomic():
        report(acme, "a", project=farmland, cost=90, progress=90)
    assert len(claimed()) == 2  # spend and forecast at 80 %
    # A second worker (or a repeated check) seeing the same numbers claims nothing.
    with transaction.atomic():
        assert alerts.check_project(acme, farmland.pk) == []
        report(acme, "a", project=farmland, cost=91, progress=91)
    assert BudgetAlert.objects.count() == 2


def test_a_failed_send_releases_the_claim_so_running_the_task_again_sends_it(
    acme, farmland, monkeypatch, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        report(acme, "a", project=farmland, cost=90, progress=90)
    ids = list(BudgetAlert.objects.values_list("pk", flat=True))

    class MailServerDown:
        def send_messages(self, messages):
            raise ConnectionRefusedError("mail server down")

    with monkeypatch.context() as patched:
        patched.setattr(alerts, "_mailer", MailServerDown)
        with pytest.raises(ConnectionRefusedError):
            send_budget_alerts.call(ids)
    assert BudgetAlert.objects.filter(sent_at__isnull=True).count() == 2
    assert send_budget_alerts.call(ids) == 2  # alice and adam
    assert send_budget_alerts.call(ids) == 0


def test_a_rolled_back_save_alerts_no_one(acme, farmland, django_capture_on_commit_callbacks):
    class Aborted(Exception):
        pass

    with (
        django_capture_on_commit_callbacks(execute=True),
        pytest.raises(Aborted),
        transaction.atomic(),
    ):
        report(acme, "a", project=farmland, cost=90, progress=90)
        raise Aborted
    assert not BudgetAlert.objects.exists()
    assert not DBTaskResult.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_two_workers_saving_at_once_claim_each_crossing_once(acme, alice, adam):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite serialises writers; row-level concurrency is tested on PostgreSQL")
    farmland = Project.objects.create(organization=acme, pixxel_id="p-agri", name="Farmland")
    set_budget(acme, farmland, Decimal("100"), alice)
    # Two jobs that cross 80 % only together, "b" on the month's first day: unless that is today,
    # the two saves share no rollup row, so nothing but the budget row's lock orders them.
    report(acme, "a", project=farmland)
    report(acme, "b", project=farmland)
    first_day = EndOfMonth().at.replace(day=1, hour=0, minute=0, second=30)
    Job.objects.filter(pixxel_id="b").update(created_at=first_day)
    rollups.rebuild(acme)
    at_once(
        *(partial(report, acme, job_id, project=farmland, cost=45, progress=50) for job_id in "ab")
    )
    # 90 %: whichever saved second saw the first's committed credits (the budget row's lock).
    assert claimed() == {("spend", 80), ("forecast", 80)}
    assert DBTaskResult.objects.filter(task_path=send_budget_alerts.module_path).count() == 1
    run_worker()
    assert len(alert_emails("alice@example.com")) == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_checks_of_the_same_crossing_claim_it_once(acme, alice, adam):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite serialises writers; row-level concurrency is tested on PostgreSQL")
    farmland = Project.objects.create(organization=acme, pixxel_id="p-agri", name="Farmland")
    set_budget(acme, farmland, Decimal("100"), alice)
    report(acme, "a", project=farmland, cost=90, progress=90)
    BudgetAlert.objects.all().delete()  # as if the crossing had not been seen yet
    DBTaskResult.objects.all().delete()
    won = at_once(*[partial(alerts.check_project, acme, farmland.pk)] * 4, in_transaction=True)
    assert sorted(len(ids) for ids in won) == [0, 0, 0, 2]
    run_worker()
    assert len(alert_emails("alice@example.com")) == 1


# --- budgets changing, months turning -------------------------------------------------------------


def test_a_lowered_budget_alerts_once(acme, alice, farmland, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        report(acme, "a", project=farmland, status="succeeded", cost=50, progress=100)
    assert claimed() == set()
    with django_capture_on_commit_callbacks(execute=True):
        set_budget(acme, farmland, Decimal("60"), alice)  # 50 of 60: 83 %
        set_budget(acme, farmland, Decimal("60"), alice)  # the same again: no change
    # The web request only queued the task; the worker sends it.
    assert mail.outbox == []
    run_worker()
    assert claimed() == {("spend", 80), ("forecast", 80)}
    assert len(alert_emails("alice@example.com")) == 1
    assert "83 %" in alert_emails("alice@example.com")[0].subject
    with django_capture_on_commit_callbacks(execute=True):
        report(acme, "b", project=farmland, status="succeeded", cost=1, progress=100)  # 85 %
    run_worker()
    assert len(alert_emails("alice@example.com")) == 1


def test_a_raised_budget_forgets_the_crossings_it_no_longer_reaches(
    acme, alice, farmland, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        report(acme, "a", project=farmland, status="succeeded", cost=90, progress=100)
        set_budget(acme, farmland, Decimal("200"), alice)  # 45 %: under both thresholds again
    assert claimed() == set()
    with django_capture_on_commit_callbacks(execute=True):
        report(acme, "b", project=farmland, status="succeeded", cost=80, progress=100)  # 170 of 200
    run_worker()
    assert claimed() == {("spend", 80), ("forecast", 80)}
    assert [m.subject for m in alert_emails("alice@example.com")][-1].startswith(
        "Farmland: spend at 85 %"
    )


def test_a_cleared_budget_alerts_no_more(acme, alice, farmland, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        set_budget(acme, farmland, None, alice)
        report(acme, "a", project=farmland, status="succeeded", cost=500, progress=100)
    assert not BudgetAlert.objects.exists() and not DBTaskResult.objects.exists()


def test_a_new_month_allows_new_alerts(acme, farmland, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        report(acme, "a", project=farmland, cost=85, progress=90)
    run_worker()
    assert len(alert_emails("alice@example.com")) == 1
    # Those crossings were last month's: this month's are new ones.
    BudgetAlert.objects.update(month=month.previous_month(EndOfMonth().at.date()))
    with django_capture_on_commit_callbacks(execute=True):
        report(acme, "a", project=farmland, cost=86, progress=91)
    run_worker()
    assert BudgetAlert.objects.count() == 4
    assert len(alert_emails("alice@example.com")) == 2


def test_forecast_alerts_wait_for_a_week_of_spending_and_spend_alerts_do_not(
    acme, farmland, monkeypatch
):
    monkeypatch.setattr(month, "timezone", DayOfMonth(2))
    report(acme, "a", project=farmland, status="succeeded", cost=30, progress=100)
    # 30 credits in a day and a half forecasts some 600 % of the month: no alert from that alone.
    assert month.month_position(acme, farmland.pk).forecast_percent > 100
    assert claimed() == set()
    report(acme, "b", project=farmland, status="succeeded", cost=55, progress=100)  # spend 85 %
    assert claimed() == {("spend", 80)}
    # A week in, the forecast counts (the next change of the project claims its crossings).
    monkeypatch.setattr(month, "timezone", DayOfMonth(8))
    report(acme, "c", project=farmland, status="succeeded", cost=1, progress=100)
    assert claimed() == {("spend", 80), ("forecast", 80), ("forecast", 100)}


# --- cost of the check -------------------------------------------------------------------------


def test_changes_that_move_no_credits_or_estimates_read_nothing_of_budgets(acme, farmland):
    from django.test.utils import CaptureQueriesContext

    report(acme, "a", project=farmland, estimate=50, cost=10, progress=10)
    with CaptureQueriesContext(connection) as progress_only:
        report(acme, "a", project=farmland, estimate=50, cost=10, progress=20)
    with CaptureQueriesContext(connection) as cost_moved:
        report(acme, "a", project=farmland, estimate=50, cost=11, progress=30)
    with CaptureQueriesContext(connection) as same_answer:
        report(acme, "a", project=farmland, estimate=50, cost=11, progress=30)

    def budget_queries(captured):
        return [q for q in captured.captured_queries if "costs_projectbudget" in q["sql"]]

    assert budget_queries(progress_only) == [] and budget_queries(same_answer) == []
    assert len(cost_moved) == len(progress_only) + 5  # budget (locked), position (3), alerts (1)
    assert len(budget_queries(cost_moved)) == 2


def test_jobs_without_a_budget_or_a_project_read_no_budget(acme, alice):
    from django.test.utils import CaptureQueriesContext

    coast = Project.objects.create(organization=acme, pixxel_id="p-coast", name="Coast")
    with CaptureQueriesContext(connection) as captured:
        report(acme, "x", project=None, cost=500, progress=100)
        report(acme, "y", project=coast, cost=500, progress=100)
    budget_reads = [q for q in captured.captured_queries if "costs_projectbudget" in q["sql"]]
    assert len(budget_reads) == 1  # Coast's (none); the job without a project asks nothing
    assert not BudgetAlert.objects.exists()


def test_a_zero_budget_has_no_percent_to_cross(acme, alice, farmland):
    report(acme, "a", project=farmland, status="succeeded", cost=5, progress=100)
    set_budget(acme, farmland, Decimal("0"), alice)
    report(acme, "b", project=farmland, status="succeeded", cost=5, progress=100)
    assert not BudgetAlert.objects.exists()


def test_jobs_loaded_around_the_dashboard_alert_once_their_rollups_are_rebuilt(
    acme, farmland, capsys, django_capture_on_commit_callbacks
):
    report(acme, "a", project=farmland, status="succeeded", cost=10, progress=100)
    # A bulk load: the job's cost written by SQL, the rollups (and alerts) none the wiser.
    Job.objects.filter(pixxel_id="a").update(cost=Decimal("90"))
    assert claimed() == set()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("rebuild_cost_rollups", "acme")
    assert "2 budget crossings to alert" in capsys.readouterr().out
    assert claimed() == {("spend", 80), ("forecast", 80)}
    run_worker()
    assert len(alert_emails("alice@example.com")) == 1
    with django_capture_on_commit_callbacks(execute=True):
        call_command("rebuild_cost_rollups", "acme")  # again: nothing new to say
    assert "crossings" not in capsys.readouterr().out
    run_worker()
    assert len(alert_emails("alice@example.com")) == 1
