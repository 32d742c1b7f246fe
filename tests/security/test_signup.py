"""Sign-up verifies the address, reveals nobody's, and cannot squat an invitation's address."""

import re

import pytest
from django.contrib.auth import get_user_model
from django.core import mail

from pixxel_dashboard.accounts.models import Invitation, Membership, Organization, Role
from pixxel_dashboard.accounts.services import invite
from tests.conftest import PASSWORD


def sign_up(client, username, email, next_url=""):
    data = {"username": username, "email": email, "password1": PASSWORD, "password2": PASSWORD}
    return client.post("/accounts/signup/" + (f"?next={next_url}" if next_url else ""), data)


def link_in(message) -> str:
    return re.search(
        r"(?:http://testserver)?(/(?:invitations|accounts/verify)/\S+)", message.body
    ).group(1)


@pytest.fixture
def invitation_link(acme, alice):
    invite(acme, "dana@example.com", Role.MEMBER, alice)
    return link_in(mail.outbox[-1])


def test_a_new_account_confirms_its_address_before_accepting_an_invitation(client, invitation_link):
    response = sign_up(client, "dana", "dana@example.com", next_url=invitation_link)
    assert response.url == invitation_link
    verify = mail.outbox[-1]
    assert verify.to == ["dana@example.com"] and "Confirm your email" in verify.subject

    page = client.get(invitation_link).content.decode()
    assert "Confirm your email address first" in page and "Join Acme" not in page
    refused = client.post(invitation_link)
    assert refused.status_code == 403 and not Membership.objects.filter(user__username="dana")

    # The GET only shows a button; the POST confirms.
    link = link_in(verify)
    assert "Confirm my email address" in client.get(link).content.decode()
    assert client.get(link).status_code == 200
    confirmed = client.post(link)
    assert confirmed.url == invitation_link
    assert client.post(invitation_link).status_code == 302
    assert Membership.objects.filter(user__username="dana", organization__slug="acme").exists()
    # The link is single use.
    assert client.get(link).status_code == 410


def test_an_unverified_address_does_not_block_its_real_owner(client, invitation_link):
    sign_up(client, "squatter", "dana@example.com")
    client.logout()
    response = sign_up(client, "dana", "dana@example.com", next_url=invitation_link)
    assert response.status_code == 302
    client.post(link_in(mail.outbox[-1]))
    assert client.post(invitation_link).status_code == 302
    assert Membership.objects.filter(user__username="dana").exists()
    assert not Membership.objects.filter(user__username="squatter").exists()


def test_sign_up_does_not_tell_whether_an_address_is_registered(client, alice):
    response = sign_up(client, "alice2", "ALICE@example.com")
    # Same answer as for a fresh address.
    assert response.status_code == 302 and response.url == "/orgs/new/"
    note = mail.outbox[-1]
    assert note.to == ["alice@example.com"]
    assert "already belongs to a confirmed account" in note.body
    assert "/accounts/verify/" not in note.body  # no link that would confirm alice2
    assert get_user_model().objects.filter(username="alice2").exists()


def test_a_forged_or_foreign_verification_link_is_refused(client, db):
    sign_up(client, "dana", "dana@example.com")
    link = link_in(mail.outbox[-1])
    forged = link.rsplit("/", 2)[0] + "/not-a-token/"
    assert client.get(forged).status_code == 410
    assert client.post(forged).status_code == 410


def test_the_link_can_be_sent_again_but_not_flooded(client, db):
    sign_up(client, "dana", "dana@example.com")
    sent = len(mail.outbox)
    client.post("/accounts/verify-again/")
    assert len(mail.outbox) == sent  # less than a minute later


# --- pending invitations die with the inviter's power ------------------------------------------


def test_removing_an_inviter_revokes_their_pending_invitations(client_for, alice, adam, acme):
    mine = invite(acme, "x@example.com", Role.MEMBER, adam)
    theirs = invite(acme, "y@example.com", Role.MEMBER, alice)
    member = Membership.objects.get(user=adam)
    client_for(alice).post(f"/o/acme/settings/members/{member.pk}/remove/")
    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert mine.revoked_at is not None and theirs.revoked_at is None
    assert client_for(alice).get(link_in(mail.outbox[0])).status_code == 410


def test_an_inviter_who_loses_the_role_loses_their_invitations(client_for, alice, adam):
    mine = invite(Organization.objects.get(slug="acme"), "x@example.com", Role.MEMBER, adam)
    member = Membership.objects.get(user=adam)
    client_for(alice).post(f"/o/acme/settings/members/{member.pk}/role/", {"role": "member"})
    mine.refresh_from_db()
    assert mine.revoked_at is not None


def test_an_owner_made_admin_keeps_only_the_invitations_an_admin_may_send(
    client_for, alice, acme, charlie
):
    second_owner = Membership.objects.create(user=charlie, organization=acme, role=Role.OWNER)
    as_owner = invite(acme, "o@example.com", Role.OWNER, charlie)
    as_member = invite(acme, "m@example.com", Role.MEMBER, charlie)
    client_for(alice).post(f"/o/acme/settings/members/{second_owner.pk}/role/", {"role": "admin"})
    as_owner.refresh_from_db()
    as_member.refresh_from_db()
    assert as_owner.revoked_at is not None and as_member.revoked_at is None
    assert Invitation.objects.pending().count() == 1
