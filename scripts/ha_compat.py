"""Check that every Home Assistant name the integration imports exists in another HA release.

Usage: .venv/bin/python scripts/ha_compat.py HOMEASSISTANT_SOURCE_DIR
(the directory holding ``homeassistant/``, e.g. an unpacked wheel; ``scripts/ha-compat``
downloads and unpacks one). HA releases after 2026.2 use Python 3.14 syntax, so a module
that Python 3.13 cannot parse is scanned for its top-level names with regular expressions.
"""

from __future__ import annotations

import ast
from pathlib import Path
import re
import sys

INTEGRATION = Path(__file__).resolve().parent.parent / "custom_components" / "han_port"
_TOP_LEVEL = re.compile(
    r"^(?:async\s+def|def|class|type)\s+(\w+)|^(\w+)\s*[:=]|^from\s+\S+\s+import\s+\(?([^)]*?)\)?$",
    re.MULTILINE | re.DOTALL,
)


def defined_names(source: Path) -> set[str] | None:
    """Names a module defines or re-exports (None when the module does not exist)."""
    package = source.with_suffix("")
    path = package / "__init__.py" if package.is_dir() else source
    if not path.exists():
        return None
    text = path.read_text(encoding="utf-8")
    names = {child.stem for child in package.iterdir()} if package.is_dir() else set()
    try:
        tree = ast.parse(text)
    except SyntaxError:
        for match in _TOP_LEVEL.finditer(text):
            names.update(match.group(1, 2) if match.group(3) is None else ())
            if match.group(3):
                names.update(re.findall(r"(?:as\s+)?(\w+)\s*(?:,|$)", match.group(3)))
        return {name for name in names if name}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.AnnAssign | ast.TypeAlias) and isinstance(
            target := getattr(node, "target", None) or node.name, ast.Name
        ):
            names.add(target.id)
        elif isinstance(node, ast.ImportFrom | ast.Import):
            names.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
        elif isinstance(node, ast.Try | ast.If):
            names.update(_nested_names(node))
    return names


def _nested_names(node: ast.AST) -> set[str]:
    found: set[str] = set()
    for child in ast.walk(node):
        if isinstance(child, ast.ImportFrom | ast.Import):
            found.update((alias.asname or alias.name).split(".")[0] for alias in child.names)
        elif isinstance(child, ast.FunctionDef | ast.ClassDef):
            found.add(child.name)
    return found


def imported_names() -> list[tuple[str, str, str]]:
    """(file, module, name) for every ``from homeassistant… import name`` of the integration."""
    found = []
    for path in sorted(INTEGRATION.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("homeassistant"):
                found.extend((path.name, node.module or "", a.name) for a in node.names)
    return found


def main(root: Path) -> int:
    """Print each missing name; the exit status is the number missing."""
    imports = imported_names()
    missing = 0
    for file, module, name in imports:
        names = defined_names(root.joinpath(*module.split(".")).with_suffix(".py"))
        if names is None or name not in names:
            missing += 1
            print(f"MISSING {file}: from {module} import {name}")
    print(f"{len(imports)} imported names checked, {missing} missing")
    return missing


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
