import re

from django.contrib.auth import get_user_model
from django.core import mail

from tests.conftest import PASSWORD


def test_it_signs_up_a_new_user_and_asks_for_an_organization(client, db):
    response = client.post(
        "/accounts/signup/",
        {
            "username": "dana",
            "email": "Dana@Example.com",
            "password1": PASSWORD,
            "password2": PASSWORD,
        },
    )
    assert response.status_code == 302
    assert response["Location"] == "/orgs/new/"
    user = get_user_model().objects.get(username="dana")
    assert user.email == "dana@example.com"
    # Signed in straight away.
    assert client.get("/orgs/new/").status_code == 200


def test_sign_up_keeps_a_safe_next_and_drops_a_foreign_one(client, db):
    data = {"username": "erin", "email": "erin@example.com", "password1": PASSWORD}
    data["password2"] = PASSWORD
    response = client.post("/accounts/signup/?next=/invitations/abc/", data)
    assert response["Location"] == "/invitations/abc/"
    client.logout()
    data.update(username="fay", email="fay@example.com")
    response = client.post("/accounts/signup/?next=https://evil.example.com/", data)
    assert response["Location"] == "/orgs/new/"


def test_it_logs_in_and_out(client, alice):
    response = client.post("/accounts/login/", {"username": "alice", "password": PASSWORD})
    assert response.status_code == 302
    assert client.get("/").status_code == 302
    assert client.get("/").url == "/o/acme/jobs/"
    response = client.post("/accounts/logout/")
    assert response.status_code == 302
    assert client.get("/o/acme/").status_code == 302  # back to the login page


def test_a_wrong_password_is_refused_with_a_message(client, alice):
    response = client.post("/accounts/login/", {"username": "alice", "password": "nope"})
    assert response.status_code == 200
    assert "Please enter a correct username and password" in response.content.decode()


def test_it_changes_the_password(client_for, alice):
    client = client_for(alice)
    response = client.post(
        "/accounts/password_change/",
        {
            "old_password": PASSWORD,
            "new_password1": "another long passphrase 42",
            "new_password2": "another long passphrase 42",
        },
    )
    assert response.status_code == 302
    alice.refresh_from_db()
    assert alice.check_password("another long passphrase 42")


def test_it_resets_a_forgotten_password_by_email(client, alice):
    response = client.post("/accounts/password_reset/", {"email": "alice@example.com"})
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    link = re.search(r"http://testserver(/accounts/reset/\S+)", mail.outbox[0].body).group(1)
    response = client.get(link, follow=True)
    form_url = response.redirect_chain[-1][0]
    response = client.post(
        form_url,
        {"new_password1": "a brand new passphrase", "new_password2": "a brand new passphrase"},
    )
    assert response.status_code == 302
    alice.refresh_from_db()
    assert alice.check_password("a brand new passphrase")


def test_anonymous_users_are_sent_to_the_login_page(client, db):
    response = client.get("/")
    assert response.status_code == 302
    assert response.url == "/accounts/login/"
