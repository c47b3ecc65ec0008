"""Check that every Home Assistant name the integration uses exists in another HA release.

Usage: .venv/bin/python scripts/ha_compat.py HOMEASSISTANT_SOURCE_DIR
(the directory holding ``homeassistant/``, e.g. an unpacked wheel; ``scripts/ha-compat``
downloads and unpacks one). Checked: every ``from homeassistant… import name``, and every
attribute used on an imported Home Assistant module (``ir.async_create_issue``). Not checked:
members of imported classes and enums. HA releases after 2026.2 use Python 3.14 syntax, so a
module that Python 3.13 cannot parse is scanned for its top-level names with regular expressions.
"""

from __future__ import annotations

import ast
from pathlib import Path
import re
import sys

INTEGRATION = Path(__file__).resolve().parent.parent / "custom_components" / "han_port"
_DEFINED = re.compile(r"^(?:async\s+def|def|class|type)\s+(\w+)|^(\w+)\s*[:=]", re.MULTILINE)
_IMPORTED = re.compile(r"^(?:from\s+\S+\s+)?import\s+(\([^)]*\)|[^\n]*)", re.MULTILINE)


def _module_file(root: Path, module: str) -> tuple[Path, Path | None]:
    """(package directory or module path without suffix, the file holding its names)."""
    base = root.joinpath(*module.split("."))
    for candidate in (base / "__init__.py", base.with_suffix(".py")):
        if candidate.exists():
            return base, candidate
    return base, None


def defined_names(root: Path, module: str) -> set[str] | None:
    """Names a module defines, imports or has as submodules (None when it does not exist)."""
    base, path = _module_file(root, module)
    if path is None:
        return None
    names = {child.stem for child in base.iterdir()} if base.is_dir() else set()
    text = path.read_text(encoding="utf-8")
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return names | _scan(text)
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
        elif isinstance(node, ast.TypeAlias) and isinstance(node.name, ast.Name):
            names.add(node.name.id)
        elif isinstance(node, ast.ImportFrom | ast.Import):
            names.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
    return names


def _scan(text: str) -> set[str]:
    """Top-level names of a module, by regular expressions (for syntax we cannot parse)."""
    names = {a or b for a, b in _DEFINED.findall(text)}
    for group in _IMPORTED.findall(text):
        for part in group.strip("()").split(","):
            words = re.sub(r"#.*", "", part).split()
            if words:
                names.add(words[-1].split(".")[0])
    return names


def used_names() -> list[tuple[str, str, str]]:
    """(file, module, name) for every Home Assistant name the integration uses."""
    found: list[tuple[str, str, str]] = []
    for path in sorted(INTEGRATION.glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        modules: dict[str, str] = {}  # local alias -> Home Assistant module
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("homeassistant"):
                for alias in node.names:
                    found.append((path.name, node.module or "", alias.name))
                    modules[alias.asname or alias.name] = f"{node.module}.{alias.name}"
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.startswith("homeassistant.") and alias.asname:
                        modules[alias.asname] = alias.name
        found.extend(
            (path.name, modules[node.value.id], node.attr)
            for node in ast.walk(tree)
            if isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in modules
        )
    return sorted(set(found))


def main(root: Path) -> int:
    """Print each missing name; exit status 1 when any is missing."""
    used = used_names()
    missing = 0
    for file, module, name in used:
        names = defined_names(root, module)
        if names is None:
            # ``module`` may be a class or constant imported from its parent: its members
            # are not checked, but it must exist there.
            parent, _, member = module.rpartition(".")
            if member in (defined_names(root, parent) or set()):
                continue
        if names is None or name not in names:
            missing += 1
            print(f"MISSING {file}: {module}.{name}")
    print(f"{len(used)} Home Assistant names checked, {missing} missing")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
