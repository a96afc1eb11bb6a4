"""A walk through every way a user can get a command wrong, and what it must leave behind.

Each case is one command line that has to fail with exit code 2 and exactly one line
of output (``Error: ... .`` on stderr, no traceback, no rich box) and leave the working
folder byte for byte as it was: no store created or migrated, no ``.lock`` file, no
results folder. The cases cover bad numbers and usage, stores that are not libraries,
read-only commands, the shared default prefix, and runs that fail before they record
anything. Everything runs offline (``--model scripted``, ``--tasks generated``) with no
benchmark data directory.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from pathlib import Path

import pytest
from langgraph.store.sqlite import SqliteStore
from typer.testing import CliRunner

from learnact_langgraph.bench.runner import BenchConfig
from learnact_langgraph.cli import app
from learnact_langgraph.envs.base import BaseAction, Param
from learnact_langgraph.errors import LearnActError
from learnact_langgraph.graphs.learner_state import LearnerContext
from learnact_langgraph.library import ActionLibrary

runner = CliRunner()

BASE = [
    BaseAction("move", (Param("room1"), Param("room2")), "Move Robby between rooms."),
    BaseAction("pick", (Param("obj"), Param("room"), Param("gripper")), "Pick up a ball."),
    BaseAction("drop", (Param("obj"), Param("room"), Param("gripper")), "Drop a ball."),
]
GO = "def go(src, dst):\n    return move(src, dst)\n"
GO_2 = "def go(src, dst):\n    move(src, dst)\n    return 'moved'\n"
GEN = ["--model", "scripted", "--tasks", "generated"]
LEARN = ["learn", *GEN]


def make_library(path: Path, prefix: str = "learnact/gripper") -> None:
    """A real two-release library file, without the ``.lock`` its writes leave."""
    with SqliteStore.from_conn_string(str(path)) as store:
        store.setup()
        lib = ActionLibrary(store, prefix, base_actions=BASE)
        lib.add(GO, description="Walk Robby.")
        lib.revise("go", source=GO_2, note="Returns a fixed word.")
    Path(f"{path}.lock").unlink()


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working folder with one file of each kind a user might pass by mistake."""
    monkeypatch.chdir(tmp_path)
    for var in ("LEARNACT_MODEL", "LEARNACT_LIBRARY_PREFIX", "LEARNACT_CONFIG", "OPENAI_API_KEY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("LEARNACT_DATA_DIR", str(tmp_path / "no-data"))
    monkeypatch.setenv("LEARNACT_LIBRARY", str(tmp_path / "default.db"))
    monkeypatch.setenv("LEARNACT_BENCH_DIR", str(tmp_path / "bench-results"))
    monkeypatch.setenv("COLUMNS", "80")
    make_library(tmp_path / "lib.db")
    (tmp_path / "truncated.db").write_bytes((tmp_path / "lib.db").read_bytes()[:8192])
    (tmp_path / "garbage.db").write_bytes(b"this is not a database\n" * 10)
    (tmp_path / "manifest.json").write_text(json.dumps({"hello": "world"}))
    (tmp_path / "adir").mkdir()
    other = sqlite3.connect(tmp_path / "other.db")
    other.execute("CREATE TABLE notes (text TEXT)")
    other.commit()
    other.close()
    (tmp_path / "existing").mkdir()
    (tmp_path / "existing" / "keep.txt").write_text("mine\n")
    return tmp_path


def tree(root: Path) -> dict[str, str]:
    """Every file and folder under ``root`` with a hash of its bytes."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames:
            out[os.path.relpath(os.path.join(dirpath, name), root)] = "dir"
        for name in filenames:
            path = Path(dirpath, name)
            out[os.path.relpath(path, root)] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def _one_line_exit_2(args: list[str], expected: str) -> None:
    result = runner.invoke(app, args)
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert result.exit_code == 2, result.output
    assert len(lines) == 1, result.output
    assert "Traceback" not in result.output and "╭" not in result.output
    assert result.stdout == ""
    assert lines[0].startswith("Error: ") and lines[0].endswith("."), lines[0]
    assert expected in lines[0], lines[0]


BAD_NUMBERS = [
    (["bench", "--tasks-per-domain", "-1"], "'--tasks-per-domain': must be at least 1, got -1."),
    (["bench", "--max-steps", "0"], "'--max-steps': must be at least 1, got 0."),
    (["bench", "--max-steps", "-5"], "'--max-steps': must be at least 1, got -5."),
    (["bench", "--train-steps", "0"], "'--train-steps': must be at least 1, got 0."),
    (["bench", "--train-steps", "-3"], "'--train-steps': must be at least 1"),
    (["bench", "--rounds", "-1"], "'--rounds': must be at least 0, got -1."),
    (["bench", "-j", "0"], "'-j': must be at least 1, got 0."),
    (["bench", "-j", "-2"], "'-j': must be at least 1, got -2."),
    (["bench", "--repeats", "0"], "'--repeats': must be at least 1, got 0."),
    (["bench", "-m", "learnact", "--k", "0"], "'--k': must be at least 1, got 0."),
    (["bench", "--memory-steps", "-1"], "'--memory-steps': must be at least 0"),
    (["bench", "--k", "abc"], "Invalid value for '--k'"),
    (["bench", "--tasks", "nope"], "must be one of benchmark, generated"),
    (["learn", "--train-steps", "-3"], "'--train-steps': must be at least 1, got -3."),
    (["learn", "--k", "0"], "'--k': must be at least 1"),
    (["learn", "--rounds", "-1"], "'--rounds': must be at least 0"),
    (["eval", "--max-steps", "0"], "'--max-steps': must be at least 1"),
    (["eval", "--tasks-per-domain", "0"], "'--tasks-per-domain': must be at least 1"),
    (["eval", "--repeats", "0"], "'--repeats': must be at least 1"),
    (["data", "fetch", "robotic-planning", "--timeout", "0"], "must be greater than 0, got 0."),
    (["library", "ls", "--store", "lib.db", "--release", "-1"], "'--release': must be at least 0"),
    (["library", "show", "go", "--store", "lib.db", "--version", "0"], "must be at least 1"),
    (["library", "diff", "go", "0", "--store", "lib.db"], "must be at least 1, got 0."),
    (["library", "rollback", "go", "--to", "0", "--store", "lib.db"], "'--to': must be at"),
    (["library", "rollback", "--release", "-1", "--store", "lib.db"], "'--release': must be"),
    (["demo", "--k", "0"], "'--k': must be at least 1, got 0."),
    (["demo", "--rounds", "-1"], "'--rounds': must be at least 0, got -1."),
    (["demo", "--size", "0"], "'--size': must be at least 1, got 0."),
    (["demo", "--model", "nosuchprovider:x"], "Cannot make a chat model from 'nosuchprovider:x'"),
]
USAGE = [
    (["bench", "--nope"], "No such option: --nope"),
    (["--nope"], "No such option: --nope"),
    (["benchh"], "No such command 'benchh'"),
    (["library", "show"], "Missing argument"),
    (["bench", "--k", "1", "--k"], "Option '--k' requires an argument."),
]
NOT_A_STORE = [
    (["library", "ls", "--store", "garbage.db"], "garbage.db is not a SQLite library file"),
    (["library", "ls", "--store", "truncated.db"], "truncated.db is damaged"),
    (["library", "ls", "--store", "manifest.json"], "manifest.json is a JSON file"),
    (["library", "ls", "--store", "adir"], "adir is a folder"),
    (["library", "ls", "--store", "other.db"], "other.db is a SQLite database but not an action"),
    (["library", "export", "--store", "truncated.db", "-o", "x.json"], "damaged"),
    (["library", "rollback", "--release", "0", "--store", "other.db"], "not an action library"),
    ([*LEARN, "--store", "other.db"], "not an action library"),
    ([*LEARN, "--store", "garbage.db"], "is not a SQLite library file"),
    ([*LEARN, "--store", "truncated.db"], "damaged"),
    ([*LEARN, "--store", "adir"], "adir is a folder"),
    (["library", "import", "manifest.json", "--store", "new.db"], "not a learnact library"),
    (["library", "import", "manifest.json", "--store", "other.db"], "not a learnact library"),
    (["eval", *GEN, "--store", "other.db", "-d", "gripper"], "not an action library"),
]
READ_ONLY = [
    (["library", "ls", "--store", "typo.db"], "No action library at typo.db: run `learnact lea"),
    (["library", "ls", "--store", "sub/dir/typo.db"], "No action library at sub/dir/typo.db"),
    (["library", "ls"], "default.db: run `learnact learn --store"),
    (["library", "show", "go", "--store", "typo.db"], "No action library at typo.db"),
    (["library", "history", "go", "--store", "typo.db"], "No action library"),
    (["library", "diff", "go", "1", "--store", "typo.db"], "No action library"),
    (["library", "releases", "--store", "typo.db"], "No action library"),
    (["library", "export", "--store", "typo.db", "-o", "x.json"], "No action library"),
    (["library", "rollback", "go", "--to", "1", "--store", "typo.db"], "No action library"),
    (["eval", *GEN, "--store", "typo.db", "-d", "gripper"], "No action library at typo.db"),
    (["library", "ls", "--store", "lib.db", "-d", "blockworld"], "it holds learnact/gripper"),
    (["library", "show", "nope", "--store", "lib.db"], "no action named 'nope'"),
]
NOTHING_LEFT = [
    (["bench", "--model", "scripted", "-d", "gripper", "-o", "results"], "data in"),
    (["bench", "--model", "scripted", "-d", "gripper", "-o", "existing"], "missing"),
    (["bench", "-m", "act", "-d", "gripper"], "No agent model is configured"),
    (["bench", "--model", "nosuchprovider:x", "--tasks", "generated", "-o", "r"], "nosuchprovi"),
    (["eval", "--model", "scripted", "-d", "gripper", "-o", "results"], "missing"),
    (["eval", "--model", "scripted", "--store", "lib.db", "-d", "gripper"], "missing"),
    (["learn", "--model", "scripted", "--store", "new.db"], "missing"),
    (["learn", "--model", "scripted", "--store", "sub/new.db"], "missing"),
    (["learn", "--model", "nosuchprovider:x", "--tasks", "generated", "--store", "n.db"], "nosu"),
    (["learn", "--model", "openai:gpt-4o-mini", "--tasks", "generated", "--store", "n.db"], "gpt"),
    (["learn", *GEN, "-d", "nosuch", "--store", "new.db"], "Unknown environment 'nosuch'"),
    (["bench", "--model", "scripted", "-d", "alfworld_put", "-o", "r"], "data fetch alfworld"),
    (["learn", "--model", "scripted", "-d", "alfworld_heat", "--store", "n.db"], "fetch alfworld"),
    (["learn", *GEN, "-d", "alfworld_cool", "--store", "n.db"], "only the paper's games"),
]
CASES = [
    *[pytest.param(a, e, id="number:" + " ".join(a)) for a, e in BAD_NUMBERS],
    *[pytest.param(a, e, id="usage:" + " ".join(a)) for a, e in USAGE],
    *[pytest.param(a, e, id="store:" + " ".join(a)) for a, e in NOT_A_STORE],
    *[pytest.param(a, e, id="read:" + " ".join(a)) for a, e in READ_ONLY],
    *[pytest.param(a, e, id="litter:" + " ".join(a)) for a, e in NOTHING_LEFT],
]


# urllib3 probes for IPv6 with a socket when langchain-openai is first imported
@pytest.mark.filterwarnings("ignore:A test tried to use socket")
@pytest.mark.parametrize(("args", "expected"), CASES)
def test_each_mistake_is_one_line_exit_2_and_changes_nothing(
    work: Path, args: list[str], expected: str
) -> None:
    before = tree(work)
    _one_line_exit_2(args, expected)
    assert tree(work) == before


@pytest.mark.allow_hosts(["127.0.0.1"])
@pytest.mark.parametrize(
    "args",
    [["library", "ls"], ["library", "import", "m.json"], LEARN],
    ids=["ls", "import", "learn"],
)
def test_unreachable_postgres_is_one_line_without_the_password(work: Path, args: list[str]) -> None:
    """Port 1 on loopback refuses at once; the URL is shown with its password hidden."""
    exported = runner.invoke(app, ["library", "export", "--store", "lib.db", "-o", "m.json"])
    assert exported.exit_code == 0, exported.output
    _one_line_exit_2(
        [*args, "--store", "postgresql://user:secret@127.0.0.1:1/db"],
        "Cannot connect to the PostgreSQL store postgresql://user:***@127.0.0.1:1/db",
    )


def test_read_commands_leave_the_store_byte_identical(work: Path) -> None:
    before = tree(work)
    for args in (
        ["ls"],
        ["ls", "--json", "--release", "1"],
        ["show", "go"],
        ["history", "go"],
        ["diff", "go", "1", "2"],
        ["releases"],
        ["export", "-f", "python"],
    ):
        result = runner.invoke(app, ["library", *args, "--store", "lib.db"])
        assert result.exit_code == 0, result.output
    evaluated = runner.invoke(
        app, ["eval", *GEN, "--store", "lib.db", "-d", "gripper", "--tasks-per-domain", "1",
              "-o", "ev"],
    )  # fmt: skip
    assert evaluated.exit_code == 0, evaluated.output
    after = tree(work)
    assert {k: v for k, v in after.items() if not k.startswith("ev")} == before
    assert not (work / "lib.db.lock").exists()


def test_learn_library_import_and_eval_agree_on_the_prefix(work: Path) -> None:
    learned = runner.invoke(
        app, ["learn", *GEN, "--store", "mine.db", "--k", "1", "--rounds", "1",
              "--train-steps", "20"],
    )  # fmt: skip
    assert learned.exit_code == 0, learned.output
    said = " ".join(learned.output.split())
    assert "published 1 actions to mine.db at prefix learnact/gripper" in said
    listed = runner.invoke(app, ["library", "ls", "--store", "mine.db", "--json"])
    assert [a["name"] for a in json.loads(listed.output)] == ["carry_ball"]

    exported = runner.invoke(app, ["library", "export", "--store", "mine.db", "-o", "m.json"])
    assert exported.exit_code == 0, exported.output
    imported = runner.invoke(app, ["library", "import", "m.json", "--store", "team.db"])
    assert imported.exit_code == 0, imported.output
    assert "into team.db at prefix learnact/gripper" in " ".join(imported.output.split())
    evaluated = runner.invoke(
        app, ["eval", *GEN, "--store", "team.db", "-d", "gripper", "--tasks-per-domain", "1",
              "-o", "ev"],
    )  # fmt: skip
    assert evaluated.exit_code == 0, evaluated.output
    record = json.loads((work / "ev" / "episodes.jsonl").read_text().splitlines()[0])
    assert record["extra"]["learned_actions"] == ["carry_ball"]


def test_prefix_option_and_environment_variable_still_pick_any_library(
    work: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_library(work / "team.db", prefix="team/gripper")
    flag = runner.invoke(app, ["library", "ls", "--store", "team.db", "--prefix", "team/gripper"])
    assert flag.exit_code == 0 and "team/gripper (release 2, 1 actions)" in flag.output
    monkeypatch.setenv("LEARNACT_LIBRARY_PREFIX", "team/gripper")
    env = runner.invoke(app, ["library", "ls", "--store", "team.db"])
    assert env.exit_code == 0 and "team/gripper (release 2, 1 actions)" in env.output


def test_a_learn_that_fails_after_creating_the_store_removes_it(
    work: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The safety net behind the checks: a run that dies mid-way takes its new store along."""
    import learnact_langgraph.graphs.learner as learner

    class Broken:
        def __init__(self, *args: object, **kwargs: object) -> None:
            pass

        def get_state(self, *args: object, **kwargs: object) -> object:
            from types import SimpleNamespace

            return SimpleNamespace(values={}, next=())

        def stream(self, *args: object, **kwargs: object) -> object:
            raise LearnActError("The learner broke on purpose.")

    monkeypatch.setattr(learner, "learner_graph", Broken)
    before = tree(work)
    result = runner.invoke(app, [*LEARN, "--store", "deep/new.db"])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert result.output.strip().splitlines()[-1] == "Error: The learner broke on purpose."
    assert tree(work) == before


def test_a_bench_whose_every_episode_fails_leaves_no_folder(
    work: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from learnact_langgraph.bench import methods

    def broken(*args: object, **kwargs: object) -> object:
        raise LearnActError("The model call failed on purpose.")

    monkeypatch.setattr(methods, "episode", broken)
    before = tree(work)
    for out in ("results", "existing"):
        result = runner.invoke(
            app, ["bench", *GEN, "-m", "act", "-d", "gripper", "--tasks-per-domain", "1",
                  "-o", out],
        )  # fmt: skip
        assert result.exit_code == 2 and "failed on purpose" in result.output
        assert "Traceback" not in result.output
    assert tree(work) == before


@pytest.mark.parametrize(
    ("make", "field"),
    [
        (lambda: BenchConfig(k=0), "BenchConfig.k must be at least 1, got 0."),
        (lambda: BenchConfig(tasks_per_domain=-1), "BenchConfig.tasks_per_domain"),
        (lambda: BenchConfig(repeats=0), "BenchConfig.repeats must be at least 1"),
        (lambda: BenchConfig(rounds=-1), "BenchConfig.rounds must be at least 0"),
        (lambda: BenchConfig(concurrency=0), "BenchConfig.concurrency"),
        (lambda: BenchConfig(max_steps=-5), "BenchConfig.max_steps"),
        (lambda: BenchConfig(memory_steps=-1), "BenchConfig.memory_steps must be at least 0"),
        (lambda: BenchConfig(k=1.5), "BenchConfig.k must be an integer"),  # type: ignore[arg-type]
        (lambda: BenchConfig(tasks="nope"), "BenchConfig.tasks must be one of"),
        (lambda: LearnerContext(k=0), "LearnerContext.k must be at least 1, got 0."),
        (lambda: LearnerContext(rounds=-1), "LearnerContext.rounds must be at least 0"),
        (lambda: LearnerContext(train_steps=-3), "LearnerContext.train_steps"),
        (lambda: LearnerContext(memory_steps=-1), "LearnerContext.memory_steps"),
        (lambda: LearnerContext(sample_concurrency=0), "LearnerContext.sample_concurrency"),
        (lambda: LearnerContext(temperature=-0.1), "LearnerContext.temperature"),
    ],
)
def test_settings_objects_reject_bad_numbers(make: object, field: str) -> None:
    with pytest.raises(LearnActError) as info:
        make()  # type: ignore[operator]
    message = str(info.value)
    assert field in message and message.endswith(".") and "\n" not in message


def test_zero_where_it_means_something_is_accepted() -> None:
    assert BenchConfig(rounds=0, memory_steps=0).rounds == 0
    assert LearnerContext(rounds=0, memory_steps=0).memory_steps == 0


def test_alfworld_without_its_extra_names_the_install_command(
    work: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As on a machine where the alfworld extra was never installed."""
    import sys

    monkeypatch.setitem(sys.modules, "fast_downward", None)
    before = tree(work)
    _one_line_exit_2(
        ["bench", "--model", "scripted", "-d", "alfworld", "-o", "r"],
        "pip install 'learnact-langgraph[alfworld]'",
    )
    assert tree(work) == before
