"""`broadsheet serve`: the production web server (gunicorn) on BROADSHEET_HOST:BROADSHEET_PORT."""

from __future__ import annotations

import os
import sys
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser


def gunicorn_argv(host: str, port: int, workers: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "gunicorn",
        "broadsheet.wsgi:application",
        "--bind",
        f"{host}:{port}",
        "--workers",
        str(workers),
        "--access-logfile",
        "-",
        "--graceful-timeout",
        "10",
    ]


class Command(BaseCommand):
    help = "Run the web server (gunicorn). Run `broadsheet migrate` first on a new database."

    def add_arguments(self, parser: CommandParser) -> None:
        config = settings.BROADSHEET
        parser.add_argument("--host", default=config["HOST"])
        parser.add_argument("--port", type=int, default=config["PORT"])
        parser.add_argument("--workers", type=int, default=config["WEB_WORKERS"])

    def handle(self, *args: Any, **options: Any) -> None:
        argv = gunicorn_argv(options["host"], options["port"], options["workers"])
        sys.stdout.flush()
        os.execv(sys.executable, argv)
