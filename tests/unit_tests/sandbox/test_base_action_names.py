"""A base action may carry a name the policy refuses otherwise (tyreworld's ``open``)."""

from __future__ import annotations

from pathlib import Path

from learnact_langgraph.envs.pddl import load_env
from learnact_langgraph.sandbox import Sandbox

TAKE_OUT = '''def take_out(thing, container):
    """Open container and take thing out of it."""
    open(container)
    return fetch(thing, container)
'''


def test_tyreworld_open_is_the_base_action_not_the_builtin(data_dir: Path) -> None:
    env = load_env("tyreworld", data_dir=data_dir)
    env.reset(0)
    with Sandbox(env) as sandbox:
        assert sandbox.check(TAKE_OUT, "take_out") == []
        sandbox.load({"take_out": TAKE_OUT})
        result = sandbox.run("take_out('wrench', 'boot')")
        assert result.ok, result.message
        assert [s.name for s in result.substeps] == ["open", "fetch"]
        # elsewhere the name still means the refused builtin
        assert sandbox.check("open('/etc/passwd')") == []
        escape = sandbox.run("open('/etc/passwd')")
        assert not escape.ok and escape.substeps[0].name == "open"
        assert not escape.substeps[0].valid  # a base action with an unknown object, nothing more


def test_open_stays_refused_where_it_is_no_base_action(data_dir: Path) -> None:
    env = load_env("gripper", data_dir=data_dir)
    env.reset(0)
    with Sandbox(env) as sandbox:
        assert any("open() is not available" in p for p in sandbox.check("open('x')"))
