"""Shared fixtures: where the benchmark data is, and a data directory of our own.

The benchmark files are third-party data that never live in this repository. Tests that
need them take the ``data_dir`` fixture, which finds them the way the package does
(``learnact_langgraph.data.data_dir()``: ``$LEARNACT_DATA_DIR``, else the user cache) and
skips with one reason (:func:`missing_data_reason`) when they are not there. With
``LEARNACT_REQUIRE_DATA=1`` (CI's main run) missing data fails those tests instead, so a
broken data path cannot hide behind skips.

Everything else runs on data of our own: generated tasks, or ``own_data_dir``, a directory
laid out like the benchmark's and filled with our problems from ``tests/data/``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, NoReturn

import pytest

from learnact_langgraph import data
from learnact_langgraph.envs.pddl.generate import domain_text, generate

pytest_plugins = ["pytester"]

REPO = Path(__file__).resolve().parents[1]
OWN_DATA = REPO / "tests" / "data" / "pddl"
DATASET = "robotic-planning"
ALFWORLD_DATASET = "alfworld"
REQUIRE_DATA_ENV = "LEARNACT_REQUIRE_DATA"
#: Every data skip starts with this; the terminal summary counts them by it.
DATA_SKIP_PREFIX = "benchmark data "
#: Domains with problems of our own (our packaged domain files), in the paper's order.
OWN_DOMAINS = ("gripper", "blockworld")
#: Benchmark file name -> our own problem in ``tests/data/pddl`` that takes its place.
OWN_PROBLEMS = {
    "gripper/prob01.pddl": "gripper-four-balls.pddl",
    "gripper/prob02.pddl": "gripper-swap.pddl",
    "gripper/prob03.pddl": "gripper-three-rooms.pddl",
    "blockworld/problem1.pddl": "blocks-tower-of-three.pddl",
    "blockworld/problem10.pddl": "blocks-two.pddl",
    "blockworld/problem2.pddl": "blocks-two-towers.pddl",
}
PLACEHOLDER = "; placeholder written by tests/conftest.py: not benchmark data, not PDDL\n"


def require_data_is_set() -> bool:
    """``LEARNACT_REQUIRE_DATA`` is on (1, true, yes, on): missing data is an error."""
    return os.environ.get(REQUIRE_DATA_ENV, "").strip().lower() in {"1", "true", "yes", "on"}


def missing_data_reason(
    path: str | os.PathLike[str] | None = None, dataset: str = DATASET
) -> str | None:
    """Why the benchmark data cannot be used (the one skip reason), or None if it is all there.

    ``path`` as in the package: None means ``$LEARNACT_DATA_DIR``, else the user cache.
    """
    root = data.data_dir(path)
    missing = data.missing_files(dataset, root)
    if not missing:
        return None
    total = len(data.get_dataset(dataset).checksums())
    state = "not found" if len(missing) == total else f"incomplete ({len(missing)}/{total} missing)"
    what = "" if dataset == DATASET else f" ({dataset})"
    return (
        f"{DATA_SKIP_PREFIX}{state}{what} in {root}: set {data.ENV_VAR} to a directory with "
        f"it (learnact data fetch {dataset}); CI has it in ../shared/data"
    )


def no_data(reason: str) -> NoReturn:
    """Skip the test, or fail it when ``LEARNACT_REQUIRE_DATA`` is set."""
    if require_data_is_set():
        pytest.fail(f"{reason} ({REQUIRE_DATA_ENV} is set, so this is an error)", pytrace=False)
    pytest.skip(reason)


def benchmark_data_dir(path: str | os.PathLike[str] | None = None) -> Path:
    """The data directory holding the complete benchmark, else skip (or fail) the test."""
    reason = missing_data_reason(path)
    if reason is not None:
        no_data(reason)
    return data.data_dir(path)


@pytest.fixture(scope="session")
def alfworld_data_dir() -> Path:
    """The data directory with the 134 AlfWorld games, and the engine to play them.

    Skips (or fails, with ``LEARNACT_REQUIRE_DATA``) when the games or the ``alfworld``
    extra are missing.
    """
    from learnact_langgraph.envs.alfworld import EngineMissing, require_engine

    try:
        require_engine()
    except EngineMissing as exc:
        no_data(f"{DATA_SKIP_PREFIX}cannot be played: {exc}")
    reason = missing_data_reason(None, ALFWORLD_DATASET)
    if reason is not None:
        no_data(reason)
    return data.data_dir()


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The benchmark data directory (never inside the repository); skips when it is absent."""
    return benchmark_data_dir()


def make_own_data_dir(root: Path) -> Path:
    """A data directory at ``root`` shaped like the benchmark's, with our own files only.

    Every file name of the dataset exists, so the package's presence checks pass (they do
    not hash). Gripper and blocks-world get our packaged domain files, our problems from
    ``tests/data/pddl`` under the names in :data:`OWN_PROBLEMS`, and generated problems
    under the other names; barman and tyreworld files are placeholders that do not parse.
    There is no ``splits.json``, as after ``learnact data fetch``: the packaged splits apply.
    """
    pddl = root / data.get_dataset(DATASET).subdir
    names = sorted(data.get_dataset(DATASET).checksums())
    for rel in names:
        (pddl / rel).parent.mkdir(parents=True, exist_ok=True)
        (pddl / rel).write_text(PLACEHOLDER)
    for domain in OWN_DOMAINS:
        (pddl / f"{domain}.pddl").write_text(domain_text(domain))
        rest = [r for r in names if r.startswith(f"{domain}/") and r not in OWN_PROBLEMS]
        for i, rel in enumerate(rest):
            (text,) = generate(domain, n=1, size=2 + i % 5, seed=i)
            (pddl / rel).write_text(text)
    for rel, own in OWN_PROBLEMS.items():
        (pddl / rel).write_text((OWN_DATA / own).read_text())
    return root


@pytest.fixture(scope="session")
def own_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A benchmark-shaped data directory of our own files (read-only use; see above)."""
    return make_own_data_dir(tmp_path_factory.mktemp("own-data"))


@pytest.fixture(params=["own", "benchmark"])
def pddl_data(request: pytest.FixtureRequest) -> Path:
    """A data directory for the benchmark code path: ours (always) or the real one (skips)."""
    return Path(request.getfixturevalue("own_data_dir" if request.param == "own" else "data_dir"))


def domain_sources(domains: tuple[str, ...]) -> list[Any]:
    """``(domain, pddl_data)`` cases: every domain on the benchmark, ours where we have some.

    Use with ``@pytest.mark.parametrize(("domain", "pddl_data"), ..., indirect=["pddl_data"])``.
    """
    return [
        pytest.param(domain, source, id=f"{domain}-{source}")
        for domain in domains
        for source in (("own", "benchmark") if domain in OWN_DOMAINS else ("benchmark",))
    ]


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Say once, in every run, how many tests the missing benchmark data skipped and why."""
    reasons: dict[str, int] = {}
    for report in terminalreporter.stats.get("skipped", []):
        longrepr = getattr(report, "longrepr", None)
        if isinstance(longrepr, tuple) and len(longrepr) == 3:
            reason = str(longrepr[2]).removeprefix("Skipped: ")
            if reason.startswith(DATA_SKIP_PREFIX):
                reasons[reason] = reasons.get(reason, 0) + 1
    for reason, count in reasons.items():
        terminalreporter.write_sep("=", "benchmark data", yellow=True)
        terminalreporter.write_line(f"{count} test(s) skipped: {reason}")
