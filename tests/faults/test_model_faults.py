"""Fault suite: models that fail like real providers, and learning runs that resume.

Counts (cited in docs/reliability.md):
- a model failing every third call: SCENARIOS learning and bench runs, each finishes,
  every failed attempt counted as a retry;
- fatal errors (bad key, unknown model): stop after 1 attempt, one sentence;
- ``.with_retry()`` and plain ``Runnable`` models work as learner and agent;
- a model down for good mid-run: the run fails, keeps its work, resumes to the same
  release as a run that never failed, with every call counted and no finished
  model call made again.
"""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.runnables import RunnableLambda

from learnact_langgraph.bench.runner import BenchConfig, run_bench
from learnact_langgraph.graphs import LearnerContext, build_learner_graph, learner_graph
from learnact_langgraph.graphs.resumable import invoke_resumable, sqlite_checkpointer
from learnact_langgraph.models import ModelError, retry
from learnact_langgraph.testing import scripted_model
from learnact_langgraph.testing.faults import FlakyChatModel, between, every

#: Learning and bench runs under a model that fails every third call.
SCENARIOS = ("rate_limit", "timeout", "server")
#: Bench methods run under the same model.
BENCH_METHODS = ("act", "act_reflexion", "learnact")


@pytest.fixture(autouse=True)
def no_waiting(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    waits: list[float] = []
    monkeypatch.setattr(retry, "sleep", waits.append)
    return waits


def _ctx(model: Any, **kw: Any) -> LearnerContext:
    return LearnerContext(
        env="gripper",
        tasks="generated",
        learner_model=model,
        agent_model=model,
        k=2,
        rounds=1,
        **kw,
    )


def _bench_config() -> BenchConfig:
    """Two generated gripper tasks per method, short episodes, K=2, one round."""
    return BenchConfig(
        methods=BENCH_METHODS,
        domains=["gripper"],
        tasks="generated",
        tasks_per_domain=2,
        max_steps=8,
        k=2,
        rounds=1,
    )


def _release(out: dict[str, Any]) -> dict[str, str]:
    return {n: a["source"] for n, a in (out.get("release") or {}).get("actions", {}).items()}


def test_learning_finishes_when_every_third_call_fails(no_waiting: list[float]) -> None:
    straight = learner_graph().invoke({}, context=_ctx(scripted_model()))
    finished = 0
    for error in SCENARIOS:
        flaky = FlakyChatModel(inner=scripted_model(), fails=every(3), error=error)
        out = learner_graph().invoke({}, context=_ctx(flaky))
        assert out["status"] == "published"
        assert _release(out) == _release(straight)
        usage = out["usage"]
        assert flaky.failures > 0
        assert usage["retries"] == flaky.failures
        assert usage["calls"] + usage["retries"] == flaky.attempts
        finished += 1
    assert finished == len(SCENARIOS)
    waits = [w for w in no_waiting if w > 0]
    assert waits and max(waits) <= retry.RetryPolicy().max_delay * 1.5


def test_bench_finishes_every_episode_when_every_third_call_fails(tmp_path: Any) -> None:
    flaky = FlakyChatModel(inner=scripted_model(), fails=every(3))
    config = _bench_config()
    summary = run_bench(config, model=flaky, out=str(tmp_path / "out"))
    assert summary.failed == [] and not summary.interrupted
    assert summary.finished == summary.planned == 2 * len(BENCH_METHODS)
    assert flaky.failures > 0
    assert not (tmp_path / "out" / "checkpoints.sqlite").exists()


@pytest.mark.parametrize(("error", "hint"), [("auth", "API key"), ("not_found", "model name")])
def test_fatal_errors_stop_at_once_with_one_sentence(error: str, hint: str) -> None:
    flaky = FlakyChatModel(inner=scripted_model(), fails=every(1), error=error)
    with pytest.raises(ModelError) as info:
        learner_graph().invoke({}, context=_ctx(flaky, sample_concurrency=1))
    assert flaky.attempts == 1
    message = str(info.value)
    assert hint in message and "\n" not in message and message.endswith(".")


@pytest.mark.parametrize("wrap", ["with_retry", "runnable_lambda", "with_config"])
def test_runnable_models_learn_and_act(wrap: str) -> None:
    inner = scripted_model()
    model: Any = {
        "with_retry": lambda: inner.with_retry(stop_after_attempt=2),
        "runnable_lambda": lambda: RunnableLambda(lambda messages: inner.invoke(messages)),
        "with_config": lambda: inner.with_config(tags=["mine"]),
    }[wrap]()
    out = learner_graph().invoke({}, context=_ctx(model))
    assert out["status"] == "published"
    assert out["usage"]["calls"] > 0


def test_runnable_model_runs_a_bench(tmp_path: Any) -> None:
    config = BenchConfig(
        methods=["act"], domains=["gripper"], tasks="generated", tasks_per_domain=1, max_steps=5
    )
    model = scripted_model().with_retry(stop_after_attempt=2)
    summary = run_bench(config, model=model, out=str(tmp_path / "out"))
    assert summary.failed == [] and summary.finished == 1


def test_a_run_stopped_by_an_outage_resumes_without_redoing_calls(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(retry.RETRY_ATTEMPTS_ENV, "2")
    straight_model = FlakyChatModel(inner=scripted_model(), fails=lambda call: False)
    straight = learner_graph().invoke({}, context=_ctx(straight_model))

    flaky = FlakyChatModel(inner=scripted_model(), fails=between(40, 10**9))
    ctx = _ctx(flaky)
    with sqlite_checkpointer(tmp_path / "cp.sqlite") as saver:
        with pytest.raises(ModelError, match="still failed after 2 attempts"):
            invoke_resumable(build_learner_graph(), saver, "outage", ctx)
        failed_attempts = flaky.attempts
        flaky.fails = lambda call: False
        out = invoke_resumable(build_learner_graph(), saver, "outage", ctx)
    assert out["status"] == "published"
    assert _release(out) == _release(straight)
    # Every request sent is counted once: answered calls plus failed attempts.
    assert out["usage"]["calls"] + out["usage"]["retries"] == flaky.attempts
    assert out["usage"]["retries"] == flaky.failures >= 2
    # No answered call was asked again: the resumed run made only the calls it lacked.
    assert len(flaky.prompts) == len(straight_model.prompts)
    assert flaky.attempts - failed_attempts == len(straight_model.prompts) - (39)


def test_a_failed_bench_keeps_its_work_and_a_rerun_finishes_it(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(retry.RETRY_ATTEMPTS_ENV, "2")
    config = _bench_config()
    out = str(tmp_path / "out")
    flaky = FlakyChatModel(inner=scripted_model(), fails=between(60, 10**9))
    first = run_bench(config, model=flaky, out=out)
    assert first.failed and first.finished < first.planned
    flaky.fails = lambda call: False
    second = run_bench(config, model=flaky, out=out)
    assert second.failed == []
    assert second.skipped == first.finished
    assert first.finished + second.finished == second.planned
    assert not (tmp_path / "out" / "checkpoints.sqlite").exists()
