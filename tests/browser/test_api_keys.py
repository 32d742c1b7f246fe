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

    # Revoking asks first; cancelling changes nothing.
    page.get_by_role("link", name="Revoke…").click()
    expect(page.get_by_role("heading", name="Revoke Rotated?")).to_be_visible()
    page.get_by_role("link", name="Cancel").click()
    expect(page.locator(".facts")).to_contain_text("Rotated")
    assert ApiKey.objects.active().count() == 1
    page.get_by_role("link", name="Revoke…").click()
    page.get_by_role("button", name="Revoke the key").click()
    expect(page.get_by_text("has no Pixxel API key")).to_be_visible()
    assert ApiKey.objects.active().count() == 0


def test_without_javascript_a_refused_key_is_kept_out_and_revoking_is_confirmed(
    live_server, browser, adam, acme, sandbox
):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    log_in(page, live_server.url, "adam")
    page.goto(live_server.url + "/o/acme/settings/keys/")
    page.get_by_label("Label").fill("Working")
    page.get_by_label("API key").fill(sandbox.new_key())
    page.get_by_role("button", name="Save key").click()
    expect(page.locator(".facts")).to_contain_text("Working")

    # A key Pixxel refuses: its answer is shown and the working key stays active.
    refused = "refused-by-pixxel-2468"
    page.get_by_label("Label").fill("Typo")
    page.get_by_label("API key").fill(refused)
    page.get_by_role("button", name="Rotate key").click()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("HTTP 403 · invalid API key")
    expect(alert).to_contain_text("Working is still the active key")
    assert refused not in page.content()
    assert ApiKey.objects.active().get().label == "Working"

    # Saving it anyway is a deliberate second step.
    page.get_by_label("API key").fill(refused)
    page.get_by_label("Save this key anyway").check()
    page.get_by_role("button", name="Rotate key").click()
    expect(page.locator(".facts")).to_contain_text("Typo")
    expect(page.locator("#key-status")).to_contain_text("Not working")

    page.get_by_role("link", name="Revoke…").click()
    page.get_by_role("button", name="Revoke the key").click()
    expect(page.get_by_text("has no Pixxel API key")).to_be_visible()
    assert ApiKey.objects.active().count() == 0
    context.close()
