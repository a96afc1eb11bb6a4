"""A whole bench with scripted models: stored episodes, the report table, plots, resume.

Each case runs on generated gripper and blocks-world tasks (no data needed) and on the
benchmark problems (skipped without the data).
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections import defaultdict
from pathlib import Path
from statistics import fmean
from typing import Any

import pytest

from learnact_langgraph.bench.methods import LABELS, METHODS
from learnact_langgraph.bench.report import PLOTS, write_report
from learnact_langgraph.bench.runner import ROBOTIC_PLANNING, BenchConfig, run_bench
from learnact_langgraph.envs.pddl import load_env
from learnact_langgraph.testing import scripted_model


def raw_episodes(root: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (root / "episodes.jsonl").read_text().splitlines()]


def table_rows(report: str, heading: str) -> dict[str, list[str]]:
    """Method label -> cells of the Markdown table under ``heading``."""
    section = report.split(f"## {heading}", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| ")]
    header = [c.strip() for c in rows[0].strip("|").split("|")]
    out = {}
    for row in rows[1:]:
        cells = [c.strip() for c in row.strip("|").split("|")]
        out[cells[0]] = cells[1:]
    assert header[0] == "Method"
    return out


def expected(records: list[dict[str, Any]], key: str) -> dict[tuple[str, str], float]:
    """Mean over repeats of the per-repeat mean over tasks, recomputed from raw records."""
    groups: dict[tuple[str, str, int], list[float]] = defaultdict(list)
    for r in records:
        groups[(r["method"], r["domain"], r["repeat"])].append(float(r[key]))
    cells: dict[tuple[str, str], list[float]] = defaultdict(list)
    for (method, domain, _), values in groups.items():
        cells[(method, domain)].append(fmean(values))
    return {k: 100 * fmean(v) for k, v in cells.items()}


SOURCES = ["generated", "benchmark"]
#: Domains with generated tasks (the others need the benchmark files).
GENERATED = ("gripper", "blockworld")


def bench_tasks(source: str, request: pytest.FixtureRequest) -> dict[str, Any]:
    """BenchConfig fields for generated tasks, or for the benchmark (skips without data)."""
    if source == "generated":
        return {"tasks": "generated", "data_dir": None}
    return {"tasks": "benchmark", "data_dir": str(request.getfixturevalue("data_dir"))}


@pytest.mark.parametrize("source", SOURCES)
def test_full_bench_over_all_domains_and_methods(
    tmp_path: Path, source: str, request: pytest.FixtureRequest
) -> None:
    tasks = bench_tasks(source, request)
    domains = GENERATED if source == "generated" else ROBOTIC_PLANNING
    config = BenchConfig(
        domains=domains,
        tasks_per_domain=2,
        repeats=2,
        max_steps=12,
        train_steps=6,
        k=2,
        rounds=1,
        concurrency=2,
        **tasks,
    )
    summary = run_bench(config, model=scripted_model("bench-player"), out=str(tmp_path))
    n = len(METHODS) * len(domains) * 2 * 2
    assert summary.planned == summary.finished == n and not summary.failed

    records = raw_episodes(tmp_path)
    assert len(records) == n
    envs = {d: load_env(d, **tasks) for d in domains}
    test_ids = {d: {t.id for t in env.tasks() if t.split != "train"} for d, env in envs.items()}
    assert all(r["task_id"] in test_ids[r["domain"]] for r in records)  # never a train task
    assert {r["domain"] for r in records} == set(domains)
    for r in records:
        assert r["steps"] == len(r["trajectory"]["steps"])
        assert r["usage"]["calls"] >= 1 and r["usage"]["input_tokens"] > 0
    artifacts = [json.loads(x) for x in (tmp_path / "artifacts.jsonl").read_text().splitlines()]
    assert len(artifacts) == 3 * len(domains) * 2  # learnact + 2 reflexion variants
    run = json.loads((tmp_path / "manifest.json").read_text())["runs"][summary.settings_hash]
    assert run["models"]["agent"] == "scripted:bench-player"
    assert run["settings"]["k"] == 2 and run["settings"]["max_steps"] == 12
    assert run["settings"]["tasks"] == source
    assert {"package_version", "git_commit", "python", "invocations"} <= set(run)

    path = write_report(tmp_path, note="Made with scripted models.")
    report = path.read_text()
    assert "Made with scripted models." in report
    for heading, key in (("Success rate (%)", "success"), ("Progress rate (%)", "progress")):
        rows = table_rows(report, heading)
        want = expected(records, key)
        assert set(rows) == {LABELS[m] for m in METHODS}
        for method in METHODS:
            cells = rows[LABELS[method]]
            assert len(cells) == len(domains) + 1
            for i, domain in enumerate(domains):
                shown = float(cells[i].split("±")[0])
                assert shown == pytest.approx(want[(method, domain)], abs=0.051)
            average = fmean(want[(method, d)] for d in domains)
            assert float(cells[-1]) == pytest.approx(average, abs=0.051)
    cost = table_rows(report, "Cost")
    for method in METHODS:
        calls = sum(r["usage"]["calls"] for r in records if r["method"] == method)
        assert int(cost[LABELS[method]][1]) == calls
    for name in PLOTS.values():
        png = tmp_path / name
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000
        assert f"]({name})" in report


@pytest.mark.parametrize("source", SOURCES)
def test_stopped_bench_resumes_without_repeating_an_episode(
    tmp_path: Path, source: str, request: pytest.FixtureRequest
) -> None:
    config = BenchConfig(
        methods=["act", "act_reflexion", "code_as_policy", "learnact"],
        domains=["gripper", "blockworld"],
        tasks_per_domain=3,
        max_steps=10,
        train_steps=5,
        k=1,
        rounds=1,
        **bench_tasks(source, request),
    )
    first = scripted_model()
    done: list[str] = []

    def stop_after_five(event: dict[str, Any]) -> None:
        if event["type"] == "episode_done":
            done.append(event["task_id"])
            if len(done) == 5:
                stopper.set()

    stopper = threading.Event()
    s1 = run_bench(config, model=first, out=str(tmp_path), on_event=stop_after_five, stop=stopper)
    assert s1.interrupted and s1.finished == 5 and len(raw_episodes(tmp_path)) == 5
    learned_before = (tmp_path / "artifacts.jsonl").read_text()

    second = scripted_model()
    started: list[tuple[str, str]] = []

    def record(event: dict[str, Any]) -> None:
        if event["type"] == "episode_start":
            started.append((event["method"], event["task_id"]))

    s2 = run_bench(config, model=second, out=str(tmp_path), on_event=record)
    assert not s2.interrupted and s2.skipped == 5 and s2.finished == s2.planned - 5
    records = raw_episodes(tmp_path)
    keys = [(r["method"], r["task_id"], r["repeat"]) for r in records]
    assert len(keys) == len(set(keys)) == s2.planned == 4 * 2 * 3
    assert all(("/gen-" in task) == (source == "generated") for _, task, _ in keys)
    first_keys = set(keys[:5])
    assert not first_keys & {(m, t, 0) for m, t in started}
    # nothing was learned again: same artifacts, and no creation prompt in the second run
    assert (tmp_path / "artifacts.jsonl").read_text() == learned_before
    prompts = ["\n".join(str(m.content) for m in call) for call in second.calls]
    assert not any("write new, higher-level actions" in p for p in prompts)
    assert not any("write a plan for your next attempt" in p for p in prompts)


@pytest.mark.parametrize("source", SOURCES)
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL], ids=["ctrl-c", "kill-9"])
def test_killed_cli_bench_finishes_on_rerun(
    tmp_path: Path, sig: int, source: str, request: pytest.FixtureRequest
) -> None:
    out = tmp_path / "results"
    data = bench_tasks(source, request)["data_dir"] or str(tmp_path / "no-data-here")
    cmd = [
        sys.executable, "-c", "from learnact_langgraph.cli import main; main()",
        "bench", "--model", "scripted", "-m", "act", "-m", "react", "-m", "code_as_policy",
        "-d", "gripper", "-d", "blockworld", "--tasks-per-domain", "6", "--max-steps", "12",
        "--tasks", source, "-o", str(out), "--no-report",
    ]  # fmt: skip
    env = {**os.environ, "LEARNACT_DATA_DIR": data}
    # A runner started in the background (nohup, `cmd &`) passes SIGINT on as ignored, and
    # Python then keeps ignoring it: give the bench the default, as a terminal would.
    proc = subprocess.Popen(
        cmd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    episodes = out / "episodes.jsonl"
    deadline = time.monotonic() + 60
    while not (episodes.exists() and len(episodes.read_text().splitlines()) >= 3):
        assert proc.poll() is None and time.monotonic() < deadline
        time.sleep(0.01)
    proc.send_signal(sig)
    text = proc.communicate(timeout=60)[0].decode()
    kept = [line for line in episodes.read_text().splitlines() if line.endswith("}")]
    assert 3 <= len(kept) < 36
    if sig == signal.SIGINT:
        assert proc.returncode == 130 and "run the same command again" in text

    rerun = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert re.search(rf"{36 - len(kept)} episodes run, {len(kept)} already done", rerun.stdout)
    records = raw_episodes_tolerant(out)
    keys = [(r["method"], r["task_id"]) for r in records]
    assert len(set(keys)) == 36 and len(keys) == 36
    assert all(("/gen-" in task) == (source == "generated") for _, task in keys)


def raw_episodes_tolerant(root: Path) -> list[dict[str, Any]]:
    out = []
    for line in (root / "episodes.jsonl").read_text().splitlines():
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return out
