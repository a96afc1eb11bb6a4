"""Where a bench keeps its results: JSON lines plus a manifest, safe to resume.

A results directory holds

* ``episodes.jsonl``: one record per finished test episode, keyed by
  ``(method, domain, task, repeat, settings hash)``;
* ``artifacts.jsonl``: what a method learned before testing (a LearnAct release,
  Reflexion plans), keyed by ``(method, domain, repeat, settings hash)``, so a resumed
  bench does not learn again;
* ``manifest.json``: provenance per settings hash (models, package version, git
  commit, seeds, settings, when it ran).

Records are appended whole under a lock (a thread lock and an ``flock`` on the file,
so several processes may append) and fsynced, so a killed bench leaves at most one
torn last line. The next append repairs it before writing: a fragment that is a whole
record only lacks its newline and gets it back; anything else is cut off, logged and
kept in ``<file>.dropped.jsonl``, so a record is never glued onto a fragment and lost
with it. Reading never skips a line silently either: an unreadable line is logged and
listed by :meth:`ResultStore.problems`, and the report warns about it. Resuming is
just "skip every key already present" (a dropped episode runs again).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import platform
import subprocess
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from learnact_langgraph.errors import LearnActError

EPISODES = "episodes.jsonl"
ARTIFACTS = "artifacts.jsonl"
MANIFEST = "manifest.json"
#: Beside ``<file>``, ``<file>.dropped.jsonl`` keeps every torn fragment a repair cut off.
DROPPED_SUFFIX = ".dropped.jsonl"
#: How much of an unreadable line a warning quotes.
EXCERPT_CHARS = 60

log = logging.getLogger(__name__)
_WARNED: set[tuple[str, int, str]] = set()
_WARNED_GUARD = threading.Lock()

EpisodeKey = tuple[str, str, str, int, str]
ArtifactKey = tuple[str, str, int, str]


@dataclass(frozen=True)
class Snapshot:
    """What a results directory held before a run, so a run that records nothing can undo.

    ``sizes`` are the byte sizes of the record files (``None``: absent) and ``manifest``
    the manifest's bytes; ``created`` lists the folders the run may create, deepest first.
    """

    sizes: dict[str, int | None]
    manifest: bytes | None
    created: tuple[Path, ...]


class BenchError(LearnActError):
    """A bench could not be run or reported."""


@dataclass(frozen=True)
class Problem:
    """A line of a results file that could not be read, so its record is left out."""

    file: str
    line: int
    reason: str
    excerpt: str

    def __str__(self) -> str:
        return f"{self.file} line {self.line}: {self.reason} ({json.dumps(self.excerpt)})"


def _excerpt(text: str) -> str:
    text = text.strip()
    return text if len(text) <= EXCERPT_CHARS else text[:EXCERPT_CHARS] + "…"


def _warn_once(path: Path, problem: Problem) -> None:
    """Log ``problem`` once per process, however often the file is read again."""
    mark = (str(path.absolute()), problem.line, problem.excerpt)
    with _WARNED_GUARD:
        if mark in _WARNED:
            return
        _WARNED.add(mark)
    log.warning("Unreadable line left out of the results: %s", problem)


def settings_hash(settings: dict[str, Any]) -> str:
    """A short, stable hash of the settings that change what an episode does."""
    blob = json.dumps(settings, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:12]


def episode_key(record: dict[str, Any]) -> EpisodeKey:
    return (
        record["method"],
        record["domain"],
        record["task_id"],
        int(record["repeat"]),
        record["settings_hash"],
    )


def artifact_key(record: dict[str, Any]) -> ArtifactKey:
    return (record["method"], record["domain"], int(record["repeat"]), record["settings_hash"])


def _parse(
    raw: bytes, key: Callable[[dict[str, Any]], object] | None
) -> tuple[str, dict[str, Any] | None]:
    """``("", record)`` for a readable line, else ``(why not, None)``."""
    try:
        record = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        return "not UTF-8 text", None
    except json.JSONDecodeError as exc:
        if not raw.endswith(b"\n"):
            return "a torn last line (a bench killed mid-write)", None
        return f"not valid JSON ({exc.msg})", None
    if not isinstance(record, dict):
        return "not a JSON object", None
    if key is not None:
        try:
            key(record)
        except (KeyError, TypeError, ValueError):
            return "a record without its key fields", None
    return "", record


def _last_line_start(fd: int, size: int, chunk: int = 1 << 16) -> int:
    """The offset just after the last newline before ``size`` (0 when there is none)."""
    end = size
    while end > 0:
        begin = max(0, end - chunk)
        at = os.pread(fd, end - begin, begin).rfind(b"\n")
        if at >= 0:
            return begin + at + 1
        end = begin
    return 0


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def git_commit(cwd: Path | None = None) -> str | None:
    """The commit of the checkout the package runs from (None outside a git checkout)."""
    here = cwd or Path(__file__).resolve().parent
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, timeout=5
        )
    except (OSError, subprocess.SubprocessError):
        return None
    commit = out.stdout.strip()
    if out.returncode != 0 or not commit:
        return None
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=no"],
        cwd=here,
        capture_output=True,
        text=True,
        timeout=5,
    )
    return commit + ("+dirty" if dirty.stdout.strip() else "")


def environment_info() -> dict[str, Any]:
    from learnact_langgraph import __version__

    return {
        "package_version": __version__,
        "git_commit": git_commit(),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


class ResultStore:
    """Append-only JSON-lines results with a provenance manifest (thread-safe)."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        self._lock = threading.Lock()
        self._problems: dict[str, list[Problem]] = {}

    def _ensure(self) -> None:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise BenchError(
                f"Cannot create the results directory {self.root} ({exc}); "
                "pass --out with a writable path."
            ) from exc

    # ----- reading ----------------------------------------------------------------------
    def _lines(
        self, name: str, key: Callable[[dict[str, Any]], object] | None = None
    ) -> Iterator[dict[str, Any]]:
        """The records of ``name``, leaving out (never silently) the lines it cannot read.

        A line is unreadable when it is not UTF-8 JSON, not an object, or lacks the
        fields ``key`` reads. Each is logged once and listed by :meth:`problems` after a
        full read, so a report can say its numbers miss records instead of quietly
        shrinking them; an episode left out this way runs again on resume.
        """
        path = self.root / name
        if not path.exists():
            self._problems.pop(name, None)
            return
        found: list[Problem] = []
        with path.open("rb") as fh:
            for number, raw in enumerate(fh, start=1):
                if not raw.strip():
                    continue
                reason, record = _parse(raw, key)
                if record is not None:
                    yield record
                    continue
                problem = Problem(name, number, reason, _excerpt(raw.decode("utf-8", "replace")))
                found.append(problem)
                _warn_once(path, problem)
        self._problems[name] = found

    def problems(self) -> list[Problem]:
        """The unreadable lines the latest full read of each results file found."""
        return [p for name in (EPISODES, ARTIFACTS) for p in self._problems.get(name, [])]

    def episodes(self, settings: str | None = None) -> list[dict[str, Any]]:
        """Finished episodes (the first record per key), optionally of one settings hash."""
        seen: dict[EpisodeKey, dict[str, Any]] = {}
        for rec in self._lines(EPISODES, episode_key):
            if settings is None or rec.get("settings_hash") == settings:
                seen.setdefault(episode_key(rec), rec)
        return list(seen.values())

    def episode_keys(self) -> set[EpisodeKey]:
        return {episode_key(r) for r in self._lines(EPISODES, episode_key)}

    def artifacts(self, settings: str | None = None) -> list[dict[str, Any]]:
        seen: dict[ArtifactKey, dict[str, Any]] = {}
        for rec in self._lines(ARTIFACTS, artifact_key):
            if settings is None or rec.get("settings_hash") == settings:
                seen.setdefault(artifact_key(rec), rec)
        return list(seen.values())

    def artifact(self, key: ArtifactKey) -> dict[str, Any] | None:
        return next((a for a in self.artifacts(key[3]) if artifact_key(a) == key), None)

    def manifest(self) -> dict[str, Any]:
        path = self.root / MANIFEST
        if not path.exists():
            return {"runs": {}}
        try:
            data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise BenchError(
                f"The bench manifest {path} is unreadable ({exc}); move it away to start over."
            ) from exc
        data.setdefault("runs", {})
        return data

    def latest_settings(self) -> str:
        """The settings hash of the most recently updated run."""
        runs = self.manifest()["runs"]
        if not runs:
            raise BenchError(
                f"No bench results in {self.root}: run `learnact bench --out {self.root}` first."
            )
        return max(runs, key=lambda h: runs[h].get("updated", ""))

    # ----- undoing a run that recorded nothing -------------------------------------------
    def check_writable(self) -> None:
        """Fail now, before a bench spends anything, if ``root`` cannot be a folder."""
        if self.root.exists() and not self.root.is_dir():
            raise BenchError(
                f"The results path {self.root} is a file, not a folder; pass --out with a "
                "folder path."
            )

    def snapshot(self) -> Snapshot:
        """The state :meth:`undo` restores; take it before :meth:`record_run`."""
        sizes = {}
        for name in (EPISODES, ARTIFACTS):
            path = self.root / name
            sizes[name] = path.stat().st_size if path.is_file() else None
        manifest = self.root / MANIFEST
        missing = []
        folder = self.root.absolute()
        while not folder.exists() and folder != folder.parent:
            missing.append(folder)
            folder = folder.parent
        return Snapshot(
            sizes, manifest.read_bytes() if manifest.is_file() else None, tuple(missing)
        )

    def recorded_since(self, snap: Snapshot) -> bool:
        """Whether an episode or artifact was appended since ``snap`` was taken."""
        for name, size in snap.sizes.items():
            path = self.root / name
            if (path.stat().st_size if path.is_file() else None) != size:
                return True
        return False

    def undo(self, snap: Snapshot) -> bool:
        """Put the directory back as ``snap`` found it, unless a record was added since.

        A run that fails before recording anything (missing data, a model that cannot
        be called) then leaves no manifest-only folder behind. Returns whether it undid.
        """
        if self.recorded_since(snap):
            return False
        with self._lock:
            manifest = self.root / MANIFEST
            try:
                (self.root / (MANIFEST + ".tmp")).unlink(missing_ok=True)
                if snap.manifest is None:
                    manifest.unlink(missing_ok=True)
                elif not manifest.is_file() or manifest.read_bytes() != snap.manifest:
                    manifest.write_bytes(snap.manifest)
            except OSError:
                return False  # the run's own error says what is wrong with the folder
            for folder in snap.created:
                try:
                    folder.rmdir()
                except OSError:
                    break  # not empty (someone else wrote there) or already gone
        return True

    # ----- writing ----------------------------------------------------------------------
    def _append(self, name: str, record: dict[str, Any]) -> None:
        """Append one whole line, repairing a torn last line first.

        The thread lock orders this process's writers; ``flock`` on the file orders
        other processes appending to the same results, so a repair and the append
        after it are never interleaved with another writer's.
        """
        line = (json.dumps(record, sort_keys=True, default=str) + "\n").encode("utf-8")
        with self._lock:
            self._ensure()
            path = self.root / name
            with path.open("a+b") as fh:
                fd = fh.fileno()
                fcntl.flock(fd, fcntl.LOCK_EX)
                try:
                    self._repair(path, fd)
                    _write_all(fd, line)
                    os.fsync(fd)
                finally:
                    fcntl.flock(fd, fcntl.LOCK_UN)

    def _repair(self, path: Path, fd: int) -> None:
        """End the file with a whole line again, so the next record is not glued on.

        A last line that parses as a record only lost its newline and gets it back.
        Anything else is a fragment of a record whose write was killed: it is kept in
        ``<file>.dropped.jsonl`` (fsynced before the cut, so a crash in between loses
        nothing) and logged, then cut off.
        """
        size = os.fstat(fd).st_size
        if size == 0 or os.pread(fd, 1, size - 1) == b"\n":
            return
        start = _last_line_start(fd, size)
        fragment = os.pread(fd, size - start, start)
        if _parse(fragment, None)[1] is not None:
            _write_all(fd, b"\n")
            log.warning("Restored the missing newline at the end of %s.", path)
            return
        text = fragment.decode("utf-8", "replace")
        entry = {"file": path.name, "offset": start, "bytes": len(fragment), "dropped": text}
        sidecar = path.with_name(path.name + DROPPED_SUFFIX)
        with sidecar.open("ab") as side:
            side.write((json.dumps({**entry, "at": now()}, sort_keys=True) + "\n").encode())
            side.flush()
            os.fsync(side.fileno())
        os.ftruncate(fd, start)
        os.fsync(fd)
        log.warning(
            "Cut a torn last line off %s (%d bytes at offset %d, left by a bench killed "
            "mid-write; that record runs again): %s; kept in %s.",
            path,
            len(fragment),
            start,
            json.dumps(_excerpt(text)),
            sidecar,
        )

    def add_episode(self, record: dict[str, Any]) -> None:
        self._append(EPISODES, {**record, "finished_at": now()})

    def add_artifact(self, record: dict[str, Any]) -> None:
        self._append(ARTIFACTS, {**record, "finished_at": now()})

    def record_run(
        self, shash: str, provenance: dict[str, Any], invocation: dict[str, Any]
    ) -> None:
        """Create or update the manifest entry of a settings hash (written atomically)."""
        with self._lock:
            self._ensure()
            data = self.manifest()
            run = data["runs"].setdefault(shash, {**provenance, "created": now()})
            run.setdefault("invocations", []).append({**invocation, "at": now()})
            run["updated"] = now()
            tmp = self.root / (MANIFEST + ".tmp")
            tmp.write_text(json.dumps(data, indent=2, sort_keys=True, default=str) + "\n")
            tmp.replace(self.root / MANIFEST)
