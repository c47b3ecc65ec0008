"""Every test that meets voluptuous through our code is marked ``flows``.

``scripts/test`` runs only the tests marked ``flows`` a second time with voluptuous replaced by
probatio (as Home Assistant 2026.11 does). Our code uses voluptuous only in the schemas of its
flows (config, options, reauth, reconfigure, repairs) and Home Assistant uses it to check the
blueprint: a test that drives one of those but is not marked would silently lose its probatio
run. This reads the test modules and finds such a test.
"""

from __future__ import annotations

import ast
from pathlib import Path
import re

HERE = Path(__file__).parent
#: What in a test (or in the module's helpers it imports) drives a flow or checks a schema.
DRIVES_A_FLOW = re.compile(
    r"flow\.async_init|options\.async_init|async_configure|async_create_fix_flow|fix_flow"
    r"|start_reauth|start_reconfigure|\bvol\.|blueprint|from \.flow import"
)


def _marks(decorators: list[ast.expr]) -> set[str]:
    """The ``pytest.mark.X`` names among decorators (or a ``pytestmark`` value's items)."""
    names = set()
    for node in decorators:
        for sub in ast.walk(node):
            if (
                isinstance(sub, ast.Attribute)
                and isinstance(sub.value, ast.Attribute)
                and sub.value.attr == "mark"
            ):
                names.add(sub.attr)
    return names


def unmarked(source: str) -> list[str]:
    """The tests of a module's ``source`` that drive a flow without the ``flows`` mark."""
    tree = ast.parse(source)
    module_marks: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(target, ast.Name) and target.id == "pytestmark" for target in node.targets
        ):
            module_marks |= _marks([node.value])
    if "flows" in module_marks:
        return []
    imports_flow_helpers = bool(re.search(r"^from \.flow import", source, re.MULTILINE))
    found = []
    for node in tree.body:
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        if not node.name.startswith("test_") or "flows" in _marks(node.decorator_list):
            continue
        body = ast.get_source_segment(source, node) or ""
        if DRIVES_A_FLOW.search(body) or imports_flow_helpers:
            found.append(node.name)
    return found


def test_every_test_that_drives_a_flow_is_marked() -> None:
    missing = {
        path.name: names
        for path in sorted(HERE.glob("test_*.py"))
        if path.name != Path(__file__).name and (names := unmarked(path.read_text("utf-8")))
    }
    assert missing == {}


def test_the_check_finds_an_unmarked_flow_test() -> None:
    source = (
        "import pytest\n"
        "async def test_a(hass):\n"
        "    await hass.config_entries.flow.async_init('han_port')\n"
        "@pytest.mark.flows\n"
        "async def test_b(hass):\n"
        "    await hass.config_entries.options.async_init('x')\n"
        "async def test_c(hass):\n"
        "    assert hass\n"
    )
    assert unmarked(source) == ["test_a"]
    assert unmarked("import pytest\npytestmark = [pytest.mark.flows]\n" + source) == []
    assert unmarked("from .flow import start\nasync def test_d(hass):\n    pass\n") == ["test_d"]
