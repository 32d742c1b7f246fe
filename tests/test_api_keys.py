import pytest

from pixxel_dashboard.accounts.models import AuditEvent
from pixxel_dashboard.keys import services
from pixxel_dashboard.keys.models import ApiKey
from pixxel_dashboard.sandbox.simulation import fingerprint

KEYS = "/o/acme/settings/keys/"


@pytest.fixture
def acme_key(acme, alice, sandbox):
    return services.add_key(acme, alice, "Production", sandbox.new_key())


def add(client, secret, label="Production"):
    return client.post(KEYS + "add/", {"label": label, "secret": secret})


def test_an_owner_adds_a_key_that_is_tested_and_then_only_shown_masked(client_for, alice, sandbox):
    secret = sandbox.new_key()
    response = add(client_for(alice), secret)
    assert response.status_code == 302
    key = ApiKey.objects.get()
    assert key.last4 == secret[-4:]
    assert key.last_verification_ok is True
    page = client_for(alice).get(KEYS).content.decode()
    assert f"••••{secret[-4:]}" in page
    assert secret not in page
    assert "Connected to Pixxel" in page  # the test's outcome, as a message
    assert "Working" in page


def test_a_key_pixxel_rejects_is_not_saved_and_pixxels_answer_is_shown(client_for, alice, sandbox):
    secret = "not-a-sandbox-key-1234"
    response = add(client_for(alice), secret)
    assert response.status_code == 400
    page = response.content.decode()
    assert "The key was not saved" in page
    assert "HTTP 403 · invalid API key" in page  # Pixxel's own answer
    assert "Save this key anyway" in page  # the explicit way out
    assert secret not in page
    assert not ApiKey.objects.exists()
    assert not AuditEvent.objects.filter(action__startswith="api_key.").exists()


def test_a_key_pixxel_does_not_answer_for_is_not_saved(client_for, alice, acme, settings):
    settings.PIXXEL_API_BASE_URL = "http://127.0.0.1:9"  # nothing listens on the discard port
    response = add(client_for(alice), "sbx_while_pixxel_is_unreachable")
    assert response.status_code == 400
    page = response.content.decode()
    assert "No answer from Pixxel" in page and "could not reach" in page
    assert services.active_key(acme) is None


def test_rotating_to_a_rejected_key_keeps_the_working_one_active(client_for, alice, acme_key):
    response = add(client_for(alice), "rejected-rotation-key-5678", label="Rotated")
    assert response.status_code == 400
    assert "Production is still the active key" in response.content.decode()
    acme_key.refresh_from_db()
    assert acme_key.revoked_at is None
    assert services.active_key(acme_key.organization) == acme_key
    assert ApiKey.objects.count() == 1


def test_a_refused_key_can_be_saved_anyway_and_the_audit_log_says_so(
    client_for, alice, acme_key, sandbox
):
    secret = "rejected-but-wanted-4321"
    response = client_for(alice).post(
        KEYS + "add/", {"label": "Forced", "secret": secret, "save_anyway": "on"}
    )
    assert response.status_code == 302
    active = services.active_key(acme_key.organization)
    assert active.label == "Forced" and active.last_verification_ok is False
    acme_key.refresh_from_db()
    assert acme_key.revoked_at is not None  # the person chose to replace it
    event = AuditEvent.objects.get(action="api_key.saved_despite_failed_test")
    assert event.actor == alice and "HTTP 403" in event.details["test_message"]
    page = client_for(alice).get(KEYS).content.decode()
    assert "Not working" in page and secret not in page


def test_the_key_is_never_echoed_back_after_a_form_error(client_for, alice, sandbox):
    secret = "sbx_form_error_should_not_echo"
    response = add(client_for(alice), secret, label="")
    assert response.status_code == 400
    page = response.content.decode()
    assert "This field is required." in page
    assert secret not in page
    assert not ApiKey.objects.exists()


def test_a_key_with_spaces_is_explained(client_for, alice):
    response = add(client_for(alice), "sbx_abc def ghi")
    assert "An API key has no spaces" in response.content.decode()


def test_rotating_activates_the_new_key_and_revokes_the_old(client_for, alice, acme_key, sandbox):
    new_secret = sandbox.new_key()
    add(client_for(alice), new_secret, label="Rotated")
    acme_key.refresh_from_db()
    assert acme_key.revoked_at is not None
    active = services.active_key(acme_key.organization)
    assert active.label == "Rotated" and active.reveal() == new_secret
    event = AuditEvent.objects.get(action="api_key.rotated")
    assert event.details["replaced_mask"] == acme_key.masked
    page = client_for(alice).get(KEYS).content.decode()
    assert "Revoked keys" in page and acme_key.masked in page


def test_after_rotation_only_the_new_key_is_active_and_used(client_for, alice, acme_key, sandbox):
    old_secret = acme_key.reveal()
    new_secret = sandbox.new_key()
    add(client_for(alice), new_secret, label="Rotated")
    assert ApiKey.objects.active().filter(organization=acme_key.organization).count() == 1
    acme_key.refresh_from_db()
    assert acme_key.revoked_at is not None
    assert AuditEvent.objects.filter(action="api_key.rotated", target="Rotated").count() == 1

    client, key = services.client_for_organization(acme_key.organization)
    client.list_projects()
    client.close()
    assert key.last4 == new_secret[-4:]
    sent = sandbox.requests()[-1]["headers"]["Authorization"]
    assert sent == fingerprint(new_secret) != fingerprint(old_secret)


def test_revoking_leaves_no_active_key(client_for, alice, acme_key):
    client_for(alice).post(f"{KEYS}{acme_key.pk}/revoke/")
    assert services.active_key(acme_key.organization) is None
    page = client_for(alice).get(KEYS).content.decode()
    assert "has no Pixxel API key" in page
    assert AuditEvent.objects.filter(action="api_key.revoked", target="Production").exists()


def test_revoke_asks_for_confirmation_on_a_page_of_its_own(client_for, alice, acme_key):
    client = client_for(alice)
    keys_page = client.get(KEYS).content.decode()
    # The keys page links to the confirmation: no form there revokes in one click.
    assert f'href="{KEYS}{acme_key.pk}/revoke/"' in keys_page
    assert f'action="{KEYS}{acme_key.pk}/revoke/"' not in keys_page
    confirm = client.get(f"{KEYS}{acme_key.pk}/revoke/")
    assert confirm.status_code == 200
    page = confirm.content.decode()
    assert "Revoke Production?" in page and "nobody can submit a job" in page
    assert f'action="{KEYS}{acme_key.pk}/revoke/"' in page and "Cancel" in page
    acme_key.refresh_from_db()
    assert acme_key.revoked_at is None  # asking is not revoking
    client.post(f"{KEYS}{acme_key.pk}/revoke/")
    acme_key.refresh_from_db()
    assert acme_key.revoked_at is not None


def test_the_confirmation_page_asks_a_few_queries(
    client_for, alice, acme_key, django_assert_max_num_queries
):
    client = client_for(alice)
    client.get(KEYS)  # settles the session (current organization)
    with django_assert_max_num_queries(6):
        assert client.get(f"{KEYS}{acme_key.pk}/revoke/").status_code == 200


def test_the_confirmation_of_an_already_revoked_key_goes_back_to_the_keys(
    client_for, alice, acme_key
):
    services.revoke_key(acme_key, alice)
    response = client_for(alice).get(f"{KEYS}{acme_key.pk}/revoke/")
    assert response.status_code == 302 and response.url == KEYS


def test_test_connection_answers_htmx_with_an_inline_fragment(client_for, alice, acme_key):
    response = client_for(alice).post(f"{KEYS}{acme_key.pk}/test/", headers={"HX-Request": "true"})
    assert response.status_code == 200
    fragment = response.content.decode()
    assert "<html" not in fragment
    assert "Connected to Pixxel: the key works and sees" in fragment
    # The "Last check" line is refreshed out of band.
    assert 'id="key-status" hx-swap-oob="true"' in fragment and "Working" in fragment
    assert AuditEvent.objects.filter(action="api_key.tested", details__ok=True).exists()


def test_test_connection_reports_a_rejected_key_in_plain_words(client_for, alice, acme, sandbox):
    key = services.add_key(acme, alice, "Bad", "definitely-not-valid-9876")
    response = client_for(alice).post(f"{KEYS}{key.pk}/test/", headers={"HX-Request": "true"})
    assert "rejected" in response.content.decode()


def test_test_connection_reports_pixxel_being_down(client_for, alice, acme_key, sandbox):
    sandbox.inject("502-html", times=10)
    response = client_for(alice).post(f"{KEYS}{acme_key.pk}/test/", headers={"HX-Request": "true"})
    fragment = response.content.decode()
    assert response.status_code == 200
    assert "Pixxel" in fragment and "✖" in fragment


def test_test_connection_reports_an_unreachable_server(client_for, alice, acme_key, settings):
    settings.PIXXEL_API_BASE_URL = "http://127.0.0.1:9"  # nothing listens on the discard port
    response = client_for(alice).post(f"{KEYS}{acme_key.pk}/test/", headers={"HX-Request": "true"})
    assert "could not reach" in response.content.decode().lower()


def test_test_connection_works_without_javascript(client_for, alice, acme_key):
    response = client_for(alice).post(f"{KEYS}{acme_key.pk}/test/", follow=True)
    assert "Connected to Pixxel" in response.content.decode()


@pytest.mark.parametrize("who", ["bob", "vera"])
def test_members_and_viewers_see_the_status_but_cannot_manage(client_for, request, who, acme_key):
    client = client_for(request.getfixturevalue(who))
    page = client.get(KEYS).content.decode()
    assert acme_key.masked in page and "Production" in page
    assert "Rotate key" not in page and "Test connection" not in page
    assert add(client, "sbx_member_key_attempt").status_code == 403
    assert client.post(f"{KEYS}{acme_key.pk}/test/").status_code == 403
    assert client.post(f"{KEYS}{acme_key.pk}/revoke/").status_code == 403
    assert client.get(f"{KEYS}{acme_key.pk}/revoke/").status_code == 403
    acme_key.refresh_from_db()
    assert acme_key.revoked_at is None
    assert ApiKey.objects.count() == 1


def test_another_organization_gets_404_everywhere(client_for, charlie, acme_key):
    client = client_for(charlie)
    assert client.get(KEYS).status_code == 404
    assert add(client, "sbx_foreign_key_attempt").status_code == 404
    assert client.post(f"{KEYS}{acme_key.pk}/test/").status_code == 404
    assert client.post(f"{KEYS}{acme_key.pk}/revoke/").status_code == 404
    assert client.get(f"{KEYS}{acme_key.pk}/revoke/").status_code == 404


def test_a_key_of_another_organization_is_404_even_to_an_owner(client_for, charlie, acme_key):
    # charlie owns globex, and asks for acme's key by id through his own organization.
    response = client_for(charlie).post(f"/o/globex/settings/keys/{acme_key.pk}/revoke/")
    assert response.status_code == 404
    acme_key.refresh_from_db()
    assert acme_key.revoked_at is None


def test_anonymous_visitors_must_log_in(client, acme_key):
    assert client.get(KEYS).url.startswith("/accounts/login/")
    assert client.post(KEYS + "add/", {}).url.startswith("/accounts/login/")


def test_every_post_needs_the_csrf_token(alice, acme_key):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    assert add(client, "sbx_no_csrf_token_here").status_code == 403
    assert client.post(f"{KEYS}{acme_key.pk}/revoke/").status_code == 403
    acme_key.refresh_from_db()
    assert acme_key.revoked_at is None


def test_the_keys_page_asks_a_constant_number_of_queries(
    client_for,
    alice,
    acme,
    acme_key,
    sandbox,
    django_assert_max_num_queries,
    django_assert_num_queries,
):
    client = client_for(alice)
    client.get(KEYS)  # settles the session (current organization)
    with django_assert_max_num_queries(6) as queries:
        assert client.get(KEYS).status_code == 200
    with_one_key = len(queries)
    for n in range(5):
        services.add_key(acme, alice, f"Old {n}", sandbox.new_key())
    with django_assert_num_queries(with_one_key):
        assert client.get(KEYS).status_code == 200
