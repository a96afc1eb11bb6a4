"""Where benchmark data lives, and checking that it is all there.

Benchmark files never ship inside the package (only their checksums and the tiny
split metadata do). They are read from a data directory:
``LEARNACT_DATA_DIR`` if set, otherwise ``<user cache dir>/learnact/data``.
``learnact data fetch <dataset>`` fills it and verifies every file against the
SHA-256 sums shipped in ``learnact_langgraph/data_checksums/``.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import platformdirs

from learnact_langgraph.errors import DataDirError

ENV_VAR = "LEARNACT_DATA_DIR"


@dataclass(frozen=True)
class Dataset:
    """A named set of files under the data directory, and where upstream keeps them."""

    name: str
    subdir: str
    checksums_file: str
    #: Default download location: ``<source_url>/<relative path>`` for every listed file,
    #: or, for an ``archive`` dataset, the URL of one zip file holding them (and more).
    source_url: str = ""
    archive: bool = False

    def checksums(self) -> dict[str, str]:
        """Relative path (under ``subdir``) -> expected SHA-256."""
        text = (
            resources.files("learnact_langgraph.data_checksums")
            .joinpath(self.checksums_file)
            .read_text()
        )
        sums: dict[str, str] = {}
        for line in text.splitlines():
            if line.strip():
                digest, rel = line.split(maxsplit=1)
                sums[rel.strip()] = digest
        return sums


AGENTBOARD_COMMIT = "bb7255e2daf1989069a186dad9e53f70680961db"
AGENTBOARD_PDDL_URL = (
    f"https://raw.githubusercontent.com/hkust-nlp/AgentBoard/{AGENTBOARD_COMMIT}"
    "/agentboard/environment/pddl_env/pddlgym/pddl"
)

#: ALFWorld's release of the old-grammar game files (``json_2.1.1/<split>/.../game.tw-pddl``),
#: the one ``alfworld-download`` fetched before alfworld 0.4; 134 of its games are kept.
ALFWORLD_ARCHIVE_URL = (
    "https://github.com/alfworld/alfworld/releases/download/0.2.2/json_2.1.1_pddl.zip"
)

DATASETS: dict[str, Dataset] = {
    "robotic-planning": Dataset(
        "robotic-planning", "agentboard_pddl", "robotic-planning.txt", AGENTBOARD_PDDL_URL
    ),
    "alfworld": Dataset(
        "alfworld",
        "alfworld_valid_unseen_134",
        "alfworld.txt",
        ALFWORLD_ARCHIVE_URL,
        archive=True,
    ),
}
SPLITS_FILE = "splits.json"


def default_data_dir() -> Path:
    return Path(platformdirs.user_cache_dir("learnact")) / "data"


def data_dir(path: str | os.PathLike[str] | None = None) -> Path:
    """The data directory: ``path``, else ``$LEARNACT_DATA_DIR``, else the user cache."""
    if path is not None:
        return Path(path).expanduser()
    env = os.environ.get(ENV_VAR)
    return Path(env).expanduser() if env else default_data_dir()


def get_dataset(name: str) -> Dataset:
    try:
        return DATASETS[name]
    except KeyError:
        known = ", ".join(sorted(DATASETS))
        raise DataDirError(f"Unknown dataset {name!r}; choose one of: {known}.") from None


def missing_files(name: str, path: str | os.PathLike[str] | None = None) -> list[str]:
    """Relative paths of the dataset's files that are absent (presence only, no hashing)."""
    ds = get_dataset(name)
    root = data_dir(path) / ds.subdir
    return [rel for rel in ds.checksums() if not (root / rel).is_file()]


def require(name: str, path: str | os.PathLike[str] | None = None) -> Path:
    """Return the dataset's directory, or raise one clear error naming the fix."""
    ds = get_dataset(name)
    root = data_dir(path) / ds.subdir
    missing = missing_files(name, path)
    if missing:
        what = "is missing" if len(missing) == len(ds.checksums()) else "is incomplete"
        raise DataDirError(
            f"The {name} data in {root} {what} ({len(missing)} file(s), e.g. {missing[0]}): "
            f"run `learnact data fetch {name}` or set {ENV_VAR} to a directory that has it."
        )
    return root


def load_splits(path: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """The paper's fixed train indices per task type.

    ``<data dir>/splits.json`` wins when present (so a user can pin their own split);
    otherwise the copy shipped with the package is used, since the splits are tiny
    metadata that ``learnact data fetch`` has no upstream source for.
    """
    local = data_dir(path) / SPLITS_FILE
    try:
        text = (
            local.read_text()
            if local.is_file()
            else resources.files("learnact_langgraph.data_checksums")
            .joinpath(SPLITS_FILE)
            .read_text()
        )
        splits = json.loads(text)
    except (OSError, ValueError) as exc:
        raise DataDirError(
            f"Could not read the split file {local if local.is_file() else SPLITS_FILE} ({exc}): "
            f"fix or delete {local}."
        ) from None
    if not isinstance(splits, dict) or not isinstance(splits.get("train"), dict):
        raise DataDirError(
            f"The split file {local} has no 'train' mapping: fix it or delete it to use the "
            "packaged splits."
        )
    return splits
