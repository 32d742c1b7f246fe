"""An owner adds a webhook in a real browser, keeps its secret, sends a test event to a local
receiver and sees the delivery recorded on the webhook's page."""

import re

import pytest
from django.core.management import call_command
from playwright.sync_api import Page, expect

from pixxel_dashboard.webhooks import delivery
from tests.plugins.browser import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_owner_adds_a_webhook_sends_a_test_event_and_sees_it_delivered(
    live_server, page: Page, alice, receiver, monkeypatch
):
    from django_tasks_db.management.commands import db_worker

    monkeypatch.setattr(db_worker, "close_old_connections", lambda: None)
    log_in(page, live_server.url, "alice")
    page.goto(live_server.url + "/o/acme/settings/members/")
    page.get_by_role("navigation", name="Settings").get_by_role("link", name="Webhooks").click()
    expect(page.get_by_role("heading", name="Webhooks", level=1)).to_be_visible()

    page.get_by_label("URL").fill(receiver.url)  # 127.0.0.1: on WEBHOOK_ALLOW_HOSTS
    page.get_by_label("Description").fill("CI relay")
    page.get_by_label("Job succeeded").check()
    page.get_by_label("Job failed").check()
    page.get_by_role("button", name="Add webhook").click()

    secret_field = page.get_by_role("textbox", name="Signing secret")
    expect(secret_field).to_have_value(re.compile(r"^whsec_\S{40,}$"))
    secret = secret_field.input_value()
    expect(page.get_by_text("it is shown only this once")).to_be_visible()

    page.get_by_role("button", name="Send test event").click()
    expect(page.get_by_role("status").first).to_contain_text("A test event is queued")
    # The secret is gone from the page for good.
    assert secret not in page.content()
    expect(page.get_by_role("textbox", name="Signing secret")).to_have_count(0)

    call_command("db_worker", "--batch", "--no-startup-delay", "--no-reload", verbosity=0)
    (received,) = receiver.requests
    assert received.headers["Pixxel-Dashboard-Event"] == "test"
    header = received.headers["Pixxel-Dashboard-Signature"]
    timestamp = int(header.split(",")[0][2:])
    assert header == delivery.signature(secret, timestamp, received.body)

    page.reload()
    deliveries = page.get_by_role("table", name="Recent deliveries")
    expect(deliveries).to_contain_text("Delivered")
    deliveries.get_by_text("1 attempt: HTTP 200").click()
    expect(deliveries).to_contain_text('{"ok": true}')
    assert secret not in page.content()
