"""The attack table of ``bench_sandbox.py --security``: each snippet against each
backend, in one run (the full suite is ``tests/security``)."""

from __future__ import annotations

from typing import Any

from pingpong import LIMITS, PingPong

from learnact_langgraph.sandbox import Sandbox

#: Attack snippets for --security (each must be stopped with an error).
ATTACKS: dict[str, str] = {
    "open read": "open('/etc/passwd').read()",
    "open write": "open('pwned.txt', 'w').write('x')",
    "import os": "import os\nos.listdir('/')",
    "import subprocess": "import subprocess\nsubprocess.run(['id'])",
    "import socket": "import socket\nsocket.socket()",
    "import ctypes": "import ctypes",
    "__import__": "__import__('os').getcwd()",
    "eval": "eval('1 + 1')",
    "exec": "exec('x = 1')",
    "compile": "compile('1', 'f', 'eval')",
    "dunder walk": "().__class__.__mro__[1].__subclasses__()",
    "format walk": "'{0.__class__.__mro__}'.format(())",
    "gi_frame": "(x for x in [1]).gi_frame.f_back",
    "globals()": "globals()",
    "vars()": "vars()",
    "builtins tamper": "__builtins__['len'] = None",
    "env object": "env.state",
    "func globals": "move.__globals__",
    "infinite loop": "while True:\n    pass",
    "memory bomb": "x = 'a' * (10 ** 10)",
    "deep recursion": "def f(n):\n    return f(n + 1)\nf(0)",
    "huge output": "while True:\n    print('spam' * 100)",
    "sys.exit": "import sys\nsys.exit(1)",
    "os._exit": "import os\nos._exit(1)",
    "fork": "import os\nos.fork()",
    "base-action loop": "while True:\n    move('a', 'b')",
}


def security_subprocess() -> dict[str, str]:
    env = PingPong()
    env.reset(0)
    out = {}
    with Sandbox(env, limits=LIMITS) as sb:
        for name, code in ATTACKS.items():
            result = sb.run(code)
            after = sb.run("move('a', 'b')")
            env.reset(0)
            verdict = f"stopped: {result.error_kind}" if not result.ok else "NOT STOPPED"
            out[name] = verdict + ("" if after.ok else " (next call FAILED)")
    return out


def security_monty() -> dict[str, str]:
    import pydantic_monty as pm

    env = PingPong()
    env.reset(0)
    out = {}
    lookup = {"move": lambda *a: env.call("move", *a).observation}
    limits: Any = {
        "max_feed_duration_secs": LIMITS.wall_time_s,
        "max_memory": LIMITS.memory_mb * 2**20,
        "max_recursion_depth": LIMITS.recursion_depth,
        "max_suspensions": LIMITS.base_calls,
    }
    with pm.Monty(min_processes=1) as pool:
        for name, code in ATTACKS.items():
            with pool.checkout(limits=limits) as session:
                try:
                    value = session.feed_run(
                        code,
                        external_lookup=lookup,
                        print_callback=pm.CollectString(max_bytes=LIMITS.output_chars),
                    )
                    out[name] = f"NOT STOPPED (returned {str(value)[:30]!r})"
                except pm.MontyError as exc:
                    first = str(exc).strip().splitlines()[-1][:50]
                    out[name] = f"stopped: {type(exc).__name__}: {first}"
            env.reset(0)
    return out


def security_restricted() -> dict[str, str]:
    import warnings

    from RestrictedPython import compile_restricted

    warnings.simplefilter("ignore", SyntaxWarning)
    out = {}
    for name, code in ATTACKS.items():
        try:
            compile_restricted(code, "<action>", "exec")
            out[name] = "compiles (needs a worker's limits/guards at run time)"
        except SyntaxError as exc:
            out[name] = f"refused at compile: {str(exc).splitlines()[0][:50]}"
    return out


def security() -> None:
    columns = {"subprocess (default)": security_subprocess()}
    for name, fn in (("pydantic-monty", security_monty), ("RestrictedPython", security_restricted)):
        try:
            columns[name] = fn()
        except ImportError as exc:
            print(f"{name}: skipped ({exc})")
    print("\nattack coverage")
    for col, verdicts in columns.items():
        stopped = sum(1 for v in verdicts.values() if v.startswith(("stopped", "refused")))
        print(f"  {col}: {stopped}/{len(ATTACKS)} stopped or refused")
    print()
    for attack in ATTACKS:
        print(f"{attack:18} " + " | ".join(f"{columns[c][attack]:48.48}" for c in columns))
