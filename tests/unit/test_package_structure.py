"""The package's import graph: no module imports itself back through others, and no rule imports another rule.

The graph is read from the source (every import, including those inside functions and under TYPE_CHECKING),
so a circle is caught before it turns into an ImportError of a partly initialised module at a cold start.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

import remediator
from remediator.rule_ids import RULE_IDS

PACKAGE = Path(remediator.__file__).resolve().parent


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def _known(name: str) -> str | None:
    """The package module an imported name lives in (`remediator.policy.x` -> `remediator.policy`)."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def imports_of(module: str) -> set[str]:
    """Every package module `module` imports, anywhere in its source."""
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str | None] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(_known(alias.name) for alias in node.names if alias.name.split(".")[0] == "remediator")
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            if base.split(".")[0] == "remediator":
                found.update(
                    f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else _known(base)
                    for alias in node.names
                )
    found.discard(None)
    found.discard(module)
    return {name for name in found if name is not None}


GRAPH = {module: imports_of(module) for module in MODULES}


def _cycle_from(start: str) -> list[str] | None:
    """A path start -> ... -> start through the graph, if there is one."""
    stack, seen = [(start, [start])], set()
    while stack:
        module, path = stack.pop()
        for imported in GRAPH[module]:
            if imported == start:
                return [*path, start]
            if imported not in seen:
                seen.add(imported)
                stack.append((imported, [*path, imported]))
    return None


def test_the_graph_sees_the_package() -> None:
    assert "remediator.rules.base" in GRAPH["remediator.rules.access_keys"]
    assert "remediator.policy" in GRAPH["remediator.rules.role_trust"]
    assert "remediator.config" in GRAPH["remediator.rules.base"]  # an import under TYPE_CHECKING counts


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_import_circle(module: str) -> None:
    cycle = _cycle_from(module)
    assert cycle is None, " -> ".join(cycle or [])


RULE_MODULES = {f"remediator.rules.{rule_id}" for rule_id in RULE_IDS}


def test_every_rule_module_is_in_the_graph() -> None:
    assert set(MODULES) >= RULE_MODULES


@pytest.mark.parametrize("module", sorted(RULE_MODULES))
def test_no_rule_imports_another_rule(module: str) -> None:
    """What rules share lives outside rules/ (remediation, exemptions, policy) or in rules.base."""
    other_rules = GRAPH[module] & (RULE_MODULES | {"remediator.rules"})
    assert not other_rules, f"{module} imports {sorted(other_rules)}"


def _import_alone(module: str) -> tuple[str, int, str]:
    """Import one module in a new interpreter: (module, exit status, the last line of its error)."""
    done = subprocess.run([sys.executable, "-c", f"import {module}"], capture_output=True, text=True, timeout=60)
    return module, done.returncode, "\n".join(done.stderr.strip().splitlines()[-1:])


def test_each_module_imports_first_in_a_fresh_interpreter() -> None:
    """The order a function's cold start imports in must not matter: each module imports on its own."""
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = pool.map(_import_alone, sorted(set(MODULES) - {"remediator.__main__"}))  # __main__ runs the CLI
        failed = [result for result in results if result[1] != 0]
    assert not failed, failed


def _top_level_imports(path: Path) -> set[str]:
    """The top-level package of every absolute import in a file (`moto.server` -> `moto`)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("module", sorted(MODULES))
def test_the_layer_holds_no_development_tools(module: str) -> None:
    """moto, the demo and the local sweep live in remediator_dev (tools/); only the CLI reaches for it, lazily."""
    imported = _top_level_imports(MODULES[module])
    assert "moto" not in imported
    assert "remediator_dev" not in imported or module == "remediator.cli"
