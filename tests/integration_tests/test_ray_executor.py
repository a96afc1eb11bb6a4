"""The bench on a real Ray cluster: a head started here on 127.0.0.1 with two workers.

Results through Ray equal the local executor's, a worker killed mid-bench loses no
finished episode, and an unreachable head is one sentence, not a hang.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.integration

BIN = Path(sys.executable).parent
BENCH = [
    "bench",
    "--tasks",
    "generated",
    "--domain",
    "gripper",
    "--no-report",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def ray_head() -> Iterator[str]:
    """A Ray head on 127.0.0.1 (the workers run this venv's Python), stopped after."""
    ray = BIN / "ray"
    if not ray.exists():
        reason = "ray is not installed (the ray extra); `make test` installs it"
        if os.environ.get("CI"):
            pytest.fail(f"{reason} (CI must run these tests)")
        pytest.skip(reason)
    port = _free_port()
    temp = tempfile.mkdtemp(prefix="ray-it-", dir="/tmp")
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0"}
    start = [
        str(ray),
        "start",
        "--head",
        "--node-ip-address=127.0.0.1",
        f"--port={port}",
        "--num-cpus=2",
        "--include-dashboard=false",
        "--disable-usage-stats",
        "--object-store-memory=200000000",
        f"--temp-dir={temp}",
    ]
    done = subprocess.run(start, env=env, capture_output=True, text=True, timeout=180)
    _HEAD.update(temp=temp, port=port)
    try:
        assert done.returncode == 0, done.stdout + done.stderr
        yield f"127.0.0.1:{port}"
    finally:
        _stop(_head_processes())  # not `ray stop`, which stops every Ray of this user
        shutil.rmtree(temp, ignore_errors=True)


#: The temp dir and port of the head this module started.
_HEAD: dict[str, Any] = {}


def _head_processes() -> set[int]:
    """The processes of this module's head and their descendants (workers included):
    every Ray process names the head's temp dir or its port on its command line."""
    table: dict[int, tuple[str, int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (
                (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
            )
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        table[int(entry.name)] = (command, ppid)
    marks = (str(_HEAD["temp"]), f":{_HEAD['port']} ")
    ours = {pid for pid, (cmd, _) in table.items() if any(m in cmd + " " for m in marks)}
    while grown := {pid for pid, (_, ppid) in table.items() if ppid in ours} - ours:
        ours |= grown
    ours.discard(os.getpid())
    return ours


def _stop(pids: set[int]) -> None:
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in pids:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + 10
        while (pids := {p for p in pids if _running(p)}) and time.monotonic() < deadline:
            time.sleep(0.1)


def _running(pid: int) -> bool:
    """Alive and not a zombie (one whose parent never reaps it stays listed)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def _learnact(args: list[str], cwd: Path, **kw: Any) -> subprocess.Popen[str]:
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0"}
    env.pop("RAY_ADDRESS", None)
    return subprocess.Popen(
        [str(BIN / "learnact"), *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        **kw,
    )


def _run(args: list[str], cwd: Path, timeout: float = 600) -> tuple[int, str]:
    proc = _learnact(args, cwd)
    out, _ = proc.communicate(timeout=timeout)
    return proc.returncode, out


def _episodes(out: Path) -> dict[tuple[str, str, int], dict[str, Any]]:
    rows = [json.loads(line) for line in (out / "episodes.jsonl").read_text().splitlines()]
    return {(r["method"], r["task_id"], r["repeat"]): r for r in rows}


def _outcome(rec: dict[str, Any]) -> dict[str, Any]:
    """What an episode did, without its timings."""
    return {
        "success": rec["success"],
        "progress": rec["progress"],
        "steps": rec["steps"],
        "valid_share": rec["valid_share"],
        "actions": [s["action"] for s in rec["trajectory"]["steps"]],
        "observations": [s["observation"] for s in rec["trajectory"]["steps"]],
        "learned_actions": rec["extra"].get("learned_actions"),
    }


def test_a_bench_through_ray_gives_the_local_results(ray_head: str, tmp_path: Path) -> None:
    args = [*BENCH, "--method", "act", "--method", "learnact", "--tasks-per-domain", "3"]
    args += ["--model", "scripted", "-j", "4", "--k", "2", "--rounds", "1"]
    rc, log = _run([*args, "--out", "local"], tmp_path)
    assert rc == 0, log
    rc, log = _run(
        [
            *args,
            "--out",
            "ray",
            "--executor",
            "ray",
            "--ray-address",
            ray_head,
            "--ray-workers",
            "2",
        ],
        tmp_path,
    )
    assert rc == 0, log
    local, remote = _episodes(tmp_path / "local"), _episodes(tmp_path / "ray")
    assert len(local) == 6 and set(local) == set(remote)
    assert {k: _outcome(v) for k, v in local.items()} == {k: _outcome(v) for k, v in remote.items()}
    # The learned actions (learnt with evaluation episodes on Ray) are the same too.
    learned = [r["extra"]["learned_actions"] for k, r in remote.items() if k[0] == "learnact"]
    assert learned and all(learned)
    assert {r["settings_hash"] for r in local.values()} == {
        r["settings_hash"] for r in remote.values()
    }


def _workers() -> list[int]:
    """The ``_Worker`` actors of this module's head (not of any other Ray here)."""
    found = subprocess.run(["pgrep", "-f", "ray::_Worker"], capture_output=True, text=True)
    ours = _head_processes()
    return [int(p) for p in found.stdout.split() if int(p) in ours]


def test_killing_a_worker_mid_bench_loses_no_finished_episode(
    ray_head: str, tmp_path: Path
) -> None:
    args = [*BENCH, "--method", "act", "--tasks-per-domain", "10", "--model", "scripted:100ms"]
    args += ["-j", "4", "--executor", "ray", "--ray-address", ray_head, "--ray-workers", "2"]
    proc = _learnact([*args, "--out", "out"], tmp_path)
    out = tmp_path / "out" / "episodes.jsonl"
    deadline = time.monotonic() + 300
    before: list[str] = []
    killed = None
    while time.monotonic() < deadline and proc.poll() is None:
        lines = out.read_text().splitlines() if out.exists() else []
        workers = _workers()
        if lines and len(workers) >= 2:
            before = lines
            killed = workers[0]
            os.kill(killed, signal.SIGKILL)
            break
        time.sleep(0.05)
    assert killed is not None, "the bench ended before a worker could be killed"
    assert len(before) < 10, "every episode had finished before the kill"
    log, _ = proc.communicate(timeout=600)
    assert proc.returncode == 0, log
    after = out.read_text().splitlines()
    assert after[: len(before)] == before  # finished episodes are kept as they were
    keys = {(r["method"], r["task_id"], r["repeat"]) for r in map(json.loads, after)}
    assert len(after) == len(keys) == 10  # every episode once, the lost ones run again
    assert killed not in _workers()


def test_an_unreachable_ray_head_is_one_sentence(tmp_path: Path) -> None:
    pytest.importorskip("ray")
    start = time.monotonic()
    args = [*BENCH, "--method", "act", "--tasks-per-domain", "1", "--model", "scripted"]
    rc, log = _run(
        [*args, "--executor", "ray", "--ray-address", f"127.0.0.1:{_free_port()}", "--out", "o"],
        tmp_path,
        timeout=120,
    )
    assert rc == 2, log
    assert "Cannot reach the Ray head at 127.0.0.1:" in log
    assert "Traceback" not in log
    assert time.monotonic() - start < 60
    assert not (tmp_path / "o").exists()
