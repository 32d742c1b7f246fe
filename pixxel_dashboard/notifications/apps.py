from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "pixxel_dashboard.notifications"
    label = "notifications"

    def ready(self) -> None:
        # Listening here (not in jobs) keeps jobs unaware of who wants to hear about a job's end.
        from pixxel_dashboard.jobs.events import job_finished

        from .emails import claim_job_emails

        job_finished.connect(claim_job_emails, dispatch_uid="notifications.claim_job_emails")
