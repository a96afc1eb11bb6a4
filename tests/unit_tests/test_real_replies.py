"""Real replies of the local 1.5B model, and what the loop does with each failure kind.

Every reply in ``tests/data/real_replies/`` was written by Qwen2.5-Coder-1.5B-Instruct
through ``--model local`` and copied verbatim from a ``--record`` file. Each test plays
one kind the first real run mishandled: a reply cut off by the output cap, base actions
written again, a thought with the action, a thought alone, and an error copied as an
action.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import AIMessage, BaseMessage

from learnact_langgraph import prompts
from learnact_langgraph.envs.pddl import load_env
from learnact_langgraph.episode import (
    AgentSettings,
    Trajectory,
    build_agent_prompt,
    execute_line,
)
from learnact_langgraph.learning import CodeResult, Dropped, create_candidate, generate_code
from learnact_langgraph.parsing import extract_functions, parse_action, quote_names
from learnact_langgraph.sandbox import Sandbox
from learnact_langgraph.testing.chat import ScriptedChatModel

DATA = Path(__file__).resolve().parents[1] / "data" / "real_replies" / "local-1.5b.json"
REPLIES: list[dict[str, Any]] = json.loads(DATA.read_text(encoding="utf-8"))["replies"]
BASE = {"move", "pick", "drop"}


def replies(kind: str) -> list[dict[str, Any]]:
    found = [r for r in REPLIES if r["kind"] == kind]
    assert found, f"no recorded reply of kind {kind!r}"
    return found


def message(reply: dict[str, Any]) -> AIMessage:
    return AIMessage(
        content=reply["content"],
        response_metadata={"finish_reason": reply["finish_reason"]},
        usage_metadata={
            "input_tokens": 900,
            "output_tokens": reply["output_tokens"],
            "total_tokens": 900 + reply["output_tokens"],
        },
    )


class Replay(ScriptedChatModel):
    """Plays recorded replies in order, then the fallback; keeps every prompt."""

    def __init__(self, answers: list[AIMessage], fallback: str = "") -> None:
        queue = list(answers)

        def respond(messages: list[BaseMessage]) -> AIMessage:
            return queue.pop(0) if queue else AIMessage(content=fallback)

        super().__init__(respond=respond)


def _env() -> Any:
    env = load_env("gripper", tasks="generated", n=2, size=2, seed=0)
    env.reset(0)
    return env


def _no_policy_problem(source: str) -> list[str]:
    return []


def _first_feedback(reply: dict[str, Any]) -> tuple[CodeResult, str]:
    """Run the repair loop on ``reply`` then a good answer; the functions and the feedback."""
    model = Replay([message(reply), AIMessage(content=GOOD)])
    result, _ = generate_code(
        model, "write", known=BASE, reserved=BASE, check=_no_policy_problem, node="create_actions"
    )
    return result, str(model.calls[1][-1].content)


GOOD = """```python
def carry(ball, from_room, to_room, gripper):
    \"\"\"Carry ball from from_room to to_room.\"\"\"
    pick(ball, from_room, gripper)
    move(from_room, to_room)
    return drop(ball, to_room, gripper)
```"""


# ----- the learner -------------------------------------------------------------------------
@pytest.mark.parametrize("reply", replies("truncated"), ids=lambda r: r["note"][:30])
def test_a_cut_off_reply_asks_for_shorter_code(reply: dict[str, Any]) -> None:
    assert reply["finish_reason"] == "length" and "```python" in reply["content"]
    result, feedback = _first_feedback(reply)
    assert list(result.functions) == ["carry"] and result.attempts == 2
    assert f"cut off after {reply['output_tokens']} tokens" in feedback
    assert "Write shorter code" in feedback
    assert "SyntaxError" not in feedback  # not reported as a plain syntax error


@pytest.mark.parametrize("reply", replies("redefined_base"), ids=lambda r: r["note"][:30])
def test_redefined_base_actions_go_back_to_the_model(reply: dict[str, Any]) -> None:
    result, feedback = _first_feedback(reply)
    assert list(result.functions) == ["carry"]
    assert "`drop`, `move`, `pick`" in feedback and "existing actions" in feedback


@pytest.mark.parametrize("reply", replies("redefined_base"), ids=lambda r: r["note"][:30])
def test_a_sample_that_never_gets_fixed_says_why_it_was_dropped(reply: dict[str, Any]) -> None:
    env = _env()
    model = Replay([message(reply)] * 3)
    with Sandbox(env) as sandbox:
        got = create_candidate(
            model,
            env,
            candidate_id="r0c0",
            examples=[],
            action_example="move('rooma', 'roomb')",
            tool_example=GOOD,
            check=sandbox.check,
            seed=None,
            max_attempts=3,
        )
    assert isinstance(got, Dropped)
    assert got.attempts == 3 and "existing actions" in got.reason
    assert "`drop`, `move`, `pick`" in got.reason


@pytest.mark.parametrize("reply", replies("import"), ids=lambda r: r["note"][:30])
def test_an_allowed_import_travels_with_the_functions_that_use_it(reply: dict[str, Any]) -> None:
    """``random`` is one of the modules learned code may use: its import is kept beside
    the function that needs it, and the sandbox runs that function."""
    got = extract_functions(reply["content"])
    source = got.functions["random_action"]
    assert source.splitlines()[0] in ("import random", "from random import choice")
    assert "import" not in got.functions["carry_ball"]
    assert not any("import" in p for p in got.problems)
    with Sandbox(_env()) as sandbox:
        assert sandbox.check(source, "random_action") == []


def test_example_calls_outside_the_functions_become_the_dry_runs_calls() -> None:
    reply = replies("import")[0]["content"]
    assert "print(random_action())" in reply
    got = extract_functions(reply)
    assert got.calls == ["random_action()"] and got.dropped == []


@pytest.mark.parametrize("reply", replies("import"), ids=lambda r: r["note"][:30])
def test_spent_repairs_keep_the_functions_that_pass_on_their_own(reply: dict[str, Any]) -> None:
    model = Replay([message(reply)] * 2)
    with Sandbox(_env()) as sandbox:
        result, _ = generate_code(
            model, "w", known=BASE, reserved=BASE, check=sandbox.check, node="n", max_attempts=2
        )
    assert "carry_ball" in result.functions and "random_action" in result.functions
    assert not set(result.functions) & BASE


@pytest.mark.parametrize("reply", replies("think_then_action"), ids=lambda r: r["note"][:30])
def test_react_keeps_the_thought_and_runs_the_action(reply: dict[str, Any]) -> None:
    parsed = parse_action(reply["content"], allow_think=True)
    assert parsed.kind == "code" and parsed.text == "move('roomb', 'rooma')"
    assert parsed.thought.startswith("To satisfy the conditions")
    env = _env()
    with Sandbox(env) as sandbox:
        step = execute_line(sandbox, env, reply["content"], set(), allow_think=True)
    assert step.kind == "base" and step.valid and step.thought
    traj = Trajectory("t", env.goal, "start", [step])
    prompt = build_agent_prompt(env, [], traj, settings=AgentSettings(react=True))
    assert "Think: To satisfy" in prompt and "Action: move('roomb', 'rooma')" in prompt
    assert prompt.index("Think: To satisfy") < prompt.index("Action: move('roomb', 'rooma')")


@pytest.mark.parametrize("reply", replies("think_then_action"), ids=lambda r: r["note"][:30])
def test_act_takes_the_action_after_a_thought(reply: dict[str, Any]) -> None:
    parsed = parse_action(reply["content"], allow_think=False)
    assert parsed.kind == "code" and parsed.text == "move('roomb', 'rooma')"


@pytest.mark.parametrize("reply", replies("think_only"), ids=lambda r: r["note"][:30])
def test_a_thought_alone(reply: dict[str, Any]) -> None:
    assert parse_action(reply["content"], allow_think=True).kind == "think"
    alone = parse_action(reply["content"], allow_think=False)
    assert alone.kind == "unparsable" and alone.reason == "the reply has no action"


def test_invented_observations_are_cut_by_the_stop_sequence_and_the_parser() -> None:
    reply = (
        "Think: go to rooma first.\nAction: move('roomb', 'rooma')\nObservation: OK.\nAction: x()"
    )
    parsed = parse_action(reply, allow_think=True)
    assert parsed.text == "move('roomb', 'rooma')"
    model = ScriptedChatModel(respond=lambda m: reply)
    assert "Observation" not in str(model.invoke("hi", stop=prompts.AGENT_STOP).content)


@pytest.mark.parametrize("reply", replies("copied_error"), ids=lambda r: r["note"][:30])
def test_an_unparsable_reply_is_never_shown_back_as_an_action(reply: dict[str, Any]) -> None:
    env = _env()
    with Sandbox(env) as sandbox:
        good = execute_line(sandbox, env, replies("action")[0]["content"], set())
        bad = execute_line(sandbox, env, reply["content"], set())
    assert good.valid and bad.kind == "unparsable" and not bad.valid
    traj = Trajectory("t", env.goal, "start", [good, bad])
    prompt = build_agent_prompt(env, [], traj, settings=AgentSettings())
    assert reply["content"][:40] not in prompt.split("Your goal:")[1]  # not in the history
    hint = prompt.splitlines()[-2]
    assert hint.startswith("(Your last answer could not be run")
    example = hint.rsplit("for example ", 1)[1][:-1]
    assert example in env.valid_actions()  # the hint shows a legal call


def test_the_hint_never_shows_an_illegal_move() -> None:
    env = _env()
    with Sandbox(env) as sandbox:
        step = execute_line(sandbox, env, "I am not sure.", set())
    example = step.observation.rsplit("for example ", 1)[1][:-1]
    assert example in env.valid_actions()
    assert "move('room1', 'room1')" not in step.observation


@pytest.mark.parametrize("reply", replies("unquoted_names"), ids=lambda r: r["note"][:30])
def test_object_names_without_quotes_still_run(reply: dict[str, Any]) -> None:
    env = _env()
    with Sandbox(env) as sandbox:
        step = execute_line(sandbox, env, reply["content"], set())
    assert step.action == "move('roomb', 'rooma')"
    assert step.valid and "NameError" not in step.observation


def test_only_object_names_are_quoted() -> None:
    names = ["rooma", "roomb", "ball1"]
    assert quote_names("move(roomb, rooma)", names) == "move('roomb', 'rooma')"
    assert quote_names("x = 'rooma'; move(x, roomb)", names) == "x = 'rooma'\nmove(x, 'roomb')"
    assert quote_names("move(here, there)", names) == "move(here, there)"  # unknown: kept
    assert quote_names("rooma = 'a'; move(rooma, 'b')", names) == "rooma = 'a'; move(rooma, 'b')"
    assert quote_names("move('roomb', 'rooma')", names) == "move('roomb', 'rooma')"


def _with_dry_run(model: Replay, *, max_attempts: int) -> CodeResult:
    """The repair loop with a dry run on generated gripper task 0 (as the learner runs it)."""
    from learnact_langgraph.dry_run import runner_for

    def env() -> Any:
        return load_env("gripper", tasks="generated", n=2, size=2, seed=0)

    result, _ = generate_code(
        model,
        "write",
        known=BASE,
        reserved=BASE,
        check=_no_policy_problem,
        node="create_actions",
        max_attempts=max_attempts,
        dry_run=runner_for(env, 0),
    )
    return result


def test_functions_that_return_calls_as_text_are_caught_by_the_dry_run() -> None:
    [reply] = replies("code_as_text")
    fixed = GOOD.replace("\n```", "\n\ncarry('ball1', 'roomb', 'rooma', 'left')\n```")
    model = Replay([message(reply), AIMessage(content=fixed)])
    result = _with_dry_run(model, max_attempts=4)
    feedback = str(model.calls[1][-1].content)
    assert "move_to_room('roomb') called no action" in feedback
    assert list(result.functions) == ["carry"] and result.attempts == 2
    [example] = result.examples
    assert "Action: carry('ball1', 'roomb', 'rooma', 'left')" in example


def test_a_learned_call_that_changes_nothing_is_not_a_success() -> None:
    from learnact_langgraph.episode import execute_line
    from learnact_langgraph.parsing import extract_functions
    from learnact_langgraph.sandbox import Sandbox

    [reply] = replies("code_as_text")
    functions = extract_functions(reply["content"]).functions
    env = _env()
    with Sandbox(env) as sandbox:
        sandbox.load(functions)
        step = execute_line(sandbox, env, "move_to_room('rooma')", set(functions))
    assert step.learned_call == "move_to_room" and not step.valid
    assert "called no action" in step.observation and step.error_kind == "invalid_action"


def test_salvage_keeps_nothing_whose_example_call_fails_when_run() -> None:
    """A live demo run published these three functions: the last repair left out the
    example calls, and salvage kept what passes the static checks. The calls of the
    earlier turn now test them, and they are removed."""
    [reply] = replies("code_as_text")
    [repair] = replies("code_as_text_no_calls")
    model = Replay([message(reply), message(repair), message(repair)])
    result = _with_dry_run(model, max_attempts=3)
    assert result.functions == {} and result.attempts == 3
    assert "called no action" in result.errors[0] and "no example calls" in result.error


@pytest.mark.parametrize("reply", REPLIES, ids=lambda r: r["kind"])
def test_runnable_wrappers_read_real_replies_as_the_model_itself(reply: dict[str, Any]) -> None:
    """A ``.with_retry()`` model and a plain Runnable (stop applied on our side) give the
    same text and the same cut-off flag as the chat model for every recorded reply."""
    from langchain_core.runnables import RunnableLambda

    from learnact_langgraph import prompts
    from learnact_langgraph.models import invoke_reply

    def plain() -> Replay:
        return Replay([message(reply)])

    lam = plain()
    models = [plain(), plain().with_retry(stop_after_attempt=2), RunnableLambda(lam.invoke)]
    got = [invoke_reply(m, "Act.", stop=prompts.AGENT_STOP) for m in models]
    assert {(g.text, g.truncated) for g in got} == {(got[0].text, got[0].truncated)}
    assert got[0].truncated == (reply["finish_reason"] == "length")


AGENT_KINDS = ("action", "think_then_action", "think_only", "unquoted_names", "copied_error")


def test_kept_line_results_equal_fresh_ones_and_no_caller_changes_them() -> None:
    """The line functions keep their results (an agent sends the same replies again):
    a kept result equals a fresh one for every recorded agent reply, each option and
    name set gets its own, and a caller changing what it got changes nothing later."""
    from learnact_langgraph import parsing

    agent_replies = [r["content"] for kind in AGENT_KINDS for r in replies(kind)]
    names = ["rooma", "roomb", "ball1", "left"]

    def read_all() -> list[tuple[Any, ...]]:
        out = []
        for content in agent_replies:
            for think in (True, False):
                parsed = parse_action(content, allow_think=think)
                code = quote_names(parsed.text, names) if parsed.kind == "code" else ""
                out.append((parsed, code, parsing.called_names(code)))
        return out

    first = read_all()
    assert parsing._parse_action.cache_info().currsize > 0
    parsing._parse_action.cache_clear()
    parsing._quoted.cache_clear()
    parsing._called.cache_clear()
    assert read_all() == first == read_all()
    assert {p.kind for p, _, _ in first} == {"code", "think", "unparsable"}

    assert quote_names("move(roomb, rooma)", ["rooma"]) == "move(roomb, 'rooma')"
    assert quote_names("move(roomb, rooma)", names) == "move('roomb', 'rooma')"
    got = parsing.called_names("move('roomb', 'rooma'); pick('ball1', 'rooma', 'left')")
    assert got == ["move", "pick"]
    got.append("drop")
    assert parsing.called_names("move('roomb', 'rooma'); pick('ball1', 'rooma', 'left')") == [
        "move",
        "pick",
    ]


LEARNER_KINDS = ("import", "redefined_base", "truncated", "code_as_text", "code_as_text_no_calls")


def test_kept_code_verdicts_equal_fresh_ones_and_no_caller_changes_them() -> None:
    """The gate's and the name checks' verdicts on learned functions are kept (the
    learner, the sandbox and the library ask about the same candidates): for every
    recorded learner reply a kept verdict equals a fresh one, and a caller changing the
    list it got changes nothing later."""
    from learnact_langgraph import code_checks
    from learnact_langgraph.sandbox import gate

    found = [extract_functions(r["content"]) for kind in LEARNER_KINDS for r in replies(kind)]
    sets = [got.functions for got in found if got.functions]
    assert sets

    def verdicts() -> list[tuple[list[str], list[list[str]]]]:
        out = []
        for functions in sets:
            known = BASE | set(functions)
            names = code_checks.unknown_calls(functions, known)
            gates = [
                gate.check_action(n, s, base_actions=sorted(BASE)) for n, s in functions.items()
            ]
            out.append((names, gates))
        return out

    first = verdicts()
    assert any(problems for _, gates in first for problems in gates)  # some are refused
    gate._action_problems.cache_clear()
    code_checks._unknown_in.cache_clear()
    assert verdicts() == first
    for names, gates in verdicts():
        names.append("changed by a caller")
        for problems in gates:
            problems.append("changed by a caller")
    assert verdicts() == first


def test_recorded_action_lines_give_the_same_step_on_the_host_as_in_the_worker(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A line that is one base action with literal arguments is made by the host, not
    the worker: every recorded agent reply gives the same step (and world) either way,
    and the base-action replies among them never start a worker."""
    from learnact_langgraph.sandbox import sandbox as sandbox_module
    from learnact_langgraph.sandbox.agent_lines import base_call

    agent_replies = [r["content"] for kind in AGENT_KINDS for r in replies(kind)]

    def play(worker: bool) -> tuple[list[Any], list[int | None]]:
        with pytest.MonkeyPatch.context() as patch:
            if worker:
                patch.setattr(sandbox_module, "base_call", lambda code, base: None)
            out, pids = [], []
            for content in agent_replies:
                for think in (True, False):
                    env = _env()
                    with Sandbox(env) as sandbox:
                        step = execute_line(sandbox, env, content, set(), allow_think=think)
                        pids.append(getattr(sandbox.backend, "pid", None))
                    out.append((step, env.observation, env.progress))
        return out, pids

    host, host_pids = play(worker=False)
    worker, _ = play(worker=True)
    assert host == worker
    lines = [step.action for step, _, _ in host if step.kind == "base"]
    assert lines and all(base_call(line, frozenset(BASE)) for line in lines)
    assert all(pid is None for pid in host_pids)  # nothing here needed the worker
