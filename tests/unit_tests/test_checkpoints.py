"""Where runs keep checkpoints: SQLite files, PostgreSQL URLs, and the sentences they fail with.

Offline: PostgreSQL failures come from a Unix socket nobody listens on, or from a fake
connection; the real server is in ``tests/integration_tests/test_checkpoints_postgres.py``.
"""

from __future__ import annotations

import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from langgraph.checkpoint.sqlite import SqliteSaver
from typer.testing import CliRunner

from learnact_langgraph.checkpoints import (
    CheckpointError,
    CheckpointSchemaError,
    describe_checkpoints,
    open_checkpointer,
    setup_checkpoints,
)
from learnact_langgraph.cli import USER_ERROR_EXIT, app
from learnact_langgraph.errors import LearnActError
from learnact_langgraph.graphs import resumable

runner = CliRunner()
GEN = ["learn", "--model", "scripted", "--tasks", "generated", "--k", "1", "--rounds", "1"]


def _one_sentence(text: str) -> str:
    lines = text.strip().splitlines()
    assert len(lines) == 1, text
    assert "Traceback" not in text
    return lines[0]


@pytest.fixture
def nowhere(tmp_path: Path) -> str:
    """A PostgreSQL URL (with a password) on a Unix socket folder where no server listens."""
    return f"postgresql://me:hunter2@/learn?host={tmp_path}"


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    for var in ("LEARNACT_MODEL", "LEARNACT_LIBRARY", "LEARNACT_CONFIG", "LEARNACT_CHECKPOINTS"):
        monkeypatch.delenv(var, raising=False)
    return tmp_path


# ----- SQLite ---------------------------------------------------------------------------
def test_a_sqlite_path_is_created_with_its_folder(tmp_path: Path) -> None:
    path = tmp_path / "new" / "cp.sqlite"
    with open_checkpointer(path) as saver:
        assert isinstance(saver, SqliteSaver)
        assert saver.get_tuple({"configurable": {"thread_id": "t"}}) is None
    assert path.is_file()
    assert not resumable.has_checkpoints(path)
    resumable.remove_if_empty(path)
    assert not path.exists()


def test_a_missing_sqlite_file_is_refused_without_create(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="No checkpoint file at") as err:
        with open_checkpointer(tmp_path / "gone.sqlite", create=False):
            pass
    assert not (tmp_path / "gone.sqlite").exists()
    assert isinstance(err.value, LearnActError)


def test_a_folder_is_not_a_checkpoint_file(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="pass --checkpoint with a writable file path"):
        with open_checkpointer(tmp_path):
            pass


def test_the_old_sqlite_checkpointer_still_works(tmp_path: Path) -> None:
    with resumable.sqlite_checkpointer(tmp_path / "cp.sqlite") as saver:
        assert isinstance(saver, SqliteSaver)


# ----- PostgreSQL -----------------------------------------------------------------------
def test_urls_are_named_without_their_password(nowhere: str, tmp_path: Path) -> None:
    assert describe_checkpoints(nowhere) == f"postgresql://me:***@/learn?host={tmp_path}"
    assert describe_checkpoints("~/cp.sqlite") == str(Path("~/cp.sqlite").expanduser())
    assert resumable.has_checkpoints(nowhere)
    resumable.remove_if_empty(nowhere)  # a database is never removed


def test_without_the_postgres_extra_the_sentence_says_what_to_install(
    nowhere: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "langgraph.checkpoint.postgres", None)
    with pytest.raises(CheckpointError) as err:
        with open_checkpointer(nowhere):
            pass
    assert str(err.value) == (
        "PostgreSQL checkpoints need the postgres extra: "
        "pip install 'learnact-langgraph[postgres]'."
    )


def test_an_unreachable_server_is_one_sentence_without_the_password(nowhere: str) -> None:
    with pytest.raises(CheckpointError) as err:
        with open_checkpointer(nowhere):
            pass
    text = _one_sentence(str(err.value))
    assert text.startswith(
        "Cannot connect to the PostgreSQL checkpoint database postgresql://me:***@"
    )
    assert "hunter2" not in text
    assert text.endswith(
        "check that the server is running and the URL, user and password are right."
    )


def test_a_refused_password_is_one_sentence(monkeypatch: pytest.MonkeyPatch) -> None:
    import psycopg

    def refuse(*args: Any, **kwargs: Any) -> Any:
        assert "connect_timeout=10" in args[0]
        assert kwargs == {
            "autocommit": True,
            "prepare_threshold": 0,
            "row_factory": psycopg.rows.dict_row,
        }
        raise psycopg.OperationalError('password authentication failed for user "me" (s3cret)')

    monkeypatch.setattr(psycopg.Connection, "connect", refuse)
    with pytest.raises(CheckpointError) as err:
        with open_checkpointer("postgres://me:s3cret@db.example/learn"):
            pass
    text = _one_sentence(str(err.value))
    assert "postgres://me:***@db.example/learn" in text
    assert 'password authentication failed for user "me" (***)' in text


class _FakeConn:
    """Answers the table checks; records every statement, so DDL would show."""

    def __init__(self, tables: bool, version: int | None) -> None:
        self.tables, self.version, self.sql, self.closed = tables, version, [], False

    def execute(self, sql: str, *args: Any) -> Any:
        self.sql.append(sql)
        if "to_regclass" in sql:
            name = "x" if self.tables else None
            return SimpleNamespace(fetchone=lambda: {"t": name, "m": name})
        return SimpleNamespace(fetchone=lambda: {"v": self.version})

    def close(self) -> None:
        self.closed = True


def _fake_server(monkeypatch: pytest.MonkeyPatch, conn: _FakeConn) -> None:
    import psycopg

    monkeypatch.setattr(psycopg.Connection, "connect", lambda *a, **k: conn)


@pytest.mark.parametrize(
    ("tables", "version", "words"),
    [
        (False, None, "has no checkpoint tables: run `learnact db setup {url}` once"),
        (True, 2, "have an older layout (migration 2, this LangGraph needs"),
        (True, None, "have an older layout (migration -1"),
    ],
    ids=["no-tables", "old", "empty-migrations"],
)
def test_a_database_without_current_tables_names_db_setup(
    monkeypatch: pytest.MonkeyPatch, tables: bool, version: int | None, words: str
) -> None:
    url = "postgresql://me:pw@db.example/learn"
    conn = _FakeConn(tables, version)
    _fake_server(monkeypatch, conn)
    with pytest.raises(CheckpointSchemaError) as err:
        with open_checkpointer(url):
            pass
    text = _one_sentence(str(err.value))
    assert words.format(url="postgresql://me:***@db.example/learn") in text
    assert "`learnact db setup postgresql://me:***@db.example/learn`" in text
    assert conn.closed
    assert not [s for s in conn.sql if not s.lstrip().upper().startswith("SELECT")]


def test_a_database_with_current_tables_gives_a_postgres_saver(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from langgraph.checkpoint.postgres import PostgresSaver

    conn = _FakeConn(True, len(PostgresSaver.MIGRATIONS) - 1)
    _fake_server(monkeypatch, conn)
    with open_checkpointer("postgresql://db.example/learn") as saver:
        assert isinstance(saver, PostgresSaver) and saver.conn is conn
        assert not conn.closed
    assert conn.closed


def test_setup_refuses_a_file(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="is not a postgresql:// URL"):
        setup_checkpoints(str(tmp_path / "cp.sqlite"))


# ----- learnact db setup ----------------------------------------------------------------
def test_db_setup_of_a_file_is_one_line_exit_2(work: Path) -> None:
    result = runner.invoke(app, ["db", "setup", "lib.db"])
    assert result.exit_code == USER_ERROR_EXIT == 2
    assert "is not a postgresql:// URL" in _one_sentence(result.stderr)
    assert not (work / "lib.db").exists()


def test_db_setup_of_an_unreachable_server_is_one_line_exit_2(work: Path, nowhere: str) -> None:
    result = runner.invoke(app, ["db", "setup", nowhere])
    assert result.exit_code == 2
    line = _one_sentence(result.stderr)
    assert "Cannot connect to the PostgreSQL checkpoint database postgresql://me:***@" in line
    assert "hunter2" not in result.output


def test_db_setup_takes_the_url_from_the_environment(
    work: Path, nowhere: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LEARNACT_CHECKPOINTS", nowhere)
    result = runner.invoke(app, ["db", "setup"])
    assert result.exit_code == 2
    assert "postgresql://me:***@/learn" in _one_sentence(result.stderr)


def test_db_setup_needs_a_url(work: Path) -> None:
    result = runner.invoke(app, ["db", "setup"])
    assert result.exit_code == 2
    assert "Missing argument 'URL'" in _one_sentence(result.stderr)


def test_db_is_listed_in_the_help() -> None:
    result = runner.invoke(app, ["--help"])
    assert "Set up a PostgreSQL database" in result.output


# ----- learnact learn -------------------------------------------------------------------
def test_learn_names_its_thread_and_checkpoint_file(work: Path) -> None:
    result = runner.invoke(
        app, [*GEN, "--store", "lib.db", "--checkpoint", "cp.sqlite", "--thread", "mine"]
    )
    assert result.exit_code == 0, result.output
    assert "checkpointing run mine in cp.sqlite" in " ".join(result.stdout.split())
    assert not (work / "cp.sqlite").exists()  # the finished run deleted its thread


def test_learn_takes_the_checkpoint_from_the_environment(
    work: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LEARNACT_CHECKPOINTS", str(work / "env.sqlite"))
    result = runner.invoke(app, [*GEN, "--store", "lib.db"])
    assert result.exit_code == 0, result.output
    assert f"in {work / 'env.sqlite'}" in " ".join(result.stdout.split())


def test_learn_on_an_unreachable_database_is_one_line_and_leaves_no_store(
    work: Path, nowhere: str
) -> None:
    result = runner.invoke(app, [*GEN, "--store", "lib.db", "--checkpoint", nowhere])
    assert result.exit_code == 2
    assert "postgresql://me:***@/learn" in _one_sentence(result.stderr)
    assert "hunter2" not in result.output
    assert not (work / "lib.db").exists()


def test_learn_refuses_a_thread_without_a_checkpoint(work: Path) -> None:
    result = runner.invoke(app, [*GEN, "--store", "lib.db", "--thread", "t", "--no-checkpoint"])
    assert result.exit_code == 2
    assert "keeps no checkpoint" in _one_sentence(result.stderr)
    assert not (work / "lib.db").exists()


class _Graph:
    """Enough of a compiled graph for ``pick_thread``: one snapshot per thread."""

    def __init__(self, snaps: dict[str, Any]) -> None:
        self.snaps = snaps

    def get_state(self, config: Any) -> Any:
        empty = SimpleNamespace(values={}, next=())
        return self.snaps.get(config["configurable"]["thread_id"], empty)


class _Saver:
    def __init__(self, graph: _Graph) -> None:
        self.graph, self.deleted = graph, []

    def delete_thread(self, thread: str) -> None:
        self.deleted.append(thread)
        self.graph.snaps.pop(thread, None)


def test_an_explicit_thread_that_finished_needs_fresh() -> None:
    graph = _Graph({"done": SimpleNamespace(values={"status": "published"}, next=())})
    saver: Any = _Saver(graph)
    with pytest.raises(LearnActError, match="The run done in db already finished; pass --fresh"):
        resumable.pick_thread(graph, saver, "learn-x", "done", where="db")
    run, state = resumable.pick_thread(graph, saver, "learn-x", "done", fresh=True)
    assert (run, state.status, saver.deleted) == ("done", "new", ["done"])


def test_an_explicit_unfinished_thread_is_resumed_or_deleted_with_fresh() -> None:
    def graph() -> _Graph:
        snap = SimpleNamespace(values={"results": {"a": 1, "b": 2}}, next=("act", "act"))
        return _Graph({"run-1": snap})

    kept: Any = _Saver(graph())
    run, state = resumable.pick_thread(kept.graph, kept, "learn-x", "run-1")
    assert (run, state.status, kept.deleted) == ("run-1", "unfinished", [])
    wiped: Any = _Saver(graph())
    run, state = resumable.pick_thread(wiped.graph, wiped, "learn-x", "run-1", fresh=True)
    assert (run, state.status, wiped.deleted) == ("run-1", "new", ["run-1"])


def test_without_a_thread_the_settings_pick_it_and_skip_a_finished_one() -> None:
    done = SimpleNamespace(values={"status": "published"}, next=())
    graph = _Graph({"learn-x": done})
    saver: Any = _Saver(graph)
    run, state = resumable.pick_thread(graph, saver, "learn-x")
    assert (run, state.status, saver.deleted) == ("learn-x-2", "new", [])
