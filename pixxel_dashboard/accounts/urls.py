from django.contrib.auth import views as auth_views
from django.urls import include, path

from . import views

urlpatterns = [
    path("", views.home, name="home"),
    path("accounts/signup/", views.signup, name="signup"),
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(redirect_authenticated_user=True),
        name="login",
    ),
    path("accounts/verify/<str:uidb64>/<str:token>/", views.verify_email, name="verify_email"),
    path("accounts/verify-again/", views.resend_verification, name="resend_verification"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("orgs/new/", views.create_organization, name="create_organization"),
    path("invitations/<str:token>/", views.accept_invitation, name="accept_invitation"),
    path("o/<slug:org>/", views.org_home, name="org_home"),
    path(
        "o/<slug:org>/settings/organization/",
        views.organization_settings,
        name="organization_settings",
    ),
    path("o/<slug:org>/settings/members/", views.members, name="members"),
    path("o/<slug:org>/settings/members/invite/", views.invite_member, name="invite_member"),
    path(
        "o/<slug:org>/settings/members/<int:member_id>/role/",
        views.change_member_role,
        name="change_member_role",
    ),
    path(
        "o/<slug:org>/settings/members/<int:member_id>/remove/",
        views.remove_member,
        name="remove_member",
    ),
    path(
        "o/<slug:org>/settings/invitations/<int:invitation_id>/revoke/",
        views.revoke_invitation,
        name="revoke_invitation",
    ),
]
