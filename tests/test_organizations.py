import re

from pixxel_dashboard.accounts.models import AuditEvent, Membership, Role


def test_a_new_organization_makes_its_creator_the_owner(client_for, alice):
    client = client_for(alice)
    response = client.post("/orgs/new/", {"name": "Orbital Farms"})
    assert response.status_code == 302
    assert response.url == "/o/orbital-farms/"
    assert client.get(response.url).url == "/o/orbital-farms/jobs/"
    membership = Membership.objects.get(user=alice, organization__slug="orbital-farms")
    assert membership.role == Role.OWNER
    assert AuditEvent.objects.filter(action="organization.created", actor=alice).exists()


def test_organization_slugs_stay_unique(client_for, alice):
    client = client_for(alice)
    client.post("/orgs/new/", {"name": "Acme Imaging"})
    assert Membership.objects.filter(user=alice, organization__slug="acme-imaging").exists()
    client.post("/orgs/new/", {"name": "Acme Imaging"})
    # A taken slug gets a short random suffix (a counter would tell that the first one exists).
    second = Membership.objects.get(user=alice, organization__slug__startswith="acme-imaging-")
    assert re.fullmatch(r"acme-imaging-[0-9a-f]{6}", second.organization.slug)


def test_the_organization_page_opens_its_jobs_for_its_members(client_for, alice, bob, vera):
    for user in (alice, bob, vera):
        response = client_for(user).get("/o/acme/", follow=True)
        assert response.redirect_chain[-1][0] == "/o/acme/jobs/"
        assert "Jobs of Acme Imaging" in response.content.decode()


def test_another_organization_is_a_404(client_for, charlie, acme):
    response = client_for(charlie).get("/o/acme/")
    assert response.status_code == 404
    assert "Acme" not in response.content.decode()


def test_an_unknown_organization_is_the_same_404(client_for, charlie):
    assert client_for(charlie).get("/o/no-such-org/").status_code == 404


def test_anonymous_visitors_are_asked_to_log_in(client, acme):
    response = client.get("/o/acme/")
    assert response.status_code == 302
    assert response.url.startswith("/accounts/login/?next=/o/acme/")


def test_a_user_in_two_organizations_switches_between_them(client_for, alice, globex):
    Membership.objects.create(user=alice, organization=globex, role=Role.VIEWER)
    client = client_for(alice)
    page = client.get("/o/globex/jobs/").content.decode()
    # The switcher lists both organizations; the current one is marked.
    assert 'href="/o/acme/jobs/"' in page
    assert 'href="/o/globex/jobs/" aria-current="true"' in page
    # `/` follows the organization last visited.
    assert client.get("/").url == "/o/globex/jobs/"
    client.get("/o/acme/")
    assert client.get("/").url == "/o/acme/jobs/"


def test_a_user_without_organizations_is_asked_to_create_one(client_for, db):
    from tests.conftest import make_user

    assert client_for(make_user("newbie")).get("/").url == "/orgs/new/"
