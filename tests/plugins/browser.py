"""Playwright on Debian's Chromium, against Django's live_server."""

import os

import pytest

CHROMIUM = "/usr/bin/chromium"


# The same sentence as scripts/ensure-chromium, for a `pytest` run without `make test`.
NO_BROWSER = (
    "The browser tests need Chromium: install Debian's package (sudo apt-get install chromium) "
    "or let Playwright download its own (.venv/bin/playwright install chromium, which needs "
    "access to Playwright's download host), then run make test again."
)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args, browser_type):
    args = {
        **browser_type_launch_args,
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--disable-quic",
        ],
    }
    # Playwright cannot download browsers here; use the system's where it exists
    # (`make test` installs Playwright's own build on machines without it).
    if os.path.exists(CHROMIUM):
        args["executable_path"] = CHROMIUM
    elif not os.path.exists(browser_type.executable_path):
        pytest.exit(NO_BROWSER, returncode=1)
    return args


def wait_for_htmx(page) -> None:
    """Until htmx has finished every request, swap and settle (new content is wired up)."""
    page.wait_for_function(
        "() => window.htmx && !document.querySelector("
        "'.htmx-request, .htmx-swapping, .htmx-settling, .htmx-added')"
    )


def log_in(page, base: str, username: str) -> None:
    """Through the login form, as a person would; returns once the login page is left."""
    from tests.conftest import PASSWORD

    page.goto(base + "/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(lambda url: "/accounts/login/" not in url)


def is_poll(request) -> bool:
    """A request of the job page's live poll."""
    return "/live/" in request.url


def count_polls(page) -> None:
    """Count the job page's polls (requests to `/live/`, whichever element sends them) in the
    page, as htmx sends them; read with `polls_sent`. Unlike the browser's request events, the
    count is exact the moment it is read: nothing is still on its way. Call after each navigation."""
    page.evaluate(
        """() => {
            window.polls = 0;
            document.addEventListener("htmx:beforeRequest", (event) => {
                if (event.detail.pathInfo.requestPath.includes("/live/")) window.polls += 1;
            });
        }"""
    )


def polls_sent(page) -> int:
    return page.evaluate("window.polls")


def advance(page, seconds: int, step: int = 1) -> None:
    """Move the page's clock (`page.clock.install()` first) on by `seconds`, a `step` at a time,
    letting htmx finish each request it made: one still in flight would make htmx drop the next
    trigger, and a poll that should not happen would go unseen."""
    for _ in range(0, seconds, step):
        page.clock.run_for(step * 1000)
        wait_for_htmx(page)
