"""The one rule, and the one word, for a task that will never run because a task it waits for
failed: Pixxel keeps such a task "queued", so the page would say Queued while nothing will come.
The graph, the task table and the timeline all ask here (issue 14: they disagreed)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from .models import STATUS_ICONS, Status


@dataclass(frozen=True)
class Shown:
    """A status as the page shows it (icon and word). Its attribute names are those of a Task, so
    the templates' `status_word` partial draws either."""

    status: str  # also the CSS class suffix (job-st-…, node-…, tl-…)
    label: str
    icon: str
    status_raw: str = ""

    @property
    def status_icon(self) -> str:
        return self.icon

    def get_status_display(self) -> str:
        return self.label


SKIPPED = Shown("skipped", "Skipped", "⊘")
STATUS_LABELS = {**dict(Status.choices), SKIPPED.status: SKIPPED.label}
ICONS = {**STATUS_ICONS, SKIPPED.status: SKIPPED.icon}


def skipped_tasks(
    order: Iterable[int], status_of: Mapping[int, str], parents: Mapping[int, list[int]]
) -> set[int]:
    """Tasks (by key) still queued behind a failed task, directly or through other skipped ones.

    `order` lists every task after the tasks it depends on (`parents`), so one pass settles each.
    """
    skipped: set[int] = set()
    for key in order:
        if status_of[key] == Status.QUEUED and any(
            status_of[p] == Status.FAILED or p in skipped for p in parents.get(key, ())
        ):
            skipped.add(key)
    return skipped


def shown_status(status: str, skipped: bool) -> str:
    return SKIPPED.status if skipped else status
