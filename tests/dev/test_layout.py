"""Where things live: what ships, what is for development, and which tests need Home Assistant."""

from __future__ import annotations

import ast
from pathlib import Path
import sys

import pytest

ROOT = Path(__file__).parents[2]
SHIPPED = ROOT / "custom_components" / "han_port"
#: Code that must never import Home Assistant or the integration around the library.
HOME_ASSISTANT_FREE = (
    SHIPPED / "han",
    ROOT / "hanport_dev",
    ROOT / "tests" / "han",
    ROOT / "tests" / "dev",
    ROOT / "tests" / "common.py",
    ROOT / "tests" / "conftest.py",
)


FORBIDDEN = {"homeassistant", "custom_components"}


def _python_files(*places: Path) -> list[Path]:
    return sorted(
        p for place in places for p in ([place] if place.is_file() else place.rglob("*.py"))
    )


def _imports(path: Path) -> set[str]:
    """Every module an absolute import in ``path`` names."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
    return names


def test_library_and_development_tools_import_no_home_assistant() -> None:
    files = _python_files(*HOME_ASSISTANT_FREE)
    assert len(files) > 100
    for path in files:
        found = {
            m for m in _imports(path) if m.split(".")[0] in {"homeassistant", "custom_components"}
        }
        assert not found, f"{path.relative_to(ROOT)} imports {sorted(found)}"


def test_nothing_collected_imported_home_assistant(request: pytest.FixtureRequest) -> None:
    """In a run without Home Assistant's plugin (tests/han, tests/dev), no Home Assistant module.

    Every test module of the run is imported (collected) before any test runs, in each xdist
    worker too; so this sees what they and everything they import pulled in.
    """
    if request.config.pluginmanager.has_plugin("homeassistant"):
        pytest.skip("Home Assistant's pytest plugin is loaded: it imports Home Assistant itself")
    leaked = sorted(m for m in sys.modules if m.split(".")[0] in FORBIDDEN)
    assert not leaked


def test_what_ships_holds_no_development_code() -> None:
    """No simulator, command line or benchmark under custom_components/han_port."""
    files = _python_files(SHIPPED)
    assert files
    for path in files:
        imports = _imports(path)
        assert "argparse" not in imports, path
        assert not any(m.split(".")[0] == "hanport_dev" for m in imports), path
        assert "__main__" not in path.read_text(encoding="utf-8"), path
        assert not {"simulator", "cli", "table", "bench"} & {path.stem, *path.parts[-2:-1]}, path


def test_every_test_lives_where_scripts_test_runs_it() -> None:
    """scripts/test runs tests/han and tests/dev without Home Assistant, then tests/integration."""
    tests = ROOT / "tests"
    assert not sorted(p.name for p in tests.glob("test_*.py"))
    folders = {p.name for p in tests.iterdir() if p.is_dir() and p.name != "__pycache__"}
    assert folders == {"han", "integration", "dev", "fixtures"}
    script = (ROOT / "scripts" / "test").read_text(encoding="utf-8")
    assert "tests/han tests/dev" in script
    assert "tests/integration" in script
