"""PixxelError: one exception, a kind, a sentence for the user; mask_key and the client's repr."""

import pickle

import pytest

from pixxel_dashboard.pixxel import ErrorKind, PixxelClient, PixxelError, mask_key

KEY = "sbx_secret_key_0123456789abcd"


@pytest.mark.parametrize("kind", list(ErrorKind))
def test_it_has_a_plain_sentence_for_every_kind(kind):
    err = PixxelError(kind, "upstream said no", status=400, timeout=2, retry_after=3)

    assert err.user_message.endswith(".")
    assert err.user_message[0].isupper()
    assert kind in str(err)
    assert kind in repr(err)


def test_it_refuses_an_unknown_kind():
    with pytest.raises(ValueError):
        PixxelError("oops")


def test_it_says_how_long_it_waited_on_a_timeout():
    assert "within 2 seconds" in PixxelError("timeout", timeout=2.0).user_message


def test_it_says_when_to_try_again_when_rate_limited():
    assert "Try again in 7 seconds" in PixxelError("rate_limited", retry_after=7).user_message
    assert "in a minute" in PixxelError("rate_limited").user_message


def test_it_points_to_the_api_key_settings_when_forbidden():
    message = PixxelError("forbidden", status=403).user_message

    assert message == (
        "Pixxel rejected the API key or it lacks access to this project. "
        "Check the organization's API key in Settings → API keys."
    )


def test_it_includes_status_code_and_upstream_code_in_str():
    err = PixxelError("bad_request", "project_id is required", status=400, code="INVALID_ARG")

    assert str(err) == "bad_request HTTP 400 code=INVALID_ARG: project_id is required"
    assert "project_id is required" in err.user_message


def test_it_survives_pickling():
    err = PixxelError("server_error", "boom", status=502, details={"a": 1})
    copy = pickle.loads(pickle.dumps(err))

    assert (copy.kind, copy.status, copy.details, str(copy)) == (
        "server_error",
        502,
        {"a": 1},
        str(err),
    )


def test_it_masks_a_key_to_its_last_four_characters():
    assert mask_key(KEY) == "••••abcd"
    assert mask_key("") == "••••"
    assert mask_key("short") == "••••"


def test_it_masks_the_key_in_the_clients_repr():
    client = PixxelClient(KEY, base_url="http://127.0.0.1:9")

    assert repr(client) == "PixxelClient(base_url=http://127.0.0.1:9, key=••••abcd)"
    assert KEY not in repr(client.__dict__)
    assert KEY not in repr(vars(client._session))


def test_it_refuses_a_key_it_could_not_send_without_echoing_it():
    with pytest.raises(ValueError) as info:
        PixxelClient("sbx_bad key\n")

    assert "sbx_bad" not in str(info.value)
