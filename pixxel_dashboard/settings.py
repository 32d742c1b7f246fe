"""Settings for Pixxel Dashboard.

One file, every knob from an environment variable (documented in README.md), with safe defaults for
local use: `git clone` -> migrate -> run works with no configuration. Malformed values fail at start
with ImproperlyConfigured instead of surfacing later as odd behaviour.
"""

import os
import tempfile
import tomllib
from datetime import timedelta
from email.utils import formataddr, getaddresses
from pathlib import Path

import dj_database_url
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.core.validators import validate_email
from django.utils.csp import CSP

BASE_DIR = Path(__file__).resolve().parent.parent
# The release, read once from the one place it is written (shown in /healthz and the footer).
with (BASE_DIR / "pyproject.toml").open("rb") as _pyproject:
    VERSION = tomllib.load(_pyproject)["project"]["version"]

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def envbool(name: str, default: str) -> bool:
    value = os.environ.get(name, default).strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be one of true/false/1/0/yes/no/on/off, got {value!r}")


def envint(name: str, default: str, minimum: int | None = None) -> int:
    value = os.environ.get(name, default)
    try:
        number = int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, got {value!r}") from None
    if minimum is not None and number < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, got {number}")
    return number


def envfloat(name: str, default: str, positive: bool = True) -> float:
    value = os.environ.get(name, default)
    try:
        number = float(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a number, got {value!r}") from None
    if number < 0 or (positive and number == 0):
        raise ImproperlyConfigured(
            f"{name} must be {'greater than' if positive else 'at least'} 0, got {number}"
        )
    return number


def envlist(name: str, default: str = "") -> list[str]:
    return _items(os.environ.get(name, default))


def _items(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]


def envsecret(name: str, default: str = "") -> str:
    """NAME, or the contents of the file NAME_FILE names (stripped): how Docker and systemd hand
    over secrets without putting them in the environment. Never both."""
    path = os.environ.get(f"{name}_FILE", "")
    if not path:
        return os.environ.get(name, default)
    if name in os.environ:
        raise ImproperlyConfigured(f"Set {name} or {name}_FILE, not both.")
    try:
        return Path(path).read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or exc.__class__.__name__
        raise ImproperlyConfigured(f"{name}_FILE: cannot read {path!r} ({reason}).") from None


def envaddresses(name: str) -> list[str]:
    """Comma-separated email addresses, each optionally with a name: `Ops <ops@example.com>, b@x.org`."""
    value = os.environ.get(name, "")
    addresses = []
    for display, address in getaddresses([value]) if value.strip() else []:
        try:
            validate_email(address)
        except ValidationError:
            raise ImproperlyConfigured(
                f"{name} must be comma-separated email addresses "
                f"(e.g. 'Ops <ops@example.com>, b@example.com'), got {value!r}"
            ) from None
        addresses.append(formataddr((display, address)))
    return addresses


def envurl(name: str, default: str) -> str:
    value = os.environ.get(name, default).strip().rstrip("/")
    if not value.startswith(("http://", "https://")):
        raise ImproperlyConfigured(f"{name} must be an http(s) URL, got {value!r}")
    return value


# Off unless set: a forgotten variable must never put production in debug mode. `make run` and the
# tests set it.
DEBUG = envbool("DEBUG", "false")
_LOCAL_HINT = " (For local development set DEBUG=true, as `make run` does.)"

# A development key is only acceptable while DEBUG is on; production must bring its own.
_DEV_SECRET_KEY = "django-insecure-local-development-only-do-not-deploy"
SECRET_KEY = envsecret("SECRET_KEY", _DEV_SECRET_KEY)
if not DEBUG and (
    SECRET_KEY.startswith("django-insecure-") or len(SECRET_KEY) < 50 or len(set(SECRET_KEY)) < 5
):
    raise ImproperlyConfigured(
        "SECRET_KEY must be set to a random value of at least 50 characters when DEBUG is off "
        "(e.g. python -c 'import secrets; print(secrets.token_urlsafe(50))')." + _LOCAL_HINT
    )

ALLOWED_HOSTS = envlist("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]" if DEBUG else "")
if not DEBUG and not ALLOWED_HOSTS:
    raise ImproperlyConfigured(
        "ALLOWED_HOSTS must name the site's host(s) when DEBUG is off." + _LOCAL_HINT
    )
CSRF_TRUSTED_ORIGINS = envlist("CSRF_TRUSTED_ORIGINS")
SITE_NAME = os.environ.get("SITE_NAME", "Pixxel Dashboard")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_htmx",
    "django_tasks_db",
    "axes",
    "pixxel_dashboard.core",
    "pixxel_dashboard.accounts",
    "pixxel_dashboard.pixxel",
    "pixxel_dashboard.keys",
    "pixxel_dashboard.jobs",
    "pixxel_dashboard.costs",
    "pixxel_dashboard.notifications",
    "pixxel_dashboard.webhooks",
    "pixxel_dashboard.sandbox",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Compresses every HTML answer (WhiteNoise serves static files pre-compressed); placed above
    # everything that reads or writes the body, so it runs last on the way out.
    "django.middleware.gzip.GZipMiddleware",
    # Each request starts and ends in the default time zone (an organization's pages set theirs).
    "pixxel_dashboard.core.middleware.request_time_zone",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "pixxel_dashboard.accounts.middleware.private_pages",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last, as django-axes asks: turns a locked-out login into its 429 page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "pixxel_dashboard.urls"
WSGI_APPLICATION = "pixxel_dashboard.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "pixxel_dashboard.accounts.context_processors.organizations",
                "pixxel_dashboard.core.context_processors.version",
            ],
        },
    },
]

# SQLite (WAL, immediate transactions so concurrent writers queue instead of failing) by default;
# PostgreSQL, or anything dj-database-url understands, via DATABASE_URL.
_SQLITE_PATH = os.environ.get("SQLITE_PATH", str(BASE_DIR / "db.sqlite3"))
DATABASE_URL = envsecret("DATABASE_URL")
if DATABASE_URL:
    try:
        DATABASES = {"default": dj_database_url.parse(DATABASE_URL)}
    except ValueError as exc:
        raise ImproperlyConfigured(f"DATABASE_URL is not a valid database URL: {exc}") from None
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": _SQLITE_PATH,
            "OPTIONS": {
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
            },
            # Tests use a file too: an in-memory database's shared cache raises "table is locked"
            # at once under concurrent requests, where a file in WAL mode waits its turn.
            # One per test process, so parallel runs (or two checkouts) never share it.
            "TEST": {
                "NAME": str(Path(tempfile.gettempdir()) / f"pixxel-test-{os.getpid()}.sqlite3")
            },
        }
    }
# Each process keeps its connection for a minute (no new connection per request), checked before
# reuse so a restarted server costs one retry, not an error page. SQLite too: opening and closing
# its file in WAL mode (the last close checkpoints) measured 2-7 ms a request, 10x the poll's query.
DATABASES["default"]["CONN_MAX_AGE"] = envint("DATABASE_CONN_MAX_AGE", "60", minimum=0)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# django-axes checks every authentication (our login page and the admin's) before the model backend.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Login throttling: after LOGIN_FAILURE_LIMIT failures for a username, or from an address, further
# attempts are refused (HTTP 429) for LOGIN_LOCKOUT_MINUTES; a success resets the count.
AXES_FAILURE_LIMIT = envint("LOGIN_FAILURE_LIMIT", "5", minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=envint("LOGIN_LOCKOUT_MINUTES", "15", minimum=1))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_HTTP_RESPONSE_CODE = 429
# Behind TRUSTED_PROXY_COUNT reverse proxies the client's address is in X-Forwarded-For. Zero
# unless set: without a proxy that header is the client's own words, and trusting it would let
# anyone change address at every guess (or lock out someone else's).
TRUSTED_PROXY_COUNT = envint("TRUSTED_PROXY_COUNT", "0", minimum=0)
AXES_CLIENT_IP_CALLABLE = "pixxel_dashboard.accounts.throttle.client_ip"

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = os.environ.get("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
# Manifest storage gives cache-busting names; tests with live_server switch to plain storage.
STATICFILES_BACKEND = os.environ.get(
    "STATICFILES_BACKEND", "whitenoise.storage.CompressedManifestStaticFilesStorage"
)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": STATICFILES_BACKEND},
}

# Content-Security-Policy: our own origin only; no inline script or style anywhere.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "connect-src": [CSP.SELF],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "object-src": [CSP.NONE],
}
X_FRAME_OPTIONS = "DENY"
DEFAULT_EXCEPTION_REPORTER_FILTER = (
    "pixxel_dashboard.core.reporting.PixxelSafeExceptionReporterFilter"
)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True

# Behind a TLS-terminating proxy in production (see README "Production").
if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = envbool("SECURE_SSL_REDIRECT", "true")
    SECURE_HSTS_SECONDS = envint("SECURE_HSTS_SECONDS", "31536000", minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = envbool("SECURE_HSTS_INCLUDE_SUBDOMAINS", "true")
    SECURE_HSTS_PRELOAD = envbool("SECURE_HSTS_PRELOAD", "true")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True

# Email: console by default (password resets and invitations print to the server's output).
if os.environ.get("EMAIL_HOST"):
    MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {
                "host": os.environ["EMAIL_HOST"],
                "port": envint("EMAIL_PORT", "587", minimum=1),
                "username": os.environ.get("EMAIL_HOST_USER", ""),
                "password": envsecret("EMAIL_HOST_PASSWORD"),
                "use_tls": envbool("EMAIL_USE_TLS", "true"),
                "timeout": 10,
            },
        }
    }
else:
    MAILERS = {"default": {"BACKEND": "django.core.mail.backends.console.EmailBackend"}}
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "Pixxel Dashboard <noreply@localhost>")
# Who gets an email for every server error (500) while DEBUG is off, and from which address.
ADMINS = envaddresses("ADMINS")
SERVER_EMAIL = os.environ.get("SERVER_EMAIL", DEFAULT_FROM_EMAIL)
# The site's own address, for links in emails sent by the task worker (which has no request).
SITE_URL = envurl("SITE_URL", "http://localhost:8000")

INVITATION_TTL_DAYS = envint("INVITATION_TTL_DAYS", "7", minimum=1)
# Invitations are emails from our address: at most this many per hour, per inviter and per org.
INVITATIONS_PER_INVITER_PER_HOUR = envint("INVITATIONS_PER_INVITER_PER_HOUR", "10", minimum=1)
INVITATIONS_PER_ORGANIZATION_PER_HOUR = envint(
    "INVITATIONS_PER_ORGANIZATION_PER_HOUR", "20", minimum=1
)

# Job submissions (each one costs credits): at most this many per member and per organization in
# a sliding window; a refused attempt is recorded as a failed submission.
SUBMISSION_RATE_WINDOW_SECONDS = envint("SUBMISSION_RATE_WINDOW_SECONDS", "60", minimum=1)
SUBMISSION_RATE_PER_MEMBER = envint("SUBMISSION_RATE_PER_MEMBER", "10", minimum=1)
SUBMISSION_RATE_PER_ORGANIZATION = envint("SUBMISSION_RATE_PER_ORGANIZATION", "30", minimum=1)

# Pixxel API.
PIXXEL_API_BASE_URL = envurl("PIXXEL_API_BASE_URL", "https://api.pixxel.space")
PIXXEL_CONNECT_TIMEOUT = envfloat("PIXXEL_CONNECT_TIMEOUT", "5")
PIXXEL_READ_TIMEOUT = envfloat("PIXXEL_READ_TIMEOUT", "30")
PIXXEL_MAX_RETRIES = envint("PIXXEL_MAX_RETRIES", "3", minimum=0)
PIXXEL_RETRY_BACKOFF = envfloat("PIXXEL_RETRY_BACKOFF", "0.5", positive=False)
# Upper bound on the whole of one GET including its retries (seconds).
PIXXEL_RETRY_TOTAL_SECONDS = envfloat("PIXXEL_RETRY_TOTAL_SECONDS", "30")

# Webhooks: deliveries never reach private, loopback or link-local addresses, nor plain http,
# except to these comma-separated host names, IP addresses or networks (CIDR) of a self-hosted
# install's own receivers, e.g. `hooks.internal,10.0.5.0/24`.
WEBHOOK_ALLOW_HOSTS = envlist("WEBHOOK_ALLOW_HOSTS")

# Encryption of stored Pixxel API keys: comma-separated Fernet keys, the first encrypts, all decrypt
# (rotation procedure in README). Generate one with:
#   python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'
PIXXEL_DASHBOARD_ENCRYPTION_KEYS = _items(envsecret("PIXXEL_DASHBOARD_ENCRYPTION_KEYS"))
for _key in PIXXEL_DASHBOARD_ENCRYPTION_KEYS:
    try:
        Fernet(_key.encode())
    except ValueError:
        raise ImproperlyConfigured(
            "PIXXEL_DASHBOARD_ENCRYPTION_KEYS must be comma-separated Fernet keys "
            "(32 url-safe base64-encoded bytes each)."
        ) from None
if not DEBUG and not PIXXEL_DASHBOARD_ENCRYPTION_KEYS:
    raise ImproperlyConfigured(
        "PIXXEL_DASHBOARD_ENCRYPTION_KEYS must be set when DEBUG is off: it encrypts the stored "
        "Pixxel API keys." + _LOCAL_HINT
    )

# One cache that every process (web servers, workers) shares, so what one learnt (a pre-flight's
# answer) the others see: a table in the database by default (`migrate` creates it), or Redis.
REDIS_URL = envsecret("REDIS_URL")
if REDIS_URL:
    if not REDIS_URL.startswith(("redis://", "rediss://", "unix://")):
        raise ImproperlyConfigured(
            "REDIS_URL must be a redis://, rediss:// or unix:// URL (e.g. redis://127.0.0.1:6379/0)."
        )
    CACHES = {
        "default": {
            # Django's RedisCache, except that an unreachable Redis is a miss, not an error page;
            # and a hung one costs at most a second.
            "BACKEND": "pixxel_dashboard.core.cache.ForgivingRedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "pixxel_dashboard_cache",
            # Django's default of 300 entries is reached by an hour of 500 running jobs' dependency
            # analyses; past it, each write deletes a third of the table in key order, the
            # catalog's markers first ("catalog-…"), and the form asks Pixxel again. Expired rows
            # go first; each write counts the rows (~1 ms at 20,000 on PostgreSQL).
            "OPTIONS": {"MAX_ENTRIES": 20_000},
        }
    }

# Sessions: with Redis, read from the shared cache (written through to the database, so a Redis
# restart logs nobody out; accounts/sessions.py caps each cached copy's life): a page or poll then
# makes no session query. Without Redis the cache is a database table: the database engine is cheaper.
SESSION_ENGINE = (
    "pixxel_dashboard.accounts.sessions" if REDIS_URL else "django.contrib.sessions.backends.db"
)

# Background work: django.tasks with the database backend; run `manage.py db_worker`.
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "filters": {
        "require_debug_false": {"()": "django.utils.log.RequireDebugFalse"},
        # Invitation, verification and reset links carry their token in the path.
        "redact_secret_paths": {"()": "pixxel_dashboard.core.redaction.RedactSecretPaths"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["redact_secret_paths"],
        },
        "mail_admins": {
            "class": "django.utils.log.AdminEmailHandler",
            "level": "ERROR",
            "filters": ["require_debug_false", "redact_secret_paths"],
        },
    },
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        # django-axes is chatty at INFO (every start, every login); its lockout warnings still show.
        "axes": {"level": "WARNING"},
        # Without this, Django's own console handler printed each of its records a second time
        # (the root handler prints them): keep only its error emails.
        "django": {"handlers": ["mail_admins"], "level": "INFO"},
    },
}
