"""`learnact data fetch` against a loopback HTTP server serving a copy of the data."""

from __future__ import annotations

import functools
import http.server
import shutil
import socket
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from learnact_langgraph.cli import app
from learnact_langgraph.data import get_dataset, require
from learnact_langgraph.errors import DataDirError
from learnact_langgraph.fetch import fetch_dataset

runner = CliRunner()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


def _unused_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve(directory: Path) -> Iterator[str]:
    handler = functools.partial(_QuietHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def upstream(data_dir: Path) -> Iterator[str]:
    """The shared PDDL files, served unchanged."""
    yield from _serve(data_dir / "agentboard_pddl")


@pytest.fixture
def tampered(data_dir: Path, tmp_path: Path) -> Iterator[str]:
    """A copy of the files with one byte of gripper/prob03.pddl changed."""
    copy = tmp_path / "served"
    shutil.copytree(data_dir / "agentboard_pddl", copy)
    victim = copy / "gripper" / "prob03.pddl"
    raw = bytearray(victim.read_bytes())
    raw[10] = ord("X") if raw[10] != ord("X") else ord("Y")
    victim.write_bytes(bytes(raw))
    yield from _serve(copy)


def test_fetch_then_require_then_skip(upstream: str, tmp_path: Path, data_dir: Path) -> None:
    target = tmp_path / "data"
    first = runner.invoke(
        app,
        ["data", "fetch", "robotic-planning", "--data-dir", str(target), "--base-url", upstream],
    )
    assert first.exit_code == 0, first.output
    assert "64 downloaded, 0 already present" in first.output
    root = require("robotic-planning", target)
    assert root == target / "agentboard_pddl"
    original = data_dir / "agentboard_pddl" / "blockworld" / "problem10.pddl"
    assert (root / "blockworld" / "problem10.pddl").read_bytes() == original.read_bytes()
    assert not list(root.rglob("*.part"))

    second = fetch_dataset("robotic-planning", target, base_url=upstream)
    assert second.downloaded == [] and len(second.skipped) == 64

    # A damaged local file is replaced; the rest are still skipped.
    (root / "barman" / "p05.pddl").write_text("garbage")
    third = fetch_dataset("robotic-planning", target, base_url=upstream)
    assert third.downloaded == ["barman/p05.pddl"] and len(third.skipped) == 63

    forced = fetch_dataset("robotic-planning", target, base_url=upstream, force=True)
    assert len(forced.downloaded) == 64

    listing = runner.invoke(app, ["data", "path", "--data-dir", str(target)])
    assert listing.exit_code == 0
    assert str(target) in listing.output and "robotic-planning: complete" in listing.output


def test_tampered_file_is_refused_and_not_kept(tampered: str, tmp_path: Path) -> None:
    target = tmp_path / "data"
    with pytest.raises(DataDirError, match=r"gripper/prob03\.pddl downloaded from .* not kept"):
        fetch_dataset("robotic-planning", target, base_url=tampered)
    bad = target / "agentboard_pddl" / "gripper" / "prob03.pddl"
    assert not bad.exists()
    assert not list(bad.parent.glob("*.part"))
    # Files before the bad one were verified and kept; require still refuses the whole set.
    assert (target / "agentboard_pddl" / "gripper" / "prob02.pddl").is_file()
    with pytest.raises(DataDirError, match="is incomplete"):
        require("robotic-planning", target)

    result = runner.invoke(
        app,
        ["data", "fetch", "robotic-planning", "--data-dir", str(target), "--base-url", tampered],
    )
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert "gripper/prob03.pddl" in result.stderr and "SHA-256" in result.stderr


def test_unreachable_url_gives_one_clear_error(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{_unused_port()}/nothing"
    result = runner.invoke(
        app,
        ["data", "fetch", "robotic-planning", "--data-dir", str(tmp_path), "--base-url", url],
    )
    assert result.exit_code == 2
    error_lines = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(error_lines) == 1
    line = error_lines[0]
    assert f"Could not download {url}/" in line
    assert "--base-url" in line and "LEARNACT_DATA_DIR" in line
    assert "Traceback" not in result.output


@pytest.fixture
def empty_upstream(tmp_path: Path) -> Iterator[str]:
    """A server with nothing to serve (no benchmark data needed)."""
    (tmp_path / "served").mkdir()
    yield from _serve(tmp_path / "served")


def test_missing_file_upstream_names_the_url(empty_upstream: str, tmp_path: Path) -> None:
    with pytest.raises(
        DataDirError, match=r"Could not download .*/nowhere/barman\.pddl \(HTTP 404"
    ):
        fetch_dataset("robotic-planning", tmp_path / "data", base_url=f"{empty_upstream}/nowhere")


# ----- AlfWorld: one upstream zip, of which the 134 games are kept ---------------------------
def _release_zip(games: Path, target: Path, *, drop: str = "", tamper: str = "") -> Path:
    """A zip laid out like ALFWorld's release: ``json_2.1.1/...`` plus files we do not keep."""
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as out:
        for path in sorted(games.rglob("game.tw-pddl")):
            rel = path.relative_to(games).as_posix()
            if rel == drop:
                continue
            body = path.read_bytes()
            out.writestr(rel, body + b" " if rel == tamper else body)
            out.writestr(rel.replace("game.tw-pddl", "traj_data.json"), b"{}")
        out.writestr("json_2.1.1/train/other/trial/game.tw-pddl", b"{}")
    return target


@pytest.fixture
def alfworld_release(alfworld_data_dir: Path, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """The shared games zipped like the upstream release and served on loopback."""
    games = alfworld_data_dir / "alfworld_valid_unseen_134"
    served = tmp_path / "served"
    served.mkdir()
    _release_zip(games, served / "json_2.1.1_pddl.zip")
    first = sorted(get_dataset("alfworld").checksums())[0]
    _release_zip(games, served / "short.zip", drop=first)
    _release_zip(games, served / "tampered.zip", tamper=first)
    (served / "not-a.zip").write_text("<html>moved</html>")
    for url in _serve(served):
        yield url, games


def test_alfworld_fetch_keeps_the_134_games_verified(
    alfworld_release: tuple[str, Path], tmp_path: Path
) -> None:
    url, games = alfworld_release
    target = tmp_path / "data"
    first = runner.invoke(
        app,
        [
            "data",
            "fetch",
            "alfworld",
            "--data-dir",
            str(target),
            "--base-url",
            f"{url}/json_2.1.1_pddl.zip",
        ],
    )
    assert first.exit_code == 0, first.output
    assert "134 downloaded, 0 already present" in first.output
    root = require("alfworld", target)
    kept = sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())
    assert kept == sorted(get_dataset("alfworld").checksums())  # nothing else, no zip left
    rel = kept[5]
    assert (root / rel).read_bytes() == (games / rel).read_bytes()

    again = fetch_dataset("alfworld", target, base_url=f"{url}/not-a.zip")
    assert again.downloaded == [] and len(again.skipped) == 134  # nothing to download

    (root / rel).write_text("damaged")
    repaired = fetch_dataset("alfworld", target, base_url=f"{url}/json_2.1.1_pddl.zip")
    assert repaired.downloaded == [rel] and len(repaired.skipped) == 133


@pytest.mark.parametrize(
    ("archive", "message"),
    [
        ("short.zip", r"lacks 1 of the needed files"),
        ("tampered.zip", r"has SHA-256 .* not kept"),
        ("not-a.zip", r"is not a readable zip archive"),
    ],
)
def test_a_wrong_alfworld_archive_is_refused_clearly(
    alfworld_release: tuple[str, Path], tmp_path: Path, archive: str, message: str
) -> None:
    url, _ = alfworld_release
    target = tmp_path / "data"
    with pytest.raises(DataDirError, match=message):
        fetch_dataset("alfworld", target, base_url=f"{url}/{archive}")
    root = target / "alfworld_valid_unseen_134"
    assert not list(root.rglob("*.part")) and not (root / ".download.zip").exists()
    result = runner.invoke(
        app,
        ["data", "fetch", "alfworld", "--data-dir", str(target), "--base-url", f"{url}/{archive}"],
    )
    assert result.exit_code == 2 and "Traceback" not in result.output
