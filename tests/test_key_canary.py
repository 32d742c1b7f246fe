"""Security acceptance: a stored Pixxel API key never leaks.

A distinctive key is stored, then every page, partial, form error, admin page and client error path
is exercised; the plaintext must appear in no response body, no log record, and nowhere in the
database (every column of every table, scanned with raw SQL).
"""

import logging

import pytest
from django.db import connection
from django.test import Client

from pixxel_dashboard.keys import services
from pixxel_dashboard.keys.models import ApiKey
from pixxel_dashboard.pixxel import PixxelError
from pixxel_dashboard.sandbox.simulation import fingerprint
from tests.plugins.worker import run_worker

CANARY = "sbx_CANARY_k9q2Zx7Lw4Vt8Rp3Ym6"
# The last four characters are shown on purpose (••••8Rp3Ym6 → ••••Ym6?); the rest must never be.
CANARY_BODY = CANARY[:-4]


def assert_no_canary(text: str, where: str):
    assert CANARY_BODY not in text, f"the API key leaked into {where}"


def scan_database_for(needle: str) -> list[str]:
    hits = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            for column in connection.introspection.get_table_description(cursor, table):
                name = connection.ops.quote_name(column.name)
                cursor.execute(
                    f"SELECT COUNT(*) FROM {connection.ops.quote_name(table)} "
                    f"WHERE CAST({name} AS TEXT) LIKE %s",
                    [f"%{needle}%"],
                )
                if cursor.fetchone()[0]:
                    hits.append(f"{table}.{column.name}")
    return hits


@pytest.fixture
def superuser(django_user_model):
    return django_user_model.objects.create_superuser("root", "root@example.com", "pw-root-123456")


@pytest.mark.django_db(transaction=True)
def test_the_key_appears_in_no_page_log_or_table(
    client_for, alice, bob, vera, charlie, acme, superuser, sandbox, caplog
):
    caplog.set_level(logging.DEBUG)
    bodies: dict[str, str] = {}
    owner = client_for(alice)

    # Typed while Pixxel fails: refused (and not echoed back), then saved anyway on purpose.
    sandbox.inject("500", times=20)
    refused = owner.post("/o/acme/settings/keys/add/", {"label": "Canary early", "secret": CANARY})
    bodies["refused add"] = refused.content.decode()
    assert refused.status_code == 400 and "The key was not saved" in bodies["refused add"]
    bodies["saved anyway (followed)"] = owner.post(
        "/o/acme/settings/keys/add/",
        {"label": "Canary early", "secret": CANARY, "save_anyway": "on"},
        follow=True,
    ).content.decode()
    assert "Not working" in bodies["saved anyway (followed)"]
    sandbox.server.reset()

    # Add it (the add also tests it against the sandbox), then a form error carrying it again.
    response = owner.post(
        "/o/acme/settings/keys/add/", {"label": "Canary", "secret": CANARY}, follow=True
    )
    bodies["add (followed)"] = response.content.decode()
    assert "Connected to Pixxel" in bodies["add (followed)"]
    bodies["form error"] = owner.post(
        "/o/acme/settings/keys/add/", {"label": "", "secret": CANARY}
    ).content.decode()
    key = ApiKey.objects.get(label="Canary")

    # Every page and partial, for every role.
    for user in (alice, bob, vera):
        client = client_for(user)
        for path in (
            "/o/acme/",
            "/o/acme/settings/keys/",
            f"/o/acme/settings/keys/{key.pk}/revoke/",
            "/o/acme/settings/members/",
            "/",
        ):
            bodies[f"{user.username} {path}"] = client.get(path, follow=True).content.decode()
    bodies["test partial"] = owner.post(
        f"/o/acme/settings/keys/{key.pk}/test/", headers={"HX-Request": "true"}
    ).content.decode()
    bodies["test no-js"] = owner.post(
        f"/o/acme/settings/keys/{key.pk}/test/", follow=True
    ).content.decode()
    bodies["other org"] = client_for(charlie).get("/o/acme/settings/keys/").content.decode()

    # The client's error paths, through the page and directly.
    for fault in ("500", "502-html", "malformed-json", "429", "reset"):
        sandbox.inject(fault, times=10)
        bodies[f"test under {fault}"] = owner.post(
            f"/o/acme/settings/keys/{key.pk}/test/", headers={"HX-Request": "true"}
        ).content.decode()
        sandbox.server.reset()
        sandbox.inject(fault, times=10)
        client, _ = services.client_for_organization(acme)
        with pytest.raises(PixxelError) as caught:
            client.list_projects()
        error = caught.value
        bodies[f"error {fault}"] = f"{error} {error!r} {error.user_message} {client!r}"
        sandbox.server.reset()

    # The admin.
    admin = Client()
    admin.force_login(superuser)
    for path in (
        "/admin/keys/apikey/",
        f"/admin/keys/apikey/{key.pk}/change/",
        "/admin/accounts/auditevent/",
        "/admin/accounts/organization/",
    ):
        response = admin.get(path)
        assert response.status_code == 200, path
        bodies[f"admin {path}"] = response.content.decode()

    for where, text in bodies.items():
        assert_no_canary(text, where)
    for record in caplog.records:
        assert_no_canary(record.getMessage(), f"log record {record.name}")
        assert_no_canary(repr(record.args), f"log args {record.name}")
    assert scan_database_for(CANARY_BODY) == []
    # The scan itself works: the masked last four are findable, and so is a planted value.
    assert scan_database_for(key.last4)


def test_the_key_is_sent_only_as_the_authorization_header_to_the_configured_api(
    acme, alice, sandbox
):
    key = services.add_key(acme, alice, "Canary", CANARY)
    services.test_key(key, alice)
    client, _ = services.client_for_organization(acme)
    client.list_workflows(project_id=None)
    requests = sandbox.requests()
    assert requests, "the sandbox (PIXXEL_API_BASE_URL) received the calls"
    for request in requests:
        assert request["headers"]["Authorization"] == fingerprint(CANARY)
        others = {k: v for k, v in request["headers"].items() if k != "Authorization"}
        assert CANARY_BODY not in repr(others)
        assert CANARY_BODY not in request["path"] + repr(request["query"])
    assert client.base_url == sandbox.base_url


def test_an_error_while_adding_a_key_keeps_it_out_of_the_error_report(
    alice, acme, sandbox, monkeypatch
):
    """In production (DEBUG off) a 500's report goes to admins' email and the logs: it must hold
    neither the POSTed key nor any frame's copy of it."""
    import sys

    from django.core.signals import got_request_exception
    from django.test import override_settings
    from django.views.debug import ExceptionReporter

    def broken(*args, **kwargs):
        raise RuntimeError("database went away")

    # Fails deep inside the real add_key, with the secret in the frames below the view.
    monkeypatch.setattr("pixxel_dashboard.keys.services.record_event", broken)
    reports = []

    def report(sender, request, **kwargs):
        reporter = ExceptionReporter(request, *sys.exc_info(), is_email=True)
        reports.append(reporter.get_traceback_text() + reporter.get_traceback_html())

    got_request_exception.connect(report)
    try:
        client = Client(raise_request_exception=False)
        client.force_login(alice)
        with override_settings(DEBUG=False):
            response = client.post(
                "/o/acme/settings/keys/add/", {"label": "Canary", "secret": CANARY}
            )
    finally:
        got_request_exception.disconnect(report)
    assert response.status_code == 500
    assert_no_canary(response.content.decode(), "the 500 page")
    (text,) = reports
    assert "database went away" in text and "add_key" in text  # a real report, frames and all
    assert_no_canary(text, "the error report")


def test_an_unexpected_crash_inside_the_http_library_keeps_the_key_out_of_the_report(
    alice, acme, sandbox, monkeypatch
):
    """urllib3's frames hold the request headers; the report shows none of their variables."""
    import sys

    import urllib3
    from django.core.signals import got_request_exception
    from django.test import override_settings
    from django.views.debug import ExceptionReporter

    key = services.add_key(acme, alice, "Canary", CANARY)

    def crash(self, timeout=None):
        # Called from urllib3's urlopen(), whose frame holds the request headers.
        raise RuntimeError("an unexpected bug deep in the HTTP stack")

    monkeypatch.setattr(urllib3.connectionpool.HTTPConnectionPool, "_get_conn", crash)
    reports = []

    def report(sender, request, **kwargs):
        # Text and HTML: the HTML report (AdminEmailHandler's include_html) lists frame variables.
        reporter = ExceptionReporter(request, *sys.exc_info(), is_email=True)
        reports.append(reporter.get_traceback_text() + reporter.get_traceback_html())

    got_request_exception.connect(report)
    try:
        client = Client(raise_request_exception=False)
        client.force_login(alice)
        with override_settings(DEBUG=False):
            response = client.post(f"/o/acme/settings/keys/{key.pk}/test/")
    finally:
        got_request_exception.disconnect(report)
    assert response.status_code == 500
    (text,) = reports
    assert "an unexpected bug deep in the HTTP stack" in text and "urllib3" in text
    assert_no_canary(text, "the error report")


WEBHOOK_CANARY = "whsec_CANARY_w3bh00k5Zq8Lm2Xv7Np4Rt6"
WEBHOOK_CANARY_BODY = WEBHOOK_CANARY[:-4]


def assert_webhook_canary_nowhere(bodies: dict[str, str], records) -> None:
    """Not in any of the collected pages and deliveries, a log record or a table."""
    for where, text in bodies.items():
        assert WEBHOOK_CANARY_BODY not in text, f"the webhook secret leaked into {where}"
    for record in records:
        assert WEBHOOK_CANARY_BODY not in record.getMessage(), f"log record {record.name}"
        assert WEBHOOK_CANARY_BODY not in repr(record.args), f"log args {record.name}"
    assert scan_database_for(WEBHOOK_CANARY_BODY) == []


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("worker_keeps_test_connection")
def test_a_webhook_secret_appears_once_at_creation_and_then_in_no_page_log_table_or_request(
    client_for, alice, adam, charlie, superuser, receiver, monkeypatch, caplog
):
    """The secret is shown on the page that answers the creation, and nowhere else: not on any
    page after it, not in a delivery (only its HMAC is), not in a log record or a table."""
    from pixxel_dashboard.webhooks import delivery
    from pixxel_dashboard.webhooks.models import Delivery, Endpoint

    monkeypatch.setattr(delivery, "new_secret", lambda: WEBHOOK_CANARY)
    caplog.set_level(logging.DEBUG)
    owner = client_for(alice)
    created = owner.post(
        "/o/acme/settings/webhooks/add/",
        {"url": receiver.url, "description": "Canary", "events": ["job.failed"]},
    )
    assert WEBHOOK_CANARY in created.content.decode()  # shown once, on purpose
    endpoint = Endpoint.objects.get()
    # It is used: a test event (sent by the real worker), a failed attempt, a redelivery.
    receiver.answers = [500]
    owner.post(f"/o/acme/settings/webhooks/{endpoint.pk}/test/")
    run_worker()
    owed = Delivery.objects.get()
    owner.post(f"/o/acme/settings/webhooks/{endpoint.pk}/deliveries/{owed.pk}/redeliver/")
    run_worker()
    assert len(receiver.requests) == 2
    bodies: dict[str, str] = {}
    for user in (alice, adam):
        client = client_for(user)
        for path in (
            "/o/acme/settings/webhooks/",
            f"/o/acme/settings/webhooks/{endpoint.pk}/",
            f"/o/acme/settings/webhooks/{endpoint.pk}/delete/",
            "/o/acme/settings/organization/",
        ):
            bodies[f"{user.username} {path}"] = client.get(path).content.decode()
    bodies["form error"] = (
        client_for(alice)
        .post("/o/acme/settings/webhooks/add/", {"url": "http://x.example.com", "events": []})
        .content.decode()
    )
    bodies["other org"] = client_for(charlie).get("/o/acme/settings/webhooks/").content.decode()
    admin = Client()
    admin.force_login(superuser)
    bodies["admin audit"] = admin.get("/admin/accounts/auditevent/").content.decode()
    for number, received in enumerate(receiver.requests):
        bodies[f"delivery {number}"] = repr(received.headers) + received.body.decode()

    assert_webhook_canary_nowhere(bodies, caplog.records)
    # The scan itself works: the last four (shown masked on purpose) are findable.
    assert scan_database_for(endpoint.last4) and endpoint.last4 == WEBHOOK_CANARY[-4:]


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("worker_keeps_test_connection")
def test_a_rotated_webhook_secret_is_shown_once_and_as_the_previous_one_in_no_page_or_table(
    client_for, alice, receiver, monkeypatch, caplog
):
    from pixxel_dashboard.webhooks import delivery
    from pixxel_dashboard.webhooks.models import Endpoint

    caplog.set_level(logging.DEBUG)
    owner = client_for(alice)
    monkeypatch.setattr(delivery, "new_secret", lambda: "whsec_first_" + "a" * 32)
    owner.post(
        "/o/acme/settings/webhooks/add/",
        {"url": receiver.url, "description": "Canary", "events": ["job.failed"]},
    )
    endpoint = Endpoint.objects.get()
    page = f"/o/acme/settings/webhooks/{endpoint.pk}/"
    bodies: dict[str, str] = {}

    def used(label: str) -> None:
        """A test event sent by the real worker, and the webhook's pages, after `label`."""
        assert owner.post(page + "test/").status_code == 302
        run_worker()
        received = receiver.requests[-1]
        bodies[f"delivery {label}"] = repr(received.headers) + received.body.decode()
        bodies[f"page {label}"] = owner.get(page).content.decode()
        bodies[f"list {label}"] = owner.get("/o/acme/settings/webhooks/").content.decode()

    # The canary becomes the secret (shown once on purpose), then the previous one, still signing.
    monkeypatch.setattr(delivery, "new_secret", lambda: WEBHOOK_CANARY)
    assert WEBHOOK_CANARY in owner.post(page + "rotate-secret/").content.decode()
    used("after the rotation to the canary")
    monkeypatch.setattr(delivery, "new_secret", lambda: "whsec_third_" + "c" * 32)
    bodies["second rotation"] = owner.post(page + "rotate-secret/").content.decode()
    used("while the canary is the previous secret")
    assert receiver.requests[-1].headers["Pixxel-Dashboard-Signature"].count("v1=") == 2

    assert_webhook_canary_nowhere(bodies, caplog.records)
