"""Invitations are emails from our address: they cannot be used as a relay."""

import pytest
from django.core import mail

from pixxel_dashboard.accounts.models import Invitation, Organization

MEMBERS = "/o/acme/settings/members/"


def invite(client, email, org="acme"):
    return client.post(f"/o/{org}/settings/members/invite/", {"email": email, "role": "member"})


def test_an_inviter_is_limited_per_hour(client_for, alice, settings):
    settings.INVITATIONS_PER_INVITER_PER_HOUR = 3
    client = client_for(alice)
    for n in range(3):
        assert invite(client, f"p{n}@example.com").status_code == 302
    refused = invite(client, "p3@example.com")
    assert refused.status_code == 429
    assert "You have sent 3 invitations in the last hour" in refused.content.decode()
    assert len(mail.outbox) == 3 and Invitation.objects.count() == 3
    # A new organization of their own does not reset it.
    client.post("/orgs/new/", {"name": "Second Shop"})
    slug = Organization.objects.get(name="Second Shop").slug
    assert invite(client, "p4@example.com", org=slug).status_code == 429
    assert len(mail.outbox) == 3


def test_an_organization_is_limited_per_hour(client_for, alice, adam, settings):
    settings.INVITATIONS_PER_ORGANIZATION_PER_HOUR = 3
    for person, email in ((alice, "a@example.com"), (alice, "b@example.com"), (adam, "c@ex.org")):
        assert invite(client_for(person), email).status_code == 302
    refused = invite(client_for(adam), "d@example.com")
    assert refused.status_code == 429
    assert "Acme Imaging has sent 3 invitations in the last hour" in refused.content.decode()
    assert len(mail.outbox) == 3


@pytest.mark.parametrize(
    "name",
    [
        "Acme\nClick here",
        "Acme\r\nBcc: victim@example.com",
        "Acme\u2028Imaging",
        "Acme\x07Imaging",
        "Visit https://evil.example now",
        "Free credits at www.evil.test",
        "Go to evil-site.com",
        "A" * 81,
    ],
)
def test_an_organization_name_is_one_plain_line(client_for, alice, name):
    response = client_for(alice).post("/orgs/new/", {"name": name})
    assert response.status_code == 200
    assert not Organization.objects.filter(name=name).exists()
    assert 'class="errorlist' in response.content.decode()


def test_ordinary_names_are_fine(client_for, alice):
    for name in ("Acme Imaging Ltd.", "Müller & Söhne GmbH", "Team 42 (Earth obs.)"):
        assert client_for(alice).post("/orgs/new/", {"name": name}).status_code == 302


def test_a_stored_name_with_a_line_break_never_reaches_a_500(client_for, alice, acme):
    # As an older release (or the admin's raw edit) could have stored it.
    Organization.objects.filter(pk=acme.pk).update(name="Acme\nImaging")
    response = invite(client_for(alice), "dana@example.com")
    assert response.status_code == 302
    assert mail.outbox[-1].subject == "You are invited to Acme Imaging on Pixxel Dashboard"
    assert Invitation.objects.count() == 1


def test_an_invitation_whose_email_fails_leaves_no_row(client_for, alice, monkeypatch):
    from pixxel_dashboard.accounts import services

    def broken(**kwargs):
        raise OSError("SMTP down")

    monkeypatch.setattr(services, "send_mail", broken)
    response = invite(client_for(alice), "dana@example.com")
    assert response.status_code == 400
    assert "The invitation email could not be sent" in response.content.decode()
    assert not Invitation.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_the_email_is_sent_with_no_transaction_open(client_for, alice, monkeypatch):
    # A mail server can take seconds: no database lock may wait on it (SQLite takes the write
    # lock when a transaction begins).
    from django.db import connection

    from pixxel_dashboard.accounts import services

    seen = []
    monkeypatch.setattr(services, "send_mail", lambda **kw: seen.append(connection.in_atomic_block))
    assert invite(client_for(alice), "dana@example.com").status_code == 302
    assert seen == [False]
    assert Invitation.objects.filter(email="dana@example.com").exists()
