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
