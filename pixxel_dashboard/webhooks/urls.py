from django.urls import path

from . import views

urlpatterns = [
    path("o/<slug:org>/settings/webhooks/", views.webhooks, name="webhooks"),
    path("o/<slug:org>/settings/webhooks/add/", views.add_webhook, name="add_webhook"),
    path(
        "o/<slug:org>/settings/webhooks/<int:endpoint_id>/",
        views.webhook_detail,
        name="webhook_detail",
    ),
    path(
        "o/<slug:org>/settings/webhooks/<int:endpoint_id>/enabled/",
        views.set_webhook_enabled,
        name="set_webhook_enabled",
    ),
    path(
        "o/<slug:org>/settings/webhooks/<int:endpoint_id>/rotate-secret/",
        views.rotate_webhook_secret,
        name="rotate_webhook_secret",
    ),
    path(
        "o/<slug:org>/settings/webhooks/<int:endpoint_id>/test/",
        views.send_test_event,
        name="send_test_event",
    ),
    path(
        "o/<slug:org>/settings/webhooks/<int:endpoint_id>/delete/",
        views.delete_webhook,
        name="delete_webhook",
    ),
    path(
        "o/<slug:org>/settings/webhooks/<int:endpoint_id>/deliveries/<int:delivery_id>/redeliver/",
        views.redeliver,
        name="redeliver",
    ),
]
