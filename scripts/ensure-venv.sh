#!/usr/bin/env bash
# Create .venv when missing and install the project with its dev extras; reinstall only when
# pyproject.toml changed since the last install (its hash is kept in .venv/.installed-from).
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
if [[ ! -x .venv/bin/python ]]; then
    echo "==> creating .venv with $($PYTHON --version 2>&1)"
    "$PYTHON" -m venv .venv
fi
want=$(sha256sum pyproject.toml | cut -d' ' -f1)
have=$(cat .venv/.installed-from 2>/dev/null || true)
if [[ "$want" != "$have" ]] || ! .venv/bin/python -c "import broadsheet" 2>/dev/null; then
    echo "==> pip install -e '.[dev]'"
    .venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
    echo "$want" >.venv/.installed-from
fi
