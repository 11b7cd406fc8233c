import os
import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "harness"))


def pytest_collection_modifyitems(config, items):
    why = None
    if os.geteuid() != 0:
        why = "container cluster tests need root"
    elif not shutil.which("systemd-nspawn"):
        why = "systemd-nspawn missing (apt-get install systemd-container)"
    if why:
        for item in items:
            if "tests/cluster" in str(item.fspath):
                item.add_marker(pytest.mark.skip(reason=why))
