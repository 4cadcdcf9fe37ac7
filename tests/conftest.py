"""Shared test fixtures. `../shared` (the corpus, docs and seeds) sits beside the project root."""
from __future__ import annotations

from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SHARED = PROJECT_ROOT.parent / "shared"
CONTENT = PROJECT_ROOT / "content"


def shared_path(*parts: str) -> Path:
    """A path under ../shared, skipping the calling test when it is absent (CI always has it)."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is absent: the shared corpus is needed for this conformance test")
    return path


@pytest.fixture
def shared() -> Path:
    return shared_path()
