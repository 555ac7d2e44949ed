"""The `broadsheet` console script: Django's management commands behind one front door.

`broadsheet fake-arxiv` and `broadsheet fake_arxiv` are the same command: hyphenated names map to
Django's underscored ones. `broadsheet config docs` prints docs/configuration.md.
"""

from __future__ import annotations

import os
import sys

USAGE_HINT = """Common commands:
  broadsheet up                      migrate, serve, run the worker, ingest (the main job)
  broadsheet ingest oai|api|snapshot ingest papers
  broadsheet embed | index rebuild   embeddings for semantic search; the vector index
  broadsheet trending compute        the published trending scores
  broadsheet digest send|status|preview EMAIL
                                     the daily email digest: send due digests, counts, a preview
  broadsheet serve | worker          the web server / the job worker alone
  broadsheet fake-arxiv FILE         an offline arXiv (OAI-PMH + API) serving a snapshot file
  broadsheet config docs             print the configuration reference
  broadsheet help                    every command
"""


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:2] == ["config", "docs"]:
        from broadsheet.config import render_configuration_doc

        sys.stdout.write(render_configuration_doc())
        return 0
    if not args:
        sys.stdout.write(USAGE_HINT)
        return 0
    if "-" in args[0] and not args[0].startswith("-"):
        args[0] = args[0].replace("-", "_")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "broadsheet.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(["broadsheet", *args])
    return 0
