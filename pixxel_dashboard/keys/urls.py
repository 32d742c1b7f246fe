from django.urls import path

from . import views

urlpatterns = [
    path("o/<slug:org>/settings/keys/", views.api_keys, name="api_keys"),
    path("o/<slug:org>/settings/keys/add/", views.add_api_key, name="add_api_key"),
    path("o/<slug:org>/settings/keys/<int:key_id>/test/", views.test_api_key, name="test_api_key"),
    path(
        "o/<slug:org>/settings/keys/<int:key_id>/revoke/",
        views.revoke_api_key,
        name="revoke_api_key",
    ),
]
