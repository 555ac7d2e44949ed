"""Django settings, every value read from the environment through the table in config.py.

Unsafe values are refused outside debug: a placeholder secret key, or a wildcard host.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from broadsheet.config import read_settings

ENV = read_settings()

PACKAGE_DIR = Path(__file__).resolve().parent
DATA_DIR = Path(ENV["BROADSHEET_DATA_DIR"]).expanduser().resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = ENV["BROADSHEET_DEBUG"]
PLACEHOLDER_SECRET_KEYS = {"change-me", "changeme", "secret", "insecure"}


def load_secret_key(configured: str, data_dir: Path, debug: bool) -> str:
    """The configured key, or one generated once into the data dir; placeholders refused outside debug."""
    if configured:
        if configured.strip().lower() in PLACEHOLDER_SECRET_KEYS and not debug:
            raise ImproperlyConfigured(
                "BROADSHEET_SECRET_KEY is a placeholder; unset it to generate one, or set a random value"
            )
        return configured
    key_path = data_dir / "secret_key"
    if not key_path.exists():
        key = secrets.token_urlsafe(50)
        # exclusive create: two processes starting together agree on one key
        try:
            with open(key_path, "x", encoding="ascii") as handle:
                handle.write(key)
            key_path.chmod(0o600)
        except FileExistsError:
            pass
    return key_path.read_text(encoding="ascii").strip()


SECRET_KEY = load_secret_key(ENV["BROADSHEET_SECRET_KEY"], DATA_DIR, DEBUG)
ALLOWED_HOSTS = ENV["BROADSHEET_ALLOWED_HOSTS"]
if "*" in ALLOWED_HOSTS and not DEBUG:
    raise ImproperlyConfigured("BROADSHEET_ALLOWED_HOSTS='*' is refused outside debug: list the host names")
BASE_URL = ENV["BROADSHEET_BASE_URL"].rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "huey.contrib.djhuey",
    # its templates and static files: the API docs page loads Swagger UI from here, not from a CDN
    "ninja",
    "broadsheet.papers",
    "broadsheet.ingest",
    "broadsheet.search",
    "broadsheet.accounts",
    "broadsheet.trending",
    "broadsheet.digest",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "broadsheet.papers.middleware.RejectNulMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "broadsheet.accounts.ratelimit.SearchRateLimitMiddleware",
]

ROOT_URLCONF = "broadsheet.urls"
WSGI_APPLICATION = "broadsheet.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [PACKAGE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "broadsheet.papers.context.site",
            ],
        },
    }
]

SQLITE_PATH = DATA_DIR / "broadsheet.sqlite3"
if ENV["DATABASE_URL"]:
    DATABASES = {"default": dj_database_url.parse(ENV["DATABASE_URL"], conn_max_age=60)}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(SQLITE_PATH),
            "OPTIONS": {
                # WAL lets readers go on while one writer commits; IMMEDIATE takes the write lock up
                # front so two writers queue on busy_timeout instead of failing with "database is locked".
                "init_command": (
                    "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON; "
                    "PRAGMA cache_size=-65536; PRAGMA temp_store=MEMORY"
                ),
                "transaction_mode": "IMMEDIATE",
                "timeout": 30,
            },
            "TEST": {"NAME": str(DATA_DIR / "test.sqlite3")},
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = ENV["REDIS_URL"]
# One task code path on one machine or many: SqliteHuey in the data dir, RedisHuey when REDIS_URL is set.
if REDIS_URL:
    HUEY = {"huey_class": "huey.RedisHuey", "name": "broadsheet", "url": REDIS_URL, "immediate": False}
else:
    HUEY = {
        "huey_class": "huey.SqliteHuey",
        "name": "broadsheet",
        "filename": str(DATA_DIR / "jobs.sqlite3"),
        "immediate": False,
    }

LANGUAGE_CODE = "en"
TIME_ZONE = ENV["BROADSHEET_TIME_ZONE"]
USE_I18N = False
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"

SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SAMESITE = "Lax"
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"
if BASE_URL.startswith("https://"):
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    CSRF_TRUSTED_ORIGINS = [BASE_URL]



def email_settings(smtp_url: str, data_dir: Path) -> dict[str, object]:
    """Django EMAIL_* settings from BROADSHEET_SMTP_URL; without one, messages become .eml files."""
    if not smtp_url:
        return {
            "EMAIL_BACKEND": "broadsheet.mailer.EmlFileBackend",
            "EMAIL_FILE_PATH": str(data_dir / "outbox"),
        }
    parts = urlsplit(smtp_url)
    if parts.scheme not in {"smtp", "smtps"} or not parts.hostname:
        raise ImproperlyConfigured(
            "BROADSHEET_SMTP_URL must look like smtp://USER:PASSWORD@HOST:587?starttls=true "
            "or smtps://USER:PASSWORD@HOST:465"
        )
    options = parse_qs(parts.query)
    starttls = options.get("starttls", ["false"])[0].lower() in {"1", "true", "yes", "on"}
    return {
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": parts.hostname,
        "EMAIL_PORT": parts.port or (465 if parts.scheme == "smtps" else 25),
        "EMAIL_HOST_USER": unquote(parts.username or ""),
        "EMAIL_HOST_PASSWORD": unquote(parts.password or ""),
        "EMAIL_USE_SSL": parts.scheme == "smtps",
        "EMAIL_USE_TLS": starttls and parts.scheme == "smtp",
    }


globals().update(email_settings(ENV["BROADSHEET_SMTP_URL"], DATA_DIR))
EMAIL_TIMEOUT = ENV["BROADSHEET_SMTP_TIMEOUT_SECONDS"]
DEFAULT_FROM_EMAIL = ENV["BROADSHEET_EMAIL_FROM"]
SERVER_EMAIL = DEFAULT_FROM_EMAIL
OUTBOX_DIR = DATA_DIR / "outbox"

BROADSHEET = {
    "ARXIV_OAI_URL": ENV["BROADSHEET_ARXIV_OAI_URL"],
    "ARXIV_API_URL": ENV["BROADSHEET_ARXIV_API_URL"],
    "OAI_METADATA_PREFIX": ENV["BROADSHEET_OAI_METADATA_PREFIX"],
    "OAI_SETS": ENV["BROADSHEET_OAI_SETS"],
    "CATEGORIES": ENV["BROADSHEET_CATEGORIES"],
    "INGEST_DAYS": ENV["BROADSHEET_INGEST_DAYS"],
    "INGEST_EVERY_HOURS": ENV["BROADSHEET_INGEST_EVERY_HOURS"],
    "SNAPSHOT": ENV["BROADSHEET_SNAPSHOT"],
    "REQUEST_DELAY_SECONDS": ENV["BROADSHEET_REQUEST_DELAY_SECONDS"],
    "HTTP_TIMEOUT_SECONDS": ENV["BROADSHEET_HTTP_TIMEOUT_SECONDS"],
    "HTTP_MAX_RETRIES": ENV["BROADSHEET_HTTP_MAX_RETRIES"],
    "RETRY_AFTER_CAP_SECONDS": ENV["BROADSHEET_RETRY_AFTER_CAP_SECONDS"],
    "USER_AGENT": ENV["BROADSHEET_USER_AGENT"],
    "HF_URL": ENV["BROADSHEET_HF_URL"].rstrip("/"),
    "HF_EVERY_HOURS": ENV["BROADSHEET_HF_EVERY_HOURS"],
    "GITHUB_API_URL": ENV["BROADSHEET_GITHUB_API_URL"].rstrip("/"),
    "GITHUB_TOKEN": ENV["BROADSHEET_GITHUB_TOKEN"],
    "GITHUB_EVERY_HOURS": ENV["BROADSHEET_GITHUB_EVERY_HOURS"],
    "GITHUB_RECENT_DAYS": ENV["BROADSHEET_GITHUB_RECENT_DAYS"],
    "GITHUB_REQUEST_DELAY_SECONDS": ENV["BROADSHEET_GITHUB_REQUEST_DELAY_SECONDS"],
    "TRENDING_EVERY_MINUTES": ENV["BROADSHEET_TRENDING_EVERY_MINUTES"],
    "TRENDING_WINDOW_DAYS": ENV["BROADSHEET_TRENDING_WINDOW_DAYS"],
    "EMBEDDER": ENV["BROADSHEET_EMBEDDER"],
    "EMBEDDER_THREADS": ENV["BROADSHEET_EMBEDDER_THREADS"],
    "EMBED_AFTER_INGEST": ENV["BROADSHEET_EMBED_AFTER_INGEST"],
    "HOST": ENV["BROADSHEET_HOST"],
    "PORT": ENV["BROADSHEET_PORT"],
    "WEB_WORKERS": ENV["BROADSHEET_WEB_WORKERS"],
    "SIGNIN_PER_ADDRESS_PER_HOUR": ENV["BROADSHEET_SIGNIN_PER_ADDRESS_PER_HOUR"],
    "SIGNIN_PER_IP_PER_HOUR": ENV["BROADSHEET_SIGNIN_PER_IP_PER_HOUR"],
    "SUBMIT_PER_HOUR": ENV["BROADSHEET_SUBMIT_PER_HOUR"],
    "SEARCH_PER_MINUTE": ENV["BROADSHEET_SEARCH_PER_MINUTE"],
    "TRUSTED_PROXY_COUNT": ENV["BROADSHEET_TRUSTED_PROXY_COUNT"],
    "RATE_LIMIT_EXEMPT_NETWORKS": ENV["BROADSHEET_RATE_LIMIT_EXEMPT_NETWORKS"],
    "DIGEST_CUTOFF_HOURS": ENV["BROADSHEET_DIGEST_CUTOFF_HOURS"],
    "DIGEST_RATE_PER_MINUTE": ENV["BROADSHEET_DIGEST_RATE_PER_MINUTE"],
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "loggers": {
        "broadsheet": {"handlers": ["console"], "level": ENV["BROADSHEET_LOG_LEVEL"]},
        # server errors (500s) with their tracebacks; Django's default sends them nowhere without DEBUG
        "django.request": {"handlers": ["console"], "level": "ERROR", "propagate": False},
    },
}
