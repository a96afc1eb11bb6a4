"""Workers forked from the zygote keep every isolation property, and the zygote heals.

The zygote (``sandbox/zygote.py``) is a clean, warm process that forks workers; a
worker must inherit nothing of it but imported modules: only fds 0, 1 and 2, no
control socket, its own session, the same kernel limits and uid drop as a worker
started as an interpreter.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import pytest

from learnact_langgraph.sandbox import Job, Limits, Sandbox, SubprocessBackend, zygote_client
from learnact_langgraph.sandbox.worker_process import WorkerProcess
from tests.security.conftest import SMALL, answer_move
from tests.security.test_defense_in_depth import ESCAPE
from tests.unit_tests.sandbox.toy_env import CARRY, fresh_env

pytestmark = pytest.mark.skipif(not zygote_client.AVAILABLE, reason="zygotes need Linux")


def worker_of(backend: SubprocessBackend) -> WorkerProcess:
    assert backend.execute(Job(source="1"), answer_move).ok
    proc = backend._state["proc"]
    assert isinstance(proc, WorkerProcess)
    return proc


def test_the_default_worker_is_forked_by_the_zygote(backend: SubprocessBackend) -> None:
    proc = worker_of(backend)
    assert proc.forked
    stat = Path(f"/proc/{proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
    assert int(stat[1]) == zygote_client.current_pid()  # its parent is the zygote
    assert int(stat[3]) == proc.pid  # session leader: killpg reaches it alone
    assert zygote_client.current_pid() != os.getpid()


def test_a_forked_worker_holds_only_fds_0_1_2(backend: SubprocessBackend) -> None:
    proc = worker_of(backend)
    fds = sorted(os.listdir(f"/proc/{proc.pid}/fd"), key=int)
    assert fds == ["0", "1", "2"]
    targets = [os.readlink(f"/proc/{proc.pid}/fd/{fd}") for fd in fds]
    assert targets[0].startswith("pipe:") and targets[1].startswith("pipe:")
    assert targets[2] == "/dev/null" and not any("socket" in t for t in targets)


def test_escaped_code_cannot_reach_the_zygote_socket(backend: SubprocessBackend) -> None:
    probe = (
        "def open_fd(n):\n"
        "    try:\n"
        "        os['fstat'](n)\n"
        "        return True\n"
        "    except Exception:\n"
        "        return False\n"
        "[n for n in range(1024) if open_fd(n)]\n"
    )
    outcome = backend.execute(Job(source=ESCAPE + probe), answer_move)
    assert outcome.ok and outcome.value == [0, 1, 2], outcome
    outcome = backend.execute(Job(source=ESCAPE + "os['sys'].modules.get('_socket')"), answer_move)
    assert outcome.ok and outcome.value is None, outcome  # the zygote's module is dropped
    outcome = backend.execute(
        Job(source=ESCAPE + "os['sys'].modules['builtins'].__import__('_socket').socket()"),
        answer_move,
    )
    assert outcome.error_kind == "python_exception", outcome


@pytest.mark.skipif(os.getuid() != 0, reason="privileges are dropped only when started as root")
def test_a_forked_worker_runs_as_nobody(backend: SubprocessBackend) -> None:
    proc = worker_of(backend)
    status = Path(f"/proc/{proc.pid}/status").read_text()
    uid = next(line for line in status.splitlines() if line.startswith("Uid:")).split()
    assert uid[1:] == ["65534"] * 4
    groups = next(line for line in status.splitlines() if line.startswith("Groups:"))
    assert groups.split()[1:] == []


def test_killing_the_zygote_breaks_no_sandbox() -> None:
    with Sandbox(fresh_env(), limits=SMALL) as old:
        old.load({"carry": CARRY})
        assert old.run("carry('a', 'b', 'b1')").ok
        zygote = zygote_client.current_pid()
        assert zygote is not None
        os.kill(zygote, signal.SIGKILL)
        for _ in range(100):
            if not Path(f"/proc/{zygote}").exists() or "Z" in _state(zygote):
                break
            time.sleep(0.01)
        old.env.reset(0)
        assert old.run("carry('a', 'b', 'b1')").ok  # its worker is an orphan, still serving
        with Sandbox(fresh_env(), limits=SMALL) as new:
            new.load({"carry": CARRY})
            assert new.run("carry('a', 'b', 'b1')").ok
            assert zygote_client.current_pid() not in (None, zygote)
            assert isinstance(new.backend, SubprocessBackend)
            assert new.backend._state["proc"].forked
        old.env.reset(0)
        assert old.run("while True:\n    pass").error_kind == "timeout"  # killed, replaced
        old.env.reset(0)
        assert old.run("carry('a', 'b', 'b1')").ok


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "gone"


def test_many_threads_start_sandboxes_at_once() -> None:
    errors: list[str] = []

    def start() -> None:
        try:
            for _ in range(3):
                with Sandbox(fresh_env(), limits=SMALL) as sb:
                    result = sb.run("move('a', 'b')")
                    if not result.ok:
                        errors.append(result.message)
        except Exception as exc:
            errors.append(repr(exc))

    threads = [threading.Thread(target=start) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []


def test_without_the_zygote_a_worker_starts_as_an_interpreter() -> None:
    backend = SubprocessBackend(["move"], Limits(), zygote=False)
    try:
        proc = worker_of(backend)
        assert not proc.forked
        assert b"worker.py" in Path(f"/proc/{proc.pid}/cmdline").read_bytes()
    finally:
        backend.close()


def test_a_sandbox_that_only_checks_code_starts_no_worker() -> None:
    with Sandbox(fresh_env()) as sb:
        assert sb.check("def f():\n    return open('x')\n", "f")
        assert sb.check("def f():\n    return 1\n", "f") == []
        assert isinstance(sb.backend, SubprocessBackend) and sb.backend.pid is None


def test_closed_sandboxes_leave_no_worker_behind() -> None:
    with Sandbox(fresh_env(), limits=SMALL) as first:
        assert first.run("1").ok  # a zygote runs from here on
    before = set(zygote_client.worker_pids())
    for _ in range(5):
        with Sandbox(fresh_env(), limits=SMALL) as sb:
            assert sb.run("move('a', 'b')").ok
            quick = Limits(wall_time_s=0.2, memory_mb=SMALL.memory_mb)
            assert sb.run("while True:\n    pass", limits=quick).error_kind == "timeout"
    assert set(zygote_client.worker_pids()) <= before
