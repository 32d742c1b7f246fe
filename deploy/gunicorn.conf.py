"""gunicorn's configuration for Pixxel Dashboard: `gunicorn -c deploy/gunicorn.conf.py`.

Only how the web processes run is decided here; the application's own settings come from the
environment (pixxel-dashboard.env.example lists both). gunicorn reads this file again on a HUP,
so a change here takes effect with the same zero-downtime reload as new code.
"""

import os
import sys

from gunicorn.glogging import Logger

# The checkout this file belongs to, so the command works from any directory (symlinks are kept:
# a `current -> releases/…` layout resolves to the new release at the next start).
chdir = os.path.abspath(os.path.join(os.path.dirname(__file__), os.pardir))
sys.path.insert(0, chdir)

# The same redaction as the app's own logs (standard library only: safe before Django loads).
from pixxel_dashboard.core.redaction import redacted_path  # noqa: E402

wsgi_app = "pixxel_dashboard.wsgi:application"

# All interfaces by default, as a container needs; on a host, bind to 127.0.0.1 (or a private
# address) so that only the reverse proxy can reach the app: it trusts X-Forwarded-Proto.
bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000").split(",")


def _usable_cores() -> int:
    # The CPUs this process may run on (a cpuset or `taskset` limit), not the machine's count.
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


# gunicorn's usual 2 × cores + 1, capped: each worker keeps a PostgreSQL connection open
# (DATABASE_CONN_MAX_AGE), and a few machines of 8 workers plus the db_workers must stay well
# under PostgreSQL's default max_connections of 100. WEB_CONCURRENCY is gunicorn's own name.
workers = int(os.environ.get("WEB_CONCURRENCY", min(2 * _usable_cores() + 1, 8)))

# A request may wait on Pixxel: a submission up to PIXXEL_CONNECT_TIMEOUT + PIXXEL_READ_TIMEOUT
# (35 s by default, never retried), a read up to PIXXEL_RETRY_TOTAL_SECONDS plus one attempt.
# A worker killed in the middle of a submission leaves its outcome unknown, so the limit sits
# above both; raise it with those settings. The reverse proxy's read timeout must be longer still.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "90"))
# On a reload (HUP) or a stop (TERM) a worker finishes the request it is serving first: as long
# as the longest request may take, so a deploy never cuts a submission in half.
graceful_timeout = timeout
# A sync worker serves one connection at a time, so an idle keep-alive connection holds a whole
# worker: keep gunicorn's short default (the proxy opens a new connection when it needs one).
keepalive = 2

# Each worker is replaced after about a thousand requests, so memory a leak (ours or a library's)
# might gather stays bounded; the jitter keeps the workers from all restarting at once.
max_requests = 1000
max_requests_jitter = 100

# Not preloaded: each worker imports the application itself, which is what lets a HUP bring up
# workers running the new code (with preload_app the master would keep the old code loaded); the
# memory preloading would share is small for a handful of workers.
preload_app = False

# The heartbeat file on tmpfs: on a disk-backed /tmp (Docker's overlay) a slow disk could stall
# a worker long enough to be killed as hung. (gunicorn creates it with mkstemp: no name to guess.)
_SHM = "/dev/shm"  # noqa: S108
worker_tmp_dir = _SHM if os.path.isdir(_SHM) else None

# The proxy's address (a comma-separated list, networks allowed): gunicorn honours forwarding
# headers only from there. Django decides HTTPS from X-Forwarded-Proto itself
# (SECURE_PROXY_SSL_HEADER) and takes the client's address from X-Forwarded-For as
# TRUSTED_PROXY_COUNT says, so the proxy must overwrite both headers, and nothing but the proxy
# may reach gunicorn. Set it to the proxy's address when it runs on another machine.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")

# Signals (HUP, TERM, TTIN/TTOU) are how systemd and Docker drive gunicorn; its control socket
# would be one more way in, and a file in the service user's home directory.
control_socket_disable = True

proc_name = "pixxel-dashboard"


class RedactingLogger(Logger):
    """Access log lines never carry a token from a link's path."""

    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        atoms["U"] = redacted_path(atoms["U"] or "")
        return atoms


logger_class = RedactingLogger
# Access and error logs on stdout/stderr: journald or Docker keeps them. The path without its
# query string (%(U)s, not %(r)s), no Referer (the previous page's whole address), no cookies;
# the client is the first X-Forwarded-For address the proxy passed on, then the proxy itself.
accesslog = "-"
access_log_format = (
    '%({x-forwarded-for}i)s %(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(M)sms "%(a)s"'
)
