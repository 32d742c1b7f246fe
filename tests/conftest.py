"""Shared fixtures: the people of every test, and the Pixxel sandbox.

alice owns Acme, bob is a member of Acme, vera a viewer of Acme; charlie owns Globex, another
organization that none of them may see.
"""

import os

import pytest
from django.contrib.auth import get_user_model

from pixxel_dashboard.accounts.models import Membership, Organization, Role

pytest_plugins = [
    "tests.plugins.sandbox",
    "tests.plugins.browser",
    "tests.plugins.jobs",
    "tests.plugins.month",
    "tests.plugins.worker",
    "tests.plugins.webhooks",
    "tests.plugins.pages",
]

# Playwright's sync API runs an event loop in the test thread; Django's ORM must not refuse.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="session", autouse=True)
def fast_test_settings():
    """Tests run without collectstatic (manifest storage itself is tested in test_static.py)
    and with a fast password hasher."""
    from django.test import override_settings

    override = override_settings(
        STORAGES={
            "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
            "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
        },
        PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
    )
    override.enable()
    yield
    override.disable()


@pytest.fixture(autouse=True)
def empty_cache(request):
    """Cached pre-flight answers must not leak between tests (row ids are reused).

    The cache is a database table: a test without database access cannot have filled it (nor may
    it touch it); one with access gets it set up first, so the clearing runs on the test database.
    """
    from django.core.cache import cache

    from pixxel_dashboard.jobs import dependencies

    dependencies.clear_memo()  # this process's copies of cached analyses, keyed by row ids too
    uses_database = request.node.get_closest_marker("django_db") or (
        "_django_db_helper" in request.fixturenames
    )
    if not uses_database:
        yield
        return
    request.getfixturevalue("_django_db_helper")
    cache.clear()
    yield
    cache.clear()


def make_user(username: str):
    return get_user_model().objects.create_user(
        username=username, email=f"{username}@example.com", password=PASSWORD
    )


@pytest.fixture
def acme(db):
    return Organization.objects.create(name="Acme Imaging", slug="acme")


@pytest.fixture
def globex(db):
    return Organization.objects.create(name="Globex Survey", slug="globex")


def _member(user, org, role):
    Membership.objects.create(user=user, organization=org, role=role)
    return user


@pytest.fixture
def alice(acme):
    return _member(make_user("alice"), acme, Role.OWNER)


@pytest.fixture
def bob(acme):
    return _member(make_user("bob"), acme, Role.MEMBER)


@pytest.fixture
def vera(acme):
    return _member(make_user("vera"), acme, Role.VIEWER)


@pytest.fixture
def adam(acme):
    """An admin of Acme (not an owner)."""
    return _member(make_user("adam"), acme, Role.ADMIN)


@pytest.fixture
def charlie(globex):
    return _member(make_user("charlie"), globex, Role.OWNER)


@pytest.fixture
def client_for(client):
    """Log the test client in as the given user: `client_for(alice).get(...)`."""

    def login(user):
        client.force_login(user)
        return client

    return login
