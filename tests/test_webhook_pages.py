"""The webhooks pages: owners and admins add, inspect, test, disable and delete their
organization's endpoints; the secret is shown once; members are refused (403)."""

import re

import pytest

from pixxel_dashboard.accounts.models import AuditEvent
from pixxel_dashboard.keys import crypto
from pixxel_dashboard.webhooks import delivery, services
from pixxel_dashboard.webhooks.models import Delivery, Endpoint
from tests.plugins.worker import run_worker

pytestmark = pytest.mark.usefixtures("worker_keeps_test_connection")

PAGE = "/o/acme/settings/webhooks/"
EVENTS = ["job.succeeded", "job.failed"]


def add(client, url="https://hooks.example.com/pixxel", events=EVENTS, **extra):
    return client.post(PAGE + "add/", {"url": url, "events": events, **extra})


def test_an_owner_adds_a_webhook_and_sees_its_secret_once(client_for, alice):
    client = client_for(alice)
    response = add(client, description="CI relay")
    assert response.status_code == 201
    endpoint = Endpoint.objects.get()
    secret = crypto.decrypt(endpoint.secret_encrypted)
    assert secret.startswith("whsec_") and len(secret) > 40
    page = response.content.decode()
    assert secret in page and "shown only this once" in page
    assert endpoint.events == EVENTS and endpoint.description == "CI relay"
    assert AuditEvent.objects.filter(action="webhook.created").exists()

    again = client.get(f"{PAGE}{endpoint.pk}/").content.decode()
    assert secret not in again and secret[:-4] not in again
    assert endpoint.masked_secret in again
    listing = client.get(PAGE).content.decode()
    assert "https://hooks.example.com/pixxel" in listing and secret[:-4] not in listing


def test_rotating_shows_the_new_secret_once_and_says_until_when_the_old_one_signs(
    client_for, alice, adam, bob, charlie, globex, hook
):
    rotate = f"{PAGE}{hook.pk}/rotate-secret/"
    assert client_for(bob).post(rotate).status_code == 403  # a member
    assert (
        client_for(charlie)
        .post(f"/o/globex/settings/webhooks/{hook.pk}/rotate-secret/")
        .status_code
        == 404
    )
    assert client_for(adam).get(rotate).status_code == 405  # a GET never rotates
    assert crypto.decrypt(Endpoint.objects.get().secret_encrypted) == hook.secret

    response = client_for(adam).post(rotate)
    assert response.status_code == 200
    endpoint = Endpoint.objects.get()
    secret = crypto.decrypt(endpoint.secret_encrypted)
    page = response.content.decode()
    assert secret != hook.secret and secret in page and "shown only this once" in page
    assert "The previous secret also signs each delivery until" in page
    assert crypto.decrypt(endpoint.previous_secret_encrypted) == hook.secret
    again = client_for(alice).get(f"{PAGE}{hook.pk}/").content.decode()
    assert secret[:-4] not in again and hook.secret[:-4] not in again
    assert endpoint.masked_secret in again and "(the previous secret also signs until" in again
    event = AuditEvent.objects.get(action="webhook.secret_rotated")
    assert event.actor == adam and event.organization == endpoint.organization


def test_an_admin_may_manage_webhooks_but_a_member_may_not(client_for, adam, bob):
    assert client_for(adam).get(PAGE).status_code == 200
    assert add(client_for(adam)).status_code == 201
    member = client_for(bob)
    assert member.get(PAGE).status_code == 403
    assert add(member).status_code == 403
    assert Endpoint.objects.count() == 1


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://hooks.example.com/x", "Use an https:// URL"),
        ("https://user:pw@hooks.example.com/x", "Leave the user name and password out"),
        ("https://10.0.0.8/x", "10.0.0.8 is a private address"),
        ("https://169.254.169.254/latest", "is a link-local address"),
        ("ftp://hooks.example.com/x", "Use an https:// URL"),
    ],
)
def test_a_bad_url_gets_a_clear_message(client_for, alice, url, message):
    response = add(client_for(alice), url=url)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Endpoint.objects.exists()


def test_events_must_be_chosen(client_for, alice):
    response = add(client_for(alice), events=[])
    assert response.status_code == 400 and "Pick at least one event" in response.content.decode()


def test_plain_http_is_allowed_for_hosts_on_the_allow_list(client_for, alice, settings):
    settings.WEBHOOK_ALLOW_HOSTS = ["hooks.internal", "10.0.5.0/24"]
    assert add(client_for(alice), url="http://hooks.internal:8080/x").status_code == 201
    assert add(client_for(alice), url="http://10.0.5.9/x").status_code == 201
    assert add(client_for(alice), url="http://10.0.6.9/x").status_code == 400


def test_send_test_event_queues_it_and_the_worker_delivers_it(
    client_for, alice, hook, receiver, django_capture_on_commit_callbacks
):
    client = client_for(alice)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"{PAGE}{hook.pk}/test/", follow=True)
    assert "A test event is queued" in response.content.decode()
    assert receiver.requests == []  # the web request only queued it
    run_worker()
    (received,) = receiver.requests
    assert received.headers["Pixxel-Dashboard-Event"] == "test"
    page = client.get(f"{PAGE}{hook.pk}/").content.decode()
    assert "Delivered" in page and "HTTP 200" in page


def test_redeliver_sends_the_same_delivery_again(
    client_for, alice, hook, receiver, django_capture_on_commit_callbacks
):
    client = client_for(alice)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"{PAGE}{hook.pk}/test/")
    run_worker()
    owed = Delivery.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"{PAGE}{hook.pk}/deliveries/{owed.pk}/redeliver/", follow=True)
    assert "queued to be sent again" in response.content.decode()
    run_worker()
    first, second = receiver.requests
    assert first.body == second.body
    assert second.headers["Pixxel-Dashboard-Delivery"] == str(owed.public_id)
    assert owed.attempts.count() == 2


def test_disabling_stops_deliveries_and_enabling_resumes_them(
    client_for, alice, hook, receiver, django_capture_on_commit_callbacks
):
    client = client_for(alice)
    client.post(f"{PAGE}{hook.pk}/enabled/", {"enabled": "false"})
    hook.refresh_from_db()
    assert not hook.is_active and hook.disabled_reason == "Disabled by alice."
    page = client.get(f"{PAGE}{hook.pk}/").content.decode()
    assert "Disabled" in page and "Send test event</button>" not in page
    response = client.post(f"{PAGE}{hook.pk}/test/", follow=True)
    assert "enable it to send a test event" in response.content.decode()
    assert not Delivery.objects.exists()
    client.post(f"{PAGE}{hook.pk}/enabled/", {"enabled": "true"})
    hook.refresh_from_db()
    assert hook.is_active and hook.disabled_reason == ""


def test_deleting_asks_first_then_removes_the_webhook_and_its_deliveries(client_for, alice, hook):
    client = client_for(alice)
    delivery.send_test_event(hook)
    confirm = client.get(f"{PAGE}{hook.pk}/delete/")
    assert confirm.status_code == 200 and "Delete the webhook" in confirm.content.decode()
    assert Endpoint.objects.exists()  # a GET changes nothing
    response = client.post(f"{PAGE}{hook.pk}/delete/")
    assert response.status_code == 302 and response.url == PAGE
    assert not Endpoint.objects.exists() and not Delivery.objects.exists()
    assert AuditEvent.objects.filter(action="webhook.deleted").exists()


def test_another_organizations_webhook_is_404_even_for_an_owner(client_for, charlie, globex, hook):
    other, _ = services.create_endpoint(globex, charlie, "https://g.example.com/", "", EVENTS)
    client = client_for(charlie)
    assert client.get(f"/o/globex/settings/webhooks/{hook.pk}/").status_code == 404
    assert client.post(f"/o/globex/settings/webhooks/{hook.pk}/delete/").status_code == 404
    assert client.get(f"/o/globex/settings/webhooks/{other.pk}/").status_code == 200
    assert Endpoint.objects.filter(pk=hook.pk).exists()


def test_the_pages_cost_the_same_with_many_deliveries(
    client_for, alice, hook, django_assert_max_num_queries
):
    client = client_for(alice)
    for _ in range(30):
        delivery.send_test_event(hook)
    for owed in Delivery.objects.all()[:10]:
        for _ in range(3):
            delivery._record(owed, delivery.clock.now(), delivery.Outcome(status_code=500), False)
    services.create_endpoint(hook.organization, alice, "https://b.example.com/", "", EVENTS)
    with django_assert_max_num_queries(9):
        detail = client.get(f"{PAGE}{hook.pk}/")
    assert detail.status_code == 200
    assert len(re.findall(r"Redeliver</button>", detail.content.decode())) == 25
    with django_assert_max_num_queries(7):
        assert client.get(PAGE).status_code == 200
