"""Parsed PDDL read back from the disk cache is the same model; a bad entry is ignored."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from learnact_langgraph.data import require
from learnact_langgraph.envs.pddl import parse_cache
from learnact_langgraph.envs.pddl.generate import domain_text, generate
from learnact_langgraph.envs.pddl.parsing import DomainModel, parse_domain, parse_problem
from learnact_langgraph.errors import LearnActError


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.delenv("LEARNACT_PDDL_CACHE", raising=False)
    parse_domain.cache_clear()
    parse_problem.cache_clear()
    yield tmp_path / "learnact" / "pddl"
    parse_domain.cache_clear()
    parse_problem.cache_clear()


def _domain(name: str) -> str:
    if name in ("gripper", "blockworld"):
        return domain_text(name)
    try:
        root = require("robotic-planning", None)
    except LearnActError as exc:
        pytest.skip(f"the benchmark domains are not here ({exc})")
    return (root / f"{name}.pddl").read_text()


def _fields(model: object) -> dict[str, object]:
    return dict(vars(model))


@pytest.mark.parametrize("name", ["gripper", "blockworld", "barman", "tyreworld"])
def test_a_model_read_from_the_cache_equals_the_parsed_one(cache: Path, name: str) -> None:
    text = _domain(name)
    parsed = parse_domain(text, "d")
    assert len(list(cache.glob("*.json"))) == 1
    parse_domain.cache_clear()
    again = parse_domain(text, "d")
    assert again is not parsed and _fields(again) == _fields(parsed)
    assert list(again.operators) == list(parsed.operators)
    if name in ("gripper", "blockworld"):
        problem = generate(name, n=1, size=3, seed=2)[0]
        first = parse_problem(problem, parsed, "p")
        parse_problem.cache_clear()
        second = parse_problem(problem, again, "p")
        assert _fields(second) == _fields(first)


def test_a_damaged_entry_is_parsed_again_and_rewritten(cache: Path) -> None:
    parsed = parse_domain(domain_text("gripper"), "d")
    (entry,) = cache.glob("*.json")
    entry.write_text('{"name": "gripper", "ops": [["move", 3]]}')
    parse_domain.cache_clear()
    again = parse_domain(domain_text("gripper"), "d")
    assert isinstance(again, DomainModel) and _fields(again) == _fields(parsed)
    assert '"ops": [["move", 3]]' not in entry.read_text()


def test_the_cache_can_be_turned_off(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEARNACT_PDDL_CACHE", "0")
    assert parse_cache.directory() is None
    parse_domain(domain_text("gripper"), "d")
    assert not cache.exists()
