"""The README keeps up with the code: every variable evaluate reads, and the version the CLI reports."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

from remediator.config import mode_variable
from remediator.rules import RULE_IDS

ROOT = Path(__file__).resolve().parents[2]


def test_the_readme_names_every_variable_settings_read() -> None:
    source = (ROOT / "layers" / "remediator" / "remediator" / "config.py").read_text()
    variables = set(re.findall(r'env\.get\("([A-Z_]+)"', source)) | {mode_variable(rule) for rule in RULE_IDS}
    variables.add("MODE_ADMIN_GRANTS_ESCALATION")
    readme = (ROOT / "README.md").read_text()
    assert variables and not {v for v in variables if f"`{v}`" not in readme}


def test_version_comes_from_the_package_metadata() -> None:
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    result = subprocess.run([sys.executable, "-m", "remediator", "--version"], capture_output=True, text=True)
    assert result.stdout.strip() == f"remediator {version}"
    changelog = (ROOT / "CHANGELOG.md").read_text()
    assert f"## [{version}]" in changelog


def test_readme_uses_make_build_and_the_venv_entry_point() -> None:
    readme = (ROOT / "README.md").read_text()
    assert "python -m remediator" not in readme
    assert not re.search(r"^\s*(\.venv/bin/)?sam build", readme, re.MULTILINE)
    assert "make build" in readme
