from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "pixxel_dashboard.webhooks"
    label = "webhooks"

    def ready(self) -> None:
        # Deliveries are claimed in the transaction that produced the event (delivery.py).
        from pixxel_dashboard.costs.events import budget_crossed
        from pixxel_dashboard.jobs.events import job_finished

        from . import delivery

        job_finished.connect(delivery.on_job_finished, dispatch_uid="webhooks.job_finished")
        budget_crossed.connect(delivery.on_budget_crossed, dispatch_uid="webhooks.budget_crossed")
