"""plugins/module_utils/ is layered: core <- migrate <- {gate, backup, deploy, sandbox}; no Ansible in the core."""
from __future__ import annotations

import ast
import os
from typing import Iterator, Tuple

import pytest

ROOT = os.path.join(os.path.dirname(__file__), "..", "..", "plugins", "module_utils")
ALLOWED = {
    "core": {"core"},
    "migrate": {"core", "migrate"},
    "gate": {"core", "migrate", "gate"},
    "backup": {"core", "migrate", "backup"},
    "deploy": {"core", "migrate", "deploy"},
    "sandbox": {"core", "migrate", "sandbox"},
}


def _imports(package: str) -> Iterator[Tuple[str, str, int]]:
    """(file, imported package of ours or a top-level module, line) for every import in ``package``."""
    folder = os.path.join(ROOT, package)
    for name in sorted(os.listdir(folder)):
        if not name.endswith(".py"):
            continue
        path = os.path.join(folder, name)
        with open(path, encoding="utf-8") as handle:
            tree = ast.parse(handle.read(), path)
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                if node.level == 1:
                    yield name, package, node.lineno
                elif node.level == 2:
                    yield name, (node.module or "").split(".")[0], node.lineno
                else:
                    yield name, "top:" + (node.module or ""), node.lineno
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    yield name, "top:" + alias.name, node.lineno


def test_every_package_is_known():
    found = {entry for entry in os.listdir(ROOT) if os.path.isdir(os.path.join(ROOT, entry)) and not entry.startswith("__")}
    assert found == set(ALLOWED)


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_packages_import_only_the_layers_below_them(package):
    wrong = [
        f"{package}/{name}:{line} imports {target}"
        for name, target, line in _imports(package)
        if not target.startswith("top:") and target not in ALLOWED[package]
    ]
    assert wrong == []


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_no_ansible_import_in_module_utils(package):
    wrong = [f"{package}/{name}:{line}" for name, target, line in _imports(package) if target.startswith("top:ansible")]
    assert wrong == []
