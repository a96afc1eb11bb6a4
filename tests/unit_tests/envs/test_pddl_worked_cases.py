"""The worked Reflexion and revision examples are true: played, run in a sandbox, parsed.

Gripper and blocks-world run on our packaged domains (no data needed); barman and
tyreworld need the benchmark domain files and skip without them.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from learnact_langgraph.code_checks import check_functions
from learnact_langgraph.envs.base import GOAL_SATISFIED, Environment, Task
from learnact_langgraph.envs.pddl import DOMAINS, load_env
from learnact_langgraph.envs.pddl import worked_cases as wc
from learnact_langgraph.envs.pddl.env import PDDLEnvironment
from learnact_langgraph.envs.pddl.parsing import parse_problem
from learnact_langgraph.envs.pddl.worked_cases_data import REFLEXION, REVISION, RevisionCase
from learnact_langgraph.episode import Step
from learnact_langgraph.learning import format_substeps
from learnact_langgraph.parsing import extract_functions, parse_revision
from learnact_langgraph.sandbox import Sandbox

GENERATED = ("gripper", "blockworld")
CASES = [
    pytest.param(domain, i, id=f"{domain}-{REVISION[domain][i].kind}")
    for domain in DOMAINS
    for i in range(2)
]


@pytest.fixture(autouse=True)
def _fresh_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test renders for itself, so one environment's text never answers for another."""
    monkeypatch.setattr(wc, "_RENDERED", {})


def _env(domain: str, request: pytest.FixtureRequest) -> PDDLEnvironment:
    """Our packaged domain where we have one, else the benchmark's (skips without data)."""
    if domain in GENERATED:
        return load_env(domain, tasks="generated", n=1)
    return load_env(domain, data_dir=request.getfixturevalue("data_dir"))


def _examples(text: str) -> list[dict[str, str]]:
    """The rendered revision examples, cut into the parts the tests compare."""
    out = []
    for body in re.split(r"^Example \d+:\n", text, flags=re.M)[1:]:
        m = re.search(
            r"^Goal: (?P<goal>.*)\nThe actions:\n```python\n(?P<library>.*?)\n```\n"
            r"The action `(?P<name>\w+)` was called after this observation:\n(?P<state>.*)\n"
            r"Action: (?P<call>.*)\nIt failed \(invalid_action\): (?P<message>.*)\n"
            r"What happened inside the call, step by step:\n(?P<substeps>.*?)\n"
            r"Answer:\n(?P<answer>.*?)\s*\Z",
            body,
            flags=re.S,
        )
        assert m is not None, body
        out.append(m.groupdict())
    return out


def _functions(source: str) -> dict[str, str]:
    got = extract_functions(f"```python\n{source}\n```")
    assert not got.error and not got.problems and not got.dropped
    return got.functions


def _assert_plain(source: str) -> None:
    """Plain functions only: what the learner would accept from a model without a repair."""
    tree = ast.parse(source)
    for node in tree.body:
        assert isinstance(node, ast.FunctionDef), ast.dump(node)
        assert not node.decorator_list
        args = node.args
        assert not (args.defaults or args.kw_defaults or args.kwonlyargs or args.posonlyargs)
        assert args.vararg is None and args.kwarg is None
        assert ast.get_docstring(node) and "\n" not in (ast.get_docstring(node) or "")
    banned = (ast.Import, ast.ImportFrom, ast.ClassDef, ast.Global, ast.Nonlocal, ast.Lambda)
    assert not [n for n in ast.walk(tree) if isinstance(n, banned)]


@pytest.fixture()
def sandbox_for() -> Iterator[list[Sandbox]]:
    opened: list[Sandbox] = []
    yield opened
    for sb in opened:
        sb.close()


def _run_valid(sb: Sandbox, line: str) -> None:
    result = sb.run(line)
    assert result.ok, result.message
    assert result.substeps and all(s.valid for s in result.substeps)


def _play_valid(env: PDDLEnvironment, lines: Sequence[str]) -> None:
    for line, result in zip(lines, wc.play(env, lines), strict=True):
        assert result.valid, (line, result.observation)


# ----- rendering --------------------------------------------------------------------------
@pytest.mark.parametrize("domain", DOMAINS)
def test_every_domain_renders_both_kinds(domain: str, request: pytest.FixtureRequest) -> None:
    env = _env(domain, request)
    reflection, revision = env.reflection_example(), env.revision_examples()
    assert reflection and revision
    case = REFLEXION[domain]
    twin = wc.case_env(env, case.problem, "check")
    lines = reflection.splitlines()
    assert lines[0] == f"Your goal: {twin.goal_text()}"
    assert lines[1] == f"Observation: {twin.observation}"
    assert [ln.removeprefix("Action: ") for ln in lines if ln.startswith("Action: ")] == list(
        case.attempt
    )
    assert lines[-1] == f"Plan: {case.plan}"
    assert GOAL_SATISFIED not in reflection
    results = wc.play(twin, case.attempt)
    assert not twin.done and twin.goal_progress() < 1.0
    assert any(not r.valid for r in results), "the attempt should show an invalid action"
    examples = _examples(revision)
    assert [e["answer"].splitlines()[1].split(":")[1].strip() for e in examples] == [
        "Update",
        "Plan",
    ]


@pytest.mark.parametrize("domain", GENERATED)
def test_packaged_and_benchmark_domains_give_the_same_text(
    domain: str, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    generated = load_env(domain, tasks="generated", n=1)
    ours = (generated.reflection_example(), generated.revision_examples())
    monkeypatch.setattr(wc, "_RENDERED", {})
    benchmark = load_env(domain, data_dir=data_dir)
    assert (benchmark.reflection_example(), benchmark.revision_examples()) == ours


def test_rendering_is_cached_per_domain() -> None:
    first = load_env("gripper", tasks="generated", n=1).revision_examples()
    assert load_env("gripper", tasks="generated", n=2, seed=5).revision_examples() is first


def test_environments_without_worked_material_render_nothing() -> None:
    class Bare(Environment):
        name = "bare"

        def tasks(self) -> list[Task]:
            return [Task("bare/0", "bare", 0)]

        def _reset(self, task: Task) -> str:
            return "Nothing here."

        def goal_progress(self) -> float:
            return 0.0

    assert Bare().reflection_example() == "" and Bare().revision_examples() == ""
    env = load_env("gripper", tasks="generated", n=1)
    env.name = "not-a-domain"  # type: ignore[misc]
    assert wc.reflection_example(env) == "" and wc.revision_examples(env) == ""


# ----- truth: the sandbox does what the example says ------------------------------------------
@pytest.mark.parametrize(("domain", "index"), CASES)
def test_revision_case_matches_a_real_sandbox_run(
    domain: str, index: int, request: pytest.FixtureRequest, sandbox_for: list[Sandbox]
) -> None:
    env = _env(domain, request)
    case: RevisionCase = REVISION[domain][index]
    shown = _examples(env.revision_examples())[index]
    twin = wc.played_prefix(env, case, "sandbox")
    assert shown["goal"] == twin.goal_text()
    assert shown["state"] == twin.observation
    assert shown["library"] == case.library and shown["call"] == case.call
    _assert_plain(case.library)

    sb = Sandbox(twin)
    sandbox_for.append(sb)
    sb.load(_functions(case.library))
    before = twin.snapshot().state
    result = sb.run(case.call)
    assert not result.ok and result.error_kind == "invalid_action"
    assert [s.call for s in result.substeps] == list(case.substeps)
    assert result.message == shown["message"]
    step = Step(
        case.call,
        result.observation,
        "learned",
        False,
        substeps=tuple(
            {"name": s.name, "args": list(s.args), "observation": s.observation}
            for s in result.substeps
        ),
    )
    assert format_substeps(step) == shown["substeps"]
    assert result.rolled_back and twin.state == before

    if case.kind == "update":
        _assert_plain(case.content)
        base = {a.name for a in twin.base_actions()}
        fixed = _functions(case.content)
        assert not check_functions(
            fixed,
            known=base | set(_functions(case.library)),
            reserved=base,
            check=lambda src: sb.check(src),
        )
        sb.load(fixed)
        _run_valid(sb, case.call)
    else:
        assert case.follow, "a Plan case lists the base calls its note asks for"
        _play_valid(twin, case.follow)
        _run_valid(sb, case.call)


@pytest.mark.parametrize(("domain", "index"), CASES)
def test_rendered_answers_parse(domain: str, index: int, request: pytest.FixtureRequest) -> None:
    env = _env(domain, request)
    case = REVISION[domain][index]
    shown = _examples(env.revision_examples())[index]
    rev = parse_revision(shown["answer"], "some_other_name")
    assert rev.kind == case.kind and rev.target == shown["name"] == wc.split_call(case.call)[0]
    assert rev.reason == case.reason
    if case.kind == "update":
        assert rev.functions == _functions(case.content) and not rev.problems
    else:
        assert rev.note == case.content and not rev.functions


# ----- no leak: our problems are not benchmark problems ---------------------------------------
def _our_problems() -> list[tuple[str, str]]:
    out = [(d, c.problem) for d, c in REFLEXION.items()]
    out += [(d, c.problem) for d, cases in REVISION.items() for c in cases]
    return out


def _squash(text: str) -> str:
    return " ".join(text.split()).lower()


def test_our_problems_are_not_benchmark_problems(data_dir: Path) -> None:
    files = sorted(data_dir.rglob("*.pddl"))
    assert files, f"no PDDL files under {data_dir}"
    theirs = {_squash(f.read_text(errors="replace")) for f in files}
    for domain, problem in _our_problems():
        assert _squash(problem) not in theirs, domain
    for domain in DOMAINS:
        env = load_env(domain, data_dir=data_dir)
        their_names = {frozenset(env.simulator(t.index).objects) for t in env.tasks()}
        ours = [p for d, p in _our_problems() if d == domain]
        for problem in ours:
            names = frozenset(parse_problem(problem, env.domain, "worked case").objects)
            assert names not in their_names, sorted(names)


def test_our_problems_are_all_different() -> None:
    problems = [_squash(p) for _, p in _our_problems()]
    assert len(set(problems)) == len(problems) == 3 * len(DOMAINS)
