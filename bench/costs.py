"""The cost pages at scale: `make bench` (issue 13, "Performance").

Builds the history benchmark's two organizations (`bench/history.py`'s seeding, the same data:
"big" with 100,000 jobs over 12 months, "small" with 1,000; `--quick` 10,000 against 1,000) in a
throwaway database (SQLite by default; `DATABASE_URL=postgres://…/pd_bench` for PostgreSQL), bulk
inserted around `save_job`, so `rollups.rebuild` then computes each organization's cost rollups
(timed, as `manage.py rebuild_cost_rollups` would after such a load). Then, side by side in the
same run (median, every call interleaved run by run, `bench/timing.py`):

  (a) the raw aggregate the rollups replace: credits and estimate by project × month over all the
      organization's jobs, months in its time zone (TruncMonth with tzinfo) — the "natural
      aggregate" of the issue (0.72 s for 100,000 jobs on SQLite);
  (b) the same figures from the rollups (the query a cost page makes instead), checked equal to (a);
  (c) the cost overview (this month; and a custom range over the whole year of data) and one
      project's cost page, through Django's test client (server time in process, no network),
      logged in as a member — when those pages exist (reverse("cost_overview"/"project_costs")).

Prints each figure with its target and verdict: every page flat from small to big (≤ 1.5×), the
raw aggregate at least 5× a page's time for the big organization, the same SQL query count for both
organizations. Exits 0 (a report, not a test: timings vary by machine). Figures go into
docs/performance.md with the machine they were taken on.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pixxel_dashboard.settings")

import django

django.setup()

import history  # noqa: E402  (the history benchmark's seeding: the same data)
from django.db import connection  # noqa: E402
from django.db.models import Sum  # noqa: E402
from django.db.models.functions import TruncMonth  # noqa: E402
from django.test import Client, override_settings  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.urls import NoReverseMatch, reverse  # noqa: E402
from harness import ms, print_tally, throwaway_database, verdict  # noqa: E402
from timing import median_seconds  # noqa: E402

RATIO_TARGET = 1.5  # big organization / small organization
RAW_TARGET = 5.0  # the raw aggregate / a page, big organization


def raw_aggregate(org) -> dict[tuple[int, date], tuple[int, int]]:
    """Credits and estimate (hundredths) by project × month, straight from the jobs."""
    from pixxel_dashboard.costs.rollups import hundredths, zone_of
    from pixxel_dashboard.jobs.models import Job

    rows = (
        Job.objects.filter(organization=org)
        .annotate(month=TruncMonth("created_at", tzinfo=zone_of(org)))
        .values("project_id", "month")
        .annotate(credits=Sum("cost"), estimate=Sum("estimated_cost"))
        .order_by()
    )
    return {
        (row["project_id"] or 0, _as_date(row["month"])): (
            hundredths(_decimal(row["credits"])),
            hundredths(_decimal(row["estimate"])),
        )
        for row in rows
    }


def rollup_aggregate(org) -> dict[tuple[int, date], tuple[int, int]]:
    """The same figures from the project rollups (days summed into months)."""
    from pixxel_dashboard.costs.models import CostRollup, Grain

    rows = (
        CostRollup.objects.filter(organization=org, grain=Grain.PROJECT)
        .annotate(month=TruncMonth("day"))
        .values("project_ref", "month")
        .annotate(credits=Sum("credits"), estimate=Sum("estimate"))
        .order_by()
    )
    return {
        (row["project_ref"], _as_date(row["month"])): (row["credits"] or 0, row["estimate"] or 0)
        for row in rows
    }


def _as_date(value) -> date:
    return value.date() if hasattr(value, "date") else value


def _decimal(value) -> Decimal | None:
    # SQLite sums decimals as floats: back to the two decimals they are.
    return None if value is None else Decimal(str(value)).quantize(Decimal("0.01"))


@dataclasses.dataclass
class Page:
    url: str | None
    note: str = ""
    status: int | None = None
    queries: int | None = None
    bytes: int | None = None
    seconds: float | None = None


def page_urls(o: history.OrgData) -> dict[str, tuple[str | None, str]]:
    """The cost pages to time: (url, "") or (None, why not)."""
    slug = o.org.slug  # type: ignore[attr-defined]
    try:
        overview = reverse("cost_overview", args=[slug])
        project = reverse("project_costs", args=[slug, history.project_id(0)])
    except NoReverseMatch:
        missing = "not measured: pages missing"
        return dict.fromkeys(PAGES, (None, missing))
    today = date.today()  # the data: the last 12 months up to now
    whole = f"?range=custom&from={(today - timedelta(days=366)).isoformat()}&to={today.isoformat()}"
    return {
        PAGES[0]: (overview, ""),
        PAGES[1]: (overview + whole, ""),
        PAGES[2]: (project, ""),
    }


PAGES = [
    "overview (this month)",
    "overview (custom: 12 months)",
    "project page (busiest project)",
]


def probe(client: Client, url: str) -> Page:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    return Page(
        url=url,
        status=response.status_code,
        queries=len(queries.captured_queries),
        bytes=len(response.content),
    )


def rebuild_all(orgs: dict[str, history.OrgData]) -> dict[str, tuple[int, float]]:
    from pixxel_dashboard.costs import rollups

    built = {}
    with override_settings(DEBUG=False):  # no query log while building
        for key, o in orgs.items():
            start = time.perf_counter()
            rows = rollups.rebuild(o.org)
            built[key] = (rows, time.perf_counter() - start)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE" if connection.vendor == "postgresql" else "ANALYZE")
    return built


def time_everything(orgs, runs: int) -> tuple[dict, dict]:
    """Probe each page once, then time the aggregates and the pages interleaved."""
    clients, pages = {}, {}
    for key, o in orgs.items():
        clients[key] = Client()
        clients[key].force_login(o.member)
        clients[key].get(history.list_path(o))  # the session's first request writes to it
        for label, (url, note) in page_urls(o).items():
            pages[(label, key)] = probe(clients[key], url) if url else Page(None, note)
    calls: dict = {}
    for key, o in orgs.items():
        calls[("raw", key)] = lambda org=o.org: raw_aggregate(org)
        calls[("rollups", key)] = lambda org=o.org: rollup_aggregate(org)
    for (label, key), page in pages.items():
        if page.status == 200:
            calls[(label, key)] = lambda c=clients[key], u=page.url: c.get(u)
    seconds = median_seconds(calls, runs)
    for (label, key), page in pages.items():
        page.seconds = seconds.get((label, key))
    return seconds, pages


def print_aggregates(seconds: dict, equal: dict[str, bool]) -> list[str]:
    print(f"{'':34}{'big ms':>9}{'small ms':>10}{'big/small':>10}")
    names = {"raw": "raw aggregate (project × month)", "rollups": "the same from the rollups"}
    for label, name in names.items():
        b, s = seconds[(label, "big")], seconds[(label, "small")]
        print(f"{name:34}{ms(b):>9}{ms(s):>10}{b / s:>9.2f}×")
    print(
        "rollups equal the raw aggregate: "
        + ", ".join(f"{key} {'yes' if same else 'NO'}" for key, same in equal.items())
    )
    return ["met" if all(equal.values()) else "MISSED: rollups differ from the jobs"]


def print_pages(pages: dict, raw_big: float) -> list[str]:
    print(
        f"{'page':34}{'big ms':>9}{'small ms':>10}{'KB big':>8}{'queries b/s':>13}  "
        f"big/small ≤ {RATIO_TARGET}×; raw/page ≥ {RAW_TARGET}× (big); queries equal"
    )
    verdicts = []
    for label in PAGES:
        b, s = pages[(label, "big")], pages[(label, "small")]
        if b.status != 200 or s.status != 200:
            print(f"{label:34}  {b.note or f'HTTP {b.status}/{s.status}'}")
            verdicts += ["n/a"] * 3
            continue
        ratio = b.seconds / s.seconds if b.seconds and s.seconds else None
        raw_ratio = raw_big / b.seconds if b.seconds else None
        texts = [
            verdict(ratio, RATIO_TARGET, "×"),
            verdict(raw_ratio, RAW_TARGET, "×", at_least=True),
            "met" if b.queries == s.queries else f"MISSED ({b.queries} vs {s.queries})",
        ]
        print(
            f"{label:34}{ms(b.seconds):>9}{ms(s.seconds):>10}{(b.bytes or 0) / 1e3:>8.0f}"
            f"{f'{b.queries}/{s.queries}':>13}  flat {texts[0]}; raw/page {texts[1]}; "
            f"queries {texts[2]}"
        )
        verdicts += texts
    return verdicts


def run(args) -> int:
    big, small, built = history.build(args.big, args.small)
    orgs = {"big": big, "small": small}
    print(
        f"Built {big.jobs:,} + {small.jobs:,} jobs in {built:.1f} s "
        f"({connection.vendor}, {connection.settings_dict['NAME']})"
    )
    for key, (rows, spent) in rebuild_all(orgs).items():
        print(f"rollups.rebuild({key}): {rows:,} rollup rows in {spent:.2f} s")
    equal = {key: raw_aggregate(o.org) == rollup_aggregate(o.org) for key, o in orgs.items()}
    seconds, pages = time_everything(orgs, args.runs)
    print()
    print(f"Median of {args.runs}, milliseconds (server time in process)")
    verdicts = print_aggregates(seconds, equal)
    print()
    verdicts += print_pages(pages, seconds[("raw", "big")])
    print_tally(verdicts)
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10,000 jobs against 1,000")
    parser.add_argument("--runs", type=int, default=15, help="timed runs per figure (median)")
    parser.add_argument("--no-explain", action="store_true", help="accepted, as history.py does")
    args = parser.parse_args()
    args.big, args.small = (10_000 if args.quick else 100_000), 1_000

    with throwaway_database():
        return run(args)


if __name__ == "__main__":
    sys.exit(main())
