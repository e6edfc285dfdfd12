"""Django settings for Partnerhub, read from the environment (see .env.example)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

from partnerhub.env import env_bool, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent
DATA_DIR = Path(env_str("PARTNERHUB_DATA_DIR", "./data") or "./data").resolve()

DEBUG = env_bool("DEBUG", False)
# Production mode is the default; PARTNERHUB_DEV=1 (set by `partnerhub demo` and
# the test suite) allows the insecure development key.
DEV_MODE = env_bool("PARTNERHUB_DEV", False) or "pytest" in sys.modules
_secret = env_str("DJANGO_SECRET_KEY")
if not DEV_MODE:
    if not _secret:
        raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set in production mode")
    if DEBUG:
        raise ImproperlyConfigured("DEBUG must be off in production mode (set PARTNERHUB_DEV=1)")
SECRET_KEY = _secret or "partnerhub-insecure-development-key-do-not-use-in-production"

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_tasks_db",
    # Only for its static files: /api/docs then serves Swagger UI from our own origin
    # (ninja renders its local template when "ninja" is installed, a CDN one otherwise).
    "ninja",
    "partnerhub.accounts",
    "partnerhub.catalog",
    "partnerhub.resellers",
    "partnerhub.plans",
    "partnerhub.companies",
    "partnerhub.fees",
    "partnerhub.audit",
    "partnerhub.registration",
    "partnerhub.usage",
    "partnerhub.webhooks",
    "partnerhub.sales",
    "partnerhub.statements",
    "partnerhub.web",
    "partnerhub.ops",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    # Static files from STATIC_ROOT, which `partnerhub serve`/`demo` fill with collectstatic.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "partnerhub.api.middleware.ApiMethodNotAllowedMiddleware",
]

ROOT_URLCONF = "partnerhub.urls"
WSGI_APPLICATION = "partnerhub.wsgi.application"
ASGI_APPLICATION = "partnerhub.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "partnerhub.web.context.navigation",
            ],
        },
    }
]


def _database() -> dict[str, Any]:
    url = env_str("DATABASE_URL") or f"sqlite:///{DATA_DIR / 'partnerhub.sqlite3'}"
    if url.startswith("postgresql://"):
        url = "postgres://" + url.removeprefix("postgresql://")
    try:
        config: dict[str, Any] = dict(dj_database_url.parse(url, conn_max_age=60))
    except Exception as exc:  # dj_database_url raises several kinds
        raise ImproperlyConfigured(f"DATABASE_URL is not a usable URL: {exc}") from exc
    engine = config["ENGINE"]
    if engine.endswith("sqlite3"):
        if config["NAME"] not in ("", ":memory:"):
            Path(config["NAME"]).parent.mkdir(parents=True, exist_ok=True)
        config["CONN_MAX_AGE"] = 0
        config["OPTIONS"] = {
            # WAL lets the web process read while the worker writes; IMMEDIATE
            # transactions take the write lock up front so two writers queue on
            # the busy timeout instead of failing with "database is locked".
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            "transaction_mode": "IMMEDIATE",
            "timeout": 30,
        }
        test_file = env_str("PARTNERHUB_TEST_DB_NAME")
        if test_file:  # a file test database, so subprocesses (workers) can open it
            config["TEST"] = {"NAME": str(DATA_DIR / f"{test_file}.sqlite3")}
    elif engine.endswith("postgresql"):
        config["ENGINE"] = "django.db.backends.postgresql"
        # Server-side parameter binding lets psycopg prepare a statement the second time
        # a connection runs it: the hot paths' lookups (API key, entitlements cache key)
        # then skip PostgreSQL's parse and plan, about 120 us each (docs/benchmarks.md).
        # 0 turns it off, for a pooler in transaction mode that cannot keep them.
        prepare_after = env_int("DATABASE_PREPARE_THRESHOLD", 2)
        if prepare_after > 0:
            config["OPTIONS"] = {
                **config.get("OPTIONS", {}),
                "server_side_binding": True,
                "prepare_threshold": prepare_after,
            }
        test_name = env_str("PARTNERHUB_TEST_DB_NAME")
        if test_name:
            config["TEST"] = {"NAME": test_name}
    else:
        raise ImproperlyConfigured("DATABASE_URL must be sqlite:///… or postgres://…")
    return config


DATABASES = {"default": _database()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"


def _cache() -> dict[str, Any]:
    url = env_str("CACHE_URL") or "locmem://"
    if url.startswith("redis://") or url.startswith("rediss://"):
        return {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url}
    if url.startswith("locmem://"):
        return {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "partnerhub",
            # Django's default of 300 entries would cycle any real set of companies'
            # entitlements; an entry is 1-2 KB, so this caps a web process at ~40 MB.
            "OPTIONS": {"MAX_ENTRIES": 20_000},
        }
    if url.startswith("dummy://"):
        return {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}
    raise ImproperlyConfigured("CACHE_URL must be locmem://, dummy:// or redis://host:port/db")


CACHES = {"default": _cache()}

TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}

TESTING = "pytest" in sys.modules
if TESTING:
    # Personas log in in every test; PBKDF2's deliberate slowness buys nothing there.
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]
LOGIN_URL = "web:login"
LOGIN_REDIRECT_URL = "web:home"
LOGOUT_REDIRECT_URL = "web:login"

LANGUAGE_CODE = "en"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
# WhiteNoise with Django's plain storage: no manifest that a forgotten collectstatic
# could leave stale. In development (and tests) it also serves straight from the apps.
WHITENOISE_USE_FINDERS = DEV_MODE

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
if not DEV_MODE:
    SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", True)
    CSRF_COOKIE_SECURE = env_bool("SECURE_COOKIES", True)

# HSTS, for deployments served over TLS (off by default: a hub on plain HTTP on localhost
# must not pin browsers to HTTPS). SecurityMiddleware sends it on secure requests only;
# behind a TLS-terminating proxy set SECURE_PROXY_SSL_HEADER=1 so X-Forwarded-Proto says so.
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
if env_bool("SECURE_PROXY_SSL_HEADER", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", False)

# Content-Security-Policy on every response (Django's own middleware). Scripts come only
# from our static files (htmx, hub.js, Swagger UI; no inline script, no eval, no CDN).
# Styles allow inline `style` attributes, which the templates use for layout details;
# an injected style cannot run code, an injected script could.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF, CSP.UNSAFE_INLINE],
    "img-src": [CSP.SELF, "data:"],
    "font-src": [CSP.SELF, "data:"],
    "connect-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}

# The plan, company and reseller forms post four fields (percent, fixed, min, max) per
# (currency, fee type) cell of the catalog, plus prices, limits, features and blended
# switches. Django's default of 1,000 fields refuses a 12 x 32 catalog (TooManyFieldsSent).
# The bound admits a catalog of HUB_FORM_MAX_CURRENCIES x HUB_FORM_MAX_FEE_TYPES with 2,000
# fields to spare (22,000 fields, about 1 MB of form data, inside the 2.5 MB
# DATA_UPLOAD_MAX_MEMORY_SIZE), and still refuses an unbounded flood of fields.
HUB_FORM_MAX_CURRENCIES = env_int("HUB_FORM_MAX_CURRENCIES", 50)
HUB_FORM_MAX_FEE_TYPES = env_int("HUB_FORM_MAX_FEE_TYPES", 100)
DATA_UPLOAD_MAX_NUMBER_FIELDS = HUB_FORM_MAX_CURRENCIES * HUB_FORM_MAX_FEE_TYPES * 4 + 2_000

# Login throttle (hub and /admin/login/): failed attempts per window, counted in the
# database so every web process shares them. Over the limit even the right password is
# refused until the window ends.
LOGIN_FAILURE_LIMIT_PER_USERNAME = env_int("LOGIN_FAILURE_LIMIT_PER_USERNAME", 5)
LOGIN_FAILURE_LIMIT_PER_ADDRESS = env_int("LOGIN_FAILURE_LIMIT_PER_ADDRESS", 20)
LOGIN_FAILURE_WINDOW_SECONDS = env_int("LOGIN_FAILURE_WINDOW_SECONDS", 900)

# Self-service registration: attempts per client address per window.
REGISTRATION_RATE_LIMIT = env_int("REGISTRATION_RATE_LIMIT", 10)
REGISTRATION_RATE_WINDOW_SECONDS = env_int("REGISTRATION_RATE_WINDOW_SECONDS", 60)
# Reverse proxies in front of the hub whose X-Forwarded-For is trusted (0: use REMOTE_ADDR).
PARTNERHUB_TRUSTED_PROXIES = env_int("PARTNERHUB_TRUSTED_PROXIES", 0)
# Recalculation jobs: a chunk (one UPDATE, one transaction, claimed by any worker) holds
# at most this many items (a bigger company is split by item id) and this many companies.
RECALC_CHUNK_ITEMS = env_int("RECALC_CHUNK_ITEMS", 100_000)
RECALC_CHUNK_COMPANIES = env_int("RECALC_CHUNK_COMPANIES", 1000)
# A job's first chunks are planned from this many companies, and the other companies are
# counted while workers run them (fees/recalc/chunks.py::chunks_plan_rest). Every worker
# waits for this count; 128 companies of 1,000 items make one full chunk for the first
# helper.
RECALC_PLAN_AHEAD_COMPANIES = env_int("RECALC_PLAN_AHEAD_COMPANIES", 128)
# A running job whose heartbeat is older than this is taken over by another worker.
RECALC_STALE_SECONDS = env_int("RECALC_STALE_SECONDS", 60)
# Raw usage events are kept this many days, then `partnerhub usage purge` deletes them
# (the counters per usage period are kept).
USAGE_RETENTION_DAYS = env_int("PARTNERHUB_USAGE_RETENTION_DAYS", 400)


def _retry_schedule() -> list[float]:
    raw = env_str("PARTNERHUB_WEBHOOK_RETRY_SCHEDULE")
    if not raw:
        return [5, 300, 1800, 7200, 18000, 36000, 36000]  # Standard Webhooks / Svix
    try:
        values = [float(part) for part in raw.split(",")]
    except ValueError as exc:
        raise ImproperlyConfigured(
            "PARTNERHUB_WEBHOOK_RETRY_SCHEDULE must be comma-separated seconds, e.g. 1,1,2"
        ) from exc
    if not values or any(v < 0 for v in values):
        raise ImproperlyConfigured("PARTNERHUB_WEBHOOK_RETRY_SCHEDULE needs non-negative seconds")
    return values


# Webhooks (SPEC §14): seconds between a failed attempt and the next, one per retry.
WEBHOOK_RETRY_SCHEDULE = _retry_schedule()
# Deliveries to loopback, private or link-local addresses (tests and the demo only).
WEBHOOK_ALLOW_PRIVATE = env_bool("PARTNERHUB_WEBHOOK_ALLOW_PRIVATE", False)
# Deliveries in flight at once per worker, and deliveries claimed per round.
WEBHOOK_CONCURRENCY = env_int("PARTNERHUB_WEBHOOK_CONCURRENCY", 16)
# Of those, at most this many to one endpoint (a slow endpoint leaves the rest to others).
WEBHOOK_ENDPOINT_CONCURRENCY = env_int("PARTNERHUB_WEBHOOK_ENDPOINT_CONCURRENCY", 8)
# Seconds a worker owns what it claimed; after a crash the rest is due again then.
WEBHOOK_LEASE_SECONDS = env_int("PARTNERHUB_WEBHOOK_LEASE_SECONDS", 60)
# Companies compared per fan-out transaction.
WEBHOOK_FANOUT_BATCH = env_int("PARTNERHUB_WEBHOOK_FANOUT_BATCH", 500)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        # One INFO line per webhook request is noise; failures are logged by the app.
        "httpx": {"level": "WARNING"},
        "httpcore": {"level": "WARNING"},
    },
}
