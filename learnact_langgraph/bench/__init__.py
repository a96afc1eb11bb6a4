"""The paper's comparison: run methods x tasks x repeats, store results, report them.

``run_bench(BenchConfig(...), model=...)`` runs (or resumes) a bench into a results
directory; ``write_report(results_dir)`` writes the Markdown tables and PNG plots.
"""

from learnact_langgraph.bench.methods import LABELS, METHODS
from learnact_langgraph.bench.report import load_report, write_report
from learnact_langgraph.bench.runner import BenchConfig, BenchSummary, run_bench
from learnact_langgraph.bench.store import BenchError, ResultStore

__all__ = [
    "LABELS",
    "METHODS",
    "BenchConfig",
    "BenchError",
    "BenchSummary",
    "ResultStore",
    "load_report",
    "run_bench",
    "write_report",
]
