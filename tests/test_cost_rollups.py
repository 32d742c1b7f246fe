"""The cost rollups equal the aggregate of the jobs, whatever happened to the jobs.

The reference is computed here, independently, in SQL from `Job` (TruncDate in the organization's
time zone, Sum, Count with filters): never through `rollups.contribution`, so a mistake there
cannot hide in both sides. Jobs go through `save_job`, as submission, import and sync write them.
"""

import importlib
import threading
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from unittest import mock
from zoneinfo import ZoneInfo

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, connections, transaction
from django.db.migrations.executor import MigrationExecutor
from django.db.models import Count, F, IntegerField, Q, Sum, Value
from django.db.models.functions import Cast, Coalesce, Greatest, Round, TruncDate
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pixxel_dashboard.accounts.services import update_organization
from pixxel_dashboard.costs import month, rollups
from pixxel_dashboard.costs.models import MEASURES, OPEN_DAY, CostRollup, Grain
from pixxel_dashboard.jobs.models import Job, Project, Source
from pixxel_dashboard.jobs.persist import save_job
from pixxel_dashboard.pixxel import parsing

# The measures as a sentence of SQL over the jobs, each written from what it means (not from
# rollups.py): hundredths of a credit are the stored amount × 100, rounded to a whole number.
FINISHED = Q(status__in=["succeeded", "failed"])
OPEN = Q(status__in=["queued", "running"])
COMPARED = FINISHED & Q(cost__isnull=False, estimated_cost__isnull=False)


def _hundredths(field: str):
    return Cast(Round(F(field) * 100), IntegerField())


def _sum(expression, condition=None):
    return Coalesce(Sum(expression, filter=condition), Value(0))


def _count(condition=None):
    return Count("pk", filter=condition)


RAW_MEASURES = {
    "jobs": _count(),
    "credits": _sum(_hundredths("cost")),
    "estimated_jobs": _count(Q(estimated_cost__isnull=False)),
    "estimate": _sum(_hundredths("estimated_cost")),
    "queued": _count(Q(status="queued")),
    "running": _count(Q(status="running")),
    "succeeded": _count(Q(status="succeeded")),
    "failed": _count(Q(status="failed")),
    "unknown": _count(~Q(status__in=["queued", "running", "succeeded", "failed"])),
    "timed_jobs": _count(Q(time_taken_seconds__isnull=False)),
    "duration_ms": _sum(Cast(Round(F("time_taken_seconds") * 1000), IntegerField())),
    "compared_jobs": _count(COMPARED),
    "compared_estimate": _sum(_hundredths("estimated_cost"), COMPARED),
    "compared_credits": _sum(_hundredths("cost"), COMPARED),
    # Over by more than 20 %: cost > 1.2 × estimate, i.e. 5 × cost > 6 × estimate (exact integers).
    "over_estimate_jobs": _count(
        COMPARED & Q(over__gt=F("under")),
    ),
    # What the estimate says is still to come for a queued or running job, never below nothing.
    "to_come": _sum(
        Greatest(
            Coalesce(_hundredths("estimated_cost"), Value(0))
            - Coalesce(_hundredths("cost"), Value(0)),
            Value(0),
        ),
        OPEN,
    ),
}
assert tuple(RAW_MEASURES) == MEASURES  # a new measure needs its reference here


def raw_aggregate(organization) -> dict[tuple, tuple[int, ...]]:
    """Every grain's rows, from the jobs, in the organization's current time zone."""
    zone = ZoneInfo(organization.time_zone or "UTC")
    jobs = (
        Job.objects.filter(organization=organization)
        .annotate(
            day=TruncDate("created_at", tzinfo=zone),
            project_ref=Coalesce("project_id", Value(0)),
            member_ref=Coalesce("submitted_by_id", Value(0)),
            over=_hundredths("cost") * 5,
            under=_hundredths("estimated_cost") * 6,
        )
        .order_by()
    )
    grains = {
        Grain.PROJECT: (jobs, ("project_ref", "day")),
        Grain.WORKFLOW: (jobs, ("project_ref", "workflow_pixxel_id", "day")),
        Grain.MEMBER: (jobs, ("project_ref", "member_ref", "day")),
        # The queued and running jobs of each project, whatever their day.
        Grain.OPEN: (jobs.filter(OPEN), ("project_ref",)),
    }
    result = {}
    for grain, (rows, columns) in grains.items():
        for row in rows.values(*columns).annotate(**RAW_MEASURES):
            key = (
                grain.value,
                row["project_ref"],
                row.get("workflow_pixxel_id", ""),
                row.get("member_ref", 0),
                row.get("day", OPEN_DAY),
            )
            result[key] = tuple(int(row[name]) for name in MEASURES)
    return result


def stored_rollups(organization) -> dict[tuple, tuple[int, ...]]:
    """The organization's rollup rows that say something (an open-jobs row whose last job
    finished stays, all zeros: it counts nothing)."""
    rows = CostRollup.objects.filter(organization=organization).values_list(
        "grain", "project_ref", "workflow", "member_ref", "day", *MEASURES
    )
    return {tuple(row[:5]): tuple(row[5:]) for row in rows if any(row[5:])}


# Building jobs as Pixxel answers them --------------------------------------------------------

START = datetime(2026, 3, 31, 12, 0, tzinfo=UTC)  # month and day boundaries within hours


@contextmanager
def clock_at(when: datetime):
    """The server's clock at `when` (a job submitted here is stamped with it)."""
    with mock.patch("django.utils.timezone.now", return_value=when):
        yield


def answer(pixxel_id: str, **values) -> dict:
    document = {"id": pixxel_id, "workflow_id": values.pop("workflow_id", "wf-ndvi")}
    for name, value in values.items():
        if value is not None:
            document[name] = value.isoformat() if isinstance(value, datetime) else value
    return document


def store(org, document: dict, **local):
    return save_job(org, parsing.parse_job(document), **local)


# The property ---------------------------------------------------------------------------------

STATUS_WORDS = ["queued", "inprogress", "completed", "failed", "cancelled", "weird"]
# Amounts with up to three decimals: Pixxel's numbers are not ours, and are stored with two.
AMOUNTS = st.none() | st.decimals(
    min_value=0, max_value=Decimal("2000"), places=3, allow_nan=False, allow_infinity=False
).map(str)
DURATIONS = st.none() | st.sampled_from(["83s", "1h2m3.5s", "350ms", "0", "00:10:00", "-5s"])
ZONES = ["UTC", "Asia/Kolkata", "America/Los_Angeles", "Pacific/Chatham", "Pacific/Kiritimati"]
HOURS = st.integers(min_value=-48, max_value=48)

create = st.fixed_dictionaries(
    {
        "op": st.just("create"),
        "job": st.integers(0, 5),
        "status": st.sampled_from(STATUS_WORDS),
        "cost": AMOUNTS,
        "estimate": AMOUNTS,
        "time_taken": DURATIONS,
        "project": st.sampled_from([None, "agri", "coast"]),
        "workflow": st.sampled_from(["wf-ndvi", "wf-shore", ""]),
        "member": st.sampled_from([None, "alice", "bob"]),
        "imported": st.booleans(),
        "hours": HOURS,  # when it is submitted (or imported), from START
        "pixxel_hours": HOURS,  # when Pixxel says it was created
    }
)
update = st.fixed_dictionaries(
    {
        "op": st.just("update"),
        "job": st.integers(0, 5),
        "status": st.sampled_from(STATUS_WORDS),
        "cost": AMOUNTS,
        "time_taken": DURATIONS,
        # Minutes after (or, negative: before, a stale answer) the job's last answer.
        "minutes": st.none() | st.integers(min_value=-30, max_value=90),
    }
)
move_zone = st.fixed_dictionaries({"op": st.just("zone"), "zone": st.sampled_from(ZONES)})
OPERATIONS = st.lists(st.one_of(create, create, update, update, move_zone), max_size=14)


class Story:
    """Replays operations on Acme, remembering each job's last answer."""

    def __init__(self, org, people, projects):
        self.org, self.people, self.projects = org, people, projects
        self.answers: dict[int, dict] = {}

    def create(self, step):
        pixxel_id = f"job-{step['job']}"
        submitted = START + timedelta(hours=step["hours"])
        document = answer(
            pixxel_id,
            workflow_id=step["workflow"] or None,
            status=step["status"],
            cost=step["cost"],
            time_taken=step["time_taken"],
            created_at=START + timedelta(hours=step["pixxel_hours"]),
            updated_at=submitted,
        )
        local = {
            "project": self.projects.get(step["project"]),
            "submitted_by": self.people.get(step["member"]),
            "estimated_cost": step["estimate"] and Decimal(step["estimate"]),
            "source": Source.IMPORTED if step["imported"] else Source.SUBMITTED,
        }
        if step["workflow"]:
            local["workflow_pixxel_id"] = step["workflow"]
        with clock_at(submitted):
            store(self.org, document, **local)
        self.answers.setdefault(step["job"], document)

    def update(self, step):
        last = self.answers.get(step["job"])
        if last is None:
            return
        document = {**last, "status": step["status"]}
        for name in ("cost", "time_taken"):
            document.pop(name, None)
            if step[name] is not None:
                document[name] = step[name]
        if step["minutes"] is None:
            document.pop("updated_at", None)
        elif "updated_at" in last:
            then = datetime.fromisoformat(last["updated_at"])
            document["updated_at"] = (then + timedelta(minutes=step["minutes"])).isoformat()
        job, changed = store(self.org, document)
        if changed:
            self.answers[step["job"]] = document

    def zone(self, step):
        update_organization(
            self.org, self.people["alice"], name=self.org.name, time_zone=step["zone"]
        )


@pytest.fixture
def projects(acme):
    return {
        "agri": Project.objects.create(organization=acme, pixxel_id="p-agri", name="Farmland"),
        "coast": Project.objects.create(organization=acme, pixxel_id="p-coast", name="Coast"),
    }


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(operations=OPERATIONS)
def test_rollups_equal_the_raw_aggregate_after_any_story(acme, alice, bob, projects, operations):
    # One database for every example: each runs in a transaction rolled back at its end.
    with transaction.atomic():
        acme.time_zone = "UTC"
        acme.save(update_fields=["time_zone"])
        story = Story(acme, {"alice": alice, "bob": bob}, projects)
        for step in operations:
            getattr(story, step["op"])(step)
            assert stored_rollups(acme) == raw_aggregate(acme), step
        transaction.set_rollback(True)


# Plain cases ----------------------------------------------------------------------------------


def test_a_cost_with_three_decimals_is_counted_as_stored(acme, projects):
    # Pixxel's 1.015 is stored as 1.02 (two decimals); the rollups and the job agree on it.
    job, _ = store(acme, answer("j1", status="completed", cost="1.015"), project=projects["agri"])
    job.refresh_from_db()
    (row,) = CostRollup.objects.filter(organization=acme, grain=Grain.PROJECT)
    assert row.credits == int(job.cost * 100)
    assert stored_rollups(acme) == raw_aggregate(acme)


def test_a_job_is_over_its_estimate_by_the_amounts_stored(acme):
    # 0.001 against an estimate of 0: both stored as 0.00, so not over (nor a cost at all).
    store(acme, answer("j1", status="completed", cost="0.001"), estimated_cost=Decimal("0.000"))
    (row,) = CostRollup.objects.filter(organization=acme, grain=Grain.PROJECT)
    assert (row.compared_jobs, row.over_estimate_jobs, row.credits) == (1, 0, 0)
    assert stored_rollups(acme) == raw_aggregate(acme)


def test_rebuild_gives_what_the_incremental_path_kept(acme, alice, bob, projects):
    story = Story(acme, {"alice": alice, "bob": bob}, projects)
    base = {"cost": "3.10", "estimate": "2.50", "time_taken": "83s", "workflow": "wf-ndvi"}
    for n, (status, project, member, hours) in enumerate(
        [
            ("completed", "agri", "alice", -30),
            ("failed", "agri", "bob", -1),
            ("inprogress", "coast", None, 0),
            ("queued", None, "bob", 5),
        ]
    ):
        story.create(
            {
                **base,
                "job": n,
                "status": status,
                "project": project,
                "member": member,
                "imported": member is None,
                "hours": hours,
                "pixxel_hours": hours - 2,
            }
        )
    story.update(
        {"job": 2, "status": "completed", "cost": "9.99", "time_taken": "1h", "minutes": 5}
    )
    incremental = stored_rollups(acme)
    assert sum(v[0] for k, v in incremental.items() if k[0] == "p") == 4
    assert rollups.rebuild(acme) == len(incremental)
    assert stored_rollups(acme) == incremental == raw_aggregate(acme)


def test_days_and_months_are_the_organizations_local_ones(acme, alice, projects):
    acme.time_zone = "Asia/Kolkata"  # UTC+5:30
    acme.save()
    last_of_march = datetime(2026, 3, 31, 18, 29, 59, tzinfo=UTC)  # 23:59:59 in Kolkata
    first_of_april = datetime(2026, 3, 31, 18, 30, tzinfo=UTC)  # 00:00 on 1 April in Kolkata
    for n, when in enumerate((last_of_march, first_of_april)):
        with clock_at(when):
            store(
                acme,
                answer(f"j{n}", status="completed", cost=str(10 + n)),
                project=projects["agri"],
                submitted_by=alice,
            )
    days = dict(
        CostRollup.objects.filter(organization=acme, grain=Grain.PROJECT).values_list(
            "day", "credits"
        )
    )
    assert days == {date(2026, 3, 31): 1000, date(2026, 4, 1): 1100}
    # April's spending is the second job only, seen from a moment in April (local).
    april = month.month_position(acme, projects["agri"].pk, now=datetime(2026, 4, 2, tzinfo=UTC))
    assert april.spent == Decimal("11.00")
    # In UTC both jobs were on 31 March: changing the zone moves them (and the rollups).
    update_organization(acme, alice, name=acme.name, time_zone="UTC")
    days = dict(
        CostRollup.objects.filter(organization=acme, grain=Grain.PROJECT).values_list(
            "day", "credits"
        )
    )
    assert days == {date(2026, 3, 31): 2100}
    assert stored_rollups(acme) == raw_aggregate(acme)


def test_an_imported_job_counts_on_the_day_pixxel_created_it(acme, alice, projects):
    a_year_ago = START - timedelta(days=365)
    with clock_at(START):
        imported, _ = store(
            acme,
            answer("old", status="completed", cost="50", created_at=a_year_ago),
            source=Source.IMPORTED,
        )
        # One submitted here is dated by its submission, whatever Pixxel's clock says.
        submitted, _ = store(
            acme,
            answer("new", status="queued", created_at=a_year_ago),
            submitted_by=alice,
            project=projects["coast"],
        )
    assert Job.objects.get(pk=imported.pk).created_at == a_year_ago
    assert Job.objects.get(pk=submitted.pk).created_at == START
    days = set(
        CostRollup.objects.filter(organization=acme, grain=Grain.MEMBER).values_list(
            "project_ref", "member_ref", "day"
        )
    )
    assert days == {(0, 0, a_year_ago.date()), (projects["coast"].pk, alice.pk, START.date())}


# The migration that fills in the rollups of jobs stored before them ----------------------------

BACKFILL = importlib.import_module("pixxel_dashboard.costs.migrations.0003_backfill_cost_rollups")


def migrate(target):
    executor = MigrationExecutor(connection)  # a fresh graph: what is applied changes each time
    executor.migrate(target)


@pytest.mark.django_db(transaction=True)
def test_the_backfill_gives_jobs_stored_before_the_rollups_theirs(acme, globex, alice, projects):
    acme.time_zone = "America/Los_Angeles"
    acme.save()
    latest = MigrationExecutor(connection).loader.graph.leaf_nodes()
    # More jobs than one batch, across local days, projects, members, statuses and amounts.
    for n in range(BACKFILL.BATCH + 5):
        with clock_at(START + timedelta(hours=n % 50)):
            store(
                acme,
                answer(
                    f"job-{n}",
                    status=STATUS_WORDS[n % len(STATUS_WORDS)],
                    cost=f"{n % 97}.{n % 1000:03d}" if n % 7 else None,
                    time_taken=f"{n}s" if n % 3 else None,
                ),
                project=projects["agri"] if n % 4 else None,
                submitted_by=alice if n % 5 else None,
                estimated_cost=Decimal(n % 50) if n % 6 else None,
            )
    store(globex, answer("theirs", status="completed", cost="12.34"))
    expected = {org.pk: raw_aggregate(org) for org in (acme, globex)}
    # As an installation that had jobs before the rollups: none (and one row of nonsense).
    CostRollup.objects.all().delete()
    CostRollup.objects.create(organization=globex, grain="p", day=date(2020, 1, 1), jobs=9)
    try:
        migrate([("costs", BACKFILL.Migration.dependencies[0][1])])
        migrate([("costs", BACKFILL.__name__.rsplit(".", 1)[1])])
    finally:
        migrate(latest)
    assert {org.pk: stored_rollups(org) for org in (acme, globex)} == expected
    assert sum(row[0] for key, row in expected[acme.pk].items() if key[0] == "p") == 2005
    # ...and what the app's own rebuild makes of the same jobs.
    rollups.rebuild(acme)
    assert stored_rollups(acme) == expected[acme.pk]


# The command ----------------------------------------------------------------------------------


def _spoil(org):
    """Rollups that no longer match the jobs (as after a bulk load around save_job)."""
    CostRollup.objects.filter(organization=org).update(credits=F("credits") + 777)


def test_rebuild_cost_rollups_repairs_every_organization(acme, globex, projects, capsys):
    for org in (acme, globex):
        store(org, answer("j", status="completed", cost="4.20"))
        _spoil(org)
    call_command("rebuild_cost_rollups")
    assert capsys.readouterr().out.splitlines() == ["acme: 3 rollup rows", "globex: 3 rollup rows"]
    for org in (acme, globex):
        assert stored_rollups(org) == raw_aggregate(org)


def test_rebuild_cost_rollups_touches_only_the_organizations_named(acme, globex, capsys):
    for org in (acme, globex):
        store(org, answer("j", status="completed", cost="4.20"))
        _spoil(org)
    call_command("rebuild_cost_rollups", "globex")
    assert capsys.readouterr().out.strip() == "globex: 3 rollup rows"
    assert stored_rollups(globex) == raw_aggregate(globex)
    assert stored_rollups(acme) != raw_aggregate(acme)  # left as it was


def test_rebuild_cost_rollups_names_an_unknown_organization_and_changes_nothing(acme, globex):
    store(acme, answer("j", status="completed", cost="4.20"))
    _spoil(acme)
    with pytest.raises(CommandError, match="No organization named nobody"):
        call_command("rebuild_cost_rollups", "acme", "nobody")
    assert stored_rollups(acme) != raw_aggregate(acme)


# Concurrency (PostgreSQL) ---------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_simultaneous_saves_sharing_rollup_rows_lose_nothing_and_never_deadlock(
    acme, alice, bob, projects
):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite serialises writers; row-level concurrency is tested on PostgreSQL")
    rounds, errors = 15, []
    barrier = threading.Barrier(2)

    def worker(member, offset):
        try:
            for n in range(rounds):
                # Same project, workflow and day: the p and w rows are shared by both threads.
                document = answer(f"{member.username}-{n}", status="running", cost="1.25")
                barrier.wait(timeout=20)
                job, _ = store(acme, document, project=projects["agri"], submitted_by=member)
                barrier.wait(timeout=20)
                finished = {**document, "status": "completed", "cost": f"{2 + offset}.50"}
                store(acme, finished)
        except Exception as exc:
            errors.append(exc)
            barrier.abort()
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(m, i)) for i, m in enumerate((alice, bob))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    assert stored_rollups(acme) == raw_aggregate(acme)
    (project_row,) = CostRollup.objects.filter(organization=acme, grain=Grain.PROJECT)
    assert project_row.jobs == project_row.succeeded == 2 * rounds
    assert project_row.credits == rounds * (250 + 350)


def test_open_jobs_say_what_is_still_to_come_per_project_and_for_no_project(acme, projects):
    # Open jobs of any month: their cost so far, and their estimate's remainder (never negative).
    with clock_at(START - timedelta(days=40)):
        store(
            acme,
            answer("a", status="inprogress", cost="2.00"),
            project=projects["agri"],
            estimated_cost=Decimal("5.00"),
        )
    with clock_at(START):
        store(acme, answer("b", status="queued"), estimated_cost=Decimal("7.50"))
        store(acme, answer("c", status="inprogress", cost="9.00"), estimated_cost=Decimal("4.00"))
        store(acme, answer("d", status="completed", cost="1.00"), estimated_cost=Decimal("8.00"))
    positions = month.month_positions(acme, now=START)
    agri, none = positions[projects["agri"].pk], positions[0]
    assert (agri.running_spent, agri.still_to_come, agri.spent) == (
        Decimal("2.00"),
        Decimal("3.00"),
        Decimal("0.00"),  # spent in February, not in March
    )
    assert (none.running_spent, none.still_to_come, none.spent) == (
        Decimal("9.00"),
        Decimal("7.50"),
        Decimal("10.00"),
    )
    assert month.month_position(acme, 0, now=START) == none
