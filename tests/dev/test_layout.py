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


# -- Review of issue 12, item 7: one definition each ------------------------------------------


def _module_constants(path: Path) -> dict[str, object]:
    """Module-level ``NAME = literal`` (str, int, tuple of those) assignments of ``path``."""
    found: dict[str, object] = {}
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        target, value = None, None
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            target, value = node.target, node.value
        if isinstance(target, ast.Name) and value is not None:
            try:
                found[target.id] = ast.literal_eval(value)
            except ValueError:
                continue
        elif isinstance(target, ast.Tuple) and isinstance(value, ast.Tuple):
            for name, item in zip(target.elts, value.elts, strict=False):
                if isinstance(name, ast.Name) and isinstance(item, ast.Constant):
                    found[name.id] = item.value
    return found


def test_a_named_text_constant_of_the_library_is_defined_in_one_module() -> None:
    """Maker names (``KAIFA = "Kaifa"``) were defined in dlms/layouts.py and dlms/scaling.py."""
    where: dict[tuple[str, str], list[str]] = {}
    for path in _python_files(SHIPPED / "han"):
        for name, value in _module_constants(path).items():
            if isinstance(value, str) and name.isupper() and not name.startswith("_"):
                where.setdefault((name, value), []).append(str(path.relative_to(SHIPPED)))
    twice = {key: places for key, places in where.items() if len(places) > 1}
    assert not twice
    assert where[("KAIFA", "Kaifa")] == ["han/dlms/scaling.py"]


def test_dlms_unit_codes_are_named_once() -> None:
    """The layouts spelled W, var, Wh, varh, A, V as 27, 29, 30, 32, 33, 35 themselves."""
    sys.path.insert(0, str(SHIPPED))
    try:
        from han.dlms import layouts, scaling
    finally:
        sys.path.remove(str(SHIPPED))
    codes = set(scaling.UNIT_NAMES)
    literal = {
        name: value
        for name, value in _module_constants(SHIPPED / "han" / "dlms" / "layouts.py").items()
        if isinstance(value, int) and value in codes
    }
    assert not literal
    assert scaling.UNIT_NAMES[layouts._W] == "W"
    assert scaling.UNIT_NAMES[layouts._VARH] == "varh"


def _error_code_sets(path: Path) -> list[frozenset[str]]:
    """The ``frozenset({ErrorCode.X, ...})`` a module defines at module level."""
    found = []
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        value = node.value if isinstance(node, ast.Assign | ast.AnnAssign) else None
        if (
            isinstance(value, ast.Call)
            and isinstance(value.func, ast.Name)
            and value.func.id == "frozenset"
            and len(value.args) == 1
            and isinstance(value.args[0], ast.Set | ast.Tuple | ast.List)
        ):
            members = value.args[0].elts
            if members and all(
                isinstance(m, ast.Attribute)
                and isinstance(m.value, ast.Name)
                and m.value.id == "ErrorCode"
                for m in members
            ):
                found.append(frozenset(m.attr for m in members))  # type: ignore[union-attr]
    return found


def test_the_key_error_codes_are_defined_once() -> None:
    """``_KEY_CODES`` (han/decoder.py) and ``KEY_ERRORS`` (connection.py) held the same set."""
    where: dict[frozenset[str], list[str]] = {}
    for path in _python_files(SHIPPED):
        for codes in _error_code_sets(path):
            where.setdefault(codes, []).append(str(path.relative_to(SHIPPED)))
    assert where[frozenset({"NO_KEY", "WRONG_KEY", "AUTH_FAILED"})] == ["han/model.py"]
    assert all(len(places) == 1 for places in where.values()), where
