"""The package's import graph: the registry is a leaf, and the torch libraries never reach the widgets."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "attr_widgets"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path) -> set[str]:
    """Absolute names of every module imported anywhere in ``path`` (also inside functions)."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                stem = ".".join(base + ([node.module] if node.module else []))
            else:
                stem = node.module or ""
            found.add(stem)
            found.update(f"{stem}.{alias.name}" for alias in node.names)
    return found


def test_registry_imports_no_sibling_module() -> None:
    imported = _imports(PACKAGE / "attribution" / "_registry.py")
    inside = sorted(name for name in imported if name.startswith("attr_widgets"))
    assert not inside, f"_registry.py must be a leaf, but imports {inside}"


def test_torch_libraries_do_not_import_widgets_or_the_xdnn_reexport() -> None:
    banned = ("attr_widgets.widgets", "attr_widgets.xdnn")
    bad = {}
    for sub in ("attribution", "projection", "_torch"):
        for path in sorted((PACKAGE / sub).rglob("*.py")):
            hits = sorted(n for n in _imports(path) if any(n == b or n.startswith(b + ".") for b in banned))
            if hits:
                bad[str(path.relative_to(PACKAGE))] = hits
    assert not bad, bad


def test_the_resolver_sees_relative_imports() -> None:
    # Guard the test itself: the method modules do import the registry, relatively.
    assert "attr_widgets.attribution._registry" in _imports(PACKAGE / "attribution" / "_methods_path.py")
    assert "attr_widgets.attribution.xdnn" in _imports(PACKAGE / "attribution" / "_methods_gradient.py")
