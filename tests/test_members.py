import re
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from pixxel_dashboard.accounts.models import AuditEvent, Invitation, Membership, Role
from tests.conftest import make_user

MEMBERS = "/o/acme/settings/members/"


def invite(client, email="dana@example.com", role="member"):
    return client.post(MEMBERS + "invite/", {"email": email, "role": role})


def invitation_link():
    return re.search(r"http://testserver(/invitations/\S+/)", mail.outbox[-1].body).group(1)


# --- the members page -------------------------------------------------------------------------


def test_every_member_sees_the_team(client_for, alice, bob, vera):
    for user in (alice, bob, vera):
        page = client_for(user).get(MEMBERS).content.decode()
        assert "alice" in page and "bob" in page and "vera" in page


def test_only_managers_see_the_invite_form_and_actions(client_for, alice, bob, vera):
    assert "Send invitation" in client_for(alice).get(MEMBERS).content.decode()
    for user in (bob, vera):
        page = client_for(user).get(MEMBERS).content.decode()
        assert "Send invitation" not in page
        assert "Change role" not in page


def test_the_members_page_of_another_org_is_a_404(client_for, charlie, acme):
    assert client_for(charlie).get(MEMBERS).status_code == 404


def test_the_members_page_needs_a_login(client, acme):
    assert client.get(MEMBERS).url.startswith("/accounts/login/")


def test_the_members_page_asks_a_constant_number_of_queries(
    client_for, alice, bob, vera, adam, django_assert_max_num_queries
):
    client = client_for(alice)
    invite(client, "one@example.com")
    invite(client, "two@example.com")
    with django_assert_max_num_queries(9):
        assert client.get(MEMBERS).status_code == 200


# --- invitations -------------------------------------------------------------------------------


def test_an_owner_invites_by_email_with_a_single_use_link(client_for, alice):
    response = invite(client_for(alice))
    assert response.status_code == 302
    assert mail.outbox[-1].to == ["dana@example.com"]
    invitation = Invitation.objects.get(email="dana@example.com")
    token = invitation_link().rstrip("/").rsplit("/", 1)[1]
    # Only the hash is stored.
    assert token not in invitation.token_hash
    assert AuditEvent.objects.filter(
        action="invitation.created", target="dana@example.com"
    ).exists()


@pytest.mark.parametrize("role_fixture", ["bob", "vera"])
def test_members_and_viewers_cannot_invite(client_for, request, role_fixture):
    user = request.getfixturevalue(role_fixture)
    assert invite(client_for(user)).status_code == 403
    assert not Invitation.objects.exists()


def test_another_org_cannot_invite(client_for, charlie, acme):
    assert invite(client_for(charlie)).status_code == 404


def test_an_admin_cannot_invite_an_owner(client_for, adam):
    response = invite(client_for(adam), role="owner")
    assert response.status_code == 400
    assert "Only an owner can invite another owner." in response.content.decode()


def test_inviting_an_existing_member_is_explained(client_for, alice, bob):
    response = invite(client_for(alice), email="bob@example.com")
    assert "bob@example.com is already a member" in response.content.decode()


def test_the_invited_user_accepts_and_joins(client, client_for, alice):
    invite(client_for(alice), role="viewer")
    link = invitation_link()
    client.logout()
    dana = make_user("dana")
    client.force_login(dana)
    assert "Acme Imaging" in client.get(link).content.decode()
    response = client.post(link)
    assert response.status_code == 302
    assert response.url == "/o/acme/"
    assert Membership.objects.get(user=dana).role == Role.VIEWER
    assert AuditEvent.objects.filter(action="member.joined", actor=dana).exists()


def test_an_anonymous_visitor_is_offered_sign_up_or_login(client, client_for, alice):
    invite(client_for(alice))
    link = invitation_link()
    client.logout()
    page = client.get(link).content.decode()
    assert "Create an account" in page and "log in" in page
    assert f"next={link}" in page


def test_a_used_invitation_cannot_be_used_again(client, client_for, alice):
    invite(client_for(alice))
    link = invitation_link()
    client.force_login(make_user("dana"))
    client.post(link)
    client.logout()
    # Same link, even for the same person, is spent.
    response = client_for(Membership.objects.get(user__username="dana").user).post(link)
    assert response.status_code == 410
    assert "already been used" in response.content.decode()


def test_an_expired_invitation_is_refused(client, client_for, alice):
    invite(client_for(alice))
    link = invitation_link()
    Invitation.objects.update(expires_at=timezone.now() - timedelta(minutes=1))
    client.force_login(make_user("dana"))
    response = client.post(link)
    assert response.status_code == 410
    assert "expired" in response.content.decode()
    assert not Membership.objects.filter(user__username="dana").exists()


def test_an_invitation_for_someone_else_is_refused(client, client_for, alice):
    invite(client_for(alice), email="dana@example.com")
    link = invitation_link()
    client.force_login(make_user("mallory"))
    response = client.post(link)
    assert response.status_code == 403
    assert "sent to another email address" in response.content.decode()
    assert not Membership.objects.filter(user__username="mallory").exists()


def test_a_revoked_invitation_no_longer_works(client, client_for, alice):
    owner = client_for(alice)
    invite(owner)
    link = invitation_link()
    invitation = Invitation.objects.get()
    owner.post(f"{MEMBERS.replace('members/', '')}invitations/{invitation.pk}/revoke/")
    client.force_login(make_user("dana"))
    assert client.post(link).status_code == 410


def test_a_made_up_token_is_refused(client_for, alice):
    assert client_for(alice).get("/invitations/not-a-real-token/").status_code == 410


# --- roles and removal ------------------------------------------------------------------------


def role_url(membership):
    return f"{MEMBERS}{membership.pk}/role/"


def remove_url(membership):
    return f"{MEMBERS}{membership.pk}/remove/"


def test_an_owner_changes_a_role_and_it_is_audited(client_for, alice, bob):
    bob_membership = Membership.objects.get(user=bob)
    client_for(alice).post(role_url(bob_membership), {"role": "admin"})
    bob_membership.refresh_from_db()
    assert bob_membership.role == Role.ADMIN
    event = AuditEvent.objects.get(action="member.role_changed")
    assert event.actor == alice
    assert event.details == {"old_role": "member", "new_role": "admin"}


def test_members_cannot_change_roles(client_for, bob, vera):
    vera_membership = Membership.objects.get(user=vera)
    assert client_for(bob).post(role_url(vera_membership), {"role": "owner"}).status_code == 403
    vera_membership.refresh_from_db()
    assert vera_membership.role == Role.VIEWER


def test_an_admin_cannot_promote_to_owner_or_touch_an_owner(client_for, adam, alice, bob):
    client = client_for(adam)
    response = client.post(
        role_url(Membership.objects.get(user=bob)), {"role": "owner"}, follow=True
    )
    assert "Only an owner can" in response.content.decode()
    client.post(remove_url(Membership.objects.get(user=alice)))
    assert Membership.objects.filter(user=alice).exists()


def test_the_last_owner_cannot_be_demoted(client_for, alice):
    own = Membership.objects.get(user=alice)
    response = client_for(alice).post(role_url(own), {"role": "admin"}, follow=True)
    assert "at least one owner" in response.content.decode()
    own.refresh_from_db()
    assert own.role == Role.OWNER


def test_the_last_owner_cannot_be_removed(client_for, alice):
    own = Membership.objects.get(user=alice)
    response = client_for(alice).post(remove_url(own), follow=True)
    assert "The last owner cannot be removed" in response.content.decode()
    assert Membership.objects.filter(pk=own.pk).exists()


def test_with_two_owners_one_may_step_down(client_for, alice, bob):
    Membership.objects.filter(user=bob).update(role=Role.OWNER)
    own = Membership.objects.get(user=alice)
    client_for(alice).post(role_url(own), {"role": "member"})
    own.refresh_from_db()
    assert own.role == Role.MEMBER


def test_an_admin_removes_a_member(client_for, adam, bob):
    client_for(adam).post(remove_url(Membership.objects.get(user=bob)))
    assert not Membership.objects.filter(user=bob).exists()
    assert AuditEvent.objects.filter(action="member.removed", target="bob@example.com").exists()


def test_a_membership_of_another_org_cannot_be_targeted(client_for, alice, charlie):
    foreign = Membership.objects.get(user=charlie)
    assert client_for(alice).post(remove_url(foreign)).status_code == 404
    assert Membership.objects.filter(pk=foreign.pk).exists()
