"""A base action may carry a name the policy refuses otherwise (tyreworld's ``open``)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from learnact_langgraph.envs.base import Environment, StepResult, Task, base_action
from learnact_langgraph.envs.pddl import load_env
from learnact_langgraph.sandbox import Sandbox

TAKE_OUT = '''def take_out(thing, container):
    """Open container and take thing out of it."""
    open(container)
    return fetch(thing, container)
'''


class Boot(Environment):
    """A closed boot with a wrench in it; its ``open`` is a base action, as in tyreworld."""

    name = "boot"
    instruction = "Get the wrench out of the boot."

    def tasks(self) -> Sequence[Task]:
        return [Task(id="boot/0", domain="boot", index=0)]

    def _reset(self, task: Task) -> str:
        self.state: dict[str, Any] = {"open": False, "in_boot": ["wrench", "jack"], "have": []}
        return "The boot is closed. The wrench and the jack are in the boot."

    def goal_progress(self) -> float:
        return 1.0 if "wrench" in self.state["have"] else 0.0

    @base_action
    def open(self, container: str) -> StepResult:
        """Open the container, which must be closed."""
        text = f"open({container!r})"
        if container != "boot":
            return self.refuse(text, "bad_arguments")
        if self.state["open"]:
            return self.refuse(text, "precondition")
        self.state["open"] = True
        return self.ok(text, "The boot is open.")

    @base_action
    def fetch(self, thing: str, container: str) -> StepResult:
        """Take thing out of the open container."""
        text = f"fetch({thing!r}, {container!r})"
        if container != "boot" or thing not in self.state["in_boot"] + self.state["have"]:
            return self.refuse(text, "bad_arguments")
        if not self.state["open"] or thing not in self.state["in_boot"]:
            return self.refuse(text, "precondition")
        self.state["in_boot"].remove(thing)
        self.state["have"].append(thing)
        return self.ok(text, f"You have the {thing}.")


def _env_with_open(source: str, request: pytest.FixtureRequest) -> Environment:
    if source == "toy":
        env: Environment = Boot()
    else:
        env = load_env("tyreworld", data_dir=request.getfixturevalue("data_dir"))
    env.reset(0)
    return env


@pytest.mark.parametrize("source", ["toy", "benchmark"])
def test_open_is_the_base_action_not_the_builtin(
    source: str, request: pytest.FixtureRequest
) -> None:
    env = _env_with_open(source, request)
    with Sandbox(env) as sandbox:
        assert sandbox.check(TAKE_OUT, "take_out") == []
        sandbox.load({"take_out": TAKE_OUT})
        result = sandbox.run("take_out('wrench', 'boot')")
        assert result.ok, result.message
        assert [s.name for s in result.substeps] == ["open", "fetch"]
        assert all(s.valid for s in result.substeps)
        # elsewhere the name still means the refused builtin
        assert sandbox.check("open('/etc/passwd')") == []
        escape = sandbox.run("open('/etc/passwd')")
        assert not escape.ok and escape.substeps[0].name == "open"
        assert not escape.substeps[0].valid  # a base action with an unknown object, nothing more


def test_open_stays_refused_where_it_is_no_base_action(own_data_dir: Path) -> None:
    env = load_env("gripper", data_dir=own_data_dir)
    env.reset(0)
    with Sandbox(env) as sandbox:
        assert any("open() is not available" in p for p in sandbox.check("open('x')"))
