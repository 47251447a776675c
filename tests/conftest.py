"""Fake credentials and region before anything imports boto3, so nothing can reach a real account."""

from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path
from types import ModuleType
from typing import Any

os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "POWERTOOLS_METRICS_NAMESPACE": "ComplianceRemediator",
        "POWERTOOLS_TRACE_DISABLED": "true",
    }
)
os.environ.pop("AWS_PROFILE", None)

import pytest

ROOT = Path(__file__).resolve().parent.parent
EVENTS = ROOT / "events"


def corpus_dir() -> Path:
    """The third-party corpus, read in place: REMEDIATOR_CORPUS or ../shared/corpus beside the repo."""
    return Path(os.environ.get("REMEDIATOR_CORPUS", ROOT.parent / "shared" / "corpus")).resolve()


def load_event(name: str) -> dict[str, Any]:
    """An EventBridge envelope from events/ (the same files users replay with sam local invoke)."""
    return json.loads((EVENTS / name).read_text())


def load_function(name: str) -> ModuleType:
    """Import functions/<name>/app.py as a fresh module (each function ships its own app.py)."""
    spec = importlib.util.spec_from_file_location(f"function_{name}_app", ROOT / "functions" / name / "app.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def corpus() -> Path:
    path = corpus_dir()
    if not (path / "events" / "labels.json").is_file():
        pytest.skip(f"third-party corpus not found at {path} (set REMEDIATOR_CORPUS)")
    return path


@pytest.fixture(autouse=True)
def _fresh_exemption_list_cache() -> None:
    """Functions keep the exemption list for minutes; each test starts from its own moto account's list."""
    from remediator.exemption_list import forget_cached_entries

    forget_cached_entries()
