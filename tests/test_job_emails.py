"""Job emails: when a job ends, the member who submitted it (and its followers) get one email each,
as their settings say, sent by the task worker, never twice."""

import re
import time
from datetime import timedelta
from decimal import Decimal
from email.policy import SMTP as smtp_policy
from functools import partial

import pytest
from django.core import mail, signing
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from pixxel_dashboard.accounts.models import AuditEvent, EmailVerification, Membership, Role
from pixxel_dashboard.jobs.models import Job, Project, Source, Workflow
from pixxel_dashboard.jobs.persist import save_job
from pixxel_dashboard.notifications import emails, preferences
from pixxel_dashboard.notifications.emails import send_job_emails
from pixxel_dashboard.notifications.models import JobEmail, JobEmails, JobFollow
from pixxel_dashboard.notifications.unsubscribe import make_token
from pixxel_dashboard.sandbox import ids
from tests.conftest import make_user
from tests.plugins import jobs
from tests.plugins.worker import at_once, run_worker

pytestmark = pytest.mark.usefixtures("worker_keeps_test_connection")


# Every job here was estimated at 100 credits.
report = partial(jobs.report, estimate=100)
end = partial(jobs.report_ending, estimate=100)


def emails_to(user) -> list:
    return [m for m in mail.outbox if m.to == [user.email]]


def choose(user, org, choice):
    preferences.set_member_choice(Membership.objects.get(user=user, organization=org), choice)


# --- who gets one ---------------------------------------------------------------------------------


def test_the_submitter_gets_one_email_when_their_job_fails_and_none_by_default_when_it_succeeds(
    acme, alice, bob, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        end(acme, "job-ok", "succeeded", by=bob)
        end(acme, "job-bad", "failed", by=bob)
    # The save only queued the task: nothing is sent from the request or sync that saved it.
    assert mail.outbox == []
    run_worker()
    (email,) = emails_to(bob)
    assert "job-bad" in email.body and "failed" in email.subject.lower()
    assert emails_to(alice) == []  # the owner did not submit it


def test_all_my_jobs_failures_only_and_none(
    acme, alice, bob, adam, django_capture_on_commit_callbacks
):
    choose(alice, acme, JobEmails.ALL)
    choose(adam, acme, JobEmails.NONE)
    with django_capture_on_commit_callbacks(execute=True):
        for person in (alice, bob, adam):
            end(acme, f"{person.username}-ok", "succeeded", by=person)
            end(acme, f"{person.username}-bad", "failed", by=person)
    run_worker()
    assert sorted(m.subject.split()[2] for m in emails_to(alice)) == ["alice-ba", "alice-ok"]
    assert [m.subject.split()[3] for m in emails_to(bob)] == ["failed:"]  # the default
    assert emails_to(adam) == []


def test_the_organizations_default_applies_to_members_who_have_not_chosen(
    acme, alice, bob, adam, django_capture_on_commit_callbacks
):
    preferences.set_organization_default(acme, alice, JobEmails.ALL)
    choose(adam, acme, JobEmails.FAILURES)  # his own choice wins over the default
    with django_capture_on_commit_callbacks(execute=True):
        end(acme, "bob-ok", "succeeded", by=bob)
        end(acme, "adam-ok", "succeeded", by=adam)
    run_worker()
    assert len(emails_to(bob)) == 1 and emails_to(adam) == []
    event = AuditEvent.objects.get(action="notifications.default_changed")
    assert event.target == "all" and event.details == {"old": "failures"}


def test_who_unsubscribed_or_left_before_the_worker_sent_it_gets_nothing(
    acme, bob, adam, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        end(acme, "bob-bad", "failed", by=bob)
        end(acme, "adam-bad", "failed", by=adam)
    assert JobEmail.objects.count() == 2  # claimed when the jobs ended
    choose(bob, acme, JobEmails.NONE)  # the unsubscribe link, before the worker came round
    Membership.objects.filter(user=adam, organization=acme).delete()  # removed from the team
    run_worker()
    assert emails_to(bob) == [] and emails_to(adam) == []
    assert not JobEmail.objects.exists()


def test_imported_jobs_email_nobody_unless_followed(
    acme, alice, bob, vera, django_capture_on_commit_callbacks
):
    preferences.set_organization_default(acme, alice, JobEmails.ALL)
    with django_capture_on_commit_callbacks(execute=True):
        # A year of history brought in at once: stored already finished, submitted by nobody here.
        report(acme, "old-1", "failed", source=Source.IMPORTED)
        end(acme, "old-2", "failed", source=Source.IMPORTED, by=alice)
        report(acme, "watched", "running", source=Source.IMPORTED)
        JobFollow.objects.create(job=Job.objects.get(pixxel_id="watched"), user=vera)
        report(acme, "watched", "succeeded", source=Source.IMPORTED)
    run_worker()
    assert [m.to for m in mail.outbox] == [[vera.email]]
    assert "watched" in mail.outbox[0].body and "you follow this job" in mail.outbox[0].body


def test_a_job_first_stored_already_ended_emails_nobody(
    acme, alice, bob, django_capture_on_commit_callbacks
):
    # A year of history loaded at once (the demo's, an import): no inbox fills with old news.
    preferences.set_organization_default(acme, alice, JobEmails.ALL)
    with django_capture_on_commit_callbacks(execute=True):
        report(acme, "old-ok", "succeeded", by=bob)
        report(acme, "old-bad", "failed", by=bob)
    run_worker()
    assert mail.outbox == [] and not JobEmail.objects.exists()


def test_submitter_and_followers_each_get_it_once(
    acme, alice, bob, vera, django_capture_on_commit_callbacks
):
    job = report(acme, "team-job", "running", by=bob)
    for person in (alice, vera, bob):  # bob follows his own job too: still one email
        JobFollow.objects.create(job=job, user=person)
    with django_capture_on_commit_callbacks(execute=True):
        report(acme, "team-job", "failed", by=bob)
    run_worker()
    assert sorted(m.to[0] for m in mail.outbox) == sorted([alice.email, bob.email, vera.email])
    assert "you submitted this job" in emails_to(bob)[0].body
    assert "you follow this job" in emails_to(vera)[0].body


def test_only_members_with_a_confirmed_address_are_emailed(
    acme, globex, bob, charlie, django_capture_on_commit_callbacks
):
    unconfirmed = make_user("nina")
    Membership.objects.create(user=unconfirmed, organization=acme, role=Role.MEMBER)
    EmailVerification.objects.create(user=unconfirmed, email=unconfirmed.email)
    gone = make_user("otto")
    gone.is_active = False
    gone.save()
    Membership.objects.create(user=gone, organization=acme, role=Role.MEMBER)
    job = report(acme, "j", "running", by=bob)
    # charlie (another organization) followed it before... he never belonged to Acme.
    for person in (unconfirmed, gone, charlie):
        JobFollow.objects.create(job=job, user=person)
    with django_capture_on_commit_callbacks(execute=True):
        report(acme, "j", "failed", by=bob)
    run_worker()
    assert [m.to for m in mail.outbox] == [[bob.email]]


# --- what it says ---------------------------------------------------------------------------------


def submit_named(org, user, pixxel, workflow_id, project_id):
    """A job submitted through the sandbox, filed under named project and workflow."""
    client, key = pixxel
    project = Project.objects.create(organization=org, pixxel_id=project_id, name="Urban heat")
    workflow = Workflow.objects.create(
        organization=org, project=project, pixxel_id=workflow_id, name="Heat <island> map"
    )
    parsed = client.create_job(workflow_id, project_id)
    job, _ = save_job(
        org,
        parsed,
        workflow_pixxel_id=workflow_id,
        project=project,
        workflow=workflow,
        submitted_by=user,
        api_key=key,
        estimated_cost=Decimal("1"),
    )
    return job


def test_the_email_says_job_workflow_project_status_duration_credits_error_and_links(
    acme, alice, pixxel, sandbox, settings, django_capture_on_commit_callbacks
):
    from pixxel_dashboard.jobs.sync import sync_job

    settings.SITE_URL = "https://dash.example.com"
    job = submit_named(acme, alice, pixxel, ids.WF_FAILING, ids.PROJECT_URBAN)
    sandbox.advance(3600)
    with django_capture_on_commit_callbacks(execute=True):
        assert sync_job(job, force=True)  # the real sync path, over HTTP to the sandbox
    run_worker()
    job.refresh_from_db()
    assert job.status == "failed" and job.failure_reason and job.cost > 1
    (email,) = emails_to(alice)
    short = job.pixxel_id[:8]
    assert email.subject == f"✖ Job {short} failed: Heat <island> map (Urban heat)"
    body = email.body
    assert f"Job:       {job.pixxel_id}\n" in body
    assert "Workflow:  Heat <island> map\n" in body
    assert "Project:   Urban heat\n" in body
    assert "Status:    ✖ Failed\n" in body
    duration = emails.format_duration(job.time_taken_seconds)
    assert duration and f"Duration:  {duration}\n" in body
    # Credits as the pages write them: whole amounts bare, others with two decimals.
    written = re.search(r"Credits:   (\d+(?:\.\d\d)?) \(estimate 1, ▲ over estimate\)\n", body)
    assert written and Decimal(written[1]) == job.cost
    assert f"First error: {job.failure_reason}\n" in body
    assert f"https://dash.example.com/o/acme/jobs/{job.pixxel_id}/\n" in body
    assert "https://dash.example.com/accounts/profile/\n" in body
    # The HTML alternative says the same, escaped.
    (html, mimetype) = email.alternatives[0]
    assert mimetype == "text/html"
    assert "Heat &lt;island&gt; map" in html and "<island>" not in html
    assert f'href="https://dash.example.com/o/acme/jobs/{job.pixxel_id}/"' in html
    assert "✖ Failed" in html
    # One-click unsubscribe, in the body and the headers mail clients read (RFC 2369, RFC 8058).
    link = email.extra_headers["List-Unsubscribe"].strip("<>")
    assert link.startswith("https://dash.example.com/notifications/unsubscribe/")
    assert email.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    # As the SMTP backend writes it: the <URL> as is, on one line (folded at 78 columns it became
    # RFC 2047 encoded words, which no mail client reads as a link).
    wire = email.message(policy=smtp_policy).as_string()
    assert f"\nList-Unsubscribe: <{link}>\r\n" in wire
    assert f"Stop all job emails from Acme Imaging:\n{link}\n" in body
    assert link in html


def test_a_success_email_says_so_and_its_link_stops_only_success_emails(
    acme, alice, django_capture_on_commit_callbacks
):
    choose(alice, acme, JobEmails.ALL)
    with django_capture_on_commit_callbacks(execute=True):
        end(acme, "fine", "succeeded", by=alice, cost=80)
    run_worker()
    (email,) = emails_to(alice)
    assert email.subject.startswith("✔ Job fine succeeded: wf-ndvi (No project)")
    assert "Status:    ✔ Succeeded\n" in email.body
    assert "Credits:   80 (estimate 100)\n" in email.body
    assert "First error" not in email.body
    assert "Stop emails about jobs that succeed (you keep getting failures)" in email.body
    path = email.extra_headers["List-Unsubscribe"].strip("<>").removeprefix("http://localhost:8000")
    # A mail client's one-click POST: no session, no CSRF token.
    response = Client(enforce_csrf_checks=True).post(path, {"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    membership = Membership.objects.get(user=alice, organization=acme)
    assert preferences.effective(membership) == JobEmails.FAILURES


# --- once, exactly --------------------------------------------------------------------------------


def test_a_later_resync_of_the_same_end_sends_nothing_again(
    acme, bob, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        end(acme, "j", "failed", by=bob)
    run_worker()
    with django_capture_on_commit_callbacks(execute=True):
        report(acme, "j", "failed", by=bob)  # the same answer again
        report(acme, "j", "failed", by=bob, cost=3, progress=100)  # a later, changed answer
    run_worker()
    assert len(emails_to(bob)) == 1
    assert JobEmail.objects.count() == 1


def test_a_duplicated_or_retried_task_sends_nothing_twice(
    acme, bob, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        end(acme, "j", "failed", by=bob)
    (queued,) = DBTaskResult.objects.filter(task_path=send_job_emails.module_path)
    email_ids = queued.args_kwargs["args"][0]
    run_worker()
    assert send_job_emails.call(email_ids) == 0
    send_job_emails.enqueue(email_ids)
    run_worker()
    assert len(emails_to(bob)) == 1


class WorkerDied(BaseException):
    """What a killed worker leaves: nothing after this line runs, no clean-up (not an Exception)."""


def test_a_worker_dying_between_claim_and_send_leaves_it_unsent_and_the_safety_net_sends_it_once(
    acme, bob, monkeypatch, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        end(acme, "j", "failed", by=bob)
    (row,) = JobEmail.objects.all()

    class DiesMidSend:
        def send_messages(self, messages):
            raise WorkerDied

    with monkeypatch.context() as patched:
        patched.setattr(emails, "_mailer", DiesMidSend)
        with pytest.raises(WorkerDied):
            send_job_emails.call([row.pk])
    row.refresh_from_db()
    assert row.claimed_at is not None and row.sent_at is None and mail.outbox == []
    # The claim queued the safety net, due when the dead worker's lease has run out.
    (net,) = DBTaskResult.objects.filter(
        task_path=send_job_emails.module_path,
        run_after__gt=timezone.now() + timedelta(minutes=5),
        run_after__year__lt=9999,  # the backend's "no run_after"
        status="READY",
    )
    assert net.run_after >= row.claimed_at + emails.CLAIM_LEASE
    run_worker()  # the first queued task: the lease is still the dead worker's
    assert mail.outbox == []
    # Later: the lease has run out and the safety net is due.
    JobEmail.objects.update(claimed_at=timezone.now() - emails.CLAIM_LEASE - timedelta(seconds=1))
    DBTaskResult.objects.filter(status="READY").update(run_after=timezone.now())
    run_worker()
    assert len(emails_to(bob)) == 1
    row.refresh_from_db()
    assert row.sent_at is not None
    DBTaskResult.objects.filter(status="READY").update(run_after=timezone.now())
    run_worker()
    assert len(emails_to(bob)) == 1


class MailServerDown:
    def send_messages(self, messages):
        raise ConnectionRefusedError("mail server down")


@pytest.fixture
def failure_email(acme, bob, django_capture_on_commit_callbacks) -> JobEmail:
    """Bob's job failed: the email about it, claimed and not sent yet."""
    with django_capture_on_commit_callbacks(execute=True):
        end(acme, "j", "failed", by=bob)
    (row,) = JobEmail.objects.all()
    return row


def test_a_mail_server_refusing_frees_the_claim_for_the_next_run(failure_email, monkeypatch):
    row = failure_email
    with monkeypatch.context() as patched:
        patched.setattr(emails, "_mailer", MailServerDown)
        assert send_job_emails.call([row.pk]) == 0
    row.refresh_from_db()
    assert row.claimed_at is None and row.sent_at is None and row.attempts == 1
    assert send_job_emails.call([row.pk]) == 1
    assert send_job_emails.call([row.pk]) == 0


def test_a_mail_server_that_keeps_refusing_is_given_up_on_after_five_tries_and_logged(
    failure_email, monkeypatch, caplog
):
    row = failure_email
    monkeypatch.setattr(emails, "_mailer", MailServerDown)
    for _ in range(emails.MAX_ATTEMPTS + 2):
        assert send_job_emails.call([row.pk]) == 0
    row.refresh_from_db()
    assert row.attempts == emails.MAX_ATTEMPTS and row.sent_at is None
    given_up = [r for r in caplog.records if "gave up on job email" in r.getMessage()]
    assert len(given_up) == 1 and given_up[0].levelname == "ERROR"
    monkeypatch.undo()
    assert send_job_emails.call([row.pk]) == 0 and mail.outbox == []  # not even once it is back


def test_a_rolled_back_save_emails_no_one(acme, bob, django_capture_on_commit_callbacks):
    class Aborted(Exception):
        pass

    report(acme, "j", "running", by=bob)
    with (
        django_capture_on_commit_callbacks(execute=True),
        pytest.raises(Aborted),
        transaction.atomic(),
    ):
        report(acme, "j", "failed", by=bob)
        raise Aborted
    assert not JobEmail.objects.exists()
    assert not DBTaskResult.objects.exists()


def _skip_unless_postgresql():
    if connection.vendor != "postgresql":
        pytest.skip("SQLite serialises writers; row-level concurrency is tested on PostgreSQL")


@pytest.mark.django_db(transaction=True)
def test_two_workers_saving_the_same_end_at_once_send_one_email(acme, bob):
    _skip_unless_postgresql()
    report(acme, "j", "running", by=bob)
    at_once(*[partial(report, acme, "j", "failed", by=bob, progress=100)] * 2)
    assert JobEmail.objects.count() == 1
    assert DBTaskResult.objects.filter(task_path=send_job_emails.module_path).count() == 1
    run_worker()
    assert len(emails_to(bob)) == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_claims_of_the_same_email_make_one_row(acme, bob):
    _skip_unless_postgresql()
    job = report(acme, "j", "failed", by=bob)
    JobEmail.objects.all().delete()  # as if the end had not been seen yet
    DBTaskResult.objects.all().delete()
    claim = partial(emails.claim_job_emails, Job, job=job, previous_status="running")
    won = at_once(*[claim] * 4, in_transaction=True)
    assert sorted(len(claimed) for claimed in won) == [0, 0, 0, 1]
    run_worker()
    assert len(emails_to(bob)) == 1


@pytest.mark.django_db(transaction=True)
def test_two_workers_running_the_same_task_at_once_send_it_once(acme, bob):
    _skip_unless_postgresql()
    end(acme, "j", "failed", by=bob)
    email_ids = list(JobEmail.objects.values_list("pk", flat=True))
    assert len(email_ids) == 1
    sent = at_once(*[partial(send_job_emails.call, email_ids)] * 3)
    assert sorted(sent) == [0, 0, 1]
    assert len(emails_to(bob)) == 1


# --- cost -----------------------------------------------------------------------------------------


def test_deciding_who_gets_it_costs_the_same_for_one_follower_or_ten(acme, alice, bob):
    many = [make_user(f"m{i}") for i in range(10)]
    for person in many:
        Membership.objects.create(user=person, organization=acme, role=Role.VIEWER)
    small = report(acme, "small", "running", by=bob)
    big = report(acme, "big", "running", by=bob)
    JobFollow.objects.create(job=small, user=alice)
    for person in many:
        JobFollow.objects.create(job=big, user=person)
    Job.objects.filter(pk__in=[small.pk, big.pk]).update(status="failed")
    small.refresh_from_db()
    big.refresh_from_db()
    with CaptureQueriesContext(connection) as one:
        assert len(emails.recipients_of(small, "job.failed")) == 2
    with CaptureQueriesContext(connection) as ten:
        assert len(emails.recipients_of(big, "job.failed")) == 11
    assert len(one) == len(ten) == 2


def test_a_job_nobody_wants_to_hear_about_costs_one_query(acme, bob):
    job = report(acme, "imported", "running", source=Source.IMPORTED)
    Job.objects.filter(pk=job.pk).update(status="failed")
    job.refresh_from_db()
    with CaptureQueriesContext(connection) as captured:
        assert emails.claim_job_emails(Job, job=job, previous_status="running") == []
    assert len(captured) == 1  # its followers: none


# --- the unsubscribe link -------------------------------------------------------------------------


def unsubscribe_path(user, org, event="job.failed") -> str:
    return f"/notifications/unsubscribe/{make_token(user.pk, org.pk, event)}/"


def test_the_link_shows_a_confirmation_and_a_get_changes_nothing(client, acme, bob):
    response = client.get(unsubscribe_path(bob, acme))
    assert response.status_code == 200
    body = response.content.decode()
    assert "Stop all job emails from <strong>Acme Imaging</strong>?" in body
    assert '<button type="submit" class="primary">Unsubscribe</button>' in body
    membership = Membership.objects.get(user=bob, organization=acme)
    assert preferences.effective(membership) == JobEmails.FAILURES  # unchanged


def test_posting_the_link_without_login_or_csrf_token_unsubscribes(acme, bob):
    anonymous = Client(enforce_csrf_checks=True)
    response = anonymous.post(unsubscribe_path(bob, acme))
    assert response.status_code == 200
    assert "Done: you get no job emails from Acme Imaging" in response.content.decode()
    assert 'href="/accounts/profile/"' in response.content.decode()
    membership = Membership.objects.get(user=bob, organization=acme)
    assert preferences.effective(membership) == JobEmails.NONE
    # Again: nothing left to change, said so.
    again = anonymous.post(unsubscribe_path(bob, acme))
    assert "Nothing to change: you get no job emails" in again.content.decode()


def test_a_success_emails_link_never_turns_emails_back_on(acme, bob):
    choose(bob, acme, JobEmails.NONE)
    Client().post(unsubscribe_path(bob, acme, "job.succeeded"))
    membership = Membership.objects.get(user=bob, organization=acme)
    assert preferences.effective(membership) == JobEmails.NONE


def test_a_tampered_link_is_refused_with_a_clear_message(client, acme, alice, bob):
    token = make_token(bob.pk, acme.pk, "job.failed")
    forged = signing.dumps({"u": alice.pk, "o": acme.pk, "e": "job.failed"}, salt="other")
    for bad in (token[:-3] + "xyz", token.replace(".", "-", 1) + "a", forged, "nonsense"):
        for method in (client.get, client.post):
            response = method(f"/notifications/unsubscribe/{bad}/")
            assert response.status_code == 400
            assert "This unsubscribe link is not valid" in response.content.decode()
    assert not preferences.own_choice(Membership.objects.get(user=alice, organization=acme))
    assert not preferences.own_choice(Membership.objects.get(user=bob, organization=acme))


def test_an_expired_link_says_so_and_links_to_the_settings(client, acme, bob, monkeypatch):
    sixty_one_days_ago = time.time() - 61 * 24 * 3600
    with monkeypatch.context() as patched:
        patched.setattr(signing.time, "time", lambda: sixty_one_days_ago)
        path = unsubscribe_path(bob, acme)
    response = client.post(path)
    assert response.status_code == 400
    body = response.content.decode()
    assert "This unsubscribe link has expired" in body
    assert 'href="/accounts/profile/"' in body
    assert preferences.own_choice(Membership.objects.get(user=bob, organization=acme)) is None
    # Fifty-nine days is still fine.
    fifty_nine_days_ago = time.time() - 59 * 24 * 3600
    with monkeypatch.context() as patched:
        patched.setattr(signing.time, "time", lambda: fifty_nine_days_ago)
        path = unsubscribe_path(bob, acme)
    assert client.post(path).status_code == 200


def test_a_link_of_someone_who_left_the_organization_changes_nothing(client, acme, bob):
    path = unsubscribe_path(bob, acme)
    Membership.objects.filter(user=bob).delete()
    response = client.post(path)
    assert response.status_code == 404
    assert "You no longer belong to the organization" in response.content.decode()


def test_the_links_token_is_never_written_to_a_log_line():
    from pixxel_dashboard.core.redaction import redacted_path

    token = make_token(1, 2, "job.failed")
    line = f"Bad Request: /notifications/unsubscribe/{token}/"
    assert redacted_path(line) == "Bad Request: /notifications/unsubscribe/[redacted]"


@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_while_the_mail_server_is_silent_loses_no_email_and_sends_none_twice(
    acme, bob, sandbox, django_capture_on_commit_callbacks
):
    """A real `db_worker` process, killed (SIGKILL: no clean-up) while it waits for the mail
    server's greeting; the safety net's run, once the lease is out, sends the email once."""
    import signal
    import socket

    from tests.test_worker_crash import start_worker, wait_until

    with django_capture_on_commit_callbacks(execute=True):
        end(acme, "j", "failed", by=bob)
    (row,) = JobEmail.objects.all()
    # A "mail server" that accepts connections (the kernel does) and never says a word.
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    port = silent.getsockname()[1]
    os_environ = {"EMAIL_HOST": "127.0.0.1", "EMAIL_PORT": str(port), "EMAIL_USE_TLS": "false"}
    with pytest.MonkeyPatch.context() as patched:
        for name, value in os_environ.items():
            patched.setenv(name, value)
        worker = start_worker(sandbox, "--interval", "0.05")
    try:
        wait_until(
            lambda: JobEmail.objects.filter(pk=row.pk, claimed_at__isnull=False).exists(),
            20,
            "the worker claims the email",
        )
        time.sleep(0.5)  # now in the SMTP conversation, waiting for the greeting
        worker.send_signal(signal.SIGKILL)
        worker.wait(10)
    finally:
        if worker.poll() is None:
            worker.kill()
        silent.close()
    row.refresh_from_db()
    assert row.sent_at is None and mail.outbox == []
    # Later: the dead worker's lease has run out and the safety net is due.
    JobEmail.objects.update(claimed_at=timezone.now() - emails.CLAIM_LEASE - timedelta(seconds=1))
    DBTaskResult.objects.filter(status="READY").update(run_after=timezone.now())
    run_worker()
    assert len(emails_to(bob)) == 1
    DBTaskResult.objects.filter(status="READY").update(run_after=timezone.now())
    run_worker()
    assert len(emails_to(bob)) == 1
