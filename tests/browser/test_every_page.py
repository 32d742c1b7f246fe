"""Every page, in a real browser: no serious or critical axe-core violation in the light and the dark
scheme, no sideways scroll at phone width; and the layout faults once found by hand stay fixed."""

import pytest
from axe_playwright_python.base import AXE_SCRIPT
from playwright.sync_api import Browser, Page, expect

from pixxel_dashboard.keys import services
from pixxel_dashboard.sandbox import ids
from tests.plugins.browser import log_in
from tests.plugins.jobs import finish, submit
from tests.plugins.pages import Visit, World, visit_all

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCHEMES = ("light", "dark")
SERIOUS = {"serious", "critical"}
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 375, "height": 812}
# Off by default in axe-core: WCAG 2.2's 24 px targets (2.5.8) and the visible label being part of
# the accessible name (2.5.3, "experimental" in axe).
EXTRA_RULES = {"target-size": {"enabled": True}, "label-content-name-mismatch": {"enabled": True}}
# The dark scheme changes colours only (app.css's custom properties): in it, the rules that read
# colours; every rule runs in the light scheme.
COLOUR_RULES = ["color-contrast", "link-in-text-block"]


def readable(where: str, violation: dict) -> str:
    """One violation as a person reads it: what, how bad, where (the first few elements)."""
    lines = [f"{where}: {violation['id']} ({violation['impact']}): {violation['help']}"]
    for node in violation["nodes"][:5]:
        summary = " ".join(node["failureSummary"].split())
        lines.append(f"    at {' '.join(map(str, node['target']))}: {summary}")
    if len(violation["nodes"]) > 5:
        lines.append(f"    ... and {len(violation['nodes']) - 5} more")
    return "\n".join(lines)


def start_axe(page: Page, rules: list[str] | None = None) -> None:
    """Start axe-core on the page without waiting: the schemes' pages are checked side by side
    (each browser page has its own renderer process). `rules`: only these."""
    page.evaluate(
        """([rules, extra]) => { window.axeRun = axe.run(document, rules
            ? {resultTypes: ['violations'], runOnly: {type: 'rule', values: rules}}
            : {resultTypes: ['violations'], rules: extra}); }""",
        [rules, EXTRA_RULES],
    )


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
        light, dark = pages
        start_axe(light)
        start_axe(dark, COLOUR_RULES)
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
        # What scrolls sideways on a phone must be reachable from the keyboard too.
        start_axe(phone, ["scrollable-region-focusable"])
        serious.extend(readable(f"{visit.name} (phone)", v) for v in axe_violations(phone))
        phone.set_viewport_size(DESKTOP)

    try:
        visit_all(pages, live_server.url, every_page.visits, check)
    finally:
        for context in contexts:
            context.close()
    assert not serious, "axe-core found serious violations:\n" + "\n".join(serious)
    assert not too_wide, "pages scroll sideways at phone width:\n" + "\n".join(too_wide)


# Layout faults found by hand, each held by a test that failed before its fix. ---------------------


def box(locator) -> dict:
    found = locator.bounding_box()
    assert found, f"{locator} is not displayed"
    return found


def test_the_menus_of_the_top_bar_open_inside_the_window(live_server, page: Page, alice):
    log_in(page, live_server.url, "alice")
    page.goto(live_server.url + "/o/acme/settings/members/")
    for width in (375, 1280, 1920):
        page.set_viewport_size({"width": width, "height": 800})
        for menu in ("details.org-switcher", "details.user-menu"):
            page.locator(f"{menu} > summary").click()
            opened = box(page.locator(f"{menu} .menu"))
            assert opened["x"] >= 0 and opened["x"] + opened["width"] <= width, (width, menu)
            assert document_overflow(page) == 0, (width, menu)
            page.locator(f"{menu} > summary").click()


def test_the_organization_switcher_is_named_by_the_organization(live_server, page: Page, alice):
    log_in(page, live_server.url, "alice")
    page.goto(live_server.url + "/o/acme/jobs/")
    switcher = page.locator("details.org-switcher > summary")
    expect(switcher).to_have_accessible_name("Organization: Acme Imaging")


def test_a_wide_fan_out_graph_is_drawn_to_fit_its_box(
    live_server, page: Page, acme, alice, pixxel, sandbox
):
    fanout = submit(acme, alice, pixxel, workflow=ids.WF_FANOUT, project=ids.PROJECT_COASTAL)
    job = finish(fanout, sandbox, 3600)
    log_in(page, live_server.url, "alice")
    page.goto(live_server.url + job.get_absolute_url())
    graph, frame = page.locator("svg.graph"), page.locator(".graph-scroll")
    for width in (1280, 1440, 1920):
        page.set_viewport_size({"width": width, "height": 900})
        # Every column of boxes is in view: the graph is no wider than its scrolling box.
        assert box(graph)["width"] <= frame.evaluate("el => el.clientWidth"), width
        assert frame.evaluate("el => el.scrollWidth <= el.clientWidth"), width


def test_at_phone_width_the_validation_errors_scroll_in_their_own_region_with_a_cue(
    live_server, page: Page, acme, alice, sandbox
):
    services.add_key(acme, alice, "Sandbox", sandbox.new_key())
    page.set_viewport_size(PHONE)
    log_in(page, live_server.url, "alice")
    page.goto(
        live_server.url
        + f"/o/acme/jobs/new/?project={ids.PROJECT_COASTAL}&workflow={ids.WF_VALIDATION}"
    )
    region = page.get_by_role("region", name="Validation errors")
    reason = region.get_by_role("columnheader", name="Reason")
    assert document_overflow(page) == 0
    assert region.evaluate("el => el.scrollWidth > el.clientWidth"), "the table fits: no test"
    # The cue: a shadow drawn on the side that has more (a background that stays put while
    # the covers scroll with the table), and the region is a Tab stop to scroll from the keyboard.
    style = region.evaluate(
        "el => [getComputedStyle(el).backgroundImage, getComputedStyle(el).backgroundAttachment]"
    )
    assert style[0].count("radial-gradient") == 2 and "scroll" in style[1], style
    region.focus()
    expect(region).to_be_focused()
    for _ in range(12):
        page.keyboard.press("ArrowRight")
    # Keyboard scrolling is animated: wait for the region to reach its end.
    region.evaluate(
        """el => new Promise(done => { const at = () =>
            el.scrollLeft + el.clientWidth >= el.scrollWidth - 1 ? done() : setTimeout(at, 50);
            at(); })"""
    )
    edge = box(reason)
    assert edge["x"] + edge["width"] <= PHONE["width"], "Reason is still off-screen"
