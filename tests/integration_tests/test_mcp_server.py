"""`learnact library serve-mcp` with a real MCP client, over stdio and HTTP on 127.0.0.1."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import anyio
import pytest
from langgraph.store.sqlite import SqliteStore
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client

from learnact_langgraph.envs.registry import load_env
from learnact_langgraph.library import ActionLibrary
from learnact_langgraph.testing.roles import CARRY_BALL

pytestmark = pytest.mark.integration
CARRY = {"ball": "ball1", "from_room": "roomb", "to_room": "rooma", "gripper": "left"}


def _cli() -> str:
    found = shutil.which("learnact", path=str(Path(sys.executable).parent))
    assert found, "the learnact command is not installed in this environment"
    return found


@pytest.fixture
def store_file(tmp_path: Path) -> Path:
    path = tmp_path / "library.db"
    with SqliteStore.from_conn_string(str(path)) as store:
        store.setup()
        library = ActionLibrary(store, ("learnact", "gripper"))
        library.set_base_actions(load_env("gripper", tasks="generated"))
        library.add(CARRY_BALL, name="carry_ball", description="Carry a ball between rooms.")
    return path


def _args(store_file: Path) -> list[str]:
    return ["library", "serve-mcp", "--store", str(store_file), "--tasks", "generated"]


def _publish_hop(store_file: Path) -> None:
    with SqliteStore.from_conn_string(str(store_file)) as store:
        library = ActionLibrary(store, ("learnact", "gripper"))
        library.add("def hop(src, dst):\n    return move(src, dst)\n", description="Hop.")


async def _exercise(session: ClientSession, store_file: Path) -> dict[str, Any]:
    await session.initialize()
    names = [t.name for t in (await session.list_tools()).tools]
    status = await session.call_tool("task_status", {})
    ok = await session.call_tool("carry_ball", CARRY)
    again = await session.call_tool("carry_ball", CARRY)  # Robby has left roomb now
    unknown = await session.call_tool("fly", {})
    _publish_hop(store_file)
    later = [t.name for t in (await session.list_tools()).tools]
    return {
        "names": names,
        "status": status.content[0].text,  # type: ignore[union-attr]
        "ok": ok,
        "again": again,
        "unknown": unknown,
        "later": later,
    }


def _check(seen: dict[str, Any]) -> None:
    assert seen["names"] == ["move", "pick", "drop", "carry_ball", "task_status"]
    assert "ball1 is in rooma" in seen["status"]
    ok, again = seen["ok"], seen["again"]
    assert not ok.isError and "Ball1 is in rooma" in ok.content[0].text
    assert ok.structuredContent["ok"] is True and len(ok.structuredContent["substeps"]) == 3
    assert again.isError and again.content[0].text.startswith("Error: base action pick(")
    assert again.structuredContent["ok"] is False and again.structuredContent["rolled_back"]
    assert seen["unknown"].isError and "no tool 'fly'" in seen["unknown"].content[0].text
    assert "hop" in seen["later"]  # a release published while serving is offered


def test_stdio_lists_runs_and_fails_the_learned_tools(store_file: Path) -> None:
    params = StdioServerParameters(
        command=_cli(), args=_args(store_file), env={**os.environ, "LANGSMITH_TRACING": "false"}
    )

    async def run() -> dict[str, Any]:
        async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
            return await _exercise(session, store_file)

    _check(anyio.run(run))


def test_http_on_loopback_serves_the_same_tools(store_file: Path, tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log = (tmp_path / "server.log").open("w")
    proc = subprocess.Popen(
        [_cli(), *_args(store_file), "--transport", "http", "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"serve-mcp did not start:\n{(tmp_path / 'server.log').read_text()}")
            time.sleep(0.2)

        async def run() -> dict[str, Any]:
            url = f"http://127.0.0.1:{port}/mcp"
            async with (
                streamable_http_client(url) as (read, write, _),
                ClientSession(read, write) as session,
            ):
                return await _exercise(session, store_file)

        _check(anyio.run(run))
    finally:
        proc.terminate()
        proc.wait(timeout=15)
        log.close()


def test_export_writes_an_mcp_manifest(store_file: Path) -> None:
    out = subprocess.run(
        [_cli(), "library", "export", "-f", "mcp", "--store", str(store_file)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    manifest = json.loads(out.stdout)
    assert manifest["format"] == "learnact-mcp"
    assert [t["name"] for t in manifest["tools"]] == ["move", "pick", "drop", "carry_ball"]
    assert manifest["tools"][3]["inputSchema"]["required"] == list(CARRY)
    assert manifest["server"]["args"][:2] == ["library", "serve-mcp"]


def test_the_manifest_lists_what_the_tools_give(store_file: Path) -> None:
    from learnact_langgraph.mcp_server import mcp_manifest, mcp_tool_specs

    _publish_hop(store_file)
    with SqliteStore.from_conn_string(str(store_file)) as store:
        library = ActionLibrary(store, ("learnact", "gripper"))
        manifest = json.loads(mcp_manifest(library))
        assert manifest["tools"] == mcp_tool_specs(library.as_tools(None))
        assert [t["name"] for t in manifest["tools"]][-2:] == ["carry_ball", "hop"]
