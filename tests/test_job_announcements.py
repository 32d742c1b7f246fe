"""What a screen reader hears of a live job: its polite status region (`#job-announce`) says a
status change once, and progress at most once per 10 %, never again for the same news."""

import re
from html import unescape

from django.db.models import F

from pixxel_dashboard.jobs.models import Job
from tests.plugins.jobs import mark_synced, page_poll_url, submit

ANNOUNCED = re.compile(r'<div id="job-announce" hx-swap-oob="innerHTML">([^<]*)</div>')
NEXT_POLL = re.compile(r'data-job-poll hx-get="([^"]+)"')


class Listener:
    """A job page, polled as the browser would: each answer's poller is where the next poll goes."""

    def __init__(self, client, job: Job):
        self.client = client
        self.job = job
        self.next = page_poll_url(client.get(job.get_absolute_url()).content.decode())
        self.heard: list[str] = []

    def pixxel_reports(self, **fields) -> None:
        """Pixxel's answer changed (stored as a sync would store it, a new version)."""
        Job.objects.filter(pk=self.job.pk).update(version=F("version") + 1, **fields)
        mark_synced(self.job)  # the poll does not call Pixxel itself

    def poll(self) -> str | None:
        r = self.client.get(self.next, headers={"HX-Request": "true"})
        assert r.status_code in (200, 286), r.status_code
        body = r.content.decode()
        found = NEXT_POLL.search(body)
        if found:
            self.next = unescape(found.group(1))
        said = ANNOUNCED.search(body)
        if said:
            self.heard.append(said.group(1))
            return said.group(1)
        return None


def listener(acme, alice, client_for, pixxel, **fields) -> Listener:
    job = submit(acme, alice, pixxel)
    Job.objects.filter(pk=job.pk).update(**fields)
    mark_synced(job)
    return Listener(client_for(alice), job)


def test_a_status_change_is_announced_once(acme, alice, client_for, pixxel):
    ear = listener(acme, alice, client_for, pixxel, status="queued", progress=0)
    ear.pixxel_reports(status="running", progress=2)
    assert ear.poll() == "Job running, 2% done."
    ear.pixxel_reports(progress=4)  # the same status, a little further: nothing to say
    assert ear.poll() is None
    ear.pixxel_reports(status="succeeded", progress=100)
    assert ear.poll() == "Job succeeded."
    assert ear.heard == ["Job running, 2% done.", "Job succeeded."]


def test_progress_is_announced_at_most_once_per_ten_percent(acme, alice, client_for, pixxel):
    ear = listener(acme, alice, client_for, pixxel, status="running", progress=3)
    for progress in (5, 9, 12, 14, 19, 21, 29.5, 30, 31, 35, 52, 58):
        ear.pixxel_reports(progress=progress)
        ear.poll()
    assert ear.heard == [
        "Job running, 12% done.",
        "Job running, 21% done.",
        "Job running, 30% done.",
        "Job running, 52% done.",
    ]


def test_progress_that_drops_back_is_not_announced_again(acme, alice, client_for, pixxel):
    ear = listener(acme, alice, client_for, pixxel, status="running", progress=45)
    for progress in (38, 47, 49, 50):  # Pixxel restarted a task; 40 % was said when the page opened
        ear.pixxel_reports(progress=progress)
        ear.poll()
    assert ear.heard == ["Job running, 50% done."]


def test_the_page_itself_announces_nothing_on_load(acme, alice, client_for, pixxel):
    job = submit(acme, alice, pixxel)
    mark_synced(job)
    body = client_for(alice).get(job.get_absolute_url()).content.decode()
    region = re.search(r'<div id="job-announce"[^>]*>(.*?)</div>', body, re.S)
    assert region and 'aria-live="polite"' in region.group(0) and region.group(1) == ""
