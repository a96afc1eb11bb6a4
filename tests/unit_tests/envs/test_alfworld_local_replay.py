"""A recorded learning run of the local 1.5B model on AlfWorld, replayed offline.

``tests/data/recordings/local-alfworld-put.jsonl`` holds every model call of one live
run (``learnact learn -d alfworld_put --model local --k 2 --rounds 1 --train-steps 4
--record ...``): real replies to the AlfWorld prompts (instruction, worked example, the
learner's example action). Replaying it runs the real games, sandbox, learner graph and
library; only the model is played back, and a call that differs from the recording, or
one left unused, fails the run. Re-record it after an AlfWorld prompt change.
"""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from learnact_langgraph.cli import app
from learnact_langgraph.parsing import parse_action

RECORDING = Path(__file__).resolve().parents[2] / "data" / "recordings" / "local-alfworld-put.jsonl"
ARGS = ["learn", "-d", "alfworld_put", "--k", "2", "--rounds", "1", "--train-steps", "4"]


def _calls() -> list[dict[str, object]]:
    return [json.loads(line) for line in RECORDING.read_text(encoding="utf-8").splitlines()]


def _text(call: dict[str, object]) -> str:
    response = call["response"]
    return str(response.get("content", "") if isinstance(response, dict) else response)


def test_the_recording_holds_real_replies_to_the_alfworld_prompts() -> None:
    calls = _calls()
    assert {c["role"] for c in calls} == {"learner", "agent"}
    assert all(
        str(c["model"]).startswith("openai-chat:qwen2.5-coder-1.5b-instruct@") for c in calls
    )
    agent = [_text(c) for c in calls if c["role"] == "agent"]
    parsed = [parse_action(reply) for reply in agent]
    # The model called base actions by the names the prompt gives, and a learned one.
    names = {p.text.split("(")[0] for p in parsed if p.kind == "code"}
    assert {"goto", "open"} <= names and "find_and_open" in names
    # A line copied from the prompt is not an action; it is answered as one it cannot run.
    assert any(p.kind == "unparsable" for p in parsed)


def test_replaying_the_alfworld_run_publishes_what_the_model_wrote(
    alfworld_data_dir: Path, tmp_path: Path
) -> None:
    result = CliRunner().invoke(
        app,
        [
            *ARGS,
            "--data-dir",
            str(alfworld_data_dir),
            "--store",
            str(tmp_path / "lib.db"),
            "--replay",
            str(RECORDING),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "published 4 actions" in result.output
    for name in ("find_and_take", "find_and_open", "find_and_clean", "find_and_heat"):
        assert name in result.output
    assert "26 LLM calls" in result.output
