from django.urls import path

from . import views

urlpatterns = [
    path("accounts/profile/", views.notification_settings, name="notification_settings"),
    path(
        "o/<slug:org>/settings/organization/notifications/",
        views.organization_job_emails,
        name="organization_job_emails",
    ),
    path("o/<slug:org>/jobs/<str:job>/follow/", views.follow_job, name="follow_job"),
    path("o/<slug:org>/jobs/<str:job>/unfollow/", views.unfollow_job, name="unfollow_job"),
    path("notifications/unsubscribe/<str:token>/", views.unsubscribe, name="unsubscribe"),
]
