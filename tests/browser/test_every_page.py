"""Every page, in a real browser: no serious or critical axe-core violation in the light and the dark
scheme, no sideways scroll at phone width; and the layout faults once found by hand stay fixed."""

import pytest
from axe_playwright_python.base import AXE_SCRIPT
from playwright.sync_api import Browser, Page

from tests.plugins.pages import Visit, World, visit_all

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCHEMES = ("light", "dark")
SERIOUS = {"serious", "critical"}
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 375, "height": 812}


def readable(where: str, violation: dict) -> str:
    """One violation as a person reads it: what, how bad, where (the first few elements)."""
    lines = [f"{where}: {violation['id']} ({violation['impact']}): {violation['help']}"]
    for node in violation["nodes"][:5]:
        summary = " ".join(node["failureSummary"].split())
        lines.append(f"    at {' '.join(map(str, node['target']))}: {summary}")
    if len(violation["nodes"]) > 5:
        lines.append(f"    ... and {len(violation['nodes']) - 5} more")
    return "\n".join(lines)


def start_axe(page: Page) -> None:
    """Start axe-core on the page without waiting: the schemes' pages are checked side by side
    (each browser page has its own renderer process), which halves the suite's time."""
    page.evaluate("() => { window.axeRun = axe.run(document, {resultTypes: ['violations']}); }")


def axe_violations(page: Page) -> list[dict]:
    return page.evaluate("() => window.axeRun.then(results => results.violations)")


def document_overflow(page: Page) -> int:
    """How many pixels the document is wider than the window (0: no sideways scroll)."""
    return page.evaluate(
        "() => Math.max(0, document.documentElement.scrollWidth - window.innerWidth)"
    )


def test_every_page_passes_axe_in_both_schemes_and_fits_a_phone(
    live_server, browser: Browser, every_page: World
):
    contexts = [browser.new_context(color_scheme=s, viewport=DESKTOP) for s in SCHEMES]
    for context in contexts:
        context.add_init_script(script=AXE_SCRIPT)  # axe-core in every document, CSP or not
    pages = [context.new_page() for context in contexts]
    serious: list[str] = []
    too_wide: list[str] = []

    def check(visit: Visit) -> None:
        for page in pages:
            start_axe(page)
        for scheme, page in zip(SCHEMES, pages, strict=True):
            serious.extend(
                readable(f"{visit.name} ({scheme})", v)
                for v in axe_violations(page)
                if v["impact"] in SERIOUS
            )
        phone = pages[0]
        phone.set_viewport_size(PHONE)
        if overflow := document_overflow(phone):
            too_wide.append(f"{visit.name}: {overflow} px wider than a 375 px phone")
        phone.set_viewport_size(DESKTOP)

    try:
        visit_all(pages, live_server.url, every_page.visits, check)
    finally:
        for context in contexts:
            context.close()
    assert not serious, "axe-core found serious violations:\n" + "\n".join(serious)
    assert not too_wide, "pages scroll sideways at phone width:\n" + "\n".join(too_wide)
