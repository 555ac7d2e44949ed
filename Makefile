# One front door for development. `make test` is what CI runs (.ci/run).
.PHONY: help venv test lint up bench docs

help:
	@echo "make test   lint + the whole test suite on SQLite and on a throwaway PostgreSQL (installs what is missing)"
	@echo "make lint   ruff + mypy"
	@echo "make up     run Broadsheet on this machine (broadsheet up)"
	@echo "make bench  benchmarks in bench/ (snapshot import)"
	@echo "make docs   regenerate docs/configuration.md from the settings table"

venv:
	@bash scripts/ensure-venv.sh

test:
	@bash scripts/test.sh

# Both tools run even when the first fails, so one pass shows every finding.
lint: venv
	@status=0; data_dir=$$(mktemp -d); \
	.venv/bin/ruff check src tests bench || status=1; \
	BROADSHEET_DATA_DIR=$$data_dir .venv/bin/mypy || status=1; \
	rm -rf $$data_dir; exit $$status

up: venv
	.venv/bin/broadsheet up

bench: venv
	.venv/bin/python bench/ingest_snapshot.py

docs: venv
	.venv/bin/python -c "from broadsheet.config import render_configuration_doc as r; print(r(), end='')" \
		>docs/configuration.md
