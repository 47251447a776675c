"""`remediator demo` and `remediator sweep` come from the development package, outside the Lambda layer."""

from __future__ import annotations

import importlib.util

import remediator_dev.demo
from remediator.cli import main
from tests.conftest import EVENTS


def test_the_demo_replays_the_checkouts_events_by_default() -> None:
    assert remediator_dev.demo.DEFAULT_EVENTS == EVENTS


def test_a_missing_events_directory_is_a_clear_error(capsys, tmp_path) -> None:
    assert main(["demo", "--events", str(tmp_path / "absent")]) == 2
    err = capsys.readouterr().err
    assert "no events directory" in err and "--events" in err


def test_an_empty_events_directory_is_a_clear_error(capsys, tmp_path) -> None:
    assert main(["demo", "--events", str(tmp_path)]) == 2
    assert f"no events in {tmp_path}" in capsys.readouterr().err


def test_without_the_development_tools_demo_and_sweep_say_how_to_get_them(capsys, monkeypatch) -> None:
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *args: None if name == "remediator_dev" else find_spec(name, *args)
    )
    for command in ("demo", "sweep"):
        assert main([command]) == 2
        err = capsys.readouterr().err
        assert f"remediator {command}: needs the development tools" in err and "make .venv/bin/.installed" in err
