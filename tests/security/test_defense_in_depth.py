"""The layers under the AST policy hold on their own.

These cases skip the host's policy check and hand attack code straight to the
worker (as if an attacker had found a hole in the policy), then show that the
restricted builtins, the kernel limits of the worker and the host's frame checks
still stop them.
"""

from __future__ import annotations

import os

import pytest

from learnact_langgraph.sandbox import Job, RawOutcome, SubprocessBackend
from tests.security.conftest import SMALL, answer_move

# A classic escape: walk from a tuple to os._wrap_close and take the os module globals.
ESCAPE = (
    "os = [c for c in ().__class__.__mro__[1].__subclasses__() "
    "if c.__name__ == '_wrap_close'][0].__init__.__globals__\n"
)


def run(backend: SubprocessBackend, code: str) -> RawOutcome:
    return backend.execute(Job(source=code), answer_move)


def still_works(backend: SubprocessBackend) -> None:
    outcome = run(backend, "move('a', 'b') + '!'")
    assert outcome.ok and outcome.value == "You are in b.!", outcome


def test_missing_builtins_even_without_policy(backend: SubprocessBackend) -> None:
    for code in ("open('/etc/passwd')", "eval('1')", "globals()"):
        outcome = run(backend, code)
        assert outcome.error_kind == "python_exception" and "NameError" in outcome.message
    still_works(backend)


@pytest.mark.parametrize(
    "code",
    [
        "__import__('os')",
        "__import__('collections.abc')",
        "__import__('re', level=1)",
        "import sys",
    ],
)
def test_import_hands_out_only_module_proxies_even_without_policy(
    backend: SubprocessBackend, code: str
) -> None:
    outcome = run(backend, code)
    assert outcome.error_kind == "python_exception", outcome
    assert "ImportError" in outcome.message and "cannot be imported" in outcome.message
    still_works(backend)


def test_escaped_code_cannot_open_files(backend: SubprocessBackend) -> None:
    outcome = run(backend, ESCAPE + "os['open']('/etc/hostname', os['O_RDONLY'])")
    assert outcome.error_kind == "python_exception"
    assert "Too many open files" in outcome.message, outcome.message
    still_works(backend)


def test_escaped_code_cannot_create_files(backend: SubprocessBackend) -> None:
    outcome = run(backend, ESCAPE + "os['open']('/tmp/pwned', os['O_WRONLY'] | os['O_CREAT'])")
    assert outcome.error_kind == "python_exception" and "OSError" in outcome.message
    assert not os.path.exists("/tmp/pwned")
    still_works(backend)


def test_escaped_code_cannot_import_socket(backend: SubprocessBackend) -> None:
    outcome = run(backend, ESCAPE + "os['sys'].modules['builtins'].__import__('socket')")
    assert outcome.error_kind == "python_exception", outcome
    still_works(backend)


def test_escaped_code_cannot_fork(backend: SubprocessBackend) -> None:
    outcome = run(backend, ESCAPE + "os['fork']()")
    assert outcome.error_kind == "python_exception"
    assert "Resource temporarily unavailable" in outcome.message, outcome.message
    still_works(backend)


@pytest.mark.skipif(os.getuid() != 0, reason="privileges are dropped only when started as root")
def test_escaped_code_runs_as_nobody(backend: SubprocessBackend) -> None:
    outcome = run(backend, ESCAPE + "os['getuid'](), os['getgid']()")
    assert outcome.ok and outcome.value == [65534, 65534], outcome
    still_works(backend)


def test_forged_frames_are_a_policy_violation(backend: SubprocessBackend) -> None:
    outcome = run(backend, ESCAPE + "os['write'](1, b'\\x00\\x00\\x00\\x05hello')")
    assert outcome.error_kind == "policy_violation", outcome
    assert "protocol" in outcome.message
    still_works(backend)


@pytest.mark.parametrize(
    "payload",
    [b"D\x00", b"D" + bytes(16) + b"\x09", b"D" + bytes(16) + b"\x01\xff\xfe"],
    ids=["truncated", "unknown-kind", "not-utf8"],
)
def test_forged_reply_frames_are_a_policy_violation(
    backend: SubprocessBackend, payload: bytes
) -> None:
    frame = len(payload).to_bytes(4, "big") + payload
    outcome = run(backend, ESCAPE + f"os['write'](1, {frame!r})")
    assert outcome.error_kind == "policy_violation", outcome
    assert "protocol" in outcome.message
    still_works(backend)


def test_forged_call_to_unknown_action_is_refused(backend: SubprocessBackend) -> None:
    frame = b'{"op": "call", "seq": 99, "name": "set_goal_satisfied", "args": []}'
    code = ESCAPE + f"os['write'](1, {len(frame).to_bytes(4, 'big')!r} + {frame!r})\nmove('a','b')"
    outcome = run(backend, code)
    assert outcome.error_kind == "policy_violation"
    assert "unknown base action" in outcome.message
    still_works(backend)


def test_escaped_code_cannot_exit_the_host(backend: SubprocessBackend) -> None:
    outcome = run(backend, ESCAPE + "os['_exit'](3)")
    assert outcome.error_kind == "limit" and "exited with status 3" in outcome.message
    still_works(backend)


def test_worker_kernel_limits(backend: SubprocessBackend) -> None:
    still_works(backend)
    pid = backend._state["proc"].proc.pid
    with open(f"/proc/{pid}/limits") as fh:
        limits = {line[:26].strip(): line[26:].split() for line in fh.readlines()[1:]}
    assert limits["Max open files"][:2] == ["3", "3"]
    assert limits["Max processes"][:2] == ["0", "0"]
    assert limits["Max file size"][:2] == ["0", "0"]
    assert limits["Max address space"][0] == str(SMALL.memory_mb * 1024 * 1024)
    assert limits["Max cpu time"][1] == str(backend.cpu_lifetime_s)  # orphans end too
    with open(f"/proc/{pid}/environ", "rb") as fh:
        assert b"PATH" not in fh.read()


def test_worker_ends_when_the_host_dies() -> None:
    import subprocess
    import sys
    import time

    host = (
        "import os\n"
        "from learnact_langgraph.sandbox import SubprocessBackend, Limits\n"
        "b = SubprocessBackend(['move'], Limits())\n"
        "b._ready()\n"
        "print(b._state['proc'].proc.pid, flush=True)\n"
        "os._exit(0)\n"
    )
    out = subprocess.run([sys.executable, "-c", host], capture_output=True, text=True, check=True)
    pid = int(out.stdout.split()[0])
    for _ in range(50):
        if not os.path.exists(f"/proc/{pid}") or _is_zombie(pid):
            return
        time.sleep(0.05)
    raise AssertionError(f"worker {pid} outlived its host")


def _is_zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(")")[-1].split()[0] == "Z"
    except FileNotFoundError:
        return True
