"""Wall time of one scripted learning run: this tree beside an older commit, in one run.

The run is the learner graph on the benchmark gripper training split, K=4 candidates,
2 rounds, with instant scripted models (the learner's first actions are buggy, so the
loop revises them): everything measured is framework time, none is model time. Each
sample runs in a fresh interpreter (so a one-off cost, such as starting the sandbox's
worker template, is counted every time), and the trees alternate so machine noise
hits both alike. The older commit is checked out into a temporary git worktree.

Each child runs the learner twice: the first run is what a new process pays
(``fresh``: the sandbox's worker template, the first environment, lazy imports), the
second what each further run in a long-lived process pays (``warm``: a server, an
agent's middleware, a bench). The child also counts the environments built and the
sandboxes opened by the first run.

Run: ``.venv/bin/python benchmarks/bench_learning.py [--baseline REV] [--repeat 5]``
(needs the benchmark data: ``LEARNACT_DATA_DIR`` or ``../shared/data``).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: Main before issue 16's work began.
DEFAULT_BASELINE = "32e619f"

CHILD = r"""
import json, sys, time
sys.path.insert(0, sys.argv[1])
import learnact_langgraph
assert learnact_langgraph.__file__.startswith(sys.argv[1]), learnact_langgraph.__file__
from learnact_langgraph.envs.base import Environment
from learnact_langgraph.sandbox import sandbox as sandbox_module
from learnact_langgraph.graphs.learner import LearnerContext, learner_graph
from learnact_langgraph.testing import scripted
from tests.unit_tests.learner.scripts import agent, learner

counts = {"environments": 0, "sandboxes": 0}
env_init = Environment.__init__
def counted_env(self, *a, **k):
    counts["environments"] += 1
    env_init(self, *a, **k)
Environment.__init__ = counted_env
sb_init = sandbox_module.Sandbox.__init__
def counted_sb(self, *a, **k):
    counts["sandboxes"] += 1
    sb_init(self, *a, **k)
sandbox_module.Sandbox.__init__ = counted_sb

walls = []
for _ in range(2):
    ctx = LearnerContext(
        env="gripper", learner_model=scripted(learner()), agent_model=scripted(agent), k=4, rounds=2
    )
    start = time.perf_counter()
    out = learner_graph().invoke({}, context=ctx)
    walls.append(time.perf_counter() - start)
    if not counts.get("first"):
        counts["first"] = dict(counts)
best = out.get("best") or {}
print(json.dumps({"wall": walls[0], "warm": walls[1], "status": out["status"],
                  "best": best.get("id"), **counts["first"]}))
"""


def worktree(rev: str, where: Path) -> Path:
    path = where / "baseline"
    subprocess.run(
        ["git", "-C", str(ROOT), "worktree", "add", "--detach", "-q", str(path), rev],
        check=True,
    )
    return path


def sample(tree: Path) -> dict[str, object]:
    env = dict(os.environ)
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(tree)],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"the learning run in {tree} failed:\n{done.stderr[-3000:]}")
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--baseline", default=DEFAULT_BASELINE, help="the older commit")
    parser.add_argument("--repeat", type=int, default=5, help="runs per tree (median shown)")
    args = parser.parse_args()
    if "LEARNACT_DATA_DIR" not in os.environ and (ROOT.parent / "shared" / "data").is_dir():
        os.environ["LEARNACT_DATA_DIR"] = str(ROOT.parent / "shared" / "data")
    with tempfile.TemporaryDirectory(prefix="learnact-bench-") as scratch:
        old = worktree(args.baseline, Path(scratch))
        try:
            runs: dict[str, list[dict[str, object]]] = {"baseline": [], "this tree": []}
            for _ in range(args.repeat):
                runs["baseline"].append(sample(old))
                runs["this tree"].append(sample(ROOT))
        finally:
            subprocess.run(
                ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(old)], check=False
            )
    base = statistics.median(float(r["wall"]) for r in runs["baseline"])  # type: ignore[arg-type]
    warm = statistics.median(float(r["warm"]) for r in runs["baseline"])  # type: ignore[arg-type]
    print(
        "One scripted learning run (gripper train split, K=4, 2 rounds, instant models), "
        f"median of {args.repeat} processes per tree, alternating"
    )
    print(
        f"{'tree':24} {'fresh s':>8} {'speed-up':>9} {'warm s':>8} {'speed-up':>9} "
        f"{'envs':>6} {'sandboxes':>10} {'status':>10} {'best':>6}"
    )
    for label, rs in runs.items():
        mid = statistics.median(float(r["wall"]) for r in rs)  # type: ignore[arg-type]
        hot = statistics.median(float(r["warm"]) for r in rs)  # type: ignore[arg-type]
        name = f"{label} ({args.baseline})" if label == "baseline" else label
        last = rs[-1]
        print(
            f"{name:24} {mid:8.2f} {base / mid:8.2f}x {hot:8.2f} {warm / hot:8.2f}x "
            f"{last['environments']!s:>6} {last['sandboxes']!s:>10} "
            f"{last['status']!s:>10} {last['best']!s:>6}"
        )
    print("target: this tree >= 3x faster than the baseline")


if __name__ == "__main__":
    main()
