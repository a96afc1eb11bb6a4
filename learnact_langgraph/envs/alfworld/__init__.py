"""AlfWorld: the paper's household benchmark, six task types, played through TextWorld.

``load_env("alfworld_put")`` serves the put games of the paper's 134 (the ``alfworld``
extra and ``learnact data fetch alfworld`` provide engine and games).
"""

from learnact_langgraph.envs.alfworld.engine import (
    TEXTWORLD_LOCK,
    EngineMissing,
    TextWorldGame,
    require_engine,
)
from learnact_langgraph.envs.alfworld.env import (
    ENVIRONMENTS,
    INSTRUCTION,
    AlfWorldEnvironment,
    load_env,
    split_intro,
)
from learnact_langgraph.envs.alfworld.games import TASK_TYPES, TaskType, game_order

__all__ = [
    "ENVIRONMENTS",
    "INSTRUCTION",
    "TASK_TYPES",
    "TEXTWORLD_LOCK",
    "AlfWorldEnvironment",
    "EngineMissing",
    "TaskType",
    "TextWorldGame",
    "game_order",
    "load_env",
    "require_engine",
    "split_intro",
]
