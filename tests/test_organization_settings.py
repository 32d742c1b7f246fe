"""Settings → Organization: the name and the time zone every page of the organization shows times in."""

from datetime import UTC, datetime

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from pixxel_dashboard.accounts.models import AuditEvent, Membership, Organization, Role
from pixxel_dashboard.jobs.models import Job
from tests.plugins.jobs import mark_synced, submit

SETTINGS = "/o/acme/settings/organization/"
NOON_UTC = datetime(2026, 11, 30, 12, 0, 0, 654321, tzinfo=UTC)


def save(client, name="Acme Imaging", time_zone="UTC"):
    return client.post(SETTINGS, {"name": name, "time_zone": time_zone})


def set_zone(org, name):
    Organization.objects.filter(pk=org.pk).update(time_zone=name)


# --- the page -------------------------------------------------------------------------------------


def test_a_new_organization_shows_times_in_utc(acme):
    assert acme.time_zone == "UTC"


def test_the_page_shows_the_name_and_the_current_zone_selected_and_labelled(
    client_for, alice, acme
):
    set_zone(acme, "Asia/Kolkata")
    page = client_for(alice).get(SETTINGS).content.decode()
    assert '<label for="id_name">Organization name</label>' in page
    assert '<label for="id_time_zone">Time zone</label>' in page
    assert 'value="Acme Imaging"' in page
    assert '<option value="Asia/Kolkata" selected>Kolkata</option>' in page
    assert '<optgroup label="Europe">' in page and '<option value="Europe/Berlin">' in page
    assert page.count(" selected>") == 1


def test_an_owner_changes_the_time_zone_and_the_name(client_for, alice, acme):
    client = client_for(alice)
    response = save(client, name="Acme Imaging EU", time_zone="Europe/Berlin")
    assert response.status_code == 302 and response.url == SETTINGS
    acme.refresh_from_db()
    assert (acme.name, acme.time_zone) == ("Acme Imaging EU", "Europe/Berlin")
    page = client.get(SETTINGS).content.decode()
    assert "Saved the name and time zone. Times are shown in Europe/Berlin." in page
    assert '<option value="Europe/Berlin" selected>Berlin</option>' in page


def test_each_change_is_in_the_audit_log_saying_what_it_was(client_for, alice, acme):
    save(client_for(alice), name="Acme Imaging EU", time_zone="Europe/Berlin")
    events = {e.action: e for e in AuditEvent.objects.filter(organization=acme, actor=alice)}
    renamed = events["organization.renamed"]
    assert renamed.target == "Acme Imaging EU"
    assert renamed.details == {"old_name": "Acme Imaging"}
    moved = events["organization.time_zone_changed"]
    assert moved.target == "Europe/Berlin"
    assert moved.details == {"old_time_zone": "UTC"}
    # The team's activity list shows it.
    page = client_for(alice).get("/o/acme/settings/members/").content.decode()
    assert "organization.time_zone_changed</code> Europe/Berlin" in page


def test_saving_without_a_change_records_nothing(client_for, alice, acme):
    before = AuditEvent.objects.count()
    client = client_for(alice)
    save(client)
    assert AuditEvent.objects.count() == before
    assert "Nothing to save" in client.get(SETTINGS).content.decode()


def test_an_admin_may_change_them(client_for, adam, acme):
    assert client_for(adam).get(SETTINGS).status_code == 200
    assert save(client_for(adam), time_zone="Asia/Tokyo").status_code == 302
    acme.refresh_from_db()
    assert acme.time_zone == "Asia/Tokyo"


@pytest.mark.parametrize("who", ["bob", "vera"])
def test_members_and_viewers_get_403_and_change_nothing(client_for, request, acme, who):
    client = client_for(request.getfixturevalue(who))
    assert client.get(SETTINGS).status_code == 403
    assert save(client, name="Hijacked", time_zone="Asia/Tokyo").status_code == 403
    acme.refresh_from_db()
    assert (acme.name, acme.time_zone) == ("Acme Imaging", "UTC")


def test_another_organizations_owner_gets_404(client_for, charlie, acme):
    assert client_for(charlie).get(SETTINGS).status_code == 404
    assert save(client_for(charlie), time_zone="Asia/Tokyo").status_code == 404
    acme.refresh_from_db()
    assert acme.time_zone == "UTC"


def test_anonymous_visitors_are_sent_to_log_in(client, acme):
    assert client.get(SETTINGS).url.startswith("/accounts/login/")


@pytest.mark.parametrize("bad", ["Mars/Olympus_Mons", "localtime", "utc ", "../etc/passwd"])
def test_an_unknown_time_zone_is_refused_with_a_clear_message_and_nothing_is_saved(
    client_for, alice, acme, bad
):
    response = save(client_for(alice), name="Acme Renamed", time_zone=bad)
    assert response.status_code == 400
    page = response.content.decode()
    assert "is not a time zone we know: pick one from the list." in page
    acme.refresh_from_db()
    assert (acme.name, acme.time_zone) == ("Acme Imaging", "UTC")
    assert not AuditEvent.objects.filter(organization=acme, action__startswith="organization.")
    # The page around the form still shows the saved name, not the refused one.
    assert "Acme Renamed" not in page.split("<form")[0]


def test_an_invalid_name_is_refused(client_for, alice, acme):
    response = save(client_for(alice), name="Visit www.example.com", time_zone="Asia/Tokyo")
    assert response.status_code == 400
    assert "must not contain a web address" in response.content.decode()
    acme.refresh_from_db()
    assert acme.time_zone == "UTC"


def test_the_model_refuses_an_unknown_zone_too(acme):
    acme.time_zone = "Europe/Atlantis"
    with pytest.raises(ValidationError, match="not a time zone we know"):
        acme.full_clean()


def test_managers_find_the_page_among_the_settings_tabs_and_others_do_not(
    client_for, alice, bob, vera
):
    link = f'href="{SETTINGS}"'
    assert link in client_for(alice).get("/o/acme/settings/members/").content.decode()
    assert link in client_for(alice).get("/o/acme/settings/keys/").content.decode()
    for user in (bob, vera):
        assert link not in client_for(user).get("/o/acme/settings/members/").content.decode()


def test_the_page_asks_a_constant_number_of_queries(
    client_for, alice, django_assert_max_num_queries
):
    client = client_for(alice)
    client.get(SETTINGS)  # the first visit also stores the current organization in the session
    # session, user, membership (with the organization and its zone), the switcher's list
    with django_assert_max_num_queries(4):
        assert client.get(SETTINGS).status_code == 200


# --- times on the organization's pages -----------------------------------------------------------


@pytest.fixture
def noon_job(acme, alice, pixxel):
    """A job Pixxel created at 12:00 UTC (with microseconds), already synced."""
    job = submit(acme, alice, pixxel)
    Job.objects.filter(pk=job.pk).update(pixxel_created_at=NOON_UTC)
    mark_synced(job)
    return job


def test_the_job_page_shows_its_times_in_the_organizations_zone(client_for, alice, acme, noon_job):
    client = client_for(alice)
    page = client.get(noon_job.get_absolute_url()).content.decode()
    assert '<time datetime="2026-11-30T12:00:00Z">2026-11-30 12:00:00 UTC</time>' in page

    save(client, time_zone="Asia/Kolkata")
    page = client.get(noon_job.get_absolute_url()).content.decode()
    assert '<time datetime="2026-11-30T12:00:00Z">2026-11-30 17:30:00 IST</time>' in page


def test_no_datetime_attribute_on_the_job_page_carries_microseconds(
    client_for, alice, acme, noon_job
):
    import re

    page = client_for(alice).get(noon_job.get_absolute_url()).content.decode()
    stamps = re.findall(r'datetime="([^"]*)"', page)
    assert stamps
    for stamp in stamps:
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", stamp), stamp


def test_one_organizations_zone_does_not_leak_into_the_next_request(
    client_for, alice, acme, globex, noon_job
):
    # alice belongs to both; Acme is in India, Globex in UTC, one thread serves both requests.
    Membership.objects.create(user=alice, organization=globex, role=Role.OWNER)
    set_zone(acme, "Asia/Kolkata")
    AuditEvent.objects.create(
        organization=globex, actor=alice, action="test.noon", created_at=NOON_UTC
    )
    client = client_for(alice)

    assert "17:30:00 IST" in client.get(noon_job.get_absolute_url()).content.decode()
    # The request is over: the thread is back in the default zone, ready for anyone's next one.
    assert timezone.get_current_timezone_name() == "UTC"

    globex_page = client.get("/o/globex/settings/members/").content.decode()
    assert "2026-11-30 12:00" in globex_page
    assert "17:30" not in globex_page
