"""A team forms in a real browser: sign up, create an organization, invite, accept."""

import re

import pytest
from django.core import mail
from playwright.sync_api import Page, expect

from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def sign_up(page: Page, base: str, username: str, path: str = "/accounts/signup/"):
    page.goto(base + path)
    page.get_by_label("Username").fill(username)
    page.get_by_label("Email").fill(f"{username}@example.com")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Password confirmation").fill(PASSWORD)
    page.get_by_role("button", name="Sign up").click()


def test_a_team_forms_through_an_invitation(live_server, page: Page, browser):
    base = live_server.url
    sign_up(page, base, "alice")
    expect(page.get_by_role("heading", name="Create an organization")).to_be_visible()
    page.get_by_label("Organization name").fill("Orbital Farms")
    page.get_by_role("button", name="Create organization").click()
    expect(page.get_by_role("table", name="Jobs of Orbital Farms")).to_be_visible()

    page.get_by_role("navigation", name="Sections").get_by_role("link", name="Settings").click()
    page.get_by_label("Email address").fill("dana@example.com")
    page.get_by_label("Role", exact=True).select_option("member")
    page.get_by_role("button", name="Send invitation").click()
    expect(page.get_by_role("status")).to_contain_text("Invitation sent to dana@example.com")
    expect(page.get_by_role("table", name="Pending invitations")).to_contain_text(
        "dana@example.com"
    )

    link = re.search(r"https?://[^/]+(/invitations/\S+/)", mail.outbox[-1].body).group(1)
    other = browser.new_context()
    dana = other.new_page()
    dana.goto(base + link)
    expect(dana.get_by_text("You are invited to join Orbital Farms")).to_be_visible()
    dana.get_by_role("link", name="Create an account").click()
    sign_up(dana, base, "dana", path=dana.url.replace(base, ""))
    # Back on the invitation after signing up: it waits for her address to be confirmed.
    expect(dana.get_by_role("alert")).to_contain_text("Confirm your email address first")
    confirm = re.search(r"https?://[^/]+(/accounts/verify/\S+)", mail.outbox[-1].body).group(1)
    dana.goto(base + confirm)
    dana.get_by_role("button", name="Confirm my email address").click()
    expect(dana.get_by_role("status")).to_contain_text("dana@example.com is confirmed")
    dana.get_by_role("button", name="Join Orbital Farms").click()
    expect(dana.locator("#messages").get_by_role("status")).to_contain_text(
        "You joined Orbital Farms"
    )
    expect(dana.get_by_role("table", name="Jobs of Orbital Farms")).to_be_visible()
    # A member may submit: the navigation offers it.
    expect(dana.get_by_role("navigation", name="Sections")).to_contain_text("Submit")

    page.reload()
    expect(page.get_by_role("table", name="Members of Orbital Farms")).to_contain_text("dana")
    other.close()


def test_the_theme_follows_the_systems_dark_mode(live_server, page: Page, django_user_model):
    page.emulate_media(color_scheme="light")
    page.goto(live_server.url + "/accounts/login/")
    light = page.evaluate("getComputedStyle(document.body).backgroundColor")
    page.emulate_media(color_scheme="dark")
    dark = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert light == "rgb(255, 255, 255)"
    assert dark == "rgb(15, 20, 25)"


def test_the_layout_fits_a_phone(live_server, page: Page):
    page.set_viewport_size({"width": 375, "height": 740})
    page.goto(live_server.url + "/accounts/signup/")
    overflow = page.evaluate("document.documentElement.scrollWidth > window.innerWidth")
    assert overflow is False
    expect(page.get_by_role("button", name="Sign up")).to_be_visible()
