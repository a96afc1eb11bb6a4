"""Where a bench keeps its results: JSON lines plus a manifest, safe to resume.

A results directory holds

* ``episodes.jsonl``: one record per finished test episode, keyed by
  ``(method, domain, task, repeat, settings hash)``;
* ``artifacts.jsonl``: what a method learned before testing (a LearnAct release,
  Reflexion plans), keyed by ``(method, domain, repeat, settings hash)``, so a resumed
  bench does not learn again;
* ``manifest.json``: provenance per settings hash (models, package version, git
  commit, seeds, settings, when it ran).

Records are appended whole under a lock and flushed, so a killed bench leaves at
most one torn last line, which :meth:`ResultStore.episodes` skips. Resuming is just
"skip every key already present".
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from learnact_langgraph.errors import LearnActError

EPISODES = "episodes.jsonl"
ARTIFACTS = "artifacts.jsonl"
MANIFEST = "manifest.json"

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

    def _ensure(self) -> None:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise BenchError(
                f"Cannot create the results directory {self.root} ({exc}); "
                "pass --out with a writable path."
            ) from exc

    # ----- reading ----------------------------------------------------------------------
    def _lines(self, name: str) -> Iterator[dict[str, Any]]:
        path = self.root / name
        if not path.exists():
            return
        with path.open(encoding="utf-8") as fh:
            for line in fh:
                line = line.strip()
                if not line:
                    continue
                try:
                    yield json.loads(line)
                except json.JSONDecodeError:
                    continue  # a line torn by a killed bench; that episode runs again

    def episodes(self, settings: str | None = None) -> list[dict[str, Any]]:
        """Finished episodes (the first record per key), optionally of one settings hash."""
        seen: dict[EpisodeKey, dict[str, Any]] = {}
        for rec in self._lines(EPISODES):
            if settings is None or rec.get("settings_hash") == settings:
                seen.setdefault(episode_key(rec), rec)
        return list(seen.values())

    def episode_keys(self) -> set[EpisodeKey]:
        return {episode_key(r) for r in self._lines(EPISODES)}

    def artifacts(self, settings: str | None = None) -> list[dict[str, Any]]:
        seen: dict[ArtifactKey, dict[str, Any]] = {}
        for rec in self._lines(ARTIFACTS):
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
        line = json.dumps(record, sort_keys=True, default=str) + "\n"
        with self._lock:
            self._ensure()
            with (self.root / name).open("a", encoding="utf-8") as fh:
                fh.write(line)
                fh.flush()
                os.fsync(fh.fileno())

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
