"""scripts/setup run twice at once: the second waits instead of deleting the first's .venv."""

from __future__ import annotations

import os
from pathlib import Path
import shutil
import subprocess
import time

import pytest

ROOT = Path(__file__).parents[2]

#: A stand-in for python3.13: "creates" a venv (a copy of itself with an id) and "installs"
#: into it slowly; the install fails when its venv was replaced while it ran, and the
#: import check fails when the install did not finish, as with a real .venv deleted half-way.
FAKE_PYTHON = """#!/usr/bin/env bash
here="$(cd "$(dirname "$0")/.." && pwd)"
case "$1" in
  --version) echo "Python 3.13.0" ;;
  -c) if [[ "$2" == *"import homeassistant"* ]]; then [ -f "$here/installed" ]; fi ;;
  -m)
    if [ "$2" = venv ]; then
      mkdir -p "$3/bin" && cp "$0" "$3/bin/python" && echo "$RANDOM$$" > "$3/id"
    elif [ "$2" = pip ] && [[ " $* " == *" -r "* ]]; then
      id="$(cat "$here/id")"
      sleep 1
      [ "$(cat "$here/id" 2>/dev/null)" = "$id" ] || { echo "venv replaced" >&2; exit 1; }
      touch "$here/installed"
    fi ;;
esac
"""


@pytest.mark.skipif(
    not Path("/usr/bin/chromium").exists(), reason="setup would try to install Chromium"
)
def test_two_setups_at_once_both_succeed(tmp_path: Path) -> None:
    (tmp_path / "scripts").mkdir()
    shutil.copy(ROOT / "scripts/setup", tmp_path / "scripts/setup")
    for requirements in ROOT.glob("requirements*.txt"):
        shutil.copy(requirements, tmp_path / requirements.name)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    python = bin_dir / "python3.13"
    python.write_text(FAKE_PYTHON)
    python.chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}:/usr/bin:/bin"}
    env.pop("PYENV_VERSION", None)

    def run() -> subprocess.Popen[bytes]:
        return subprocess.Popen(  # noqa: S603 - our own script
            ["/bin/bash", str(tmp_path / "scripts/setup")],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )

    first = run()
    time.sleep(0.4)  # the first is installing into its .venv
    second = run()
    errors = [process.communicate(timeout=60)[1].decode() for process in (first, second)]
    assert (first.returncode, second.returncode) == (0, 0), errors
    assert (tmp_path / ".venv/installed").exists()


#: A stand-in for apt-get that records its calls and fails (no network, no package).
FAILING_APT = """#!/usr/bin/env bash
echo "$*" >> "$APT_LOG"
exit 100
"""


def test_a_failed_chromium_install_is_a_warning_and_if_needed_never_runs_apt(
    tmp_path: Path,
) -> None:
    """Review of issue 12, item 8: apt-get ran under ``set -e`` before the ``--if-needed`` exit,
    so a failing install aborted every scripts/test, and apt-get ran on every run."""
    (tmp_path / "scripts").mkdir()
    shutil.copy(ROOT / "scripts/setup", tmp_path / "scripts/setup")
    for requirements in ROOT.glob("requirements*.txt"):
        shutil.copy(requirements, tmp_path / requirements.name)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, text in (
        ("python3.13", FAKE_PYTHON),
        ("apt-get", FAILING_APT),
        ("id", "#!/usr/bin/env bash\necho 0\n"),  # as root, where setup may install
    ):
        (bin_dir / name).write_text(text)
        (bin_dir / name).chmod(0o755)
    apt_log = tmp_path / "apt.log"
    env = {
        **os.environ,
        "PATH": f"{bin_dir}:/usr/bin:/bin",
        "APT_LOG": str(apt_log),
        "HANPORT_CHROMIUM": str(tmp_path / "no-chromium"),
    }
    env.pop("PYENV_VERSION", None)

    def setup(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(  # noqa: S603 - our own script
            ["/bin/bash", str(tmp_path / "scripts/setup"), *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    built = setup("--if-needed")  # no .venv yet: it is built, and chromium tried once
    assert built.returncode == 0, built.stderr
    assert "no-chromium is missing" in built.stderr
    assert "apt-get could not install it" in built.stderr
    assert apt_log.read_text().splitlines() == ["update -qq"]
    assert (tmp_path / ".venv/installed").exists()
    for _ in range(2):  # scripts/test's runs: nothing to do, no apt-get, a warning only
        again = setup("--if-needed")
        assert again.returncode == 0, again.stderr
        assert "no-chromium is missing" in again.stderr
    assert apt_log.read_text().splitlines() == ["update -qq"]
