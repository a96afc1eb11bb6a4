"""Loading sends and defines only what changed; every call still starts fresh.

Each action's top level runs once per load (not once per call), so these pin down
what a call must not carry over to the next: mutable constants, attributes set on
learned functions, the shared builtins; and what a load must keep: the previous set
when one source fails, the whole set in a replaced worker.
"""

from __future__ import annotations

import os
import signal
from typing import Any

import pytest

from learnact_langgraph.sandbox import LearnedCodeError, Sandbox, SubprocessBackend
from learnact_langgraph.sandbox.worker_process import WorkerProcess
from tests.unit_tests.sandbox.toy_env import CARRY


def backend_of(sb: Sandbox) -> SubprocessBackend:
    assert isinstance(sb.backend, SubprocessBackend)
    return sb.backend


def test_a_load_sends_only_what_changed(sb: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    sent: list[dict[str, Any]] = []
    send = WorkerProcess.send

    def spy(self: WorkerProcess, message: Any) -> None:
        if isinstance(message, dict) and message.get("op") == "load":
            sent.append(message)
        send(self, message)

    monkeypatch.setattr(WorkerProcess, "send", spy)
    sb.load({"one": "def one():\n    return 1\n"})
    sb.load({**sb.sources, "two": "def two():\n    return one() + 1\n"})
    sb.load(sb.sources)  # nothing new: nothing sent
    sb.unload("one")
    assert [sorted(m["sources"]) for m in sent] == [["one"], ["two"], []]
    assert [m["remove"] for m in sent] == [[], [], ["one"]]
    assert "one" in sb.call("two").message
    sb.unload("two")


def test_replacing_an_action_reaches_the_actions_that_call_it(sb: Sandbox) -> None:
    sb.load({"base": "def base():\n    return 1\n", "top": "def top():\n    return base() * 10\n"})
    assert sb.call("top").value == 10
    sb.load({"base": "def base():\n    return 2\n"})
    assert sb.call("top").value == 20
    sb.unload("base", "top")


def test_mutable_constants_start_fresh_every_call(sb: Sandbox) -> None:
    source = "SEEN = []\ndef remember(x):\n    SEEN.append(x)\n    return len(SEEN)\n"
    sb.load({"remember": source})
    assert [sb.call("remember", i).value for i in range(3)] == [1, 1, 1]
    assert sb.run("[remember(1), remember(2)]").value == [1, 2]  # within one call it holds
    sb.unload("remember")


def test_function_attributes_do_not_outlive_a_call(sb: Sandbox) -> None:
    sb.load({"tick": "def tick():\n    tick.calls = 1\n    return 1\n"})
    assert sb.run("tick()\ntick.calls").value == 1
    result = sb.run("tick.calls")
    assert result.error_kind == "python_exception" and "calls" in result.message
    sb.unload("tick")


def test_random_and_module_state_are_per_call(sb: Sandbox) -> None:
    sb.load({"roll": "import random\ndef roll():\n    return random.randint(1, 1000)\n"})
    assert sb.call("roll").value == sb.call("roll").value
    sb.unload("roll")


def test_a_failing_load_keeps_the_previous_set(sb: Sandbox) -> None:
    backend = backend_of(sb)
    sb.load({"keep": "def keep():\n    return 'kept'\n"})
    with pytest.raises(LearnedCodeError, match="could not load"):
        backend.load({**sb.sources, "keep": "def keep(:\n", "new": "def new():\n    return 1\n"})
    assert sb.call("keep").value == "kept"
    assert "new" not in backend._sources
    sb.unload("keep")


def test_base_actions_cannot_run_while_an_action_loads(sb: Sandbox) -> None:
    backend = backend_of(sb)
    backend.load({**sb.sources, "early": "X = move('a', 'b')\ndef early():\n    return X\n"})
    result = sb.run("early()")
    assert result.error_kind == "python_exception" and "failed to load" in result.message
    assert result.substeps == ()
    backend.load(sb.sources)


def test_a_replaced_worker_gets_the_whole_current_set(sb: Sandbox) -> None:
    for i in range(5):
        sb.load({f"step{i}": f"def step{i}():\n    return {i}\n"})
    pid = backend_of(sb).pid
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    backend_of(sb)._state["proc"].proc.wait(5.0)  # dead while idle, not mid-call
    assert sb.run("[step0(), step4()]").value == [0, 4]
    assert backend_of(sb).pid != pid
    assert sb.run("carry('a', 'b', 'b1')").ok
    sb.unload(*[f"step{i}" for i in range(5)])
    assert set(sb.sources) == {"carry"} and CARRY in sb.sources.values()
