"""The Pixxel parser turns whatever the API sends into dataclasses, or raises invalid_response."""

import base64
import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pixxel_dashboard.core.durations import format_duration, parse_duration
from pixxel_dashboard.pixxel import (
    ErrorKind,
    PixxelError,
    RawJSON,
    normalize_status,
    parse_datetime,
    parse_progress,
    parse_raw_json,
    parsing,
)

# Verbatim from /work/shared/pixxel-api/create-job.md ("Here is a sample 200 OK response").
CREATE_JOB_SAMPLE = """
{
  "created_by": "<string>",
  "status": "<string>",
  "time_taken": "<string>",
  "id": "<string>",
  "tasks": [
    {
      "id": "<string>",
      "info_logs": [
        123
      ],
      "created_at": "<string>",
      "updated_at": "<string>",
      "finished_at": "<string>",
      "estimated_time_duration": 123,
      "time_taken": "<string>",
      "status": "<string>",
      "state_msg": "<string>",
      "inputs": [
        123
      ],
      "result": [
        123
      ],
      "depends_on": [
        "<string>"
      ],
      "name": "<string>",
      "progress": 123,
      "disclaimer": [
        "<string>"
      ],
      "recv_time": "<string>",
      "send_time": "<string>",
      "block_inf_start_time": "<string>",
      "block_inf_end_time": "<string>",
      "block_info": {
        "id": "<string>",
        "name": "<string>",
        "version": "<string>"
      },
      "err_msg": "<string>",
      "failure_type": "<string>"
    }
  ],
  "val_errors": [
    {
      "from": "<string>",
      "to": "<string>",
      "err": "<string>",
      "reason": "<string>",
      "component_name": "<string>"
    }
  ],
  "spec": [
    123
  ],
  "cost": 123,
  "workflow_id": "<string>",
  "updated_at": "<string>",
  "finished_at": "<string>",
  "exec_created_at": "<string>",
  "exec_updated_at": "<string>",
  "created_at": "<string>",
  "estimated_duration": 123,
  "progress": "<string>"
}
"""


def test_it_parses_the_documented_create_job_sample_verbatim():
    job = parsing.parse_job(json.loads(CREATE_JOB_SAMPLE))

    assert job.id == "<string>"
    assert job.workflow_id == "<string>"
    assert job.created_by == "<string>"
    assert job.status == "unknown"
    assert job.status_raw == "<string>"
    assert job.is_terminal is False
    assert job.cost == 123
    assert job.estimated_duration == 123
    assert job.progress is None  # "<string>" is no percentage
    assert job.time_taken == "<string>"
    assert job.time_taken_seconds is None
    for stamp in ("created_at", "updated_at", "finished_at", "exec_created_at", "exec_updated_at"):
        assert getattr(job, stamp) is None
    # [123] is one byte, "{": not JSON, so the text is kept.
    assert job.spec == RawJSON(value="{", original=[123], encoding="bytes")
    assert [e.from_ for e in job.val_errors] == ["<string>"]
    assert job.val_errors[0].component_name == "<string>"
    assert job.raw["progress"] == "<string>"

    (task,) = job.tasks
    assert task.id == "<string>"
    assert task.name == "<string>"
    assert task.status == "unknown"
    assert task.progress == 100  # 123 % is impossible: clamped, and said so
    assert "Pixxel reported progress 123: shown as 100 %." in task.notes
    assert task.estimated_time_duration == 123
    assert task.depends_on == ["<string>"]
    assert task.disclaimer == ["<string>"]
    assert task.block_info.name == "<string>"
    assert task.block_info.version == "<string>"
    assert task.err_msg == "<string>"
    assert task.failure_type == "<string>"
    assert task.created_at is None and task.recv_time is None and task.block_inf_end_time is None
    assert task.inputs.encoding == task.result.encoding == task.info_logs.encoding == "bytes"
    assert task.info_logs.original == [123]


def test_it_parses_a_realistic_running_job():
    body = {
        "id": "job-1",
        "workflow_id": "wf-1",
        "status": "running",
        "progress": "45%",
        "cost": 120,
        "time_taken": "1m23s",
        "created_at": "2025-03-01T10:00:00Z",
        "finished_at": "",
        "exec_updated_at": None,
        "tasks": [
            {
                "id": "t1",
                "name": "ndvi",
                "status": "inprogress",
                "progress": 50.5,
                "depends_on": None,
                "block_info": None,
                "inputs": [{"name": "aoi", "type": "geojson", "value": {"type": "Polygon"}}],
            }
        ],
        "val_errors": None,
        "brand_new_field": {"kept": True},
    }
    job = parsing.parse_job(body)

    assert job.status == "running"
    assert job.progress == 45
    assert job.time_taken_seconds == 83
    assert job.created_at == datetime(2025, 3, 1, 10, 0, tzinfo=UTC)
    assert job.finished_at is None
    assert job.val_errors == []
    assert job.spec.encoding == "none"
    assert job.raw["brand_new_field"] == {"kept": True}
    (task,) = job.tasks
    assert task.status == "running"
    assert task.status_raw == "inprogress"
    assert task.depends_on == []
    assert task.block_info is None
    assert task.inputs.encoding == "json"
    assert task.inputs.value[0]["name"] == "aoi"
    assert task.result.encoding == "none"


def test_it_parses_a_job_list_item_without_tasks():
    (job,) = parsing.parse_job_list({"jobs": [{"id": "j", "status": "completed"}]})

    assert job.tasks == []
    assert job.status == "succeeded"
    assert job.is_terminal


def test_it_treats_a_null_job_list_as_empty():
    assert parsing.parse_job_list({"jobs": None}) == []
    assert parsing.parse_job_list({}) == []


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("queued", "queued"),
        ("created", "queued"),
        ("PENDING", "queued"),
        ("NOT STARTED", "queued"),
        ("scheduled", "queued"),
        ("running", "running"),
        ("inprogress", "running"),
        ("in_progress", "running"),
        ("In Progress", "running"),
        ("started", "running"),
        ("processing", "running"),
        ("completed", "succeeded"),
        ("complete", "succeeded"),
        ("success", "succeeded"),
        ("SUCCEEDED", "succeeded"),
        ("done", "succeeded"),
        ("finished", "succeeded"),
        ("failed", "failed"),
        ("failure", "failed"),
        ("error", "failed"),
        ("ERRORED", "failed"),
        ("cancelled", "failed"),
        ("canceled", "failed"),
        ("aborted", "failed"),
        ("cancelling", "unknown"),
        ("", "unknown"),
        ("<string>", "unknown"),
    ],
)
def test_it_normalises_status_words(word, expected):
    assert normalize_status(word) == (expected, word)


def test_it_treats_a_missing_status_as_unknown_and_still_open():
    job = parsing.parse_job({"id": "j"})

    assert (job.status, job.status_raw) == ("unknown", None)
    assert job.is_terminal is False
    assert parsing.parse_task({"status": "failed"}).is_terminal


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("1m23s", 83),
        ("1h2m3.5s", 3723.5),
        ("350ms", 0.35),
        ("0s", 0),
        ("0", 0),
        ("45s", 45),
        ("1h0m5s", 3605),
        ("2h", 7200),
        ("1.5h", 5400),
        ("1500us", 0.0015),
        ("1500µs", 0.0015),  # Go's micro sign
        ("42", 42),
        ("42.5", 42.5),
        (42, 42),
        (1.25, 1.25),
        ("01:02:03", 3723),
        ("-1m", -60),
    ],
)
def test_it_parses_go_durations_and_plain_seconds(text, seconds):
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("junk", [None, "", "<string>", "1x", "m", "1m2", True, [], {}, "NaN"])
def test_it_gives_none_for_unparseable_durations(junk):
    assert parse_duration(junk) is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [("45%", 45), ("45", 45), (45, 45), (45.5, 45.5), ("45.5%", 45.5), (" 7 % ", 7), ("100%", 100)],
)
def test_it_reads_progress_as_a_number(value, expected):
    assert parse_progress(value) == expected


@pytest.mark.parametrize("junk", [None, "", "<string>", "%", True, [45], {"p": 1}, "nan%"])
def test_it_gives_none_for_unreadable_progress(junk):
    assert parse_progress(junk) is None


def test_it_parses_rfc3339_timestamps_into_aware_datetimes():
    assert parse_datetime("2025-03-01T10:00:00Z") == datetime(2025, 3, 1, 10, tzinfo=UTC)
    with_nanos = parse_datetime("2025-03-01T10:00:00.123456789+05:30")
    assert with_nanos.microsecond == 123456
    assert with_nanos.utcoffset() == timezone(timedelta(hours=5, minutes=30)).utcoffset(None)
    assert parse_datetime("2025-03-01T10:00:00").tzinfo is UTC


@pytest.mark.parametrize(
    "junk", [None, "", "  ", "<string>", "yesterday", 1700000000, "0001-01-01T00:00:00Z", {}]
)
def test_it_gives_none_for_empty_or_garbage_timestamps(junk):
    assert parse_datetime(junk) is None


DATA_TYPES = [{"format": "geojson", "name": "aoi", "type": "vector", "value": {"k": [1, 2]}}]


def test_it_decodes_raw_json_embedded_as_a_json_value():
    raw = parse_raw_json(DATA_TYPES)

    assert raw == RawJSON(value=DATA_TYPES, original=DATA_TYPES, encoding="json")


def test_it_decodes_raw_json_sent_as_a_list_of_byte_values():
    as_bytes = list(json.dumps(DATA_TYPES).encode())
    raw = parse_raw_json(as_bytes)

    assert raw.encoding == "bytes"
    assert raw.value == DATA_TYPES
    assert raw.original == as_bytes


def test_it_decodes_raw_json_sent_as_base64():
    as_b64 = base64.b64encode(json.dumps(DATA_TYPES).encode()).decode()
    raw = parse_raw_json(as_b64)

    assert raw.encoding == "base64"
    assert raw.value == DATA_TYPES
    assert raw.original == as_b64


def test_it_keeps_bytes_that_are_not_json_as_text():
    logs = "step 1 ok\nstep 2 ok\n"
    assert parse_raw_json(list(logs.encode())).value == logs
    assert parse_raw_json(base64.b64encode(logs.encode()).decode()).value == logs


def test_it_keeps_a_plain_string_that_is_not_base64_as_a_json_string():
    raw = parse_raw_json("hello, world")

    assert raw == RawJSON(value="hello, world", original="hello, world", encoding="json")


def test_it_marks_absent_raw_json_as_none_and_keeps_empty_arrays():
    assert parse_raw_json(None) == RawJSON(None, None, "none")
    assert parse_raw_json([]) == RawJSON([], [], "json")
    assert parse_raw_json([1000, 2]).encoding == "json"  # not byte values


def test_it_parses_a_workflow_with_validation_errors():
    workflow = parsing.parse_workflow(
        {
            "id": "wf",
            "estimated_cost": 250,
            "val_errors": [{"from": "aoi", "to": "ndvi", "err": "bad edge", "reason": "type"}],
            "spec": base64.b64encode(b'{"blocks": []}').decode(),
        }
    )

    assert workflow.estimated_cost == 250
    assert workflow.val_errors[0].from_ == "aoi"
    assert workflow.val_errors[0].to == "ndvi"
    assert workflow.spec.value == {"blocks": []}


def test_it_parses_a_workflow_page_and_its_pagination():
    page = parsing.parse_workflow_list(
        {
            "workflows": [{"id": "a"}, {"id": "b"}],
            "pagination": {"limit": 2, "offset": 0, "total": 9},
        }
    )

    assert [w.id for w in page.workflows] == ["a", "b"]
    assert (page.pagination.limit, page.pagination.offset, page.pagination.total) == (2, 0, 9)
    assert parsing.parse_workflow_list({"workflows": None}).pagination.total is None


def test_it_parses_projects_and_unwraps_a_single_project():
    page = parsing.parse_project_list({"count": 1, "projects": [{"id": "p", "title": "Farms"}]})
    project = parsing.parse_project_response({"project": {"id": "p", "name": "farms"}})

    assert page.count == 1 and page.projects[0].display_name == "Farms"
    assert project.name == "farms"


def test_it_reads_the_camelcase_workflow_id_of_a_job_download():
    job_download = parsing.parse_download(
        {"id": "j", "status": "ready", "signed_url": "https://x/y", "workflowId": "wf"}
    )
    task_download = parsing.parse_download(
        {"id": "t", "job_id": "j", "workflow_id": "wf", "status": "ready", "signed_url": "u"}
    )

    assert job_download.workflow_id == "wf"
    assert task_download.workflow_id == "wf" and task_download.job_id == "j"


def test_it_requires_a_numeric_estimate():
    assert parsing.parse_estimate({"estimated_cost": 42}) == 42
    with pytest.raises(PixxelError) as info:
        parsing.parse_estimate({"estimated_cost": "lots"})
    assert info.value.kind == ErrorKind.INVALID_RESPONSE


@pytest.mark.parametrize(
    ("parse", "body"),
    [
        (parsing.parse_job, ["not", "an", "object"]),
        (parsing.parse_job, "job"),
        (parsing.parse_job, {"tasks": "not a list"}),
        (parsing.parse_job, {"tasks": ["not an object"]}),
        (parsing.parse_job, {"val_errors": {"from": "x"}}),
        (parsing.parse_job_list, {"jobs": {"id": "x"}}),
        (parsing.parse_job_list, []),
        (parsing.parse_workflow_list, {"workflows": "many"}),
        (parsing.parse_workflow_list, {"workflows": [], "pagination": [1, 2]}),
        (parsing.parse_project_list, None),
        (parsing.parse_project_response, {"project": None}),
        (parsing.parse_task, {"block_info": "b"}),
        (parsing.parse_download, 12),
        (parsing.parse_estimate, []),
    ],
)
def test_it_raises_invalid_response_for_the_wrong_shape(parse, body):
    with pytest.raises(PixxelError) as info:
        parse(body)

    assert info.value.kind == ErrorKind.INVALID_RESPONSE
    assert info.value.user_message.startswith("Pixxel sent a response")


def test_it_turns_wrongly_typed_scalars_into_none_and_keeps_them_in_raw():
    job = parsing.parse_job({"id": 7, "cost": "12", "progress": [], "created_at": 5, "status": 3})

    assert job.id == "7"
    assert job.cost == 12
    assert job.progress is None
    assert job.created_at is None
    assert job.status == "unknown"
    assert job.raw["progress"] == []


def test_it_reads_error_bodies_leniently():
    assert parsing.parse_error_body(
        {"error": {"code": "E1", "message": "nope", "details": {"field": "project_id"}}}
    ) == ("E1", "nope", {"field": "project_id"})
    assert parsing.parse_error_body({"error": "plain"}) == (None, "plain", None)
    assert parsing.parse_error_body({"message": "flat"}) == (None, "flat", None)
    assert parsing.parse_error_body([1, 2]) == (None, None, None)


@given(st.floats(min_value=0, max_value=10 * 24 * 3600, allow_nan=False))
def test_formatting_a_duration_reads_back_to_the_second(seconds):
    assert parse_duration(format_duration(seconds)) == round(seconds)
