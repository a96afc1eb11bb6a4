"""A recorded ``make demo`` on the local 1.5B model, replayed offline in seconds.

``tests/data/recordings/local-demo.jsonl`` holds every model call of one live demo run
(``learnact demo --record ...`` with ``--model local``). Replaying it runs the real
environment, sandbox, learner graph and library; only the model is played back, and any
call that differs from the recording fails. Re-record it after a prompt or parser change
(see docs/local-model.md).
"""

from __future__ import annotations

import io
import json
from pathlib import Path

from rich.console import Console
from typer.testing import CliRunner

from learnact_langgraph.cli import app
from learnact_langgraph.cli.demo import SMALL, run_demo
from learnact_langgraph.models import LOCAL
from learnact_langgraph.models.recording import Recording

RECORDING = Path(__file__).resolve().parents[1] / "data" / "recordings" / "local-demo.jsonl"


def test_the_recording_is_a_local_model_run() -> None:
    calls = [json.loads(line) for line in RECORDING.read_text(encoding="utf-8").splitlines()]
    assert {c["role"] for c in calls} == {"learner", "agent"}
    assert all(c["model"].startswith("openai-chat:qwen2.5-coder-1.5b-instruct@") for c in calls)
    assert all(c["response"]["response_metadata"].get("finish_reason") for c in calls)


def test_replaying_the_demo_uses_every_call_and_runs_the_loop(tmp_path: Path) -> None:
    recording = Recording.replay(RECORDING)
    buf = io.StringIO()
    export = tmp_path / "lib.json"
    result = run_demo(
        LOCAL, plan=SMALL, recording=recording, export=export, out=Console(file=buf, width=200)
    )
    assert recording.unused() == 0  # the run made exactly the recorded calls
    log = {entry["node"]: entry for entry in result.learning["log"]}
    created = log["create_actions"]
    assert created["sampled"] == SMALL.k
    assert created["kept"] + len(created["dropped"]) == SMALL.k
    for cand in result.learning["candidates"]:
        assert cand["id"] in result.learning["scores"]  # ran in the sandbox and was scored
    text = buf.getvalue()
    assert "Round 0: the learner writes candidate actions" in text
    assert "a 1.5B model on a CPU" in text
    if result.learning.get("release"):
        assert export.is_file() and result.held_out is not None
        assert len(result.held_out.steps) <= SMALL.test_steps
    elif result.learning["status"] == "withheld":
        assert "withheld" in text or "every one of its" in text
    else:
        assert "dropped" in text


def test_demo_replay_from_the_command_line_needs_no_model_or_server(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        ["demo", "--replay", str(RECORDING), "--export", str(tmp_path / "lib.json")],
        env={"LEARNACT_MODEL": "", "COLUMNS": "200", "LEARNACT_LOCAL_PORT": "9"},
    )
    assert result.exit_code == 0, result.output
    assert "Model: local" in result.output and "Traceback" not in result.output
