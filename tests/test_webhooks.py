"""Webhook deliveries: signed as the README says, sent by the task worker over real HTTP to a
local receiver, retried on a schedule (fake clock), once per endpoint per event, never to the
dashboard's own network."""

import io
import json
import re
import socket
import threading
import types
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import partial
from pathlib import Path

import pytest
from django.core import mail
from django.core.management import call_command
from django.db import connection, transaction
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from pixxel_dashboard.accounts.models import AuditEvent
from pixxel_dashboard.costs.budgets import set_budget
from pixxel_dashboard.jobs.models import Project, Source
from pixxel_dashboard.webhooks import delivery, services
from pixxel_dashboard.webhooks.delivery import deliver
from pixxel_dashboard.webhooks.models import Attempt, Delivery, Endpoint
from pixxel_dashboard.webhooks.outbound import RefusedAddress, vetted_addresses, why_refused
from tests.plugins.jobs import report, report_ending
from tests.plugins.worker import at_once, run_worker

pytestmark = pytest.mark.usefixtures("worker_keeps_test_connection")

README = Path(__file__).resolve().parent.parent / "README.md"


class FakeClock:
    def __init__(self, at: datetime):
        self.at = at

    def now(self) -> datetime:
        return self.at

    def advance(self, **delta) -> None:
        self.at += timedelta(**delta)


@pytest.fixture
def clock(monkeypatch):
    fake = FakeClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    monkeypatch.setattr(delivery, "clock", fake)
    return fake


def readme_verify():
    """The verification snippet of README.md's "Webhooks" section, run as it is printed."""
    section = README.read_text().split("## Webhooks", 1)[1].split("\n## ", 1)[0]
    (snippet,) = re.findall(r"```python\n(.*?)```", section, flags=re.DOTALL)
    namespace: dict = {}
    exec(compile(snippet, "README.md", "exec"), namespace)
    return namespace["verify"]


# --- what a receiver gets -----------------------------------------------------------------------


def test_a_finished_job_reaches_the_receiver_signed_as_the_readme_verifies(
    acme, hook, receiver, settings, django_capture_on_commit_callbacks
):
    settings.SITE_URL = "https://dash.example.com"
    with django_capture_on_commit_callbacks(execute=True):
        job = report_ending(acme, "job-42", "failed", cost=130, estimate=120)
    assert receiver.requests == []  # the save only queued it: the worker sends
    run_worker()

    (over, failed) = sorted(receiver.requests, key=lambda r: r.headers["Pixxel-Dashboard-Event"])
    verify = readme_verify()
    for received in (failed, over):
        header = received.headers["Pixxel-Dashboard-Signature"]
        assert verify(hook.secret, header, received.body)
        # A forgery, a tampered body, or the same delivery replayed 6 minutes later: refused.
        assert not verify("whsec_not-the-secret", header, received.body)
        assert not verify(hook.secret, header, received.body.replace(b"job-42", b"job-43"))
        stale = int(header.split(",")[0][2:]) - 360
        old = delivery.signature(hook.secret, stale, received.body)
        assert not verify(hook.secret, old, received.body)
    document = json.loads(failed.body)
    assert failed.headers["Pixxel-Dashboard-Event"] == "job.failed" == document["type"]
    assert failed.headers["Pixxel-Dashboard-Delivery"] == document["id"]
    assert document["organization"] == {"slug": "acme", "name": "Acme Imaging"}
    assert document["data"]["id"] == "job-42" and document["data"]["status"] == "failed"
    assert document["data"]["credits"] == 130 and document["data"]["estimate"] == 120
    assert document["data"]["url"] == f"https://dash.example.com{job.get_absolute_url()}"
    assert json.loads(over.body)["type"] == "job.cost_over_estimate"
    attempt = Attempt.objects.filter(delivery__event_type="job.failed").get()
    assert attempt.status_code == 200 and attempt.response_excerpt == '{"ok": true}'
    assert attempt.latency_ms is not None
    assert set(Delivery.objects.values_list("state", flat=True)) == {"delivered"}


def test_after_a_rotation_both_secrets_sign_for_24_hours_then_only_the_new_one(
    acme, alice, hook, receiver, clock
):
    verify = readme_verify()
    verify.__globals__["time"] = types.SimpleNamespace(time=lambda: clock.now().timestamp())

    def signed_with(*secrets: str) -> list[bool]:
        """Which of `secrets` the README's check accepts for a test event sent now."""
        deliver.call(delivery.send_test_event(hook))
        received = receiver.requests[-1]
        header = received.headers["Pixxel-Dashboard-Signature"]
        return [verify(secret, header, received.body) for secret in secrets]

    first = hook.secret
    second = services.rotate_secret(hook, alice)
    assert second != first and hook.masked_secret.endswith(second[-4:])
    assert signed_with(first, second, "whsec_neither") == [True, True, False]
    clock.advance(hours=23, minutes=59)
    assert signed_with(first, second) == [True, True]
    clock.advance(minutes=1)
    assert signed_with(first, second) == [False, True]
    assert receiver.requests[-1].headers["Pixxel-Dashboard-Signature"].count("v1=") == 1
    # A second rotation within the day ends the first one's overlap at once.
    third = services.rotate_secret(hook, alice)
    fourth = services.rotate_secret(hook, alice)
    assert signed_with(second, third, fourth) == [False, True, True]
    assert AuditEvent.objects.filter(action="webhook.secret_rotated").count() == 3


def test_only_the_events_an_endpoint_chose_are_delivered_and_only_to_its_organization(
    acme, globex, charlie, hook, receiver, django_capture_on_commit_callbacks
):
    Endpoint.objects.filter(pk=hook.pk).update(events=["job.succeeded"])
    with django_capture_on_commit_callbacks(execute=True):
        report_ending(acme, "a", "failed")
        report_ending(acme, "b", "succeeded")
        report_ending(globex, "c", "succeeded")
    run_worker()
    assert [json.loads(r.body)["data"]["id"] for r in receiver.requests] == ["b"]


def test_a_job_imported_already_finished_is_not_announced(
    acme, hook, receiver, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        report(acme, "old", "succeeded", source=Source.IMPORTED)
    assert not Delivery.objects.exists()


def test_a_budget_crossing_is_delivered(
    acme, alice, hook, receiver, end_of_month, django_capture_on_commit_callbacks
):
    farmland = Project.objects.create(organization=acme, pixxel_id="p-agri", name="Farmland")
    set_budget(acme, farmland, Decimal("100"), alice)
    with django_capture_on_commit_callbacks(execute=True):
        report(acme, "a", "running", cost=90, project=farmland)
    run_worker()
    crossings = [json.loads(r.body) for r in receiver.requests]
    assert {c["type"] for c in crossings} == {"budget.crossed"}
    assert sorted((c["data"]["measure"], c["data"]["threshold_percent"]) for c in crossings) == [
        ("forecast", 80),
        ("spend", 80),
    ]
    assert crossings[0]["data"]["project"] == {"id": "p-agri", "name": "Farmland"}


# --- retries ------------------------------------------------------------------------------------


def queued_runs(delivery_id: int) -> list[datetime]:
    return sorted(
        r.run_after
        for r in DBTaskResult.objects.filter(task_path=deliver.module_path)
        if r.args_kwargs["args"] == [delivery_id] and r.run_after.year < 9999  # "at once"
    )


def test_5xx_and_network_errors_are_retried_with_backoff_for_24_hours_then_given_up(
    acme, hook, receiver, clock, django_capture_on_commit_callbacks
):
    receiver.answers = [503] * 1000
    with django_capture_on_commit_callbacks(execute=True):
        report_ending(acme, "job-1", "failed")
    owed = Delivery.objects.get()
    first = clock.now()
    waits = []
    while True:
        assert deliver.call(owed.pk) != "nothing due"
        owed.refresh_from_db()
        if owed.state != "pending":
            break
        waits.append(owed.next_attempt_at - clock.now())
        assert queued_runs(owed.pk)[-1] == owed.next_attempt_at  # the retry is queued
        # Not due yet: a duplicate run sends nothing.
        assert deliver.call(owed.pk) == "nothing due"
        clock.at = owed.next_attempt_at
    minutes = [w.total_seconds() / 60 for w in waits]
    assert minutes[:8] == [0.5, 1, 2, 4, 8, 16, 32, 60]
    assert set(minutes[8:-1]) == {60}  # at most an hour apart
    assert clock.now() == first + timedelta(hours=24)  # the last try at the 24-hour mark
    assert owed.state == "failed"
    assert len(receiver.requests) == Attempt.objects.count() == len(waits) + 1

    hook.refresh_from_db()
    assert not hook.is_active  # 24 hours of failures: see the next tests


def test_a_connection_refused_is_retried_like_a_5xx(
    acme, hook, receiver, clock, django_capture_on_commit_callbacks
):
    Endpoint.objects.filter(pk=hook.pk).update(url="http://127.0.0.1:9/nothing-listens")
    with django_capture_on_commit_callbacks(execute=True):
        report_ending(acme)
    owed = Delivery.objects.get()
    deliver.call(owed.pk)
    owed.refresh_from_db()
    attempt = owed.attempts.get()
    assert attempt.status_code is None and "connection refused" in attempt.error.lower()
    assert owed.state == "pending"
    assert owed.next_attempt_at == clock.now() + timedelta(seconds=30)


@pytest.mark.parametrize("status", [400, 404, 410, 302])
def test_4xx_and_redirects_are_not_retried(
    acme, hook, receiver, clock, status, django_capture_on_commit_callbacks
):
    receiver.answers = [status]
    receiver.reply = b"no such hook"
    with django_capture_on_commit_callbacks(execute=True):
        report_ending(acme)
    owed = Delivery.objects.get()
    deliver.call(owed.pk)
    owed.refresh_from_db()
    assert owed.state == "failed" and owed.next_attempt_at is None
    clock.advance(hours=2)
    assert deliver.call(owed.pk) == "nothing due"
    assert len(receiver.requests) == 1  # a redirect's Location (the metadata service) not followed
    attempt = owed.attempts.get()
    assert attempt.status_code == status and attempt.response_excerpt == "no such hook"


def test_the_response_excerpt_is_at_most_500_characters(
    acme, hook, receiver, clock, django_capture_on_commit_callbacks
):
    receiver.reply = b"x" * 5000
    with django_capture_on_commit_callbacks(execute=True):
        report_ending(acme)
    deliver.call(Delivery.objects.get().pk)
    assert Attempt.objects.get().response_excerpt == "x" * 500


def test_an_endpoint_failing_for_24_hours_is_disabled_and_its_owners_emailed_once(
    acme, alice, adam, hook, receiver, clock, settings, django_capture_on_commit_callbacks
):
    settings.SITE_URL = "https://dash.example.com"
    receiver.answers = [500] * 1000
    with django_capture_on_commit_callbacks(execute=True):
        report_ending(acme, "a", "failed")
    first = Delivery.objects.get()
    deliver.call(first.pk)
    clock.advance(hours=20)
    with django_capture_on_commit_callbacks(execute=True):
        report_ending(acme, "b", "failed")
    second = Delivery.objects.exclude(pk=first.pk).get()
    deliver.call(second.pk)
    hook.refresh_from_db()
    assert hook.is_active  # 20 hours of failures
    clock.advance(hours=4)
    deliver.call(first.pk)  # 24 hours since the first failure
    deliver.call(second.pk)
    hook.refresh_from_db()
    assert not hook.is_active and "24 hours" in hook.disabled_reason
    (email,) = mail.outbox  # owners only (adam is an admin), once
    assert email.to == ["alice@example.com"]
    assert "Webhook disabled" in email.subject and receiver.url in email.body
    assert f"https://dash.example.com/o/acme/settings/webhooks/{hook.pk}/" in email.body
    # A disabled webhook gets nothing more, its retries included.
    sent = len(receiver.requests)
    clock.advance(hours=1)
    assert deliver.call(second.pk) == "nothing due"
    run_worker()  # the retries already queued find nothing due either: the series has stopped
    assert len(receiver.requests) == sent and len(mail.outbox) == 1
    # Mended and enabled again: what it was still owed goes at once (the first delivery's 24
    # hours were over: it is failed for good, and Redeliver is there for it).
    receiver.answers = [200] * 10
    with django_capture_on_commit_callbacks(execute=True):
        services.set_enabled(hook, alice, True)
    run_worker()
    assert len(receiver.requests) == sent + 1
    assert receiver.requests[-1].headers["Pixxel-Dashboard-Delivery"] == str(second.public_id)
    second.refresh_from_db()
    first.refresh_from_db()
    assert (first.state, second.state) == ("failed", "delivered")


def test_a_success_in_between_resets_the_24_hours(
    acme, hook, receiver, clock, django_capture_on_commit_callbacks
):
    receiver.answers = [500, 200, 500]
    with django_capture_on_commit_callbacks(execute=True):
        report_ending(acme, "a", "failed")
        report_ending(acme, "b", "failed")
        report_ending(acme, "c", "failed")
    a, b, c = Delivery.objects.order_by("id")
    deliver.call(a.pk)
    clock.advance(hours=23)
    deliver.call(b.pk)  # delivered
    clock.advance(hours=2)
    deliver.call(c.pk)
    hook.refresh_from_db()
    assert hook.is_active and hook.failing_since == clock.now()


# --- once, exactly ----------------------------------------------------------------------------


def test_a_task_run_twice_sends_once(acme, hook, receiver, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        report_ending(acme)
    owed = Delivery.objects.get()
    deliver.enqueue(owed.pk)  # a duplicate of the queued task
    run_worker()
    assert deliver.call(owed.pk) == "nothing due"
    assert len(receiver.requests) == 1


def test_a_job_synced_again_later_is_not_delivered_again(
    acme, hook, receiver, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        report_ending(acme, "job-1", "succeeded", cost=10)
        report(acme, "job-1", "succeeded", cost=11)
    run_worker()
    with django_capture_on_commit_callbacks(execute=True):
        report(acme, "job-1", "succeeded", cost=12)
    run_worker()
    assert Delivery.objects.count() == 1 and len(receiver.requests) == 1


def test_a_worker_dying_mid_send_leaves_the_retry_to_send_it(
    acme, hook, receiver, clock, monkeypatch, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        report_ending(acme)
    owed = Delivery.objects.get()

    class WorkerKilled(BaseException):
        pass

    def killed(*args, **kwargs):
        raise WorkerKilled

    with monkeypatch.context() as patched:
        patched.setattr(delivery, "send", killed)
        with pytest.raises(WorkerKilled):
            deliver.call(owed.pk)
    owed.refresh_from_db()
    assert owed.state == "pending" and receiver.requests == []  # claimed, never sent
    (retry_at,) = queued_runs(owed.pk)
    clock.at = retry_at
    deliver.call(owed.pk)
    owed.refresh_from_db()
    assert owed.state == "delivered" and len(receiver.requests) == 1
    assert receiver.requests[0].headers["Pixxel-Dashboard-Delivery"] == str(owed.public_id)


def test_a_rolled_back_save_delivers_nothing(acme, hook, django_capture_on_commit_callbacks):
    class Aborted(Exception):
        pass

    with (
        django_capture_on_commit_callbacks(execute=True),
        pytest.raises(Aborted),
        transaction.atomic(),
    ):
        report_ending(acme)
        raise Aborted
    assert not Delivery.objects.exists()
    assert not DBTaskResult.objects.filter(task_path=deliver.module_path).exists()


@pytest.mark.django_db(transaction=True)
def test_two_workers_saving_the_same_end_at_once_deliver_it_once(acme, alice, receiver):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite serialises writers; row-level concurrency is tested on PostgreSQL")
    from pixxel_dashboard.webhooks import services

    services.create_endpoint(acme, alice, receiver.url, "", ["job.succeeded"])
    report(acme, "job-1", "running")
    at_once(*[partial(report, acme, "job-1", "succeeded", cost=40)] * 2)
    assert Delivery.objects.count() == 1
    assert DBTaskResult.objects.filter(task_path=deliver.module_path).count() == 1
    run_worker()
    assert len(receiver.requests) == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_claims_of_one_event_insert_one_delivery(acme, alice, receiver):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite serialises writers; row-level concurrency is tested on PostgreSQL")
    from pixxel_dashboard.webhooks import services

    endpoint, _ = services.create_endpoint(acme, alice, receiver.url, "", ["job.failed"])
    claim = partial(delivery.claim, [endpoint], "job.failed", "job.failed:1", acme, {})
    won = at_once(*[claim] * 4, in_transaction=True)
    assert sorted(len(ids) for ids in won) == [0, 0, 0, 1]
    assert Delivery.objects.count() == 1


# --- where deliveries may go ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("10.1.2.3", "private"),
        ("192.168.0.10", "private"),
        ("172.16.5.4", "private"),
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
        ("169.254.169.254", "link-local"),
        ("fe80::1", "link-local"),
        ("224.0.0.1", "multicast"),
        ("0.0.0.0", "unspecified"),
        ("::ffff:127.0.0.1", "loopback"),
        ("::ffff:169.254.169.254", "link-local"),
        ("fd00::1", "private"),
        ("100.64.0.1", "non-public"),  # carrier-grade NAT
        ("240.0.0.1", "private"),
    ],
)
def test_non_public_addresses_are_refused(address, kind):
    import ipaddress

    assert why_refused(ipaddress.ip_address(address)) == kind


def test_public_addresses_are_allowed():
    import ipaddress

    assert why_refused(ipaddress.ip_address("93.184.216.34")) is None
    assert why_refused(ipaddress.ip_address("2606:4700:4700::1111")) is None


def fake_resolver(*answers):
    """socket.getaddrinfo answering each call with the next address (the last one repeats)."""
    calls = []

    def getaddrinfo(host, port, *args, **kwargs):
        address = answers[min(len(calls), len(answers) - 1)]
        calls.append(host)
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        return [(family, socket.SOCK_STREAM, 6, "", (address, port))]

    getaddrinfo.calls = calls
    return getaddrinfo


@pytest.mark.parametrize(
    "address", ["10.0.0.5", "127.0.0.1", "169.254.169.254", "::ffff:10.0.0.5", "fe80::1"]
)
def test_a_host_resolving_to_a_private_address_gets_no_request(
    acme, hook, receiver, clock, monkeypatch, address, settings, django_capture_on_commit_callbacks
):
    settings.WEBHOOK_ALLOW_HOSTS = []
    port = receiver.url.split(":")[2].split("/")[0]
    Endpoint.objects.filter(pk=hook.pk).update(url=f"https://hooks.example.com:{port}/x")
    monkeypatch.setattr(socket, "getaddrinfo", fake_resolver(address))
    with django_capture_on_commit_callbacks(execute=True):
        report_ending(acme)
    owed = Delivery.objects.get()
    deliver.call(owed.pk)
    owed.refresh_from_db()
    attempt = owed.attempts.get()
    assert "resolves to a" in attempt.error and "WEBHOOK_ALLOW_HOSTS" in attempt.error
    assert owed.state == "failed"  # a refusal is not retried
    assert receiver.requests == []


def test_dns_rebinding_cannot_turn_a_checked_public_answer_into_a_private_connection(
    acme, hook, receiver, clock, monkeypatch, settings, django_capture_on_commit_callbacks
):
    """The resolver answers a public address first and the receiver's loopback address after:
    a client that looked the name up again to connect would reach the receiver."""
    settings.WEBHOOK_ALLOW_HOSTS = []
    port = int(receiver.url.split(":")[2].split("/")[0])
    Endpoint.objects.filter(pk=hook.pk).update(url=f"http://rebind.example.com:{port}/x")
    resolver = fake_resolver("93.184.216.34", "127.0.0.1")
    monkeypatch.setattr(socket, "getaddrinfo", resolver)
    connected = []
    real_connect = socket.socket.connect

    def connect(sock, address):
        connected.append(address[0])
        if address[0] == "93.184.216.34":  # no network here: the public host refuses
            raise ConnectionRefusedError(111, "Connection refused")
        return real_connect(sock, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    with django_capture_on_commit_callbacks(execute=True):
        report_ending(acme)
    deliver.call(Delivery.objects.get().pk)
    assert connected == ["93.184.216.34"] and resolver.calls == ["rebind.example.com"]
    assert receiver.requests == []
    assert "connection refused" in Attempt.objects.get().error.lower()


def test_the_allow_list_admits_listed_hosts_and_networks(settings, monkeypatch):
    settings.WEBHOOK_ALLOW_HOSTS = ["hooks.internal", "10.0.5.0/24"]
    monkeypatch.setattr(socket, "getaddrinfo", fake_resolver("10.9.9.9"))
    assert vetted_addresses("hooks.internal", 443) == [(socket.AF_INET, "10.9.9.9")]
    with pytest.raises(RefusedAddress):
        vetted_addresses("other.internal", 443)
    monkeypatch.setattr(socket, "getaddrinfo", fake_resolver("10.0.5.7"))
    assert vetted_addresses("other.internal", 443) == [(socket.AF_INET, "10.0.5.7")]


def test_one_private_answer_among_public_ones_is_refused(monkeypatch, settings):
    settings.WEBHOOK_ALLOW_HOSTS = []

    def getaddrinfo(host, port, *args, **kwargs):
        return [
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", port)),
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.0.0.1", port)),
        ]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    with pytest.raises(RefusedAddress, match="10.0.0.1"):
        vetted_addresses("mixed.example.com", 443)


# --- the secret at rest -----------------------------------------------------------------------


def test_rotating_the_encryption_key_keeps_webhooks_signing(
    acme, alice, receiver, settings, django_capture_on_commit_callbacks
):
    import io

    from cryptography.fernet import Fernet

    from pixxel_dashboard.webhooks import services

    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.PIXXEL_DASHBOARD_ENCRYPTION_KEYS = [old]
    endpoint, previous = services.create_endpoint(acme, alice, receiver.url, "", ["job.failed"])
    secret = services.rotate_secret(endpoint, alice)  # the previous secret still signs too
    settings.PIXXEL_DASHBOARD_ENCRYPTION_KEYS = [new, old]
    out = io.StringIO()
    call_command("reencrypt_webhook_secrets", stdout=out)
    assert "Re-encrypted 1 webhook secret." in out.getvalue()
    settings.PIXXEL_DASHBOARD_ENCRYPTION_KEYS = [new]  # the old key dropped
    with django_capture_on_commit_callbacks(execute=True):
        report_ending(acme)
    run_worker()
    (received,) = receiver.requests
    header = received.headers["Pixxel-Dashboard-Signature"]
    assert readme_verify()(secret, header, received.body)
    assert readme_verify()(previous, header, received.body)


def test_re_encryption_drops_a_previous_secret_that_no_longer_signs(acme, alice, settings):
    import io

    from cryptography.fernet import Fernet

    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.PIXXEL_DASHBOARD_ENCRYPTION_KEYS = [old]
    endpoint, _ = services.create_endpoint(
        acme, alice, "https://h.example.com/", "", ["job.failed"]
    )
    services.rotate_secret(endpoint, alice)
    Endpoint.objects.update(previous_secret_until=timezone.now())  # its day is over
    settings.PIXXEL_DASHBOARD_ENCRYPTION_KEYS = [new, old]
    out = io.StringIO()
    call_command("reencrypt_webhook_secrets", stdout=out)
    assert "Re-encrypted 1 webhook secret." in out.getvalue()
    endpoint.refresh_from_db()
    assert endpoint.previous_secret_encrypted == "" and endpoint.previous_secret_until is None


def test_a_secret_that_cannot_be_decrypted_is_a_clear_failure_not_a_crash(
    acme, hook, receiver, settings, django_capture_on_commit_callbacks
):
    from cryptography.fernet import Fernet

    settings.PIXXEL_DASHBOARD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    with django_capture_on_commit_callbacks(execute=True):
        report_ending(acme)
    run_worker()
    owed = Delivery.objects.get()
    assert owed.state == "failed" and "cannot be decrypted" in owed.attempts.get().error
    assert receiver.requests == []


def test_over_https_the_pinned_connection_still_names_the_host_for_sni_and_the_certificate(
    acme, hook, settings, monkeypatch, tmp_path, django_capture_on_commit_callbacks
):
    """Connecting to the checked address must not lose the host name: TLS asks for the URL's
    host (SNI) and the certificate is checked against it (a self-signed one is refused)."""
    import datetime as dt
    import ssl

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "hooks.example.com")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("hooks.example.com")]), False)
        .sign(key, hashes.SHA256())
    )
    (tmp_path / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    asked_for = []
    context.sni_callback = lambda sock, server_name, ctx: asked_for.append(server_name)
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def serve():
        conn, _ = listener.accept()
        try:
            context.wrap_socket(conn, server_side=True)
        except (ssl.SSLError, OSError):
            pass  # the client refuses the self-signed certificate
        finally:
            conn.close()

    server = threading.Thread(target=serve, daemon=True)
    server.start()
    settings.WEBHOOK_ALLOW_HOSTS = ["hooks.example.com"]
    Endpoint.objects.filter(pk=hook.pk).update(url=f"https://hooks.example.com:{port}/x")
    monkeypatch.setattr(socket, "getaddrinfo", fake_resolver("127.0.0.1"))
    with django_capture_on_commit_callbacks(execute=True):
        report_ending(acme)
    deliver.call(Delivery.objects.get().pk)
    server.join(5)
    listener.close()
    assert asked_for == ["hooks.example.com"]
    assert "TLS handshake failed" in Attempt.objects.get().error


def test_an_amount_stored_out_of_range_is_sent_as_null_and_never_breaks_the_save(
    acme, hook, receiver, django_capture_on_commit_callbacks
):
    from pixxel_dashboard.core.credits import INVALID_CREDITS

    job = report(acme, "job-1", "running", cost=5, estimate=4)
    job.cost = job.estimated_cost = INVALID_CREDITS  # as core/credits.py reads a NaN back
    job.status = "failed"
    assert delivery._number(job.cost) is None
    with django_capture_on_commit_callbacks(execute=True):
        delivery.on_job_finished(None, job=job, previous_status="running")
    run_worker()
    assert [json.loads(r.body)["data"]["credits"] for r in receiver.requests] == [None]


def test_an_estimate_given_as_a_plain_number_is_compared_too(
    acme, hook, receiver, django_capture_on_commit_callbacks
):
    job = report(acme, "job-1", "running", cost=130)
    job.status, job.estimated_cost = "succeeded", 125  # as a submission passes it, unsaved
    with django_capture_on_commit_callbacks(execute=True):
        delivery.on_job_finished(None, job=job, previous_status="running")
    assert set(Delivery.objects.values_list("event_type", flat=True)) == {
        "job.succeeded",
        "job.cost_over_estimate",
    }


def test_the_daily_prune_forgets_a_rotated_out_secret_once_its_day_is_over(
    acme, alice, hook, clock
):
    services.rotate_secret(hook, alice)
    call_command("prune_webhook_deliveries", stdout=io.StringIO())
    hook.refresh_from_db()
    assert hook.previous_secret_encrypted  # still signing beside the new one
    clock.advance(hours=24)
    call_command("prune_webhook_deliveries", stdout=io.StringIO())
    hook.refresh_from_db()
    assert hook.previous_secret_encrypted == "" and hook.previous_secret_until is None


def test_enabling_a_webhook_that_is_on_leaves_its_retries_on_their_schedule(
    acme, alice, hook, receiver, clock, django_capture_on_commit_callbacks
):
    receiver.answers = [503]
    with django_capture_on_commit_callbacks(execute=True):
        report_ending(acme)
    owed = Delivery.objects.get()
    deliver.call(owed.pk)
    owed.refresh_from_db()
    waiting_until = owed.next_attempt_at
    assert owed.state == "pending" and waiting_until > clock.now()
    services.set_enabled(hook, alice, True)  # a second click, a stale tab
    owed.refresh_from_db()
    assert owed.next_attempt_at == waiting_until and owed.series_attempts == 1


def test_the_daily_prune_deletes_settled_deliveries_after_30_days_and_keeps_pending_ones(
    acme, hook, receiver, clock, django_capture_on_commit_callbacks
):
    receiver.answers = [200, 400, 500]
    with django_capture_on_commit_callbacks(execute=True):
        for job_id in ("delivered", "refused", "retrying", "recent"):
            report_ending(acme, job_id, "failed")
    deliveries = {d.payload["data"]["id"]: d for d in Delivery.objects.all()}
    for job_id in ("delivered", "refused", "retrying"):
        deliver.call(deliveries[job_id].pk)
    assert Attempt.objects.count() == 3
    Delivery.objects.exclude(pk=deliveries["recent"].pk).update(
        created_at=timezone.now() - timedelta(days=31)
    )
    Delivery.objects.filter(pk=deliveries["recent"].pk).update(
        state="delivered", created_at=timezone.now()
    )
    out = io.StringIO()
    call_command("prune_webhook_deliveries", stdout=out)
    assert out.getvalue() == "Deleted 2 webhook deliveries.\n"
    kept = {d.payload["data"]["id"] for d in Delivery.objects.all()}
    assert kept == {"retrying", "recent"}  # still owed; settled but young
    assert Attempt.objects.count() == 1  # the deleted ones' attempts went with them
