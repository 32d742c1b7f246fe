"""The sandbox's request log, served at /_sandbox/stats, never hands out the keys it saw."""

import requests

from pixxel_dashboard.sandbox.simulation import fingerprint


def test_stats_over_http_never_echo_the_raw_authorization_value(sandbox):
    key = sandbox.new_key()
    answer = requests.get(
        sandbox.base_url + "/v0/projects", headers={"Authorization": key}, timeout=5
    )
    assert answer.status_code == 200
    stats = requests.get(sandbox.base_url + "/_sandbox/stats", timeout=5)
    assert key not in stats.text
    seen = [r for r in stats.json()["requests"] if r["path"] == "/v0/projects"][-1]
    # Still enough to tell which key was used.
    assert seen["headers"]["Authorization"] == fingerprint(key)
    assert key not in str(sandbox.stats())
