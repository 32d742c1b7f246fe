"""What other apps hear about a job's life, without `persist` knowing who listens.

`job_finished` is sent inside `save_job`'s transaction, with the job row locked, the one time a
job's stored status moves into a terminal status (succeeded, failed): a later sync of the same
answer, or a second worker saving the same change, does not send it again, because the row it
compares with is the locked, committed one. Receivers claim their own unique rows in that
transaction and queue their work with `transaction.on_commit`, so a rolled-back save notifies no
one. Keyword arguments: `job`, `previous_status` (None when the job was stored already finished).
"""

from django.dispatch import Signal

job_finished = Signal()
