"""What real models write must pass every gate, load, run and give the expected result.

Each entry of :mod:`tests.security.benign_corpus` goes through the gate (with the
environment's base actions), ``LearnedAction`` validation, the learner's
``check_functions``, and then the real subprocess sandbox.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from learnact_langgraph.actions import LearnedAction
from learnact_langgraph.code_checks import check_functions
from learnact_langgraph.envs.base import Environment
from learnact_langgraph.envs.pddl import load_env
from learnact_langgraph.sandbox import Sandbox, check_action
from tests.security.benign_corpus import CORPUS, MISSING, Entry
from tests.unit_tests.sandbox.text_env import fresh_kitchen

ENVS = ("gripper", "blockworld", "kitchen")


def _env(kind: str, data_dir: Path) -> Environment:
    env = fresh_kitchen() if kind == "kitchen" else load_env(kind, data_dir=data_dir)
    env.reset(0)
    return env


@pytest.fixture(scope="module")
def sandboxes(own_data_dir: Path) -> Iterator[dict[str, Sandbox]]:
    boxes = {kind: Sandbox(_env(kind, own_data_dir)) for kind in ENVS}
    yield boxes
    for box in boxes.values():
        box.close()


def test_the_corpus_is_large_and_covers_every_environment() -> None:
    assert len(CORPUS) >= 30
    assert {e.env for e in CORPUS} == set(ENVS)
    assert len({e.id for e in CORPUS}) == len(CORPUS)


# Models write regexes without the r prefix; compiling them warns, and that is expected.
@pytest.mark.filterwarnings("ignore:invalid escape sequence:DeprecationWarning")
@pytest.mark.parametrize("entry", CORPUS, ids=lambda e: e.id)
def test_benign_action_passes_every_gate_and_runs(
    entry: Entry, sandboxes: dict[str, Sandbox]
) -> None:
    sb = sandboxes[entry.env]
    base = set(sb.base_names)
    for name, source in entry.sources.items():
        assert check_action(name, source, base_actions=base) == [], name
        assert sb.check(source, name) == [] and sb.check(source) == [], name
        action = LearnedAction(name=name, source=source)
        action.check_names(base)
    problems = check_functions(entry.sources, known=base, reserved=base, check=sb.check)
    assert problems == []
    sb.env.reset(0)
    sb.load(entry.sources, replace=True)
    result = sb.run(entry.call)
    assert result.ok, (result.error_kind, result.message, result.traceback)
    if entry.value is not MISSING:
        assert result.value == entry.value
    if entry.contains is not None:
        assert entry.contains in str(result.value)
    if entry.calls is not None:
        assert [s.call for s in result.substeps] == list(entry.calls)
    if entry.done is not None:
        assert sb.env.done is entry.done
    if entry.stdout is not None:
        assert result.stdout == entry.stdout
    again = sb.run(entry.call) if not result.substeps else None
    if again is not None:  # calls without base actions are reproducible (random included)
        assert again.value == result.value
