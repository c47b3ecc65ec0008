"""The browser test's harness: Home Assistant with simulated meters, and a logged-in Chromium.

Debian's Chromium (/usr/bin/chromium, installed by scripts/setup) is driven by Playwright;
Playwright never downloads a browser of its own. Home Assistant runs from this working tree
on a free port (never 8123), with a fresh configuration made by scripts/dev_config.py (owner
dev / dev, onboarding done, no entry: the test adds meters through the UI). Simulated meters
(hanport_dev/simulator/) serve frames over TCP on free loopback ports.

A failing test leaves a screenshot of the page in ``FAILURES`` (build/e2e-failures/), and
the logs of Home Assistant and the simulators beside it.
"""

from __future__ import annotations

from dataclasses import dataclass
import os
from pathlib import Path
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from typing import TYPE_CHECKING
import urllib.request

import pytest

if TYPE_CHECKING:
    from collections.abc import Generator, Iterator

ROOT = Path(__file__).resolve().parent.parent
#: The protocol library as the top-level package ``han`` (what hanport_dev imports).
LIBRARY = str(ROOT / "custom_components" / "han_port")
FAILURES = ROOT / "build" / "e2e-failures"
CHROMIUM = Path("/usr/bin/chromium")
#: Launch flags that work on this project's machines (headless, no sandbox as root, no
#: network besides loopback).
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
START_TIMEOUT = 90.0

os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")


def free_port() -> int:
    """A TCP port nobody listens on right now (loopback)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True, slots=True)
class Meter:
    """A simulated meter the test can point the config flow at."""

    profile: str
    url: str
    keys: dict[str, str]


@dataclass(frozen=True, slots=True)
class HomeAssistant:
    """The running instance."""

    url: str
    config: Path
    meters: dict[str, Meter]


def _wait_http(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"Home Assistant exited ({process.returncode}); log: {log}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - loopback
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    pytest.fail(f"Home Assistant did not answer on {url} in {START_TIMEOUT:.0f} s; log: {log}")


def _simulator(profile: str, port: int, log: Path) -> tuple[subprocess.Popen[bytes], Meter]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join((str(ROOT), LIBRARY))}
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
        [
            sys.executable,
            "-m",
            "hanport_dev.cli",
            "simulate",
            "--profile",
            profile,
            "--tcp",
            f"127.0.0.1:{port}",
            "--interval",
            "1",
            "--seed",
            "1",
        ],
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    from hanport_dev.simulator import MeterSimulator  # noqa: PLC0415 - pytest's pythonpath

    keys = MeterSimulator(profile, seed=1).keys.entry_data()
    return process, Meter(profile, f"socket://127.0.0.1:{port}", keys)


@pytest.fixture(scope="session")
def home_assistant(request: pytest.FixtureRequest) -> Iterator[HomeAssistant]:
    """Home Assistant from this tree, two simulated meters (plain P1, encrypted Kamstrup)."""
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing: scripts/setup installs Debian's chromium")
        pytest.skip(f"{CHROMIUM} is missing (apt-get install -y chromium)")
    work = Path(tempfile.mkdtemp(prefix="han-e2e-"))
    config = work / "config"
    config.mkdir()
    port = free_port()
    yaml = (ROOT / "config" / "configuration.yaml").read_text(encoding="utf-8")
    yaml += f"\nhttp:\n  server_host: 127.0.0.1\n  server_port: {port}\n"
    (config / "configuration.yaml").write_text(yaml, encoding="utf-8")
    subprocess.run(  # noqa: S603 - our own script
        [sys.executable, str(ROOT / "scripts" / "dev_config.py"), str(config)],
        env={**os.environ, "HAN_SIM": "0", "PYTHONPATH": os.pathsep.join((str(ROOT), LIBRARY))},
        check=True,
        capture_output=True,
    )
    processes: list[subprocess.Popen[bytes]] = []
    meters: dict[str, Meter] = {}
    try:
        for profile in ("nl_dsmr", "dk_kamstrup"):
            process, meter = _simulator(profile, free_port(), work / f"{profile}.log")
            processes.append(process)
            meters[profile] = meter
        log = work / "home-assistant.log"
        hass = subprocess.Popen(  # noqa: S603 - Home Assistant from our own venv
            [str(Path(sys.executable).parent / "hass"), "--config", str(config), "--skip-pip"],
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            stdout=log.open("wb"),
            stderr=subprocess.STDOUT,
        )
        processes.append(hass)
        url = f"http://127.0.0.1:{port}"
        _wait_http(f"{url}/manifest.json", hass, log)
        yield HomeAssistant(url, config, meters)
    finally:
        for process in reversed(processes):
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
        if request.session.testsfailed:
            # Home Assistant's and the simulators' logs go with the failure screenshots.
            FAILURES.mkdir(parents=True, exist_ok=True)
            for log_file in work.glob("*.log"):
                shutil.copy(log_file, FAILURES / log_file.name)
        if os.environ.get("HAN_E2E_KEEP"):
            sys.stderr.write(f"e2e: kept {work}\n")
        else:
            shutil.rmtree(work, ignore_errors=True)


@pytest.fixture(scope="session")
def browser_context(home_assistant: HomeAssistant) -> Generator[object]:
    """A fresh Chromium profile, logged in as dev / dev."""
    from playwright.sync_api import sync_playwright  # noqa: PLC0415 - only for this test

    with sync_playwright() as playwright:
        profile = tempfile.mkdtemp(prefix="han-e2e-chromium-")
        context = playwright.chromium.launch_persistent_context(
            profile,
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1280, "height": 900},
            locale="en-US",
        )
        context.set_default_timeout(20_000)
        page = context.new_page()
        page.goto(f"{home_assistant.url}/")
        page.locator("input[name=username]").fill("dev")
        page.locator("input[name=password]").fill("dev")
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url("**/lovelace/**")
        try:
            yield context
        finally:
            context.close()
            shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture
def page(browser_context: object, request: pytest.FixtureRequest) -> Generator[object]:
    """The logged-in page; a screenshot of it lands in FAILURES when the test fails."""
    current = browser_context.pages[0]  # type: ignore[attr-defined]
    yield current
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        FAILURES.mkdir(parents=True, exist_ok=True)
        path = FAILURES / f"{request.node.name}.png"
        current.screenshot(path=str(path), full_page=True)
        sys.stderr.write(f"e2e: screenshot of the failure: {path}\n")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> object:
    """Remember each test's call report, for the failure screenshot."""
    report = yield
    if call.when == "call":
        item.report_call = report  # type: ignore[attr-defined]
    return report
