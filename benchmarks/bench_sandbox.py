"""Sandbox latency (and, with --security, attack coverage) side by side in one run.

Cases: (a) a trivial learned action, (b) a learned action making 20 base-action calls.
Rows: plain in-process ``exec`` (the floor, no safety at all), the default
``subprocess`` backend through :class:`Sandbox`, and the measured alternatives:
``pydantic-monty`` (a sandboxed interpreter in its own worker process, with host
function calls) and RestrictedPython (compile-time guards; run in-process here, so
its row shows the guard cost only: in a worker it would add the same pipe round trips
as the subprocess row).

    .venv/bin/python benchmarks/bench_sandbox.py [--n 300] [--security] [--placement]

``--placement`` times learned actions making 0 to 20 base calls under three rules for
where a call's worker runs (``PLACEMENTS``: the backend's and the two before it),
alternating call by call in one sandbox, each call after an echo sample as in the
round-trip target.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import time
from collections.abc import Callable
from functools import partial
from typing import Any

from pingpong import LIMITS, PingPong
from sandbox_attacks import security

from learnact_langgraph.sandbox import Sandbox, SandboxError, SubprocessBackend, subprocess_backend
from learnact_langgraph.sandbox.cpus import set_cpus

TRIVIAL = "def trivial():\n    return 1\n"
WALK = (
    "def walk20():\n"
    "    for i in range(10):\n"
    "        move('a', 'b')\n"
    "        obs = move('b', 'a')\n"
    "    return obs\n"
)
BLOCK = 25
CASES = {"(a) trivial": "trivial()", "(b) 20 base calls": "walk20()"}


def _nothing() -> None:
    pass


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered) * 1e6, ordered[int(len(ordered) * 0.99) - 1] * 1e6


# ----- runners: each returns {case: callable} ------------------------------------------
def floor_runner(env: PingPong) -> tuple[dict[str, Callable[[], Any]], Callable[[], None]]:
    def mover(*args: Any) -> str:
        return env.call("move", *args).observation

    namespace: dict[str, Any] = {"move": mover}
    exec(TRIVIAL + WALK, namespace)
    codes = {case: compile(line, "<action>", "eval") for case, line in CASES.items()}
    runners: dict[str, Callable[[], Any]] = {
        case: partial(eval, code, namespace) for case, code in codes.items()
    }
    return runners, _nothing


def subprocess_runner(env: PingPong) -> tuple[dict[str, Callable[[], Any]], Callable[[], None]]:
    return sandbox_runner(env, "subprocess")


def interpreter_runner(env: PingPong) -> tuple[dict[str, Callable[[], Any]], Callable[[], None]]:
    backend = SubprocessBackend([a.name for a in env.base_actions()], LIMITS, zygote=False)
    return sandbox_runner(env, backend)


def unpinned_runner(env: PingPong) -> tuple[dict[str, Callable[[], Any]], Callable[[], None]]:
    backend = SubprocessBackend([a.name for a in env.base_actions()], LIMITS, pin_cpu=False)
    return sandbox_runner(env, backend)


def monty_sandbox_runner(env: PingPong) -> tuple[dict[str, Callable[[], Any]], Callable[[], None]]:
    return sandbox_runner(env, "monty")


def sandbox_runner(
    env: PingPong, backend: str | SubprocessBackend
) -> tuple[dict[str, Callable[[], Any]], Callable[[], None]]:
    try:
        sb = Sandbox(env, backend=backend, limits=LIMITS)
    except SandboxError as exc:
        raise ImportError(str(exc)) from None
    sb.load({"trivial": TRIVIAL, "walk20": WALK})

    def run(line: str) -> Any:
        result = sb.run(line)
        assert result.ok, result
        return result

    return {case: partial(run, line) for case, line in CASES.items()}, sb.close


def monty_runner(env: PingPong) -> tuple[dict[str, Callable[[], Any]], Callable[[], None]]:
    import pydantic_monty as pm

    pool = pm.Monty(min_processes=1)
    pool.__enter__()
    limits: Any = {
        "max_feed_duration_secs": LIMITS.wall_time_s,
        "max_memory": LIMITS.memory_mb * 2**20,
        "max_recursion_depth": LIMITS.recursion_depth,
        "max_suspensions": 10**9,
    }
    session = pool.checkout(script_name="action.py", limits=limits)
    session.__enter__()
    lookup = {"move": lambda *a: env.call("move", *a).observation}
    session.feed_run(TRIVIAL + WALK, external_lookup=lookup)

    def close() -> None:
        session.__exit__(None, None, None)
        pool.__exit__(None, None, None)

    runners: dict[str, Callable[[], Any]] = {
        case: partial(session.feed_run, line, external_lookup=lookup)
        for case, line in CASES.items()
    }
    return runners, close


def restricted_runner(env: PingPong) -> tuple[dict[str, Callable[[], Any]], Callable[[], None]]:
    from RestrictedPython import compile_restricted, safe_globals
    from RestrictedPython.Eval import default_guarded_getiter
    from RestrictedPython.Guards import full_write_guard, safer_getattr

    namespace: dict[str, Any] = dict(safe_globals)
    namespace.update(
        _getattr_=safer_getattr,
        _getiter_=default_guarded_getiter,
        _write_=full_write_guard,
        move=lambda *a: env.call("move", *a).observation,
    )
    exec(compile_restricted(TRIVIAL + WALK, "<learned>", "exec"), namespace)
    codes = {case: compile_restricted(line, "<action>", "eval") for case, line in CASES.items()}
    runners: dict[str, Callable[[], Any]] = {
        case: partial(eval, code, namespace) for case, code in codes.items()
    }
    return runners, _nothing


RUNNERS = {
    "exec in-process (floor)": floor_runner,
    "Sandbox(backend='subprocess')": subprocess_runner,
    "subprocess, zygote=False": interpreter_runner,
    "subprocess, pin_cpu=False": unpinned_runner,
    "Sandbox(backend='monty')": monty_sandbox_runner,
    "pydantic-monty raw session": monty_runner,
    "RestrictedPython in-process": restricted_runner,
}


def latency(n: int) -> None:
    """Time backends in alternating blocks of BLOCK calls, so load on the machine hits
    all rows alike while each block sees an agent's back-to-back calls."""
    built: dict[str, dict[str, Callable[[], Any]]] = {}
    closers: list[Callable[[], None]] = []
    for name, make in RUNNERS.items():
        env = PingPong()
        env.reset(0)
        try:
            runners, close = make(env)
        except ImportError as exc:
            print(f"{name}: skipped ({exc})")
            continue
        built[name] = runners
        closers.append(close)
    samples: dict[tuple[str, str], list[float]] = {}
    try:
        for case in CASES:
            for fns in built.values():
                for _ in range(20):
                    fns[case]()
            for _ in range(max(1, n // BLOCK)):
                for name, fns in built.items():
                    for _ in range(BLOCK):
                        start = time.perf_counter()
                        fns[case]()
                        samples.setdefault((name, case), []).append(time.perf_counter() - start)
    finally:
        for close in closers:
            close()
    floor = {case: percentiles(samples[(next(iter(built)), case)])[0] for case in CASES}
    print(
        f"\nlatency per call, n={n} in alternating blocks of {BLOCK} "
        "(microseconds; target: (b) p50 < 2000 us)"
    )
    print(f"{'backend':30} {'case':20} {'p50':>8} {'p99':>8} {'p50 / floor':>12}")
    for name in built:
        for case in CASES:
            p50, p99 = percentiles(samples[(name, case)])
            print(f"{name:30} {case:20} {p50:8.1f} {p99:8.1f} {p50 / floor[case]:11.1f}x")


# ----- issue 16 targets: each against a baseline measured in this same run ------------------
def bare_fork() -> float:
    """fork(); the child exits at once; the parent waits for it."""
    start = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)
    return time.perf_counter() - start


def sandbox_start(zygote: bool = True) -> float:
    """Construct a Sandbox and get the answer of its first trivial call (worker up)."""
    env = PingPong()
    env.reset(0)
    start = time.perf_counter()
    backend = SubprocessBackend(["move"], LIMITS, zygote=zygote)
    sb = Sandbox(env, backend=backend, limits=LIMITS)
    assert sb.run("1").value == 1
    took = time.perf_counter() - start
    sb.close()
    return took


def echo_child(
    rounds: int, cpus: tuple[int, int] | None = None
) -> tuple[Callable[[], float], Callable[[], None]]:
    """A forked child echoing tiny messages over a pipe pair; one sample = ``rounds``
    request/reply round trips timed in the parent. ``cpus``: the parent's and the
    child's CPU while sampling (else the kernel places both, which moves the figure
    by a third from run to run on the 2-vCPU VM)."""
    to_r, to_w = os.pipe()
    back_r, back_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(to_w)
        os.close(back_r)
        if cpus is not None:
            set_cpus({cpus[1]})
        while data := os.read(to_r, 64):
            os.write(back_w, data)
        os._exit(0)
    os.close(to_r)
    os.close(back_w)

    def sample() -> float:
        previous = os.sched_getaffinity(0) if cpus is not None else None
        if cpus is not None:
            set_cpus({cpus[0]})
        start = time.perf_counter()
        for _ in range(rounds):
            os.write(to_w, b"move a b")
            os.read(back_r, 64)
        took = time.perf_counter() - start
        if previous is not None:
            set_cpus(previous)
        return took

    def close() -> None:
        os.close(to_w)
        os.close(back_r)
        os.waitpid(pid, 0)

    return sample, close


def p50_us(samples: list[float]) -> float:
    return statistics.median(samples) * 1e6


def targets(n: int) -> None:
    """The three tables of issue 16; rows alternate sample by sample, so machine load
    hits the row and its baseline alike."""
    forks, starts, cold = [], [], []
    for i in range(max(n // 5, 20)):
        forks.append(bare_fork())
        starts.append(sandbox_start())
        if i % 4 == 0:
            cold.append(sandbox_start(zygote=False))
    ratio = p50_us(starts) / p50_us(forks)
    print("\nsandbox start (Sandbox(env) + first trivial call answered)")
    print(
        f"  sandbox start p50 {p50_us(starts) / 1000:.2f} ms | bare fork p50 "
        f"{p50_us(forks) / 1000:.2f} ms | ratio {ratio:.1f} (target <= 5)"
    )
    print(f"  (without the zygote, a new interpreter per worker: p50 {p50_us(cold) / 1000:.1f} ms)")

    env = PingPong()
    env.reset(0)
    with Sandbox(env, limits=LIMITS) as sb:
        sb.load({"act0": "def act0(x):\n    return x\n"})
        pid = sb.backend.pid  # type: ignore[attr-defined]
        sources = {"act0": "def act0(x):\n    return x\n"}
        start = time.perf_counter()
        for i in range(1, 1000):
            sources[f"act{i}"] = f"def act{i}(x):\n    return act{i - 1}(x) + 1\n"
            sb.load(sources)  # the growing mapping, one new action each time
        took = time.perf_counter() - start
        works = sb.run("act150(1)").value == 151 and len(sb.sources) == 1000
        same = sb.backend.pid == pid  # type: ignore[attr-defined]
    print("\nincremental loading (1,000 actions added one by one with Sandbox.load)")
    print(
        f"  1,000 loads {took:.2f} s (target <= 2) | same worker {same} | call after works {works}"
    )

    env = PingPong()
    env.reset(0)
    sample, close = echo_child(20)
    walks, echoes = [], []
    with Sandbox(env, limits=LIMITS) as sb:
        sb.load({"walk20": WALK})
        for _ in range(20):
            sb.run("walk20()")
            sample()
        for _ in range(n):
            echoes.append(sample())
            start = time.perf_counter()
            assert sb.run("walk20()").ok
            walks.append(time.perf_counter() - start)
    close()
    walk = p50_us(walks)
    print("\nround trip (a learned action making 20 base-action calls)")
    print(
        f"  walk20 p50 {walk:.0f} us | bare fork+pipe 20 round trips p50 "
        f"{p50_us(echoes):.0f} us | ratio {walk / p50_us(echoes):.1f} (target <= 3)"
    )
    pinned = pinned_echoes(n)
    if pinned:
        shown = [f"{name} p50 {us:.0f} us (ratio {walk / us:.1f})" for name, us in pinned.items()]
        print(f"  the same round trips, both ends pinned (not judged): {', '.join(shown)}")


def pinned_echoes(n: int) -> dict[str, float]:
    """The echo baseline with both ends on one CPU and on two (p50 us, alternating):
    where the kernel places them moves it by a third from run to run on the 2-vCPU VM.
    Timed apart from the judged loop, whose figures more children would disturb."""
    allowed = sorted(os.sched_getaffinity(0))
    if len(allowed) < 2:
        return {}
    placements = {"one CPU": (allowed[0], allowed[0]), "two CPUs": (allowed[0], allowed[1])}
    echo = {name: echo_child(20, cpus) for name, cpus in placements.items()}
    samples: dict[str, list[float]] = {name: [] for name in echo}
    for i in range(n + 20):
        for name, (sample, _) in echo.items():
            took = sample()
            if i >= 20:
                samples[name].append(took)
    for _, close in reversed(echo.values()):  # a later child holds the earlier pipes
        close()
    return {name: p50_us(taken) for name, taken in samples.items()}


def walk_source(calls: int) -> str:
    """A learned action making ``calls`` base calls."""
    return (
        f"def walk{calls}():\n"
        "    obs = None\n"
        f"    for i in range({calls}):\n"
        "        obs = move('a', 'b') if i % 2 == 0 else move('b', 'a')\n"
        "    return obs\n"
    )


#: Where a call's worker runs: (label, SPLIT_AFTER, moved back to the shared CPU
#: before every call). The last is the backend's rule; the others came before it.
PLACEMENTS = (
    ("shared, apart at 3rd", 3, True),
    ("shared, apart at 1st", 1, True),
    ("stays apart (now)", 1, False),
)


def _place(sb: Sandbox, split_after: int, back: bool) -> None:
    """Make the next call start as the rule would: the worker moved back to the shared
    CPU first when ``back`` (what the backend did before every call)."""
    subprocess_backend.SPLIT_AFTER = split_after
    backend = sb.backend
    assert isinstance(backend, SubprocessBackend)
    proc = backend._state["proc"]
    if back and proc is not None and proc.moved and backend.cpu is not None:
        proc.moved = not set_cpus({backend.cpu}, proc.pid)


def placement(n: int) -> None:
    """The worker placement rules side by side: they alternate call by call (in a
    shuffled order), so machine load hits each alike."""
    sizes = (0, 1, 2, 3, 5, 20)
    env = PingPong()
    sample, close = echo_child(20)
    saved = subprocess_backend.SPLIT_AFTER
    times: dict[tuple[int, str], list[float]] = {}
    order = random.Random(0)
    try:
        with Sandbox(env, limits=LIMITS) as sb:
            sb.load({f"walk{k}": walk_source(k) for k in sizes})
            for _ in range(20):
                sb.run("walk20()")
            for _ in range(n):
                for k in sizes:
                    for label, split_after, back in order.sample(PLACEMENTS, len(PLACEMENTS)):
                        _place(sb, split_after, back)
                        env.reset(0)
                        sample()
                        start = time.perf_counter()
                        assert sb.run(f"walk{k}()").ok
                        times.setdefault((k, label), []).append(time.perf_counter() - start)
    finally:
        subprocess_backend.SPLIT_AFTER = saved
        close()
    labels = [label for label, _, _ in PLACEMENTS]
    print(f"\nwhere a call's worker runs, n={n}, p50 us (ratio: to the first rule)")
    print(f"{'base calls':>10} " + " ".join(f"{label:>21}" for label in labels))
    for k in sizes:
        p50s = [p50_us(times[(k, label)]) for label in labels]
        cells = [f"{p50s[0]:21.0f}"] + [f"{v:13.0f} ({v / p50s[0]:4.2f}x)" for v in p50s[1:]]
        print(f"{k:10d} " + " ".join(cells))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=300, help="timed calls per case")
    parser.add_argument("--security", action="store_true", help="also run the attack table")
    parser.add_argument(
        "--placement", action="store_true", help="only compare where a call's worker runs"
    )
    args = parser.parse_args()
    if args.placement:
        placement(args.n)
        return
    targets(args.n)
    latency(args.n)
    if args.security:
        security()


if __name__ == "__main__":
    main()
