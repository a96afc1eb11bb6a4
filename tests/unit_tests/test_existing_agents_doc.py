"""Runs every script in docs/existing-agents.md verbatim, so the page cannot drift from the API.

Each ```python block is a complete program that asserts its own claim; here it runs
as written in a fresh interpreter (no state shared with the tests or the other
blocks), and what it prints is checked against what the prose around it says.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[2] / "docs" / "existing-agents.md"
TIMEOUT_S = 120

#: A line each recipe contains (to find it) and what its output must say.
EXPECTED = {
    "LearnActMiddleware(": [
        "run 1 solved: False | tool calls: 10",
        "learning: published | library: ['carry_ball']",
        'run 2 solved: True | tool calls: ["carry_ball(',
    ],
    'add_sequence([collect, ("learn", learner), report])': [
        "reported | ['start', 'robots: learning from 2 tasks', \"learner published: "
        "['carry_ball']\"]",
        "published: ['carry_ball'] in release 1",
    ],
    "retrieval_tools(library, sandbox": [
        "301 actions, tools offered: ['move', 'pick', 'drop', 'retrieve_actions', 'run_action']",
        "found and ran carry_ball -> success | progress: 0.25",
        "fetch_ball(ball, room, gripper): Fetch one ball into a free gripper.",
        "fetch_ball ran, left gripper holds ball3: True",
    ],
    "library.toolkit(sandbox).get_tools()": [
        "call 1: status=success ok=True None",
        "call 2: status=error ok=False invalid_action",
        "Error: base action pick('ball1', 'roomb', 'left') (sub-step 1 of 3)",
    ],
}


def _blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", DOC.read_text(), re.S)


def _block(marker: str) -> str:
    found = [b for b in _blocks() if marker in b]
    assert len(found) == 1, f"exactly one block of the page should contain {marker!r}"
    return found[0]


def test_every_block_is_one_of_the_checked_recipes() -> None:
    blocks = _blocks()
    assert len(blocks) == len(EXPECTED)
    for block in blocks:
        assert sum(marker in block for marker in EXPECTED) == 1, block[:200]
        # Each recipe checks its own key claim, so a silent regression fails it.
        assert "\nassert " in block or "\n    assert " in block


@pytest.mark.parametrize(
    "marker", list(EXPECTED), ids=["middleware", "graph", "bigtool", "returns"]
)
def test_block_runs_verbatim(marker: str, tmp_path: Path) -> None:
    script = tmp_path / "recipe.py"
    script.write_text(_block(marker))
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    proc = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
    )
    assert proc.returncode == 0, f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    for line in EXPECTED[marker]:
        assert line in proc.stdout, f"{line!r} not printed; stdout:\n{proc.stdout}"
