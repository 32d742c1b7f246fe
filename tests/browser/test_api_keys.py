"""An admin manages the organization's Pixxel key in a real browser."""

import pytest
from playwright.sync_api import Page, expect

from pixxel_dashboard.keys.models import ApiKey
from tests.plugins.browser import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_admin_adds_tests_rotates_and_revokes_the_key(live_server, page: Page, adam, sandbox):
    log_in(page, live_server.url, "adam")
    page.goto(live_server.url + "/o/acme/settings/keys/")
    expect(page.get_by_text("has no Pixxel API key")).to_be_visible()

    first = sandbox.new_key()
    page.get_by_label("Label").fill("Production")
    page.get_by_label("API key").fill(first)
    page.get_by_role("button", name="Save key").click()
    expect(page.get_by_role("status").first).to_contain_text("Connected to Pixxel")
    expect(page.locator(".facts")).to_contain_text(f"••••{first[-4:]}")
    # The field is empty again and the key is nowhere in the page.
    expect(page.get_by_label("API key")).to_have_value("")
    assert first not in page.content()

    # Test connection swaps an inline result in without reloading the page.
    page.evaluate("window.notReloaded = true")
    page.get_by_role("button", name="Test connection").click()
    expect(page.locator("#test-result")).to_contain_text("the key works")
    expect(page.locator("#key-status")).to_contain_text("Working")
    assert page.evaluate("window.notReloaded") is True

    second = sandbox.new_key()
    page.get_by_label("Label").fill("Rotated")
    page.get_by_label("API key").fill(second)
    page.get_by_role("button", name="Rotate key").click()
    expect(page.get_by_role("table", name="Revoked keys")).to_contain_text("Production")
    expect(page.locator(".facts")).to_contain_text("Rotated")

    page.get_by_role("button", name="Revoke").click()
    expect(page.get_by_text("has no Pixxel API key")).to_be_visible()
    assert ApiKey.objects.active().count() == 0
