"""The local catalog of Pixxel's projects and workflows: listed at most once per freshness window."""

from pixxel_dashboard.jobs import catalog
from pixxel_dashboard.jobs.models import Project


class EmptyPixxel:
    """A Pixxel whose organization has no projects, and whose project has no workflows."""

    def __init__(self):
        self.listings = 0

    def list_all_projects(self):
        self.listings += 1
        return []

    def list_workflows(self, project_id):
        self.listings += 1
        return []


def test_an_empty_listing_is_as_fresh_as_any_and_is_not_asked_for_again(acme):
    pixxel = EmptyPixxel()
    project = Project.objects.create(organization=acme, pixxel_id="p-empty")
    for _ in range(3):  # a page, then two keystrokes of the workflow search
        assert catalog.projects(acme, lambda: pixxel) == []
        assert catalog.workflows(acme, lambda: pixxel, project) == []
    assert pixxel.listings == 2
    # Refresh lists still asks.
    catalog.workflows(acme, lambda: pixxel, project, refresh=True)
    assert pixxel.listings == 3
