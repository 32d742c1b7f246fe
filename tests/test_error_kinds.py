"""Error kinds: one vocabulary from the client to the stored submission and the history's words."""

import pytest

from pixxel_dashboard.jobs.models import FailureKind, Submission
from pixxel_dashboard.pixxel import ErrorKind, PixxelError


@pytest.mark.parametrize("kind", list(ErrorKind))
def test_every_pixxel_error_kind_can_be_stored_on_a_submission_with_its_own_word(kind):
    submission = Submission(error_kind=PixxelError(kind).kind)

    Submission._meta.get_field("error_kind").validate(submission.error_kind, submission)
    assert submission.failure_word not in ("", "Failed")


def test_a_kind_the_dashboard_does_not_know_reads_as_failed():
    assert Submission(error_kind="gremlins").failure_word == "Failed"
    assert "gremlins" not in FailureKind.values
