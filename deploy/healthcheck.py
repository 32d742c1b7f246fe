"""The container's health probe (Dockerfile HEALTHCHECK): exit 0 when /healthz answers 200.

It asks the way the reverse proxy does, with an allowed Host and X-Forwarded-Proto: https; a bare
`curl http://127.0.0.1:8000/healthz` gets 400 (host not allowed) or a redirect to HTTPS once DEBUG
is off, which would report a healthy process as broken.
"""

import os
import sys
import urllib.request


def probe_request() -> urllib.request.Request:
    bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000").split(",")[0]
    port = bind.rsplit(":", 1)[-1]
    hosts = [host.strip() for host in os.environ.get("ALLOWED_HOSTS", "").split(",")]
    # ".example.com" allows every subdomain: the bare domain is one of them.
    host = next((host.lstrip(".") for host in hosts if host and host != "*"), "localhost")
    return urllib.request.Request(
        f"http://127.0.0.1:{port}/healthz",
        headers={"Host": host, "X-Forwarded-Proto": "https"},
    )


def main() -> int:
    try:
        # A fixed http://127.0.0.1 address, not one from input.
        with urllib.request.urlopen(probe_request(), timeout=4) as response:  # noqa: S310
            return 0 if response.status == 200 else 1
    except OSError as exc:  # refused, timed out, or an HTTP error status (503: no database)
        print(f"healthz: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
