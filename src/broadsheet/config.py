"""The declared table of every Broadsheet setting: name, default, type and help.

settings.py reads the environment through this table only, and docs/configuration.md is
generated from it (`broadsheet config docs`), so a setting cannot exist undocumented.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any


def parse_bool(raw: str) -> bool:
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError(f"expected a boolean (true/false), got {raw!r}")


def parse_list(raw: str) -> list[str]:
    return [item for item in raw.replace(",", " ").split() if item]


def parse_float(raw: str) -> float:
    return float(raw)


def parse_int(raw: str) -> int:
    return int(raw)


def parse_str(raw: str) -> str:
    return raw


@dataclass(frozen=True)
class Setting:
    name: str
    default: str
    help: str
    parse: Callable[[str], Any] = parse_str
    group: str = "core"

    def read(self, environ: Mapping[str, str]) -> Any:
        raw = environ.get(self.name, self.default)
        try:
            return self.parse(raw)
        except ValueError as exc:
            raise ValueError(f"setting {self.name}: {exc}") from exc


SETTINGS: tuple[Setting, ...] = (
    # core
    Setting(
        "BROADSHEET_DATA_DIR",
        "./data",
        "Folder for the SQLite database, the generated secret key, the job queue, the outbox and "
        "indexes. Created on first use.",
    ),
    Setting(
        "BROADSHEET_DEBUG",
        "false",
        "Django debug mode. Never enable on a public server: it shows tracebacks and settings.",
        parse_bool,
    ),
    Setting(
        "BROADSHEET_SECRET_KEY",
        "",
        "Django secret key (signs sessions, CSRF and tokens). When empty, a random key is generated "
        "once into DATA_DIR/secret_key and reused. The placeholder value `change-me` is refused "
        "unless debug is on.",
    ),
    Setting(
        "BROADSHEET_ALLOWED_HOSTS",
        "localhost,127.0.0.1,[::1]",
        "Host names the web server answers to (comma or space separated).",
        parse_list,
    ),
    Setting(
        "BROADSHEET_BASE_URL",
        "http://127.0.0.1:8000",
        "Public URL of this site, used to build every absolute link (feeds, emails); never taken "
        "from a request's Host header.",
    ),
    Setting("BROADSHEET_TIME_ZONE", "UTC", "Time zone in which pages show dates."),
    Setting("BROADSHEET_LOG_LEVEL", "INFO", "Log level of Broadsheet's own loggers."),
    # database and queue
    Setting(
        "DATABASE_URL",
        "",
        "Database URL. Empty: SQLite in WAL mode at DATA_DIR/broadsheet.sqlite3. PostgreSQL 15+: "
        "`postgres://USER:PASSWORD@HOST:5432/NAME`.",
        group="database",
    ),
    Setting(
        "REDIS_URL",
        "",
        "Redis URL for the job queue (`redis://HOST:6379/0`). Empty: a SQLite job queue in "
        "DATA_DIR/jobs.sqlite3.",
        group="database",
    ),
    # web server
    Setting(
        "BROADSHEET_HOST",
        "127.0.0.1",
        "Address `broadsheet serve` and `broadsheet up` listen on.",
        group="server",
    ),
    Setting(
        "BROADSHEET_PORT",
        "8000",
        "Port `broadsheet serve` and `broadsheet up` listen on.",
        parse_int,
        group="server",
    ),
    Setting("BROADSHEET_WEB_WORKERS", "2", "gunicorn worker processes.", parse_int, group="server"),
    # ingest
    Setting(
        "BROADSHEET_ARXIV_OAI_URL", "https://oaipmh.arxiv.org/oai", "arXiv OAI-PMH endpoint.", group="ingest"
    ),
    Setting(
        "BROADSHEET_ARXIV_API_URL",
        "https://export.arxiv.org/api/query",
        "arXiv API (Atom) endpoint.",
        group="ingest",
    ),
    Setting(
        "BROADSHEET_OAI_METADATA_PREFIX",
        "arXivRaw",
        "OAI-PMH metadata format: `arXivRaw` (full version history) or `arXiv`.",
        group="ingest",
    ),
    Setting(
        "BROADSHEET_OAI_SETS",
        "cs",
        "OAI-PMH sets harvested by `broadsheet up` and `broadsheet ingest oai` "
        "(e.g. `cs`, `physics:astro-ph`, `cs:cs:CL`).",
        parse_list,
        group="ingest",
    ),
    Setting(
        "BROADSHEET_CATEGORIES",
        "",
        "When set, only papers with at least one of these arXiv categories are kept "
        "(e.g. `cs.CL cs.LG`). Empty keeps everything the sets deliver.",
        parse_list,
        group="ingest",
    ),
    Setting(
        "BROADSHEET_INGEST_DAYS",
        "3",
        "How many days back `broadsheet up` harvests on its first run.",
        parse_int,
        group="ingest",
    ),
    Setting(
        "BROADSHEET_SNAPSHOT",
        "",
        "Path of an arXiv metadata snapshot (JSON Lines, optionally gzipped) that `broadsheet up` "
        "imports instead of harvesting from arXiv.",
        group="ingest",
    ),
    Setting(
        "BROADSHEET_INGEST_EVERY_HOURS",
        "6",
        "How often the job worker harvests new papers from arXiv OAI-PMH (hours; 0 turns the schedule off).",
        parse_int,
        group="ingest",
    ),
    Setting(
        "BROADSHEET_REQUEST_DELAY_SECONDS",
        "3",
        "Minimum delay between two requests to the same upstream host (arXiv asks for 3 s).",
        parse_float,
        group="ingest",
    ),
    Setting(
        "BROADSHEET_HTTP_TIMEOUT_SECONDS",
        "30",
        "Connect/read timeout of upstream requests.",
        parse_float,
        group="ingest",
    ),
    Setting(
        "BROADSHEET_HTTP_MAX_RETRIES",
        "5",
        "Retries of a failed upstream request (5xx, dropped connection, empty page) before giving up.",
        parse_int,
        group="ingest",
    ),
    Setting(
        "BROADSHEET_RETRY_AFTER_CAP_SECONDS",
        "120",
        "Longest wait honoured from an upstream `Retry-After` header.",
        parse_float,
        group="ingest",
    ),
    Setting(
        "BROADSHEET_USER_AGENT",
        "Broadsheet/0.1 (self-hosted arXiv reader)",
        "User-Agent sent to upstreams.",
        group="ingest",
    ),    # trending
    Setting(
        "BROADSHEET_HF_URL",
        "https://huggingface.co",
        "Hugging Face base URL for daily papers (`{URL}/api/daily_papers?date=YYYY-MM-DD`).",
        group="trending",
    ),
    Setting(
        "BROADSHEET_HF_EVERY_HOURS",
        "6",
        "How often the job worker imports today's and yesterday's Hugging Face daily papers (hours; "
        "0 turns it off).",
        parse_int,
        group="trending",
    ),
    Setting(
        "BROADSHEET_GITHUB_API_URL",
        "https://api.github.com",
        "GitHub REST API base URL, asked for the star counts of repositories linked from papers.",
        group="trending",
    ),
    Setting(
        "BROADSHEET_GITHUB_TOKEN",
        "",
        "GitHub token sent as `Authorization: Bearer` (no scopes needed). Empty: anonymous requests, "
        "which GitHub limits to 60 an hour; a token allows 5,000.",
        group="trending",
    ),
    Setting(
        "BROADSHEET_GITHUB_EVERY_HOURS",
        "24",
        "How often the job worker samples GitHub star counts (hours; 0 turns it off). A run stops at "
        "GitHub's rate limit and the next run goes on with the repositories sampled longest ago.",
        parse_int,
        group="trending",
    ),
    Setting(
        "BROADSHEET_GITHUB_RECENT_DAYS",
        "14",
        "Repositories of papers announced or on Hugging Face daily papers in this many days are "
        "sampled first.",
        parse_int,
        group="trending",
    ),
    Setting(
        "BROADSHEET_GITHUB_REQUEST_DELAY_SECONDS",
        "1",
        "Minimum delay between two requests to the GitHub API.",
        parse_float,
        group="trending",
    ),
    Setting(
        "BROADSHEET_TRENDING_EVERY_MINUTES",
        "15",
        "How often the job worker recomputes the trending scores (minutes, 1-60; 0 turns it off).",
        parse_int,
        group="trending",
    ),
    Setting(
        "BROADSHEET_TRENDING_WINDOW_DAYS",
        "30",
        "Papers with a signal (upvote, view, Hugging Face sighting, star sample) in this many days are "
        "scored; older ones leave the trending list (at least 7).",
        parse_int,
        group="trending",
    ),
    # search
    Setting(
        "BROADSHEET_EMBEDDER",
        "all-MiniLM-L6-v2-int8",
        "Embedding model for semantic search and similar papers. `all-MiniLM-L6-v2-int8`: the built-in "
        "model on ONNX Runtime (no network, no GPU). `st:NAME_OR_PATH`: any sentence-transformers model, "
        "e.g. `st:BAAI/bge-small-en-v1.5` (needs `pip install sentence-transformers`; see docs/search.md). "
        "Changing it means running `broadsheet embed` and `broadsheet index rebuild` again.",
        group="search",
    ),
    Setting(
        "BROADSHEET_EMBEDDER_THREADS",
        "0",
        "CPU threads of the built-in embedder; 0 uses every core the process may run on.",
        parse_int,
        group="search",
    ),
    Setting(
        "BROADSHEET_EMBED_AFTER_INGEST",
        "true",
        "Whether the job worker embeds new and changed papers after each scheduled ingest.",
        parse_bool,
        group="search",
    ),
    # email
    Setting(
        "BROADSHEET_SMTP_URL",
        "",
        "SMTP server for every email (sign-in links, confirmations, digests): "
        "`smtp://USER:PASSWORD@HOST:587?starttls=true` or `smtps://USER:PASSWORD@HOST:465` "
        "(user and password percent-encoded). Empty: each message is written as an `.eml` file "
        "to DATA_DIR/outbox instead of being sent.",
        group="email",
    ),
    Setting(
        "BROADSHEET_EMAIL_FROM",
        "Broadsheet <broadsheet@localhost>",
        "From address of every email.",
        group="email",
    ),
    Setting(
        "BROADSHEET_SMTP_TIMEOUT_SECONDS",
        "30",
        "Seconds before a silent SMTP connection counts as dropped.",
        parse_float,
        group="email",
    ),
    Setting(
        "BROADSHEET_DIGEST_CUTOFF_HOURS",
        "6",
        "A digest not sent this many hours after the subscriber's delivery hour is abandoned (and "
        "reported by `broadsheet digest status`) instead of arriving late.",
        parse_float,
        group="email",
    ),
    Setting(
        "BROADSHEET_DIGEST_RATE_PER_MINUTE",
        "120",
        "Most digests sent per minute, by all senders together and across restarts (0: no limit).",
        parse_int,
        group="email",
    ),
    Setting(
        "BROADSHEET_BOUNCE_WEBHOOK_SECRET",
        "",
        "Shared secret of the bounce/complaint webhook `POST /digest/webhooks/bounces/`: each request "
        "is signed with HMAC-SHA256 over its body (`X-Broadsheet-Signature: sha256=HEX`), or is a "
        "Mailgun webhook signed with this value as its signing key. Empty: the webhook refuses every "
        "request (403).",
        group="email",
    ),
    # accounts and rate limits
    Setting(
        "BROADSHEET_SIGNIN_PER_ADDRESS_PER_HOUR",
        "5",
        "Sign-in links sent to one email address per hour; more requests answer 429 with `Retry-After`.",
        parse_int,
        group="accounts",
    ),
    Setting(
        "BROADSHEET_SIGNIN_PER_IP_PER_HOUR",
        "30",
        "Sign-in requests from one client address per hour (IPv6: per /64 network).",
        parse_int,
        group="accounts",
    ),
    Setting(
        "BROADSHEET_SUBMIT_PER_HOUR",
        "20",
        "Papers one signed-in reader may submit by arXiv id per hour.",
        parse_int,
        group="accounts",
    ),
    Setting(
        "BROADSHEET_SEARCH_PER_MINUTE",
        "120",
        "Requests per minute from one client address to `/search`, `/api/papers/search` and "
        "`/api/v1/search` (0: no limit); more answer 429 with `Retry-After`.",
        parse_int,
        group="accounts",
    ),
    Setting(
        "BROADSHEET_TRUSTED_PROXY_COUNT",
        "0",
        "Reverse proxies in front of the web server that append to `X-Forwarded-For` (nginx with "
        "`$proxy_add_x_forwarded_for`: 1). 0 takes the client address from the connection; a wrong "
        "value lets clients choose their own address for rate limits.",
        parse_int,
        group="accounts",
    ),
    Setting(
        "BROADSHEET_RATE_LIMIT_EXEMPT_NETWORKS",
        "127.0.0.0/8 ::1/128",
        "Client networks that per-address rate limits leave alone: by default the machine itself (its "
        "scripts and tests, or a proxy whose `BROADSHEET_TRUSTED_PROXY_COUNT` is not set, which would "
        "otherwise put every reader in one bucket). Empty: limit everyone. Per-email limits always apply.",
        parse_list,
        group="accounts",
    ),
)

SETTINGS_BY_NAME = {setting.name: setting for setting in SETTINGS}


def read_settings(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Every declared setting parsed from `environ` (default: the process environment)."""
    env = os.environ if environ is None else environ
    return {setting.name: setting.read(env) for setting in SETTINGS}


GROUP_TITLES = {
    "core": "Core",
    "database": "Database and job queue",
    "server": "Web server",
    "ingest": "Ingest",
    "trending": "Trending signals and score",
    "search": "Search",
    "email": "Email",
    "accounts": "Accounts and rate limits",
}


def render_configuration_doc() -> str:
    """docs/configuration.md, generated from SETTINGS."""
    lines = [
        "# Configuration",
        "",
        "Every setting is read from the environment. This file is generated by "
        "`broadsheet config docs > docs/configuration.md`; a test fails when it is out of date.",
        "",
    ]
    for group, title in GROUP_TITLES.items():
        lines += [f"## {title}", "", "| variable | default | meaning |", "|---|---|---|"]
        for setting in SETTINGS:
            if setting.group != group:
                continue
            default = f"`{setting.default}`" if setting.default else "(empty)"
            lines.append(f"| `{setting.name}` | {default} | {setting.help} |")
        lines.append("")
    return "\n".join(lines)
