"""Export and import: byte-identical manifest round trips, a standalone module, OpenAI schemas."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from langgraph.store.memory import InMemoryStore
from langgraph.store.sqlite import SqliteStore

from learnact_langgraph.envs.pddl import load_env
from learnact_langgraph.errors import LibraryError
from learnact_langgraph.library import ActionLibrary
from learnact_langgraph.library_export import (
    export_manifest,
    export_openai,
    export_python,
    import_manifest,
)

from .conftest import BASE, CARRY, GO

DELIVER = '''def deliver_all(balls, src, dst):
    """Carry every ball in balls from src to dst, one at a time."""
    for ball in balls:
        if not carry(ball, src, dst).valid:
            return "stuck at " + ball
        move(dst, src)
    return "delivered"
'''


def _busy_library(lib: ActionLibrary) -> ActionLibrary:
    lib.add(GO, description="Walk.")
    with lib.release(run_id="run-1", message="first round") as rel:
        rel.add(CARRY, description="Carry one ball.", scores={"success": 0.5})
        rel.add("def temp(x):\n    return x\n")
    lib.revise("carry", note="Robby must stand in src.")
    lib.retire("temp")
    lib.rollback("go", 1)
    lib.add(DELIVER, description="Deliver several balls.")
    return lib


def test_manifest_round_trip_is_byte_identical(tmp_path: Path) -> None:
    first = export_manifest(
        _busy_library(ActionLibrary(InMemoryStore(), ("a",), base_actions=BASE))
    )
    with SqliteStore.from_conn_string(str(tmp_path / "lib.db")) as sql:
        sql.setup()
        middle = ActionLibrary(sql, ("team", "gripper"))
        import_manifest(middle, first)
        second = export_manifest(middle)
        again = ActionLibrary(InMemoryStore(), ("b",))
        import_manifest(again, second)
        assert export_manifest(again) == second == first
        data = json.loads(first)
        assert data["schema_version"] == 1 and data["format"] == "learnact-library"
        assert [a["name"] for a in data["actions"]] == ["carry", "deliver_all", "go", "temp"]
        for gen in range(1, middle.generation + 1):
            assert middle.release_contents(gen) == again.release_contents(gen)
        assert middle.history("carry") == again.history("carry")
        assert middle.releases() == again.releases()
        assert again.base_actions == tuple(BASE)


def test_imported_library_keeps_working() -> None:
    src = _busy_library(ActionLibrary(InMemoryStore(), ("a",), base_actions=BASE))
    copy = ActionLibrary(InMemoryStore(), ("b",))
    import_manifest(copy, export_manifest(src))
    revised = copy.revise("carry", note="new", expected_version=src.get("carry").version)
    assert revised.version == src.get("carry").version + 1
    assert copy.generation == src.generation + 1
    assert [a.name for a in copy.search("deliver several balls", k=1)] == ["deliver_all"]


def test_import_errors() -> None:
    text = export_manifest(_busy_library(ActionLibrary(InMemoryStore(), ("a",), base_actions=BASE)))
    target = ActionLibrary(InMemoryStore(), ("b",), base_actions=BASE)
    target.add("def other():\n    return 1\n")
    with pytest.raises(LibraryError, match="not empty"):
        import_manifest(target, text)
    import_manifest(target, text, replace=True)
    assert export_manifest(target) == text and target.head("other") is None
    with pytest.raises(LibraryError, match="not valid JSON"):
        import_manifest(ActionLibrary(InMemoryStore(), ("c",)), "{nope")
    with pytest.raises(LibraryError, match="not a learnact library"):
        import_manifest(ActionLibrary(InMemoryStore(), ("c",)), "[]")
    future = json.loads(text)
    future["schema_version"] = 99
    with pytest.raises(LibraryError, match="schema version 99"):
        import_manifest(ActionLibrary(InMemoryStore(), ("c",)), json.dumps(future))


STANDALONE_DRIVER = """
import importlib.util, sys
spec = importlib.util.spec_from_file_location("learned_actions", sys.argv[1])
mod = importlib.util.module_from_spec(spec)
spec.loader.exec_module(mod)

class Step:
    def __init__(self, observation, valid):
        self.observation, self.valid, self.done = observation, valid, False

class Rooms:
    def __init__(self):
        self.robby, self.balls, self.held = "rooma", {"ball1": "rooma", "ball2": "rooma"}, {}
    def call(self, name, *args):
        if name == "move" and args[0] == self.robby:
            self.robby = args[1]
            return Step("Robby is in " + args[1] + ".", True)
        if name == "pick" and self.balls.get(args[0]) == args[1] == self.robby:
            self.held[args[2]] = self.balls.pop(args[0])
            return Step("Picked " + args[0] + ".", True)
        if name == "drop" and args[2] in self.held and args[1] == self.robby:
            del self.held[args[2]]
            self.balls[args[0]] = args[1]
            return Step("Dropped " + args[0] + ".", True)
        return Step("The action is not valid.", False)

env = mod.bind(Rooms())
print(mod.deliver_all(["ball1", "ball2"], "rooma", "roomb"), sorted(env.balls.items()))
print(sorted(m for m in sys.modules if m.startswith("learnact")))
"""


def test_exported_module_runs_with_no_learnact_import(tmp_path: Path) -> None:
    lib = _busy_library(ActionLibrary(InMemoryStore(), ("a",), base_actions=BASE))
    module = tmp_path / "learned_actions.py"
    module.write_text(export_python(lib))
    assert "learnact_langgraph" not in module.read_text()
    assert "temp" not in module.read_text().split("__all__")[1]  # retired actions are left out
    out = subprocess.run(
        [sys.executable, "-I", "-c", STANDALONE_DRIVER, str(module)],
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
    ).stdout.splitlines()
    assert out == ["delivered [('ball1', 'roomb'), ('ball2', 'roomb')]", "[]"]


REMOTE_DRIVER = """
import importlib.util, json, sys
spec = importlib.util.spec_from_file_location("learned_actions", sys.argv[1])
mod = importlib.util.module_from_spec(spec)
spec.loader.exec_module(mod)

class Step:
    def __init__(self, observation, valid, done):
        self.observation, self.valid, self.done = observation, valid, done

class Remote:
    def call(self, name, *args):
        print(json.dumps({"call": name, "args": list(args)}), flush=True)
        reply = json.loads(sys.stdin.readline())
        return Step(reply["observation"], reply["valid"], reply["done"])

mod.bind(Remote())
result = mod.deliver_all(["ball1", "ball2"], "rooma", "roomb")
modules = sorted(m for m in sys.modules if m.startswith("learnact"))
print(json.dumps({"result": result, "modules": modules}), flush=True)
"""


def test_exported_module_drives_a_pddl_environment(tmp_path: Path, own_data_dir: Path) -> None:
    """The module runs in a process with no learnact import; the real env answers over a pipe."""
    lib = _busy_library(ActionLibrary(InMemoryStore(), ("a",), base_actions=BASE))
    module = tmp_path / "learned_actions.py"
    module.write_text(export_python(lib))
    env = load_env("gripper", data_dir=own_data_dir)  # our problem: four balls in rooma
    env.reset(0)
    child = subprocess.Popen(
        [sys.executable, "-I", "-c", REMOTE_DRIVER, str(module)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
    )
    assert child.stdin is not None and child.stdout is not None
    calls = []
    while True:
        message = json.loads(child.stdout.readline())
        if "call" not in message:
            break
        calls.append(message["call"])
        step = env.call(message["call"], *message["args"])
        reply = {"observation": step.observation, "valid": step.valid, "done": step.done}
        child.stdin.write(json.dumps(reply) + "\n")
        child.stdin.flush()
    assert child.wait(timeout=30) == 0
    assert message == {"result": "delivered", "modules": []}
    assert calls == ["pick", "move", "drop", "move"] * 2 and env.steps == 8
    assert "Ball1 is in roomb" in env.observation and "Ball2 is in roomb" in env.observation


def test_exported_module_is_stable_and_says_to_bind_first(tmp_path: Path) -> None:
    lib = _busy_library(ActionLibrary(InMemoryStore(), ("a",), base_actions=BASE))
    text = export_python(lib)
    assert export_python(lib) == text
    namespace: dict[str, object] = {}
    exec(compile(text, "learned_actions.py", "exec"), namespace)  # our own generated module
    assert namespace["LEARNED_ACTIONS"] == {
        "carry": {"version": 2, "signature": lib.get("carry").signature},
        "deliver_all": {"version": 1, "signature": "deliver_all(balls, src, dst)"},
        "go": {"version": 2, "signature": "go(src, dst)"},
    }
    with pytest.raises(RuntimeError, match="bind"):
        namespace["go"]("rooma", "roomb")  # type: ignore[operator]


def test_openai_schemas() -> None:
    lib = _busy_library(ActionLibrary(InMemoryStore(), ("a",), base_actions=BASE))
    tools = json.loads(export_openai(lib))
    by_name = {t["function"]["name"]: t["function"] for t in tools}
    assert sorted(by_name) == ["carry", "deliver_all", "drop", "go", "move", "pick"]
    carry = by_name["carry"]
    assert carry["parameters"]["required"] == ["obj", "src", "dst"]
    assert carry["parameters"]["properties"]["gripper"] == {"default": "left", "type": "string"}
    assert "Robby must stand in src." in carry["description"]
    assert by_name["move"]["parameters"]["properties"]["room1"] == {"type": "string"}
    assert export_openai(lib) == export_openai(lib)


@pytest.mark.parametrize(
    ("source", "why"),
    [
        ("import os\ndef peek(path):\n    return os.listdir(path)\n", "import of 'os'"),
        ("def peek(path):\n    return open(path)\n", r"open\(\) is not available"),
        ("def peek(*paths):\n    return paths\n", r"\*paths is not allowed"),
    ],
)
def test_import_refuses_a_version_the_gate_refuses(source: str, why: str) -> None:
    lib = ActionLibrary(InMemoryStore(), ("src",), base_actions=BASE)
    lib.add("def peek(path):\n    return path\n")
    data = json.loads(export_manifest(lib))
    data["actions"][0]["versions"][0]["source"] = source
    target = ActionLibrary(InMemoryStore(), ("dst",))
    with pytest.raises(LibraryError, match=f"'peek' v1 cannot be imported: .*{why}"):
        import_manifest(target, json.dumps(data))
    assert target.names() == [] and target.generation == 0
