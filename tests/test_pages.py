"""What every page shares: security headers, styled error pages, the htmx wiring."""

import re

import pytest
from django.test import override_settings


def test_pages_carry_a_self_only_content_security_policy(client_for, alice):
    response = client_for(alice).get("/o/acme/jobs/")
    policy = response["Content-Security-Policy"]
    assert "default-src 'self'" in policy
    assert "script-src 'self'" in policy
    assert "style-src 'self'" in policy
    assert "unsafe-inline" not in policy


@pytest.fixture
def every_page(acme, alice, pixxel):
    """Each kind of page and fragment, filled with real data (a job with tasks and errors)."""
    from pixxel_dashboard.sandbox import ids
    from tests.plugins.jobs import submit

    job = submit(acme, alice, pixxel, ids.WF_VALIDATION, ids.PROJECT_COASTAL)
    running = submit(acme, alice, pixxel, ids.WF_FANOUT, ids.PROJECT_COASTAL)
    return [
        "/o/acme/jobs/",
        "/o/acme/jobs/new/",
        f"/o/acme/jobs/new/?project={ids.PROJECT_COASTAL}&workflow={ids.WF_VALIDATION}",
        job.get_absolute_url(),
        running.get_absolute_url(),
        running.get_absolute_url() + "live/",
        "/o/acme/settings/members/",
        "/o/acme/settings/keys/",
        "/orgs/new/",
        "/accounts/password_change/",
    ]


def test_pages_have_no_inline_script_style_or_eval(client_for, alice, every_page):
    client = client_for(alice)
    for path in every_page:
        response = client.get(path)
        assert response.status_code == 200, path
        page = response.content.decode()
        assert "<style" not in page, path
        assert " style=" not in page, path
        assert "hx-on" not in page, path  # htmx would need eval, which the CSP forbids
        assert "javascript:" not in page, path
        for script in page.split("<script")[1:]:
            assert script.lstrip().startswith("src="), path


def test_htmx_is_served_from_our_own_static_files(client_for, alice):
    page = client_for(alice).get("/o/acme/jobs/").content.decode()
    assert 'src="/static/vendor/htmx-2.0.11.min.js"' in page
    # Every script and stylesheet from here, none from a CDN. (Not "no 'cdn' in the page": a
    # random CSRF token once held those three letters.)
    sources = re.findall(r'<(?:script|link)\b[^>]*\b(?:src|href)="([^"]*)"', page)
    assert sources and all(source.startswith("/static/") for source in sources), sources


def test_htmx_requests_carry_the_csrf_token(client_for, alice):
    page = client_for(alice).get("/o/acme/jobs/").content.decode()
    assert 'hx-headers=\'{"X-CSRFToken": "' in page


@override_settings(DEBUG=False)
def test_a_404_is_a_styled_page(client_for, alice):
    response = client_for(alice).get("/o/acme/nothing-here/")
    assert response.status_code == 404
    page = response.content.decode()
    assert "Not found" in page and 'href="/static/css/app.css"' in page


@override_settings(DEBUG=False)
def test_a_403_is_a_styled_page_that_says_why(client_for, vera):
    response = client_for(vera).post("/o/acme/settings/members/invite/", {"email": "x@example.com"})
    assert response.status_code == 403
    page = response.content.decode()
    assert "Not allowed" in page
    assert "Your role in this organization does not allow this." in page


@pytest.mark.django_db
def test_a_500_is_a_styled_page(client, settings):
    from django.test import Client

    settings.DEBUG = False
    page = Client(raise_request_exception=False)
    from django.urls import path

    def boom(request):
        raise RuntimeError("boom")

    import pixxel_dashboard.urls as root

    with override_settings(
        ROOT_URLCONF=type("U", (), {"urlpatterns": [path("boom/", boom)] + root.urlpatterns})
    ):
        response = page.get("/boom/")
    assert response.status_code == 500
    assert "Something went wrong" in response.content.decode()
    assert "boom" not in response.content.decode()


def test_pages_mark_the_current_section_and_have_landmarks(client_for, alice):
    page = client_for(alice).get("/o/acme/settings/members/").content.decode()
    assert '<main id="main"' in page
    assert '<nav class="mainnav" aria-label="Sections">' in page
    assert 'href="/o/acme/settings/members/" aria-current="page">Settings' in page
    assert 'aria-live="polite"' in page
