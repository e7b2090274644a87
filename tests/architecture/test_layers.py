"""The dependency order of the code, checked on its import statements.

Bottom to top: ``appliance`` → ``sync.protocol`` → ``sync.agent`` /
``sync.server`` → ``ui`` → ``kit``. A module may import its own layer and
the layers below it, never one above. The check reads every module's
syntax tree (imports inside functions count too), so a lazy import cannot
hide a reach upwards.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("appliance", "sync", "ui", "kit")

# (module prefix, rank); the longest matching prefix decides.
LAYERS = [
    ("appliance", 0),
    ("sync", 1),            # sync/__init__.py and sync.protocol: what both sides agree on
    ("sync.protocol", 1),
    ("sync.agent", 2),
    ("sync.server", 2),
    ("ui", 3),
    ("kit", 4),
]
# Siblings on one rank that must not import each other.
SEPARATE = {("sync.agent", "sync.server"), ("sync.server", "sync.agent")}


def layer(module: str) -> tuple[str, int] | None:
    best = None
    for prefix, rank in LAYERS:
        if module == prefix or module.startswith(prefix + "."):
            if best is None or len(prefix) > len(best[0]):
                best = (prefix, rank)
    return best


def module_name(path: Path, root: Path = ROOT) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path, module: str) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            found.append((node.lineno, target))
            # `from sync import protocol` names a module too
            found += [(node.lineno, f"{target}.{alias.name}") for alias in node.names]
    return found


def violations(root: Path = ROOT) -> list[str]:
    out = []
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            module = module_name(path, root)
            own = layer(module)
            assert own is not None, module
            for lineno, target in imports_of(path, module):
                theirs = layer(target)
                if theirs is None:
                    continue  # the standard library or a third-party package
                if theirs[1] > own[1] or (own[0], theirs[0]) in SEPARATE:
                    out.append(f"{path.relative_to(root)}:{lineno}: {module} ({own[0]}) imports {target} ({theirs[0]})")
    return out


def test_no_module_imports_a_layer_above_its_own():
    assert violations() == []


@pytest.mark.parametrize("source, module, expected", [
    ("from ui.app import create_app\n", "appliance.daemon.x", "imports ui.app"),
    ("def f():\n    import kit.run\n", "sync.agent.x", "imports kit.run"),
    ("from sync.agent import roster\n", "sync.server.x", "imports sync.agent"),
    ("from .. import kit\n", "sync.agent.x", "imports sync.kit"),
])
def test_the_check_catches_an_upward_import(tmp_path, source, module, expected):
    """Negative controls: each planted import is reported (lazy ones included)."""
    parts = module.split(".")
    target = tmp_path.joinpath(*parts).with_suffix(".py")
    for i in range(1, len(parts)):
        pkg = tmp_path.joinpath(*parts[:i])
        pkg.mkdir(exist_ok=True)
        (pkg / "__init__.py").touch()
    target.write_text(source)
    found = violations(tmp_path)
    if expected == "imports sync.kit":
        # a relative import stays inside its own package: nothing upward
        assert found == []
        return
    assert any(expected in v for v in found), found


def test_importing_downwards_is_allowed(tmp_path):
    (tmp_path / "ui").mkdir()
    (tmp_path / "ui" / "__init__.py").write_text("from appliance.catalogue import Catalogue\nfrom sync.agent import service\n")
    assert violations(tmp_path) == []


def test_layer_of_a_module():
    assert layer("sync.protocol") == ("sync.protocol", 1)
    assert layer("sync.agent.roster") == ("sync.agent", 2)
    assert layer("flask") is None
