"""The Django admin cannot un-revoke a key, and its changes to keys and memberships are audited."""

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from pixxel_dashboard.accounts.models import AuditEvent, Membership, Role
from pixxel_dashboard.keys import services
from pixxel_dashboard.keys.models import ApiKey


@pytest.fixture
def root(db):
    return get_user_model().objects.create_superuser("root", "root@example.com", "pw-root-123")


@pytest.fixture
def admin_web(client, root):
    client.force_login(root)
    return client


@pytest.fixture
def revoked_key(acme, alice):
    key = services.add_key(acme, alice, "Old", "sbx_old_key_1234")
    ApiKey.objects.filter(pk=key.pk).update(revoked_at=timezone.now())
    key.refresh_from_db()
    return key


def change(admin_web, url, data):
    response = admin_web.post(url, {**data, "_save": "Save"})
    assert response.status_code == 302, response.content.decode()[:2000]


def test_a_revoked_key_cannot_be_unrevoked_from_the_admin(admin_web, revoked_key):
    url = f"/admin/keys/apikey/{revoked_key.pk}/change/"
    page = admin_web.get(url).content.decode()
    assert 'name="revoked_at' not in page
    change(admin_web, url, {"label": "Back from the dead", "revoked_at_0": "", "revoked_at_1": ""})
    revoked_key.refresh_from_db()
    assert revoked_key.revoked_at is not None
    assert revoked_key.label == "Back from the dead"
    event = AuditEvent.objects.get(action="admin.api_key.changed")
    assert event.actor.username == "root" and event.details["fields"] == ["label"]
    assert "sbx_old_key" not in str(event.details) + event.target


def test_an_admin_role_change_is_audited(admin_web, acme, bob):
    membership = Membership.objects.get(user=bob)
    change(
        admin_web,
        f"/admin/accounts/membership/{membership.pk}/change/",
        {"user": bob.pk, "organization": acme.pk, "role": Role.ADMIN},
    )
    event = AuditEvent.objects.get(action="admin.membership.changed")
    assert event.organization == acme and event.actor.username == "root"
    assert event.details["role"] == ["member", "admin"]


def test_an_admin_deletion_of_a_membership_is_audited(admin_web, acme, bob):
    membership = Membership.objects.get(user=bob)
    response = admin_web.post(
        f"/admin/accounts/membership/{membership.pk}/delete/", {"post": "yes"}
    )
    assert response.status_code == 302
    assert not Membership.objects.filter(user=bob).exists()
    assert AuditEvent.objects.filter(action="admin.membership.deleted", organization=acme).exists()


def test_a_bulk_deletion_of_keys_is_audited(admin_web, revoked_key, acme):
    response = admin_web.post(
        "/admin/keys/apikey/",
        {"action": "delete_selected", "_selected_action": [revoked_key.pk], "post": "yes"},
    )
    assert response.status_code == 302
    assert AuditEvent.objects.filter(action="admin.api_key.deleted", organization=acme).exists()


def test_memberships_changed_inline_on_the_organization_are_audited(admin_web, acme, alice, bob):
    memberships = list(Membership.objects.filter(organization=acme).order_by("pk"))
    data = {
        "name": acme.name,
        "slug": acme.slug,
        "time_zone": acme.time_zone,
        "memberships-TOTAL_FORMS": len(memberships),
        "memberships-INITIAL_FORMS": len(memberships),
        "memberships-MIN_NUM_FORMS": 0,
        "memberships-MAX_NUM_FORMS": 1000,
    }
    for i, m in enumerate(memberships):
        data[f"memberships-{i}-id"] = m.pk
        data[f"memberships-{i}-organization"] = acme.pk
        data[f"memberships-{i}-user"] = m.user_id
        data[f"memberships-{i}-role"] = Role.VIEWER if m.user == bob else m.role
    change(admin_web, f"/admin/accounts/organization/{acme.pk}/change/", data)
    event = AuditEvent.objects.get(action="admin.membership.changed")
    assert event.details["role"] == ["member", "viewer"] and "bob" in event.target
