"""Built-in environments by name: the four planning domains and the six AlfWorld types.

``load_env("gripper")`` and ``load_env("alfworld_put")`` are what the learner, the
agent, the baselines, the bench and the CLI call when a run names its environment, so
a new built-in environment is added here once.
"""

from __future__ import annotations

import os
from typing import Literal

from learnact_langgraph.envs.base import Environment
from learnact_langgraph.errors import EnvironmentError_

ROBOTIC_PLANNING = ("gripper", "blockworld", "barman", "tyreworld")
ALFWORLD = tuple(f"alfworld_{t}" for t in ("put", "clean", "heat", "cool", "examine", "puttwo"))
#: Every name :func:`load_env` accepts, in the order of the paper's tables.
ENV_NAMES = (*ROBOTIC_PLANNING, *ALFWORLD, "alfworld")
#: Groups a user can name instead of single domains (``--domain alfworld``).
GROUPS = {"robotic_planning": ROBOTIC_PLANNING, "alfworld": ALFWORLD}


def load_env(
    name: str,
    *,
    tasks: Literal["benchmark", "generated"] | str = "benchmark",
    data_dir: str | os.PathLike[str] | None = None,
) -> Environment:
    """The built-in environment ``name`` (see :data:`ENV_NAMES`).

    ``tasks="generated"`` asks a planning domain for fresh problems instead of the
    paper's; AlfWorld has only the paper's games.
    """
    key = name.strip().lower()
    if key.startswith("alfworld"):
        if tasks != "benchmark":
            raise EnvironmentError_(
                f"{name} has only the paper's games; use tasks='benchmark' (or leave it out)."
            )
        from learnact_langgraph.envs.alfworld import load_env as load_alfworld

        return load_alfworld(key, data_dir=data_dir)
    from learnact_langgraph.envs.pddl import load_env as load_pddl

    if key not in (*ROBOTIC_PLANNING, "blocksworld"):
        raise EnvironmentError_(
            f"Unknown environment {name!r}; choose one of: {', '.join(ENV_NAMES)}."
        )
    return load_pddl(key, tasks=tasks, data_dir=data_dir)  # type: ignore[arg-type]
