"""The executor interface offline: the local backend, settings, portable models, and the
learner's evaluation branches going through an executor (a pickling stand-in for Ray;
the real cluster is in tests/integration_tests/test_ray_executor.py)."""

from __future__ import annotations

import pickle
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import cloudpickle
import pytest
from langchain_openai import ChatOpenAI
from typer.testing import CliRunner

from learnact_langgraph.bench.runner import BenchConfig, run_bench
from learnact_langgraph.cli import app
from learnact_langgraph.errors import LearnActError
from learnact_langgraph.executors import (
    ExecutorSettings,
    LocalExecutor,
    close_shared,
    make_executor,
    ray_backend,
)
from learnact_langgraph.executors.portable import PortableModel, portable
from learnact_langgraph.graphs import evaluation
from learnact_langgraph.graphs.learner import LearnerContext, learner_graph
from learnact_langgraph.models import resolve_model
from learnact_langgraph.models.recording import Recording
from learnact_langgraph.testing import scripted_model
from learnact_langgraph.validation import SettingError

#: langchain-openai opens (never connects) a socket to see which keepalive options the
#: system has; connecting stays blocked everywhere but loopback.
OPENS_A_SOCKET = pytest.mark.allow_hosts(["127.0.0.1"])
T = TypeVar("T")
R = TypeVar("R")


def _slow(x: float) -> float:
    time.sleep(x)
    return x


def _fail(x: int) -> int:
    if x == 2:
        raise LearnActError("two is bad")
    return x * 10


def test_local_map_streams_results_as_they_finish() -> None:
    outcomes = list(LocalExecutor(2).map(_slow, [0.4, 0.01, 0.01]))
    assert [o.item for o in outcomes][0] == 0.01
    assert sorted(o.value for o in outcomes) == [0.01, 0.01, 0.4]
    assert all(o.error is None for o in outcomes)


def test_local_map_returns_a_jobs_error_and_goes_on() -> None:
    outcomes = {o.item: o for o in LocalExecutor(3).map(_fail, [1, 2, 3])}
    assert outcomes[1].value == 10 and outcomes[3].value == 30
    assert isinstance(outcomes[2].error, LearnActError)


def test_local_executor_keeps_its_concurrency_limit() -> None:
    running, peak = 0, 0
    lock = threading.Lock()

    def job(_: int) -> None:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        time.sleep(0.02)
        with lock:
            running -= 1

    list(LocalExecutor(3).map(job, range(12)))
    assert peak == 3
    shared = LocalExecutor(2)
    threads = [threading.Thread(target=shared.run, args=(job, 0)) for _ in range(6)]
    peak = 0
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert peak == 2


def test_a_stop_starts_no_new_job_and_keeps_running_ones() -> None:
    stop = threading.Event()
    started: list[int] = []

    def job(i: int) -> int:
        started.append(i)
        if i == 0:
            stop.set()
            time.sleep(0.05)
        return i

    done = [o.item for o in LocalExecutor(1).map(job, range(5), stop=stop)]
    assert done == [0] and started == [0]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"kind": "dask"}, "ExecutorSettings.kind must be one of local, ray"),
        ({"concurrency": 0}, "ExecutorSettings.concurrency must be at least 1"),
        ({"kind": "ray", "workers": 0}, "ExecutorSettings.workers must be at least 1"),
        ({"ray_address": "127.0.0.1:6379"}, "A Ray address was given but the executor is local"),
    ],
)
def test_bad_executor_settings_are_one_sentence(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(SettingError, match=message):
        ExecutorSettings(**kwargs)


def test_bench_and_learner_settings_name_their_own_fields() -> None:
    with pytest.raises(SettingError, match="BenchConfig.executor must be one of"):
        BenchConfig(executor="dask")  # type: ignore[arg-type]
    with pytest.raises(SettingError, match="BenchConfig.workers must be at least 1"):
        BenchConfig(executor="ray", workers=0)
    with pytest.raises(SettingError, match="LearnerContext.ray_workers must be at least 1"):
        LearnerContext(executor="ray", ray_workers=0)
    assert make_executor(ExecutorSettings(concurrency=3)).concurrency == 3


def test_without_the_ray_extra_the_ray_executor_says_how_to_get_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(LearnActError, match=r"pip install 'learnact-langgraph\[ray\]'"):
        make_executor(ExecutorSettings("ray"))


def test_an_unreadable_ray_address_is_one_sentence() -> None:
    with pytest.raises(LearnActError, match="Cannot read the Ray address 'nowhere'"):
        ray_backend._probe("nowhere")


def test_a_scripted_model_travels_and_answers_the_same() -> None:
    model = scripted_model()
    model.invoke("hello")
    travelled = pickle.loads(pickle.dumps(portable(model, "agent")))
    assert isinstance(travelled, PortableModel)
    copy = travelled.build()
    assert copy.calls == []  # the call history stays home
    assert copy.invoke("hello").content == model.invoke("hello").content
    assert travelled.build() is copy  # built once per process


@OPENS_A_SOCKET
def test_a_client_model_travels_without_its_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-here")
    model = ChatOpenAI(model="gpt-4o-mini", base_url="http://127.0.0.1:9/v1", temperature=0.3)
    travelled = portable(model, "agent")
    assert travelled.serialised is not None
    assert "sk-here" not in repr(travelled.serialised)
    copy = pickle.loads(pickle.dumps(travelled)).build()
    assert (copy.model_name, copy.temperature, copy.openai_api_base) == (
        "gpt-4o-mini",
        0.3,
        "http://127.0.0.1:9/v1",
    )


@OPENS_A_SOCKET
def test_a_model_that_cannot_travel_is_refused_with_what_to_do() -> None:
    model = ChatOpenAI(model="gpt-4o-mini", api_key="x").with_retry()  # type: ignore[arg-type]
    with pytest.raises(LearnActError, match="The agent model .* cannot be sent to Ray workers"):
        portable(model, "agent")


def test_callbacks_bound_to_a_model_stay_home() -> None:
    from langchain_core.callbacks import BaseCallbackHandler

    class Watch(BaseCallbackHandler):
        lock = threading.Lock()

    travelled = portable(scripted_model().with_config(callbacks=[Watch()]), "agent")
    assert isinstance(travelled, PortableModel)
    assert travelled.build().invoke("x").content


def test_a_recorded_bench_refuses_ray_before_touching_anything(tmp_path: Any) -> None:
    recording = Recording(tmp_path / "rec.jsonl", "record", [])
    with pytest.raises(SettingError, match="local executor only"):
        run_bench(
            BenchConfig(executor="ray", tasks="generated", domains=["gripper"]),
            model="scripted",
            out=str(tmp_path / "out"),
            recording=recording,
        )
    assert not (tmp_path / "out").exists()


def test_cli_rejects_an_unknown_executor() -> None:
    result = CliRunner().invoke(app, ["bench", "--executor", "dask", "--model", "scripted"])
    assert result.exit_code == 2
    assert "local" in result.output and "ray" in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize("command", ["bench", "learn", "eval"])
@pytest.mark.parametrize(
    "flags",
    [["--ray-address", "127.0.0.1:6379"], ["--ray-workers", "4"]],
    ids=["address", "workers"],
)
def test_ray_flags_typed_with_the_local_executor_are_refused(
    command: str, flags: list[str], tmp_path: Path
) -> None:
    args = [command, "--model", "scripted", "--tasks", "generated", "--domain", "gripper", *flags]
    env = {"RAY_ADDRESS": None, "LEARNACT_EXECUTOR": None, "XDG_DATA_HOME": str(tmp_path)}
    result = CliRunner().invoke(app, args, env=env)  # a run that went ahead stays in tmp
    assert result.exit_code == 2, result.output
    assert f"only applies with --executor ray; add --executor ray or drop {flags[0]}" in (
        " ".join(result.output.split())
    )
    assert "Traceback" not in result.output


def test_ray_address_from_the_environment_is_left_alone_by_the_local_executor(
    tmp_path: Path,
) -> None:
    """``$RAY_ADDRESS`` set for other tools does not stop a local run."""
    args = ["bench", "--model", "scripted", "--tasks", "generated", "--domain", "gripper"]
    args += ["--tasks-per-domain", "1", "--max-steps", "2", "--out", str(tmp_path / "out")]
    env = {"RAY_ADDRESS": "127.0.0.1:1", "LEARNACT_EXECUTOR": None}
    result = CliRunner().invoke(app, args, env=env)
    assert result.exit_code == 0, result.output


class _Pickling(LocalExecutor):
    """Runs jobs as a Ray worker would get them: pickled to bytes and back."""

    def __init__(self) -> None:
        super().__init__(8)
        self.jobs = 0

    def run(self, fn: Callable[[T], R], item: T) -> R:
        self.jobs += 1
        return super().run(fn, pickle.loads(cloudpickle.dumps(item)))


def _learn(**extra: Any) -> dict[str, Any]:
    ctx = LearnerContext(
        env="gripper",
        tasks="generated",
        learner_model=scripted_model(),
        k=2,
        rounds=1,
        **extra,
    )
    out: dict[str, Any] = learner_graph().invoke({}, context=ctx)
    return out


def test_learner_episodes_through_an_executor_learn_the_same(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    stand_in = _Pickling()
    monkeypatch.setattr(evaluation, "shared_executor", lambda settings: stand_in)
    try:
        remote = _learn(executor="ray")
    finally:
        close_shared()
    local = _learn()
    assert stand_in.jobs == len(remote["results"]) > 0  # every episode went through it
    assert remote["status"] == local["status"] == "published"
    assert remote["release"]["actions"] == local["release"]["actions"]
    assert {k: v["success"] for k, v in remote["results"].items()} == {
        k: v["success"] for k, v in local["results"].items()
    }


def test_a_context_that_cannot_travel_is_refused() -> None:
    lock = threading.Lock()
    ctx = LearnerContext(env_factory=lambda: lock)  # type: ignore[arg-type,return-value]
    with pytest.raises(LearnActError, match="LearnerContext.env_factory cannot be sent"):
        evaluation.remote_context(ctx)


def test_resolving_a_scripted_spec_with_a_wait() -> None:
    model = resolve_model("scripted:150ms")
    assert model.latency == pytest.approx(0.15)  # type: ignore[union-attr]
    with pytest.raises(LearnActError, match="'scripted:200ms' or 'scripted:1.5s'"):
        resolve_model("scripted:soon")


@OPENS_A_SOCKET
def test_a_compatible_server_model_travels_without_any_key(monkeypatch: pytest.MonkeyPatch) -> None:
    """The local model server (and vLLM) take no key: a worker without one still builds
    the model, with the same placeholder a model named here gets."""
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    model = resolve_model("openai:qwen@http://127.0.0.1:9/v1")
    copy = pickle.loads(pickle.dumps(portable(model, "agent"))).build()
    assert copy.openai_api_base == "http://127.0.0.1:9/v1"
    assert copy.openai_api_key.get_secret_value() == "not-needed"
