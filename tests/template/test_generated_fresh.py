"""What scripts/generate.py writes from the rule catalog is what the repository holds, byte for byte.

The generator runs in memory; a difference means a rule's metadata, FUNCTIONS or the generator changed and
the files were not regenerated: run `make generate`."""

from __future__ import annotations

import difflib
import importlib.util
import re
import sys
from typing import Any

import pytest

from remediator.rules import RULE_IDS
from tests.template.conftest import ROOT


def _load_generator() -> Any:
    spec = importlib.util.spec_from_file_location("generate", ROOT / "scripts" / "generate.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("generate", module)
    spec.loader.exec_module(module)
    return module


generate = _load_generator()


@pytest.fixture(scope="module")
def generated() -> dict[str, str]:
    return generate.generated()  # type: ignore[no-any-return]


def test_generated_files_are_fresh(generated: dict[str, str]) -> None:
    stale = [
        path
        for path in sorted(generated)
        if not (ROOT / path).is_file() or (ROOT / path).read_text() != generated[path]
    ]
    for path in stale[:1]:
        on_disk = (ROOT / path).read_text() if (ROOT / path).is_file() else ""
        diff = "".join(
            list(
                difflib.unified_diff(
                    on_disk.splitlines(keepends=True),
                    generated[path].splitlines(keepends=True),
                    f"{path} (committed)",
                    f"{path} (generated)",
                )
            )[:60]
        )
        pytest.fail(f"{', '.join(stale)} stale: run make generate\n{diff}")


def test_generated_regions_are_marked_and_closed() -> None:
    """Every begin marker has its end marker, and hand edits between them are what the check above catches."""
    for path in ("template.yaml", "README.md"):
        text = (ROOT / path).read_text()
        begins = re.findall(r"generated from the rule catalog \(([a-z-]+)\)", text)
        ends = re.findall(r"end generated \(([a-z-]+)\)", text)
        assert begins == ends and begins, path


def test_an_action_without_a_resource_is_refused() -> None:
    """An action the permissions table does not scope cannot reach a role: the generator names the table."""
    from remediator.permissions import resource_kind

    with pytest.raises(KeyError, match=r"remediator/permissions\.py"):
        resource_kind("iam:CreateUser")


def test_samconfig_names_only_parameters_the_template_has(sam_template: dict[str, Any]) -> None:
    """samconfig.toml's example overrides (commented out) name real parameters, per-rule modes included."""
    text = (ROOT / "samconfig.toml").read_text()
    named = set(re.findall(r'"([A-Za-z0-9]+)=', text))
    assert named, "samconfig.toml shows how to override a parameter"
    assert named <= set(sam_template["Parameters"]), named - set(sam_template["Parameters"])


def test_readme_names_no_rule_mode_parameter_by_hand() -> None:
    """The README points at docs/rules.md for the per-rule mode parameters instead of listing them."""
    readme = (ROOT / "README.md").read_text()
    for rule_id in RULE_IDS:
        listed = f"`{generate.mode_parameter(rule_id)}`"
        assert listed not in readme, f"README.md lists {listed}: docs/rules.md (generated) is where modes are named"


def test_every_rule_meta_field_is_read() -> None:
    """A RuleMeta field nothing reads is deleted: the package's code or the generator reads each one."""
    from dataclasses import fields

    from remediator.rules.base import RuleMeta

    readers = [ROOT / "scripts" / "generate.py", *(ROOT / "layers" / "remediator" / "remediator").rglob("*.py")]
    code = "\n".join(path.read_text() for path in readers)
    unread = [f.name for f in fields(RuleMeta) if not re.search(rf"\.{f.name}\b", code)]
    assert not unread, f"RuleMeta fields nothing reads: {unread}"
