"""The user's path in a real browser: add meters through the config flow, see them work.

Runs against Home Assistant started by ``conftest.home_assistant`` with two simulated meters.
The tests run in file order and build on each other (the plain meter's device is checked
after it was added). With HAN_E2E_DOCS=1 the screenshots in docs/ are taken again.
"""

from __future__ import annotations

import os
from pathlib import Path
import re
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .conftest import HomeAssistant

DOCS = Path(__file__).resolve().parent.parent / "docs"
#: The spinner must be replaced within this many seconds (detection itself takes ~1 s here).
ANSWER_TIMEOUT = 15_000


def _docs_screenshot(page: Any, name: str, target: Any | None = None) -> None:
    if os.environ.get("HAN_E2E_DOCS"):
        DOCS.mkdir(exist_ok=True)
        (target or page).screenshot(path=str(DOCS / name))


#: All text under an element, shadow roots included (what the user can read, and more).
_DEEP_TEXT = """(root) => {
  const out = [];
  const walk = (node) => {
    if (node.nodeType === Node.TEXT_NODE) out.push(node.textContent);
    if (node.shadowRoot) walk(node.shadowRoot);
    for (const child of node.childNodes) walk(child);
  };
  walk(root);
  return out.join(" ").replace(/\\s+/g, " ");
}"""


def _dialog(page: Any) -> Any:
    return page.locator("dialog-data-entry-flow")


def _text(locator: Any) -> str:
    return str(locator.evaluate(_DEEP_TEXT))


def _open_flow(page: Any, ha: HomeAssistant) -> Any:
    page.goto(f"{ha.url}/config/integrations/dashboard/add?domain=han_port")
    page.get_by_role("button", name="OK").click()
    dialog = _dialog(page)
    dialog.get_by_text("Connect to your meter's HAN port").wait_for()
    return dialog


def _set_port(dialog: Any, port: str) -> None:
    field = dialog.get_by_role("combobox", name="Serial port or URL")
    field.click()
    field.fill("")
    field.press_sequentially(port)
    field.press("Enter")


def _submit(dialog: Any) -> None:
    dialog.get_by_role("button", name="Submit").click()


def _choose_profile(page: Any, dialog: Any, name: str) -> None:
    dialog.get_by_label("Country / meter").click()
    page.get_by_role("option", name=name).click()


def _close(page: Any) -> None:
    _dialog(page).get_by_role("button", name=re.compile("Close|Dismiss")).first.click()


def test_refused_port_shows_the_error(page: Any, home_assistant: HomeAssistant) -> None:
    """Item 1: a port that refuses at once ends the spinner with the error."""
    dialog = _open_flow(page, home_assistant)
    _set_port(dialog, "socket://127.0.0.1:1")
    _submit(dialog)
    dialog.get_by_text("Which meter?").wait_for()
    _choose_profile(page, dialog, "Netherlands — DSMR P1")
    _submit(dialog)
    error = dialog.get_by_text("The port socket://127.0.0.1:1 cannot be opened")
    error.wait_for(timeout=ANSWER_TIMEOUT)
    # The form keeps the port; the next step keeps the profile.
    field = dialog.get_by_role("combobox", name="Serial port or URL")
    assert field.input_value() == "socket://127.0.0.1:1"
    _submit(dialog)
    dialog.get_by_text("Which meter?").wait_for()
    dialog.get_by_text("Netherlands — DSMR P1").filter(visible=True).first.wait_for()
    _close(page)


def test_unreadable_meter_is_added_anyway(page: Any, home_assistant: HomeAssistant) -> None:
    """Issue 14: data that nothing decodes; the meter is added anyway, for a capture.

    The Kamstrup's DLMS frames read as P1 (the Dutch profile) are such data. Before the
    encrypted-meter test, which adds that meter as itself (an entry per port otherwise).
    """
    meter = home_assistant.meters["dk_kamstrup"]
    dialog = _open_flow(page, home_assistant)
    _set_port(dialog, meter.url)
    _submit(dialog)
    dialog.get_by_text("Which meter?").wait_for()
    _choose_profile(page, dialog, "Netherlands — DSMR P1")
    _submit(dialog)
    dialog.get_by_text("it cannot be read at these serial settings").wait_for(
        timeout=ANSWER_TIMEOUT
    )
    dialog.get_by_label("Add it anyway to collect a capture").check()
    _submit(dialog)
    dialog.get_by_text(f"Netherlands — DSMR P1 {meter.url}").first.wait_for()
    dialog.get_by_role("button", name="Finish").click()


def test_plain_meter(page: Any, home_assistant: HomeAssistant) -> None:
    """Auto-detect a plain P1 meter; the device shows a power in W that changes."""
    meter = home_assistant.meters["nl_dsmr"]
    dialog = _open_flow(page, home_assistant)
    _set_port(dialog, meter.url)
    _submit(dialog)
    dialog.get_by_text("Which meter?").wait_for()
    _submit(dialog)  # Auto-detect
    dialog.get_by_text("Meter found").wait_for(timeout=ANSWER_TIMEOUT)
    text = _text(dialog)
    assert "P1 telegrams (DSMR / IEC 62056-21 text), not encrypted" in text
    assert re.search(r"Power import: \d+ W", text), text
    assert re.search(r"Energy import tariff 1: \d+\.\d{3} kWh", text), text
    assert "Serial settings" not in text  # a network port
    assert "wrong way round" not in text
    assert "1-0:" not in text  # names, not OBIS codes
    _docs_screenshot(page, "config-flow-meter-found.png")
    _submit(dialog)
    dialog.get_by_text("Iskraemeco").first.wait_for()
    dialog.get_by_role("button", name="Finish").click()

    page.goto(f"{home_assistant.url}/config/devices/dashboard")
    page.get_by_text("Iskraemeco MT382-1000").first.click()
    page.get_by_text("Power import", exact=True).first.wait_for()
    values = _power_values(page)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and _power_values(page) == values:
        page.wait_for_timeout(500)
    assert _power_values(page) != values, values
    _docs_screenshot(page, "device-page.png")


def _power_values(page: Any) -> list[str]:
    """Every "<number> W" the page shows."""
    return re.findall(r"\b\d+ W\b", _text(page.locator("ha-config-device-page")))


def test_encrypted_meter_wrong_then_swapped_keys(page: Any, home_assistant: HomeAssistant) -> None:
    """A wrong key is named as such; swapped keys are put right and the device created."""
    meter = home_assistant.meters["dk_kamstrup"]
    ek, ak = meter.keys["encryption_key"], meter.keys["authentication_key"]
    dialog = _open_flow(page, home_assistant)
    _set_port(dialog, meter.url)
    _submit(dialog)
    dialog.get_by_text("Which meter?").wait_for()
    _choose_profile(page, dialog, "Denmark — Kamstrup Omnipower (encrypted)")
    _submit(dialog)
    dialog.get_by_text("Meter keys").wait_for()
    dialog.get_by_label("Encryption key").fill("00112233445566778899AABBCCDDEEFF")
    dialog.get_by_label("Authentication key").fill(ak)
    _submit(dialog)
    dialog.get_by_text("The frames do not authenticate with these keys").wait_for(
        timeout=ANSWER_TIMEOUT
    )
    # What was typed is still there.
    assert dialog.get_by_label("Authentication key").input_value() == ak.lower()
    dialog.get_by_label("Encryption key").fill(ak)
    dialog.get_by_label("Authentication key").fill(ek)
    _submit(dialog)
    dialog.get_by_text("Meter found").wait_for(timeout=ANSWER_TIMEOUT)
    text = _text(dialog)
    assert "were entered the wrong way round" in text
    assert re.search(r"Power import: \d+ W", text), text
    _submit(dialog)
    dialog.get_by_text("Kamstrup Omnipower").first.wait_for()
    dialog.get_by_role("button", name="Finish").click()
    page.goto(f"{home_assistant.url}/config/devices/dashboard")
    page.get_by_text("Kamstrup Omnipower 9083").first.wait_for()
