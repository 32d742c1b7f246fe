from django.urls import path

from . import views

# "ledger.csv" comes before "<project>/": no project id ends in a slash-less ".csv" path anyway.
urlpatterns = [
    path("o/<slug:org>/costs/", views.cost_overview, name="cost_overview"),
    path("o/<slug:org>/costs/ledger.csv", views.cost_ledger_csv, name="cost_ledger_csv"),
    path("o/<slug:org>/costs/<str:project>/", views.project_costs, name="project_costs"),
    path("o/<slug:org>/costs/<str:project>/budget/", views.project_budget, name="project_budget"),
]
