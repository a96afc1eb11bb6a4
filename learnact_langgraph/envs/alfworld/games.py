"""The 134 AlfWorld games of the paper: task types, their order and the fixed split.

Game ``i`` of a task type is the ``i``-th game file of that type in sorted path order,
which is how the paper's split files index them (LearnAct sorts the game files and
filters them by folder prefix). The order is computed from the checksum list shipped
with the package, so it needs no index file from the data directory.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache

from learnact_langgraph.data import get_dataset, load_splits
from learnact_langgraph.errors import DataDirError

DATASET = "alfworld"


@dataclass(frozen=True)
class TaskType:
    """One of the six AlfWorld task types."""

    key: str
    prefix: str
    #: What the agent must do, in words (shown in the domain instruction).
    summary: str


TASK_TYPES: dict[str, TaskType] = {
    t.key: t
    for t in (
        TaskType("put", "pick_and_place", "find an object and put it in or on a receptacle"),
        TaskType("clean", "pick_clean_then_place", "clean an object in a sink, then put it"),
        TaskType("heat", "pick_heat_then_place", "heat an object in a microwave, then put it"),
        TaskType("cool", "pick_cool_then_place", "cool an object in a fridge, then put it"),
        TaskType("examine", "look_at_obj", "look at an object under a lamp you switch on"),
        TaskType("puttwo", "pick_two_obj", "put two objects of a kind in or on a receptacle"),
    )
}


def type_of(relpath: str) -> str | None:
    """The task type of a game from its folder name (``pick_and_place_simple-...``)."""
    parts = relpath.split("/")
    folder = parts[-3] if len(parts) >= 3 else ""
    for t in TASK_TYPES.values():
        if folder.startswith(t.prefix):
            return t.key
    return None


@lru_cache(maxsize=1)
def game_order() -> dict[str, tuple[str, ...]]:
    """Task type -> relative game paths, in the paper's index order."""
    paths = sorted(get_dataset(DATASET).checksums())
    order: dict[str, list[str]] = {key: [] for key in TASK_TYPES}
    for rel in paths:
        key = type_of(rel)
        if key is not None:
            order[key].append(rel)
    return {key: tuple(v) for key, v in order.items()}


def train_indices(task_type: str, data_dir: str | os.PathLike[str] | None = None) -> set[int]:
    """The paper's three training games of ``task_type`` (``data.load_splits``)."""
    indices = load_splits(data_dir)["train"].get(f"alfworld_{task_type}")
    if not isinstance(indices, list) or not all(isinstance(i, int) for i in indices):
        raise DataDirError(
            f"The split file has no list of alfworld_{task_type} training indices: add one, "
            "or delete the data directory's splits.json to use the packaged splits."
        )
    return set(indices)
