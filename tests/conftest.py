"""Shared fixtures: the benchmark data directory comes from LEARNACT_DATA_DIR (../shared/data)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The shared benchmark data (never copied into the repository)."""
    path = Path(os.environ.get("LEARNACT_DATA_DIR", REPO.parent / "shared" / "data"))
    if not (path / "agentboard_pddl").is_dir():
        pytest.fail(f"benchmark data not found at {path}; set LEARNACT_DATA_DIR to ../shared/data")
    return path
