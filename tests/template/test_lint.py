"""`sam validate --lint` and cfn-lint, on template.yaml and on the offline-translated template."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.template.conftest import ROOT, TEMPLATE

BIN = Path(sys.executable).parent
ENV = {**os.environ, "SAM_CLI_TELEMETRY": "0", "AWS_DEFAULT_REGION": "us-east-1"}


def _run(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(a) for a in args], cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=120)


def test_sam_validate_lint():
    result = _run(BIN / "sam", "validate", "--lint", "--template", TEMPLATE)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "is a valid SAM Template" in result.stdout + result.stderr


def test_cfn_lint_on_template_and_translation(cfn_template, tmp_path):
    translated = tmp_path / "translated.json"
    translated.write_text(json.dumps(cfn_template))
    result = _run(BIN / "cfn-lint", "--regions", "us-east-1", "--", TEMPLATE, translated)
    assert result.returncode == 0, result.stdout + result.stderr
