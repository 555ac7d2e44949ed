"""Settings: every declared setting is documented, and unsafe values are refused outside debug.

Import-time checks run `import broadsheet.settings` in a subprocess with a controlled environment,
so each case sees a fresh import and this process's settings stay untouched.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from broadsheet.config import SETTINGS, render_configuration_doc
from broadsheet.settings import load_secret_key

CONFIGURATION_DOC = Path(__file__).resolve().parents[1] / "docs" / "configuration.md"


def test_settings_are_documented() -> None:
    doc = CONFIGURATION_DOC.read_text(encoding="utf-8")
    undocumented = [setting.name for setting in SETTINGS if f"`{setting.name}`" not in doc]
    assert undocumented == []
    # regenerate with `make docs`
    assert doc == render_configuration_doc()


def test_every_setting_has_help_text() -> None:
    assert [setting.name for setting in SETTINGS if len(setting.help) < 10] == []


@pytest.mark.parametrize("placeholder", ["change-me", "CHANGEME", " secret ", "insecure"])
def test_placeholder_secret_key_is_refused_outside_debug(placeholder: str, tmp_path: Path) -> None:
    with pytest.raises(ImproperlyConfigured, match="placeholder"):
        load_secret_key(placeholder, tmp_path, debug=False)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("placeholder", ["change-me", "CHANGEME"])
def test_placeholder_secret_key_is_accepted_in_debug(placeholder: str, tmp_path: Path) -> None:
    assert load_secret_key(placeholder, tmp_path, debug=True) == placeholder


def test_configured_secret_key_is_used_as_given(tmp_path: Path) -> None:
    assert load_secret_key("k3y-that-is-not-a-placeholder", tmp_path, debug=False) == (
        "k3y-that-is-not-a-placeholder"
    )
    assert list(tmp_path.iterdir()) == []


def test_generated_secret_key_is_persisted_in_data_dir_and_reused(tmp_path: Path) -> None:
    first = load_secret_key("", tmp_path, debug=False)
    second = load_secret_key("", tmp_path, debug=False)
    key_file = tmp_path / "secret_key"
    assert first == second
    assert len(first) >= 50
    assert key_file.read_text(encoding="ascii").strip() == first
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert load_secret_key("", tmp_path, debug=True) == first


def test_generated_secret_keys_differ_between_data_dirs(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = load_secret_key("", tmp_path / "a", debug=False)
    assert load_secret_key("", tmp_path / "b", debug=False) != first


def import_settings(data_dir: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """`import broadsheet.settings` in a fresh interpreter with only the given Broadsheet settings set."""
    clean = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("BROADSHEET_") and name not in {"DATABASE_URL", "REDIS_URL",
                                                                "DJANGO_SETTINGS_MODULE"}
    }
    clean.update({"BROADSHEET_DATA_DIR": str(data_dir), **env})
    return subprocess.run(
        [sys.executable, "-c", "import broadsheet.settings as s; print(s.SECRET_KEY)"],
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("env", "refusal"),
    [
        ({"BROADSHEET_SECRET_KEY": "change-me"}, "BROADSHEET_SECRET_KEY is a placeholder"),
        ({"BROADSHEET_ALLOWED_HOSTS": "*"}, "BROADSHEET_ALLOWED_HOSTS='*' is refused outside debug"),
        ({"BROADSHEET_ALLOWED_HOSTS": "example.org, *"}, "BROADSHEET_ALLOWED_HOSTS='*' is refused"),
        ({"BROADSHEET_DEBUG": "maybe"}, "setting BROADSHEET_DEBUG: expected a boolean"),
        ({"BROADSHEET_PORT": "eighty"}, "setting BROADSHEET_PORT"),
    ],
)
def test_settings_import_refuses_unsafe_or_invalid_values(
    env: dict[str, str], refusal: str, tmp_path: Path
) -> None:
    result = import_settings(tmp_path, **env)
    assert result.returncode == 1
    assert refusal in result.stderr


@pytest.mark.parametrize(
    "env",
    [
        {"BROADSHEET_DEBUG": "true", "BROADSHEET_SECRET_KEY": "change-me"},
        {"BROADSHEET_DEBUG": "true", "BROADSHEET_ALLOWED_HOSTS": "*"},
        {"BROADSHEET_DEBUG": "false", "BROADSHEET_ALLOWED_HOSTS": "papers.example.org"},
    ],
)
def test_settings_import_accepts_debug_only_values_in_debug(env: dict[str, str], tmp_path: Path) -> None:
    result = import_settings(tmp_path, **env)
    assert result.returncode == 0, result.stderr


def test_settings_import_generates_one_secret_key_per_data_dir(tmp_path: Path) -> None:
    first = import_settings(tmp_path)
    second = import_settings(tmp_path)
    assert first.returncode == 0, first.stderr
    assert first.stdout.strip() == second.stdout.strip()
    assert (tmp_path / "secret_key").read_text(encoding="ascii").strip() == first.stdout.strip()
