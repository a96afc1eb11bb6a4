"""``langgraph dev`` on 127.0.0.1 serves our graphs: an agent run over HTTP, the learner drawn."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _request(url: str, body: dict[str, Any] | None = None, timeout: float = 60) -> Any:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, headers={"content-type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        return json.loads(resp.read())


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    cli = shutil.which("langgraph", path=str(Path(sys.executable).parent))
    if cli is None:
        pytest.fail("langgraph-cli[inmem] is not installed; it is part of the dev extra")
    work = tmp_path_factory.mktemp("studio")
    shutil.copy(HERE / "server_graphs.py", work / "server_graphs.py")
    (work / "langgraph.json").write_text(
        json.dumps(
            {
                "dependencies": ["."],
                "graphs": {
                    "agent": "./server_graphs.py:agent",
                    "learner": "./server_graphs.py:learner",
                },
            }
        )
    )
    port = _free_port()
    env = {**os.environ, "LANGSMITH_TRACING": "false", "LANGGRAPH_CLI_NO_ANALYTICS": "1"}
    env.pop("LEARNACT_MODEL", None)
    env.pop("LEARNACT_LEARNER_MODEL", None)
    env["LEARNACT_DATA_DIR"] = str(work / "no-data-here")
    log = (work / "server.log").open("w")
    proc = subprocess.Popen(
        [cli, "dev", "--no-browser", "--no-reload", "--host", "127.0.0.1", "--port", str(port)],
        cwd=work,
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                if _request(f"{base}/ok", timeout=2).get("ok"):
                    break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"langgraph dev did not start:\n{(work / 'server.log').read_text()}")
            time.sleep(0.5)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def test_agent_graph_runs_through_the_http_api(server: str) -> None:
    out = _request(
        f"{server}/runs/wait", {"assistant_id": "agent", "input": {"task": "gripper/gen-0-4-0"}}
    )
    assert out["success"] is True
    assert out["progress"] == 1.0
    assert all(step["kind"] == "base" for step in out["steps"])
    assert out["steps"][-1]["observation"].endswith("The goal is satisfied.")


def test_learner_graph_draws_the_learnact_roles(server: str) -> None:
    found = _request(f"{server}/assistants/search", {"graph_id": "learner"})
    graph = _request(f"{server}/assistants/{found[0]['assistant_id']}/graph?xray=true")
    nodes = {n["id"] for n in graph["nodes"]}
    assert {"act", "detect_failure", "create_actions", "update_actions"} <= nodes
    assert {"evaluate", "select", "publish"} <= nodes


def _error(out: Any) -> dict[str, str]:
    """The error a ``runs/wait`` call reports (``__error__`` in its body)."""
    assert isinstance(out, dict) and "__error__" in out, out
    return dict(out["__error__"])


def test_agent_graph_without_a_task_says_what_input_it_needs(server: str) -> None:
    error = _error(_request(f"{server}/runs/wait", {"assistant_id": "agent", "input": {}}))
    assert error["error"] == "GraphInputError"
    assert "needs the task to play in its input" in error["message"]


@pytest.mark.parametrize(
    ("context", "kind", "words"),
    [
        ({"tasks": "generated"}, "ModelError", "No model is configured"),
        (
            {"tasks": "benchmark", "learner_model": "scripted"},
            "DataDirError",
            "learnact data fetch robotic-planning",
        ),
    ],
)
def test_learner_errors_reach_the_client(
    server: str, context: dict[str, Any], kind: str, words: str
) -> None:
    body = {"assistant_id": "learner", "input": {}, "context": context}
    error = _error(_request(f"{server}/runs/wait", body))
    assert error["error"] == kind
    assert words in error["message"]
    assert "internal error" not in error["message"]


def test_learner_runs_with_the_scripted_model_by_name(server: str) -> None:
    context = {"tasks": "generated", "learner_model": "scripted", "k": 1, "rounds": 1}
    out = _request(
        f"{server}/runs/wait", {"assistant_id": "learner", "input": {}, "context": context}
    )
    assert out["status"] == "published", out.get("__error__", out.get("status"))
    assert out["release"]["round"] == 1  # the scripted draft failed and was revised
    assert "drop(ball, to_room, gripper)" in out["release"]["actions"]["carry_ball"]["source"]


def test_studio_gets_a_settings_form_and_a_short_input_for_the_learner(server: str) -> None:
    found = _request(f"{server}/assistants/search", {"graph_id": "learner"})
    schemas = _request(f"{server}/assistants/{found[0]['assistant_id']}/schemas")
    context = schemas["context_schema"]
    assert context is not None and "learner_model" in context["properties"]
    assert context["properties"]["k"]["description"]
    assert set(schemas["input_schema"]["properties"]) == {
        "learnact_tasks",
        "learnact_trajectories",
    }


def test_zz_learn_with_approval_through_the_sdk_then_the_agent_uses_the_release(
    server: str,
) -> None:
    """Runs last in this module: after it the server's store holds a release."""
    from langgraph_sdk import get_sync_client

    client = get_sync_client(url=server)
    thread = client.threads.create()
    context = {
        "tasks": "generated",
        "learner_model": "scripted",
        "k": 1,
        "rounds": 1,
        "require_approval": True,
    }
    paused = client.runs.wait(thread["thread_id"], "learner", input={}, context=context)
    request = paused["__interrupt__"][0]["value"]
    assert [r["args"]["name"] for r in request["action_requests"]] == ["carry_ball"]
    done = client.runs.wait(
        thread["thread_id"],
        "learner",
        command={"resume": {"decisions": [{"type": "approve"}]}},
        context=context,
    )
    assert done["status"] == "published", done
    out = client.runs.wait(None, "agent", input={"task": "gripper/gen-0-4-0"})
    assert out["success"] is True
    assert [a["name"] for a in out["actions"]] == ["carry_ball"]
    assert any(step["learned_call"] == "carry_ball" for step in out["steps"])
