"""Test-wide isolation: no test reads or writes the user's real certseal configuration."""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

# Set before any certseal module reads the environment.
_SESSION_HOME = Path(tempfile.mkdtemp(prefix="certseal-test-home-"))
for _name in [n for n in os.environ if n.startswith("CERTSEAL_")]:
    del os.environ[_name]
os.environ["CERTSEAL_HOME"] = str(_SESSION_HOME)

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    shutil.rmtree(_SESSION_HOME, ignore_errors=True)


@pytest.fixture
def certseal_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh, empty config directory for one test (for tests that register PKIs)."""
    home = tmp_path / "certseal-home"
    home.mkdir()
    monkeypatch.setenv("CERTSEAL_HOME", str(home))
    return home
