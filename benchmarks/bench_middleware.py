"""What ``LearnActMiddleware`` and the live toolkit add to one agent step.

Part 1 runs ``create_agent`` agents side by side on one generated gripper task with an
instant scripted model. One step is one model call plus one tool call (``move`` back
and forth between the rooms, always valid); a step's time is the gap between two
consecutive model calls. The agents share one ``Sandbox`` (a base call never reaches
its worker, so what it has loaded does not matter), runs are interleaved (the order
rotates every round) and ratios are to the plain agent:
  - plain: base tools only, no middleware;
  - static: base tools plus a snapshot of 50 learned tools (``library.as_tools``);
  - middleware: ``LearnActMiddleware(sandbox, library=..., when="manual")`` with 1, 50
    and 500 learned actions (variants of ``CARRY_BALL``); no release during the runs;
  - no-op middleware: base tools and a middleware with the same four hooks
    (``wrap_model_call``, ``wrap_tool_call``, ``before_agent``, ``after_agent``) that
    only hand on what they get: what ``create_agent`` itself costs for such a
    middleware (it traces each ``wrap_*`` call), printed beside the target as the
    least a middleware with those hooks can add.
Part 2 times the live toolkit at 1 / 50 / 500 learned actions: ``get_tools()`` when
nothing changed, ``library.as_tools`` rebuilt every time (without and with a sandbox
to load into), and the first ``get_tools()`` after a new release.

Run: ``.venv/bin/python benchmarks/bench_middleware.py`` (about 15 s on 2 cores).
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from contextlib import ExitStack
from functools import partial
from typing import Any

from langchain.agents import create_agent
from langchain.agents.middleware import AgentMiddleware
from langchain_core.messages import AIMessage, BaseMessage, ToolMessage
from langgraph.store.memory import InMemoryStore

from learnact_langgraph.envs.pddl import load_env
from learnact_langgraph.library import ActionLibrary
from learnact_langgraph.middleware import LearnActMiddleware
from learnact_langgraph.sandbox import Sandbox
from learnact_langgraph.testing import ScriptedChatModel
from learnact_langgraph.testing.roles import CARRY_BALL
from learnact_langgraph.tool_episode import task_message

TARGET_MS = 1.0
SIZES = (1, 50, 500)
store = InMemoryStore()
made = iter(range(1_000_000))  # one prefix per library


def new_library(env: Any, size: int) -> ActionLibrary:
    """A library whose one release holds ``size`` renamed copies of ``CARRY_BALL``."""
    library = ActionLibrary(store, prefix=("bench", f"lib{next(made)}", f"n{size}"))
    library.set_base_actions(env)
    with library.release(message="fill") as rel:
        for i in range(size):
            add_variant(rel, i)
    return library


def add_variant(target: Any, i: int) -> None:
    name = f"carry_ball_{i}"
    source = CARRY_BALL.replace("def carry_ball(", f"def {name}(")
    target.add(source, name=name, description=f"Carry a ball between rooms (variant {i}).")


def quantiles(samples: list[float]) -> tuple[float, float]:
    """(p50, p90) of ``samples``."""
    deciles = statistics.quantiles(samples, n=10, method="inclusive")
    return statistics.median(samples), deciles[8]


def timed(fn: Callable[[], object], reps: int) -> list[float]:
    """Milliseconds of each of ``reps`` calls of ``fn``."""
    out = []
    for _ in range(reps):
        start = time.perf_counter()
        fn()
        out.append((time.perf_counter() - start) * 1000)
    return out


NOOP = "no-op middleware, same hooks"


class NoOpMiddleware(AgentMiddleware[Any, Any, Any]):
    """The hooks ``LearnActMiddleware`` has, each handing on what it gets."""

    def wrap_model_call(self, request: Any, handler: Callable[[Any], Any]) -> Any:
        return handler(request)

    def wrap_tool_call(self, request: Any, handler: Callable[[Any], Any]) -> Any:
        return handler(request)

    def before_agent(self, state: Any, runtime: Any) -> None:
        return None

    def after_agent(self, state: Any, runtime: Any) -> None:
        return None


class Mover:
    """The model: ``steps`` moves between rooma and roomb, then a final answer.

    It stamps every call, so a step (tool call and the next model call) is a gap.
    """

    def __init__(self, steps: int) -> None:
        self.steps = steps
        self.stamps: list[float] = []
        self.gaps: list[float] = []
        self.model = ScriptedChatModel(respond=self)

    def __call__(self, messages: list[BaseMessage]) -> AIMessage:
        self.stamps.append(time.perf_counter())
        n = len(self.stamps)
        last = messages[-1]
        if isinstance(last, ToolMessage):
            assert last.status != "error" and "not valid" not in str(last.content), last
        if n > self.steps:
            return AIMessage(content="done")
        rooms = ("roomb", "rooma") if n % 2 else ("rooma", "roomb")  # Robby starts in roomb
        args = {"room1": rooms[0], "room2": rooms[1]}
        return AIMessage(content="", tool_calls=[{"name": "move", "args": args, "id": f"c{n}"}])

    def run(self, agent: Any, env: Any) -> None:
        env.reset(0)
        self.stamps = []
        out = agent.invoke({"messages": [("user", task_message(env))]})
        assert len(self.stamps) == self.steps + 1, len(self.stamps)
        assert sum(isinstance(m, ToolMessage) for m in out["messages"]) == self.steps
        self.gaps += [(b - a) * 1000 for a, b in zip(self.stamps, self.stamps[1:], strict=False)]


def agent_steps(env: Any, sandbox: Sandbox, steps: int, rounds: int) -> None:
    libraries = {n: new_library(env, n) for n in SIZES}
    lib50 = libraries[50]
    mws = {
        n: LearnActMiddleware(sandbox, library=lib, when="manual") for n, lib in libraries.items()
    }
    variants: dict[str, tuple[Mover, Any]] = {}  # label -> (model, agent)

    def add(label: str, build: Callable[[Any], Any]) -> None:
        mover = Mover(steps)
        variants[label] = (mover, build(mover.model))

    add("plain: base tools", lambda m: create_agent(m, tools=lib50.toolkit(sandbox).base_tools()))
    add("static: base + 50 learned", lambda m: create_agent(m, tools=lib50.as_tools(sandbox)))
    for n, mw in mws.items():
        add(f"middleware, {n} learned", partial(create_agent, middleware=[mw]))
    base_tools = lib50.toolkit(sandbox).base_tools()
    add(NOOP, lambda m: create_agent(m, tools=base_tools, middleware=[NoOpMiddleware()]))
    for mover, agent in variants.values():  # warm-up: schemas, first release read
        mover.run(agent, env)
        mover.gaps.clear()
    order = list(variants)
    for r in range(rounds):
        for label in order[r % len(order) :] + order[: r % len(order)]:
            mover, agent = variants[label]
            mover.run(agent, env)
    assert len(mws[50].trajectories[-1].steps) == steps  # the middleware did record

    # What wrap_model_call adds per step, measured directly: the learned tools.
    samples: dict[int, list[float]] = {n: [] for n in SIZES}
    for _ in range(20):  # interleaved in chunks of 100 calls
        for n, mw in mws.items():
            samples[n] += timed(mw.learned_tools, 100)
    direct = {n: quantiles(ms)[0] for n, ms in samples.items()}
    base, _ = quantiles(variants[order[0]][0].gaps)
    print(
        f"\nAgent step = 1 model call + 1 tool call (create_agent, instant scripted model, "
        f"shared Sandbox; {rounds} interleaved runs x {steps} steps per agent)"
    )
    header = f"{'agent':28} {'p50 ms':>8} {'p90 ms':>8} {'+p50 ms':>8} {'x plain':>8}"
    print(header + "\n" + "-" * len(header))
    worst = 0.0
    for label, (mover, _) in variants.items():
        p50, p90 = quantiles(mover.gaps)
        print(f"{label:28} {p50:8.3f} {p90:8.3f} {p50 - base:+8.3f} {p50 / base:8.2f}")
        if label.startswith("middleware"):
            worst = max(worst, p50 - base)
    print(
        "direct: LearnActMiddleware.learned_tools() p50 per model call: "
        + ", ".join(f"{n} learned {ms * 1000:.1f} us" for n, ms in direct.items())
    )
    verdict = "PASS" if worst <= TARGET_MS else "FAIL"
    print(
        f"target <= {TARGET_MS:g} ms p50 middleware overhead when no release changed: "
        f"{verdict} (worst {worst:+.3f} ms)"
    )
    floor = quantiles(variants[NOOP][0].gaps)[0] - base
    print(
        f"least a middleware with these hooks adds (create_agent's own work): {floor:+.3f} ms; "
        f"the worst middleware row above it: {worst - floor:+.3f} ms"
    )


def toolkit_costs(env: Any, reps: int, release_reps: int) -> None:
    """One sandbox per size, so that each holds exactly its library's actions."""
    with ExitStack() as stack:
        sandboxes = {size: stack.enter_context(Sandbox(env)) for size in SIZES}
        toolkit_rows(env, sandboxes, reps, release_reps)


def toolkit_rows(env: Any, sandboxes: dict[int, Sandbox], reps: int, release_reps: int) -> None:
    libraries = {size: new_library(env, size) for size in SIZES}
    toolkits = {size: lib.toolkit(sandboxes[size]) for size, lib in libraries.items()}
    for size, toolkit in toolkits.items():
        toolkit.tool_session.open()  # as in a running agent: the sandbox is open
        assert len(toolkit.get_tools()) == size + 3
    unchanged: dict[int, list[float]] = {size: [] for size in SIZES}
    for _ in range(max(1, reps // 100)):  # interleaved in chunks of 100 calls
        for size, toolkit in toolkits.items():
            unchanged[size] += timed(toolkit.get_tools, 100)
    rows = []
    for size, library in libraries.items():
        slow = max(3, reps // (10 * size))
        bare = quantiles(timed(partial(library.as_tools, None), slow))[0]
        loaded = quantiles(timed(partial(library.as_tools, sandboxes[size]), slow))[0]
        first = []
        for r in range(release_reps):
            add_variant(library, size + r)
            first += timed(toolkits[size].get_tools, 1)
        assert len(toolkits[size].get_tools()) == size + release_reps + 3
        rows.append((size, quantiles(unchanged[size])[0], bare, loaded, quantiles(first)[0]))
    print(
        "\nLive toolkit: p50 per call (get_tools unchanged, vs rebuilding with as_tools; "
        f"first get_tools after a release: p50 of {release_reps})"
    )
    header = (
        f"{'learned':>7} | {'get_tools us':>12} | {'as_tools(None) ms':>17} | "
        f"{'as_tools(sandbox) ms':>20} | {'rebuild/live':>12} | {'after release ms':>16}"
    )
    print(header + "\n" + "-" * len(header))
    for size, live_ms, bare, loaded, after in rows:
        print(
            f"{size:>7} | {live_ms * 1000:>12.1f} | {bare:>17.3f} | {loaded:>20.3f} | "
            f"{bare / live_ms:>11.0f}x | {after:>16.3f}"
        )
    worst = max(r[1] for r in rows)
    verdict = "PASS" if worst <= TARGET_MS else "FAIL"
    print(f"target get_tools() <= {TARGET_MS:g} ms p50 when nothing changed: {verdict}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=20, help="tool calls per agent run")
    parser.add_argument("--rounds", type=int, default=20, help="interleaved runs per agent")
    parser.add_argument("--reps", type=int, default=2000, help="get_tools() timings per size")
    parser.add_argument("--release-reps", type=int, default=5, help="releases timed per size")
    args = parser.parse_args()
    env = load_env("gripper", tasks="generated", n=3, size=4, seed=0)
    with Sandbox(env) as sandbox:
        agent_steps(env, sandbox, args.steps, args.rounds)
    toolkit_costs(env, args.reps, args.release_reps)


if __name__ == "__main__":
    main()
