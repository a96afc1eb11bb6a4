"""Fixtures for the action library tests: small base actions, libraries on each store kind."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from langgraph.store.memory import InMemoryStore
from langgraph.store.sqlite import SqliteStore

from learnact_langgraph.envs.base import BaseAction, Param
from learnact_langgraph.library import ActionLibrary

BASE = [
    BaseAction("move", (Param("room1"), Param("room2")), "Move Robby between rooms."),
    BaseAction("pick", (Param("obj"), Param("room"), Param("gripper")), "Pick up a ball."),
    BaseAction("drop", (Param("obj"), Param("room"), Param("gripper")), "Drop a ball."),
]

CARRY = '''def carry(obj: str, src: str, dst: str, gripper: str = "left"):
    """Carry obj from src to dst."""
    pick(obj, src, gripper)
    move(src, dst)
    return drop(obj, dst, gripper)
'''

GO = "def go(src, dst):\n    return move(src, dst)\n"


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[object]:
    if request.param == "memory":
        yield InMemoryStore()
    else:
        with SqliteStore.from_conn_string(str(tmp_path / "lib.db")) as s:
            s.setup()
            yield s


@pytest.fixture
def lib(store: InMemoryStore) -> ActionLibrary:
    return ActionLibrary(store, ("test", "gripper"), base_actions=BASE)


def drop_snapshots(lib: ActionLibrary) -> None:
    """Delete every release snapshot: the store as a library without them wrote it."""
    for part in ("snapshots", "shards"):
        for item in lib.store.search(lib.ns(part), limit=100_000):
            lib.store.delete(item.namespace, item.key)
