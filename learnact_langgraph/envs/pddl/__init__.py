"""Robotic Planning: the AgentBoard PDDL domains on our own STRIPS simulator.

``load_env("gripper")`` serves the paper's problems from the data directory;
``load_env("gripper", tasks="generated", n=5, size=4, seed=0)`` needs no data at all.
"""

from learnact_langgraph.envs.pddl.domains import DOMAINS, SPECS, ActionSpec, DomainSpec
from learnact_langgraph.envs.pddl.env import (
    ENVIRONMENTS,
    GOAL_PREFIX,
    BarmanEnvironment,
    BlockworldEnvironment,
    GripperEnvironment,
    PDDLEnvironment,
    TyreworldEnvironment,
    load_env,
)
from learnact_langgraph.envs.pddl.parsing import (
    DomainModel,
    ProblemModel,
    parse_domain,
    parse_problem,
)
from learnact_langgraph.envs.pddl.simulator import Simulator

__all__ = [
    "DOMAINS",
    "ENVIRONMENTS",
    "GOAL_PREFIX",
    "SPECS",
    "ActionSpec",
    "BarmanEnvironment",
    "BlockworldEnvironment",
    "DomainModel",
    "DomainSpec",
    "GripperEnvironment",
    "PDDLEnvironment",
    "ProblemModel",
    "Simulator",
    "TyreworldEnvironment",
    "load_env",
    "parse_domain",
    "parse_problem",
]
