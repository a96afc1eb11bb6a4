"""Where benchmark data lives, and checking that it is all there.

Data never ships inside the package. It is read from a data directory:
``LEARNACT_DATA_DIR`` if set, otherwise ``<user cache dir>/learnact/data``.
``learnact data fetch <dataset>`` fills it and verifies every file against the
SHA-256 sums shipped in ``learnact_langgraph/data_checksums/``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import platformdirs

from learnact_langgraph.errors import DataDirError

ENV_VAR = "LEARNACT_DATA_DIR"


@dataclass(frozen=True)
class Dataset:
    """A named set of files under the data directory."""

    name: str
    subdir: str
    checksums_file: str

    def checksums(self) -> dict[str, str]:
        """Relative path (under ``subdir``) -> expected SHA-256."""
        text = resources.files("learnact_langgraph.data_checksums").joinpath(
            self.checksums_file
        ).read_text()
        sums: dict[str, str] = {}
        for line in text.splitlines():
            if line.strip():
                digest, rel = line.split(maxsplit=1)
                sums[rel.strip()] = digest
        return sums


DATASETS: dict[str, Dataset] = {
    "robotic-planning": Dataset("robotic-planning", "agentboard_pddl", "robotic-planning.txt"),
}


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


def require(name: str, path: str | os.PathLike[str] | None = None) -> Path:
    """Return the dataset's directory, or raise one clear error naming the fix."""
    ds = get_dataset(name)
    root = data_dir(path) / ds.subdir
    missing = [rel for rel in ds.checksums() if not (root / rel).is_file()]
    if missing:
        what = "is missing" if len(missing) == len(ds.checksums()) else "is incomplete"
        raise DataDirError(
            f"The {name} data in {root} {what} ({len(missing)} file(s), e.g. {missing[0]}): "
            f"run `learnact data fetch {name}` or set {ENV_VAR} to a directory that has it."
        )
    return root
