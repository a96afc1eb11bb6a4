"""The default backend: one persistent, locked-down worker process per sandbox.

The host talks to the worker over two pipes with length-prefixed JSON frames and
never unpickles or evaluates anything the worker sends. A call that runs past its
wall time, or that breaks the protocol, gets the worker's whole process group
killed; a fresh worker is started at once so the next call does not wait for it.
"""

from __future__ import annotations

import os
import tempfile
import time
import weakref
from collections.abc import Mapping, Sequence
from typing import Any

from learnact_langgraph.sandbox import zygote_client
from learnact_langgraph.sandbox.agent_lines import split_line, split_source
from learnact_langgraph.sandbox.backend import (
    BaseReply,
    Job,
    OnCall,
    RawOutcome,
    SandboxBackend,
    StopCall,
)
from learnact_langgraph.sandbox.cpus import (
    CPU_TICKETS,
    IN_FLIGHT,
    join_cpu,
    other_cpu,
    pick_cpu,
    set_cpus,
)
from learnact_langgraph.sandbox.env_boundary import Abandoned
from learnact_langgraph.sandbox.host_paths import WORKDIR_PREFIX, scrub
from learnact_langgraph.sandbox.policy import FORBIDDEN_ATTRS, FORMAT_ATTRS, SAFE_BUILTINS
from learnact_langgraph.sandbox.stdlib_modules import ALLOWED_MODULES
from learnact_langgraph.sandbox.types import ErrorKind, LearnedCodeError, Limits, SandboxError
from learnact_langgraph.sandbox.worker_process import (
    BaseCall,
    ProtocolError,
    WorkerProcess,
    WorkerTimeout,
    kill_all,
    ret_frame,
    run_frame,
)

STARTUP_TIMEOUT_S = 20.0
NOBODY = 65534
#: Fresh workers tried in a row (within ``STARTUP_TIMEOUT_S``) before a call gives up
#: with :class:`SandboxError`.
SPAWN_ATTEMPTS = 10
#: After the host refused a base call, the time the worker gets to end the call
#: (it normally needs microseconds); an innocent worker is not killed for the time
#: the host itself spent on the base action.
ABORT_GRACE_S = 1.0
#: See :mod:`.spin`: a few times what the host takes to answer a cheap base action,
#: so a cheap one is caught while polling and a slow one costs little.
DEFAULT_SPIN_US = 100
#: The base calls a call makes on one shared CPU before its two sides move apart and
#: poll (see :attr:`SubprocessBackend.cpu`). A line that is one base action never
#: reaches the worker (the host makes it), so what does is mostly a learned action
#: making several (the rules compared: ``benchmarks/bench_sandbox.py --placement``).
SPLIT_AFTER = 1


class SubprocessBackend(SandboxBackend):
    """Learned code runs in a separate, restricted Python process (see ``worker.py``)."""

    name = "subprocess"

    def __init__(
        self,
        base_actions: Sequence[str],
        limits: Limits,
        *,
        drop_privileges: bool = True,
        pin_cpu: bool = True,
        zygote: bool = True,
        spin_us: int = DEFAULT_SPIN_US,
    ) -> None:
        """``zygote=False`` starts each worker as a new interpreter instead of forking
        it from the zygote (slower; for comparison). ``pin_cpu=False`` lets the
        scheduler place the worker and the calling thread (see :attr:`cpu`).
        ``spin_us``: how long each side of a call polls for the other's answer before
        it sleeps, once the call has made :data:`SPLIT_AFTER` base calls (see
        :mod:`.spin`); ``0`` never polls."""
        super().__init__(base_actions, limits)
        if isinstance(spin_us, bool) or not isinstance(spin_us, int) or spin_us < 0:
            raise ValueError(
                f"spin_us must be a whole number of microseconds, 0 or more (got {spin_us!r}); "
                "use 0 to turn polling off."
            )
        self.zygote = zygote
        #: During a call the calling thread and the worker take turns, twice per base
        #: action. The worker runs on :attr:`cpu`, and so does the call's host side:
        #: on a VM a wake-up of another, idle CPU costs tens of microseconds
        #: (measured on an idle 2-vCPU VM: 20 base calls 3.5 ms unpinned against 1.35
        #: ms on one CPU), while a turn on one CPU is a switch. A call that goes on
        #: making base calls (:data:`SPLIT_AFTER`) moves its worker, asleep waiting
        #: for an answer, to :attr:`split_cpu`, and from then on both sides poll for
        #: each other's answers (``spin_us``) instead of sleeping: no turn waits for a
        #: wake-up or a switch, and neither side evicts the other's caches. The
        #: worker stays apart for the next call if that call is alone (it then polls
        #: from its first frame) and is moved back before a call that starts while
        #: another is in flight; the caller's own CPU mask is restored when the call
        #: returns.
        self.cpu: int | None = pick_cpu(next(CPU_TICKETS)) if pin_cpu else None
        self.split_cpu = other_cpu(self.cpu) if self.cpu is not None and spin_us > 0 else None
        self.spin_s = spin_us / 1e6 if self.split_cpu is not None else 0.0
        if zygote:
            zygote_client.prestart()  # boots while the caller prepares its first call
        #: Total CPU seconds one worker may use (kernel hard limit); the host starts a
        #: fresh worker before a call could run into it.
        self.cpu_lifetime_s = int(limits.cpu_time_s * 20 + 60)
        self._sources: dict[str, str] = {}
        workdir = tempfile.mkdtemp(prefix=WORKDIR_PREFIX)
        self._state: dict[str, Any] = {"proc": None, "workdir": workdir}
        self._config: dict[str, Any] = {
            "base": list(self.base_actions),
            "limits": limits.to_dict(),
            "builtins": sorted(SAFE_BUILTINS),
            "modules": list(ALLOWED_MODULES),
            "reaching": sorted(FORBIDDEN_ATTRS | FORMAT_ATTRS),
            "cpu_lifetime_s": self.cpu_lifetime_s,
            "spin_s": self.spin_s,
        }
        if drop_privileges and os.getuid() == 0:
            self._config.update(uid=NOBODY, gid=NOBODY)
        self._finalizer = weakref.finalize(self, kill_all, self._state)
        self._closed = False
        self._started = False
        #: The worker and sequence number of the base call being answered now.
        self._pending: tuple[WorkerProcess, Any] | None = None
        #: The :data:`IN_FLIGHT` ticket of the call running now.
        self._flight: list[bool] | None = None
        self.restarts = 0

    @property
    def pid(self) -> int | None:
        """The process id of the current worker (``None`` between workers)."""
        proc: WorkerProcess | None = self._state["proc"]
        return None if proc is None else proc.pid

    # ----- worker lifecycle -----------------------------------------------------------
    def _spawn(self) -> None:
        """Start a worker without waiting for it; it loads the last set that loaded."""
        self._started = True
        proc = WorkerProcess(self._config, self._state["workdir"], zygote=self.zygote)
        self._state["proc"] = proc
        if self.cpu is not None:
            try:
                os.sched_setaffinity(proc.pid, {self.cpu})
            except OSError:
                self.cpu = self.split_cpu = None
        if self._sources:
            try:
                proc.send({"op": "load", "sources": self._sources})
            except ProtocolError:  # died at once: the handshake notices and retries
                pass
            proc.pending_load = True

    def _respawn(self) -> None:
        """Replace the worker now so the next call does not wait for one to start.

        If the kernel refuses a new process, the next call tries again.
        """
        self._discard()
        self.restarts += 1
        try:
            self._spawn()
        except OSError:
            self._state["proc"] = None

    def _discard(self) -> None:
        old: WorkerProcess | None = self._state["proc"]
        self._state["proc"] = None
        if old is not None:
            old.kill()

    def _ready(self) -> WorkerProcess:
        """A started worker holding the loaded actions, replacing a dead one.

        The first worker starts here, on the first load or call, so a sandbox only
        asked to check code never starts one. A worker can die at any moment (killed
        from outside, out of memory, the kernel's CPU cap); the call that finds it
        dead starts another, up to ``SPAWN_ATTEMPTS`` in a row within
        ``STARTUP_TIMEOUT_S``, and only then gives up for this call (an interpreter
        that cannot run the worker fails fast).
        """
        if self._closed:
            raise SandboxError("This sandbox is closed; create a new Sandbox to run code.")
        proc: WorkerProcess | None = self._state["proc"]
        if proc is not None and proc.ready and proc.alive():
            return proc
        if not self._started:
            try:
                self._spawn()
            except OSError:
                self._state["proc"] = None
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        why, attempts = "no answer", 0
        while attempts < SPAWN_ATTEMPTS and time.monotonic() < deadline:
            attempts += 1
            proc = self._state["proc"]
            if proc is None or proc.ready:  # none, or one that died while idle
                self._respawn()
                proc = self._state["proc"]
                if proc is None:
                    why = "the system refused to start a process"
                    continue
            try:
                self._handshake(proc, deadline)
            except (ProtocolError, WorkerTimeout) as exc:
                why = str(exc) or f"no answer within {STARTUP_TIMEOUT_S:g} s"
                self._discard()
                continue
            proc.ready = True
            return proc
        raise SandboxError(
            f"The sandbox worker failed to start {attempts} times in a row (last: "
            f"{scrub(why)}); check that this Python interpreter can run the sandbox's worker.py."
        )

    def _handshake(self, proc: WorkerProcess, deadline: float) -> None:
        hello = proc.recv(deadline)
        if hello.get("op") != "ready":
            raise ProtocolError(f"unexpected first frame {hello.get('op')!r}")
        if proc.pending_load:
            reply = proc.recv(deadline)
            if reply.get("op") != "loaded" or not reply.get("ok"):
                why = str(reply.get("message", "learned actions failed to load"))
                raise ProtocolError(why)

    # ----- interface ---------------------------------------------------------------------
    def load(self, sources: Mapping[str, str]) -> None:
        """Send the new set; if the worker cannot compile it, it keeps the old one.

        If the worker dies (or hangs) while loading, it is replaced by one holding the
        set loaded before and :class:`LearnedCodeError` blames the new set: code that
        stopped a worker is never sent to a worker again.
        """
        new = dict(sources)
        old = self._sources
        changed = {n: s for n, s in new.items() if old.get(n) != s}
        removed = [n for n in old if n not in new]
        if not changed and not removed and not self._closed:
            return
        proc = self._ready()
        try:
            proc.send({"op": "load", "sources": changed, "remove": removed})
            reply = proc.recv(time.monotonic() + STARTUP_TIMEOUT_S)
            if reply.get("op") != "loaded":
                raise ProtocolError(f"unexpected frame {reply.get('op')!r} while loading")
        except (ProtocolError, WorkerTimeout) as exc:
            self._respawn()
            why = str(exc) or f"no answer within {STARTUP_TIMEOUT_S:g} s"
            message = (
                f"Loading these learned actions stopped the sandbox worker "
                f"({scrub(why, [self._state['workdir']])}); the actions loaded before "
                "are still loaded."
            )
            raise LearnedCodeError(message, [message]) from None
        if not reply.get("ok"):
            why = scrub(str(reply.get("message", "the learned actions failed to compile")))
            raise LearnedCodeError(f"The worker could not load the learned actions: {why}.", [why])
        self._sources = new

    def execute(self, job: Job, on_call: OnCall) -> RawOutcome:
        proc = self._ready()
        if proc.moved and self.cpu is not None and IN_FLIGHT.count:
            # apart, asleep since the last call: back to the shared CPU (a cheap move)
            # unless this call is alone, which then polls from its first frame
            proc.moved = not set_cpus({self.cpu}, proc.pid)
        previous = join_cpu(self.cpu)  # the worker's: a turn is a switch
        ticket = self._flight = IN_FLIGHT.enter()
        try:
            return self._execute(proc, job, on_call)
        finally:
            IN_FLIGHT.leave(ticket)
            if previous is not None:
                set_cpus(previous)

    def _move_apart(self, proc: WorkerProcess, calls: int) -> bool:
        """Whether the call, after ``calls`` base calls, polls from now on: its worker,
        asleep until it gets this answer, moved to :attr:`split_cpu` (only a call alone
        in the process does, see :class:`~learnact_langgraph.sandbox.cpus.InFlight`)."""
        if calls != SPLIT_AFTER or self.split_cpu is None or IN_FLIGHT.count != 1:
            return False
        proc.moved = set_cpus({self.split_cpu}, proc.pid)
        return proc.moved

    def _execute(self, proc: WorkerProcess, job: Job, on_call: OnCall) -> RawOutcome:
        limits = job.limits or self.limits
        deadline = time.monotonic() + limits.wall_time_s
        stopped: str | None = None
        calls, apart = 0, proc.moved  # a worker left apart: both sides poll at once
        try:
            proc.send(self._request(proc, job, limits, apart and IN_FLIGHT.count == 1))
            while True:
                message = proc.next(deadline, apart and IN_FLIGHT.count == 1)
                if not isinstance(message, BaseCall):
                    op = message.get("op")
                    if op == "done":
                        used = message.get("cpu_used_s")
                        if not isinstance(used, int | float):
                            used = 0.0
                        if message.get("recycle") or used > self.cpu_lifetime_s - (
                            limits.cpu_time_s + 2
                        ):
                            self._respawn()
                        return _outcome(message, stopped, self._state["workdir"])
                    if op != "call":
                        raise ProtocolError(f"unexpected frame {op!r} during a call")
                    message = _json_call(message)
                calls += 1
                split = not apart and calls == SPLIT_AFTER and self._move_apart(proc, calls)
                apart = apart or split
                reply, stop = self._answer(message, on_call, stopped, apart)
                if stop is not None:
                    deadline = max(deadline, time.monotonic() + ABORT_GRACE_S)
                stopped = stopped or stop
                proc.send(reply)
        except WorkerTimeout:
            self._respawn()
            return RawOutcome(
                False,
                error_kind="timeout",
                message=f"the call ran past its wall-time limit of {limits.wall_time_s} s "
                "and was stopped",
            )
        except ProtocolError as exc:
            self._respawn()
            return _death_outcome(exc, stopped)
        except Abandoned:  # the caller took the worker over (abort_pending)
            raise
        except BaseException:  # interrupted (Ctrl-C) mid-call: never leave a busy worker
            self._discard()
            raise

    @staticmethod
    def _request(
        proc: WorkerProcess, job: Job, limits: Limits, poll: bool
    ) -> dict[str, Any] | bytes:
        """A run request: a frame when it is a line under the limits the worker already
        holds, else JSON, which sets them."""
        if job.call is None and limits == proc.limits:
            frame = run_frame(*split_line(job.source), poll)
            if frame is not None:
                return frame
        request: dict[str, Any] = {"op": "run", "limits": limits.to_dict()}
        if job.call is not None:
            request["call"] = [job.call[0], list(job.call[1])]
        else:
            request.update(split_source(job.source))  # a fresh dict each time
        if poll:
            request["poll"] = True
        proc.limits = limits
        return request

    def _answer(
        self, call: BaseCall, on_call: OnCall, stopped: str | None, apart: bool = False
    ) -> tuple[dict[str, Any] | bytes, str | None]:
        """The reply to a base call and, if the host stopped the call, why. The reply
        tells the worker whether to poll for the next answer: only while it is on a CPU
        of its own (``apart``) and its call is the only one in flight in the process,
        decided as the answer leaves (another call may have started meanwhile)."""
        seq, name = call.seq, call.name
        if name not in self.base_actions:
            raise ProtocolError(f"the worker asked for an unknown base action {name!r}")
        if stopped is not None:
            return {"op": "abort", "seq": seq, "message": stopped}, None
        mine = self._pending = (self._state["proc"], seq)
        try:
            reply: BaseReply = on_call(name, call.args)
        except StopCall as stop:
            return {"op": "abort", "seq": seq, "message": str(stop)}, str(stop)
        finally:
            if self._pending is mine:  # a call abandoned long ago must not clear a new one
                self._pending = None
        obs = str(reply.observation)
        poll = apart and IN_FLIGHT.count == 1
        return ret_frame(seq, obs, reply.valid, reply.done, poll=poll), None

    def abort_pending(self, message: str) -> RawOutcome:
        """End the call whose base action the host stopped waiting for (on another
        thread, see ``BaseActionRunner.run_call``): the worker is told that base action
        was refused and finishes its call. It was innocent, so it is kept. The call
        no longer counts as in flight (its thread only waits for the environment), so
        later calls in the process poll again."""
        if self._flight is not None:
            IN_FLIGHT.leave(self._flight)
        pending, self._pending = self._pending, None
        if pending is None:
            return RawOutcome(False, error_kind="limit", message=message)
        proc, seq = pending
        deadline = time.monotonic() + ABORT_GRACE_S
        try:
            proc.send({"op": "abort", "seq": seq, "message": message})
            while True:
                reply = proc.recv(deadline)
                if reply.get("op") == "done":
                    return _outcome(reply, message, self._state["workdir"])
                if reply.get("op") != "call":
                    raise ProtocolError(f"unexpected frame {reply.get('op')!r} during a call")
                proc.send({"op": "abort", "seq": reply.get("seq"), "message": message})
        except (ProtocolError, WorkerTimeout):
            self._respawn()
            return RawOutcome(False, error_kind="limit", message=message)

    def close(self) -> None:
        """End the worker for good: later calls raise :class:`SandboxError`."""
        self._closed = True
        self._finalizer()
        self._state["proc"] = None


def _json_call(message: dict[str, Any]) -> BaseCall:
    """A base call the worker sent as JSON (an argument that is not a plain string)."""
    seq, name, args = message.get("seq"), message.get("name"), message.get("args")
    if not isinstance(name, str) or not isinstance(args, list):
        raise ProtocolError(f"the worker asked for an unknown base action {name!r}")
    if not isinstance(seq, int) or isinstance(seq, bool):
        raise ProtocolError("the worker sent a base call without a sequence number")
    return BaseCall(seq, name, tuple(args))


_WORKER_KINDS: dict[str, ErrorKind] = {
    "python_exception": "python_exception",
    "limit": "limit",
    "policy_violation": "policy_violation",
}


def _outcome(message: dict[str, Any], stopped: str | None, workdir: str) -> RawOutcome:
    value = message.get("value")
    if message.get("value_repr") is not None:
        value = str(message["value_repr"])
    ok = message.get("ok") is True
    kind: ErrorKind | None = _WORKER_KINDS.get(str(message.get("error_kind")))
    text = scrub(str(message.get("message", "")), [workdir])
    if stopped is not None and (ok or kind != "limit"):
        ok, kind, text = False, "limit", stopped
    if not ok and kind is None:
        kind = "policy_violation"
    return RawOutcome(
        ok,
        value=value,
        error_kind=None if ok else kind,
        message=text,
        traceback=scrub(str(message.get("traceback", "")), [workdir]),
        stdout=scrub(str(message.get("stdout", "")), [workdir]),
    )


def _death_outcome(exc: ProtocolError, stopped: str | None) -> RawOutcome:
    if stopped is not None:
        return RawOutcome(False, error_kind="limit", message=stopped)
    if exc.kind == "policy_violation":
        return RawOutcome(
            False, error_kind="policy_violation", message=f"sandbox protocol violated: {exc}"
        )
    return RawOutcome(
        False,
        error_kind="limit",
        message=f"the call was stopped because {exc} (memory, CPU or another limit)",
    )
