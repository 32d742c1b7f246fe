"""Money the dashboard keeps is the server's and bounded: a hidden form field or a wild answer from
Pixxel can neither falsify estimate-vs-actual nor break the pages that show it."""

import re
import uuid
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import connection

from pixxel_dashboard.accounts.models import Membership
from pixxel_dashboard.jobs import catalog
from pixxel_dashboard.jobs.models import Job, Submission, Workflow
from pixxel_dashboard.jobs.sync import sync_job
from pixxel_dashboard.keys import services
from pixxel_dashboard.pixxel import PixxelClient, PixxelError
from pixxel_dashboard.pixxel.parsing import parse_estimate, parse_job, parse_workflow
from pixxel_dashboard.sandbox import ids

NEW = "/o/acme/jobs/new/"
PREFLIGHT = f"/o/acme/jobs/new/preflight/?project={ids.PROJECT_AGRI}&workflow={ids.WF_LINEAR}"


@pytest.fixture
def acme_key(acme, alice, sandbox):
    return services.add_key(acme, alice, "Sandbox", sandbox.new_key())


def submit(client, **extra):
    data = {"project": ids.PROJECT_AGRI, "workflow": ids.WF_LINEAR, "token": str(uuid.uuid4())}
    return client.post(NEW, {**data, **extra})


def workflow_estimate() -> Decimal:
    return Workflow.objects.get(pixxel_id=ids.WF_LINEAR).estimated_cost


@pytest.mark.parametrize("posted", ["1e20", "-5000", "42", "NaN", "abc"])
def test_a_posted_estimate_is_never_kept(client_for, bob, acme_key, posted):
    client = client_for(bob)
    response = submit(client, estimate_seen=posted)
    assert response.status_code == 302
    job = Job.objects.get()
    expected = workflow_estimate()
    assert expected is not None and expected > 0
    assert job.estimated_cost == expected
    assert Submission.objects.get().estimated_cost == expected
    # Every page that shows the job still works.
    for url in ("/", "/o/acme/jobs/", job.get_absolute_url()):
        assert client.get(url, follow=True).status_code == 200


def test_the_estimate_shown_by_the_preflight_is_the_one_kept(
    client_for, bob, acme_key, monkeypatch
):
    client = client_for(bob)
    fragment = client.get(PREFLIGHT, headers={"HX-Request": "true"}).content.decode()
    signed = fragment.split('name="estimate_seen" value="')[1].split('"')[0]
    membership = Membership.objects.get(user=bob)
    shown = catalog.estimate_shown(signed, membership, ids.PROJECT_AGRI, ids.WF_LINEAR)
    assert shown is not None and f"{shown:.0f} credits" in fragment
    # Pixxel's estimate changes after the member saw it: the job keeps what was shown.
    cache.clear()
    monkeypatch.setattr(PixxelClient, "estimate", lambda self, workflow_id: shown + 1)
    assert submit(client, estimate_seen=signed).status_code == 302
    assert Job.objects.get().estimated_cost == shown
    assert workflow_estimate() == shown + 1


def test_a_signed_estimate_for_another_workflow_or_member_is_ignored(
    client_for, bob, alice, acme_key
):
    bob_membership = Membership.objects.get(user=bob)
    alice_membership = Membership.objects.get(user=alice)
    for forged in (
        catalog.sign_estimate(bob_membership, ids.PROJECT_AGRI, ids.WF_DIAMOND, Decimal("1")),
        catalog.sign_estimate(alice_membership, ids.PROJECT_AGRI, ids.WF_LINEAR, Decimal("1")),
        catalog.sign_estimate(bob_membership, ids.PROJECT_AGRI, ids.WF_LINEAR, Decimal("1"))[:-2]
        + "xx",
    ):
        Job.objects.all().delete()
        assert submit(client_for(bob), estimate_seen=forged).status_code == 302
        assert Job.objects.get().estimated_cost != Decimal("1")


@pytest.mark.parametrize("field", ["cost", "estimated_cost"])
@pytest.mark.parametrize("value", [-1, Decimal("1e20"), Decimal("1000000000000")])
def test_the_model_refuses_out_of_range_credits(acme, field, value):
    job = Job(organization=acme, pixxel_id="j", workflow_pixxel_id="w", **{field: value})
    with pytest.raises(ValidationError) as refused:
        job.full_clean()
    assert field in refused.value.message_dict


@pytest.mark.parametrize("wild", [1e20, -5, "-12.5", "1e300", float("inf"), "NaN"])
def test_an_out_of_range_cost_from_pixxel_is_unknown_not_a_crash(wild):
    assert (
        parse_job({"id": "j", "workflow_id": "w", "status": "running", "cost": wild}).cost is None
    )
    assert parse_workflow({"id": "w", "estimated_cost": wild}).estimated_cost is None
    with pytest.raises(PixxelError) as refused:
        parse_estimate({"estimated_cost": wild})
    assert refused.value.kind == "invalid_response"


def test_sane_costs_from_pixxel_are_kept():
    assert parse_job({"id": "j", "cost": 12.5}).cost == Decimal("12.5")
    assert parse_estimate({"estimated_cost": 125}) == 125


def _store_raw(job, **values):
    """Write values the model would refuse, as an older release (or a hand edit) could have."""
    columns = ", ".join(f"{name} = %s" for name in values)
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE jobs_job SET {columns} WHERE id = %s", [*values.values(), job.pk])


def _wild_values():
    # A negative amount is refused by the database itself now (a check constraint); what it still
    # takes: SQLite stores an out-of-range number, PostgreSQL's numeric(14, 2) only a NaN.
    if connection.vendor == "sqlite":
        return {"estimated_cost": "1e20", "cost": "1e30"}
    return {"estimated_cost": "NaN", "cost": "NaN"}


def test_a_stored_out_of_range_amount_renders_as_invalid(
    client_for, alice, acme, acme_key, admin_client
):
    client = client_for(alice)
    assert submit(client).status_code == 302
    job = Job.objects.get()
    _store_raw(job, **_wild_values())

    job.refresh_from_db()
    assert str(job.cost) == "invalid" and str(job.estimated_cost) == "invalid"
    listing = client.get("/o/acme/jobs/")
    assert listing.status_code == 200 and "invalid" in listing.content.decode()
    page = client.get(job.get_absolute_url())
    assert page.status_code == 200 and "invalid" in page.content.decode()
    assert client.get("/", follow=True).status_code == 200
    for url in ("/admin/jobs/job/", f"/admin/jobs/job/{job.pk}/change/", "/admin/jobs/submission/"):
        response = admin_client.get(url)
        assert response.status_code == 200, url


def test_the_worker_syncs_a_job_with_a_stored_out_of_range_amount(
    client_for, alice, acme, acme_key, sandbox
):
    assert submit(client_for(alice)).status_code == 302
    job = Job.objects.get()
    _store_raw(job, **_wild_values())
    job.refresh_from_db()
    sandbox.advance(60)  # Pixxel's answer changes, so the sync writes the row
    assert sync_job(job, force=True)
    job.refresh_from_db()
    assert job.version > 1 and job.last_sync_error == ""


def test_with_redis_unreachable_the_preflight_still_answers_from_pixxel(
    client_for, bob, acme_key, settings, caplog
):
    client = client_for(bob)

    def estimate_shown() -> list[str]:
        response = client.get(PREFLIGHT, headers={"HX-Request": "true"})
        assert response.status_code == 200
        return re.findall(r"[\d,.]+ credits", response.content.decode())

    with_cache = estimate_shown()
    # Nothing listens on port 1: every cache call is refused at once.
    settings.CACHES = {
        "default": {
            "BACKEND": "pixxel_dashboard.core.cache.ForgivingRedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
        }
    }
    assert estimate_shown() == with_cache != []
    assert "cache: Redis unreachable, a read is a miss" in caplog.text
    assert "cache: Redis unreachable, a write is skipped" in caplog.text
    assert "preflight:" not in caplog.text  # the operation is logged, never the key
