"""`broadsheet up`: the main job on one machine — migrate, start the web server and the job worker,
run the configured ingest, and keep serving until interrupted.

Rule: a failed ingest (no network, upstream down, a bad snapshot line) is reported in one clear line
and the site keeps serving what the database already has.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

from broadsheet.papers.management.commands.serve import gunicorn_argv
from broadsheet.papers.models import Paper
from broadsheet.search.bulk import repair_fulltext

WEB_START_TIMEOUT_SECONDS = 30


def wait_for_port(host: str, port: int, timeout_seconds: float, process: subprocess.Popen) -> bool:
    deadline = time.monotonic() + timeout_seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.2)
    return False


class Command(BaseCommand):
    help = (
        "Run Broadsheet on this machine: migrate, serve the site, run the job worker, and ingest "
        "(a snapshot file when given, else the last BROADSHEET_INGEST_DAYS days from arXiv)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        config = settings.BROADSHEET
        parser.add_argument(
            "--snapshot",
            type=Path,
            default=Path(config["SNAPSHOT"]) if config["SNAPSHOT"] else None,
            help="import this arXiv metadata snapshot (JSON Lines, .gz ok) instead of harvesting",
        )
        parser.add_argument(
            "--no-ingest", action="store_true", help="serve what the database has; fetch nothing"
        )
        parser.add_argument("--host", default=config["HOST"])
        parser.add_argument("--port", type=int, default=config["PORT"])
        parser.add_argument("--workers", type=int, default=config["WEB_WORKERS"], help="web worker processes")

    def handle(self, *args: Any, **options: Any) -> None:
        host, port = options["host"], options["port"]
        self.stdout.write(f"Data directory: {settings.DATA_DIR}")
        call_command("migrate", interactive=False, verbosity=0)
        if repair_fulltext():
            self.stdout.write("Rebuilt the full-text index left incomplete by an interrupted import.")
        self.stdout.write(f"Database ready ({settings.DATABASES['default']['ENGINE'].rsplit('.', 1)[-1]}).")
        if settings.EMAIL_BACKEND.endswith("EmlFileBackend"):
            self.stdout.write(
                f"Email: no SMTP server configured (BROADSHEET_SMTP_URL); sign-in links, confirmations and "
                f"digests are written as .eml files to {getattr(settings, 'EMAIL_FILE_PATH', '')}"
            )
        else:
            self.stdout.write(f"Email: sent through {settings.EMAIL_HOST}:{settings.EMAIL_PORT}")

        children: list[subprocess.Popen] = []

        def stop(signum: int, _frame: Any) -> None:
            raise KeyboardInterrupt

        signal.signal(signal.SIGTERM, stop)
        try:
            web = subprocess.Popen(gunicorn_argv(host, port, options["workers"]))
            children.append(web)
            worker = subprocess.Popen([sys.executable, "-m", "broadsheet", "worker"])
            children.append(worker)
            if not wait_for_port(host, port, WEB_START_TIMEOUT_SECONDS, web):
                raise CommandError(f"the web server did not start on {host}:{port} (is the port in use?)")
            self.stdout.write(self.style.SUCCESS(f"Broadsheet is serving at http://{host}:{port}/"))

            if not options["no_ingest"]:
                self.run_ingest(options["snapshot"])
            count = Paper.objects.filter(is_deleted=False).count()
            every = settings.BROADSHEET["INGEST_EVERY_HOURS"]
            self.stdout.write(
                f"{count:,} papers available at http://{host}:{port}/ — "
                + (f"the worker harvests arXiv every {every} h. " if every else "")
                + "Ctrl-C stops."
            )
            while all(child.poll() is None for child in children):
                time.sleep(1)
            failed = [
                " ".join(str(arg) for arg in child.args)  # type: ignore[union-attr]
                for child in children
                if child.poll() is not None
            ]
            raise CommandError(f"a Broadsheet process stopped unexpectedly: {failed}")
        except KeyboardInterrupt:
            self.stdout.write("Stopping…")
        finally:
            for child in children:
                if child.poll() is None:
                    child.terminate()
            for child in children:
                try:
                    child.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    child.kill()

    def run_ingest(self, snapshot: Path | None) -> None:
        try:
            if snapshot is not None:
                call_command("ingest", "snapshot", str(snapshot), stdout=self.stdout, stderr=self.stderr)
            else:
                call_command("ingest", "oai", stdout=self.stdout, stderr=self.stderr)
        except CommandError as exc:
            count = Paper.objects.filter(is_deleted=False).count()
            self.stderr.write(f"Ingest did not complete: {exc}")
            self.stderr.write(f"Serving the {count:,} papers already in the database.")
