import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_REAL = Path(os.environ.get("DOCEXIT_SHARED", REPO_ROOT.parent / "shared")) / "data" / "real"


@pytest.fixture(scope="session")
def real_dir() -> Path:
    if not SHARED_REAL.is_dir():
        pytest.skip(f"real scans not found at {SHARED_REAL}")
    return SHARED_REAL
