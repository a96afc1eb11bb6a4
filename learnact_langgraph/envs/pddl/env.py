"""The Robotic Planning environments (gripper, blockworld, barman, tyreworld).

The agent sees what the paper's agent saw, in our own wording: the goal sentence
("The goal is to satisfy the following conditions: ..."), the full state after every
valid action as sorted English sentences, "The goal is satisfied." once done, and one
of two invalid messages (unknown action/argument vs. unmet precondition).

Deliberate differences from AgentBoard/LearnAct (also in ``docs/pddl-environments.md``):

* every predicate has its own sentence (AgentBoard's template table has duplicate keys,
  so e.g. barman showed "You are holding left." and lost the container);
* an unknown object, a wrong argument count or a wrongly typed object says exactly what
  is wrong instead of the bare "not valid" line;
* :meth:`PDDLEnvironment.step_text` matches an action word against all operators, while
  AgentBoard only matched operators that had some applicable grounding at that moment.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar, Literal

from learnact_langgraph.data import SPLITS_FILE, load_splits, require
from learnact_langgraph.data import data_dir as data_root
from learnact_langgraph.envs.base import (
    INVALID_PRECONDITION,
    INVALID_UNKNOWN,
    BaseAction,
    Environment,
    StepResult,
    Task,
    format_call,
)
from learnact_langgraph.envs.pddl.domains import DOMAINS, SPECS, DomainSpec
from learnact_langgraph.envs.pddl.generate import domain_text, generate
from learnact_langgraph.envs.pddl.parsing import DomainModel, State, parse_domain, parse_problem
from learnact_langgraph.envs.pddl.simulator import Simulator
from learnact_langgraph.errors import DataDirError, EnvironmentError_

TaskSource = Literal["benchmark", "generated"]
GOAL_PREFIX = "The goal is to satisfy the following conditions: "
_TOKEN = re.compile(r"[\w\-]+|[^\w\s]")


def _sentence(clause: str) -> str:
    return f"{clause[:1].upper()}{clause[1:]}."


def _train_indices(data_dir: str | os.PathLike[str] | None, domain: str) -> set[int]:
    """The domain's training indices, from the one place that decides (``data.load_splits``)."""
    splits = load_splits(data_dir)
    indices = splits["train"].get(domain)
    if not isinstance(indices, list) or not all(isinstance(i, int) for i in indices):
        raise DataDirError(
            f"The split file has no list of {domain} training indices: add one under "
            f"'train' in {data_root(data_dir) / SPLITS_FILE}, or delete that file to use "
            "the packaged splits."
        )
    return set(indices)


class _Sentences(dict[tuple[str, ...], str]):
    """Atom -> its sentence, rendered on first use."""

    def __init__(self, spec: DomainSpec) -> None:
        super().__init__()
        self._spec = spec

    def __missing__(self, atom: tuple[str, ...]) -> str:
        text = self[atom] = _sentence(self._spec.render(atom))
        return text


class PDDLEnvironment(Environment):
    """One planning domain over its benchmark problems or over generated ones.

    Use :func:`load_env` (or a domain subclass such as :class:`GripperEnvironment`).
    ``self.state`` is an immutable ``frozenset`` of ground atoms, so snapshots are free.
    """

    name: ClassVar[str] = "pddl"
    state: State

    def __init__(
        self,
        *,
        tasks: TaskSource = "benchmark",
        data_dir: str | os.PathLike[str] | None = None,
        n: int = 10,
        size: int = 4,
        seed: int = 0,
        distinct_args: bool = True,
    ) -> None:
        super().__init__()
        if self.name not in SPECS:
            raise EnvironmentError_(
                f"Unknown PDDL domain {self.name!r}; choose one of: {', '.join(DOMAINS)}."
            )
        self.spec: DomainSpec = SPECS[self.name]
        self.instruction = self.spec.instruction
        self.distinct_args = distinct_args
        self._actions = {a.name: a for a in self.spec.actions}
        self._py_names = {a.operator: a.name for a in self.spec.actions}
        self._base = [a.base_action() for a in self.spec.actions]
        self._base_by_name = {a.name: a for a in self._base}
        self._sims: dict[int, Simulator] = {}
        self._sentences = _Sentences(self.spec)
        self._examples: list[str] | None = None
        # Each problem is (label, path or None, text or None); text is read on first use.
        self._problems: list[tuple[str, Path | None, str | None]] = []
        if tasks == "benchmark":
            root = require("robotic-planning", data_dir)
            domain_file = root / f"{self.name}.pddl"
            self.domain: DomainModel = parse_domain(domain_file.read_text(), str(domain_file))
            files = sorted((root / self.name).glob("*.pddl"), key=lambda p: p.name)
            train = _train_indices(data_dir, self.name)
            self._problems = [(f.name, f, None) for f in files]
            self._tasks = [
                Task(
                    f"{self.name}/{i}",
                    self.name,
                    i,
                    "train" if i in train else "test",
                    {"file": f.name},
                )
                for i, f in enumerate(files)
            ]
        elif tasks == "generated":
            self.domain = parse_domain(domain_text(self.name), f"{self.name}.pddl (built in)")
            texts = generate(self.name, n=n, size=size, seed=seed)
            self._problems = [(f"generated {self.name} #{i}", None, t) for i, t in enumerate(texts)]
            self._tasks = [
                Task(
                    f"{self.name}/gen-{seed}-{size}-{i}",
                    self.name,
                    i,
                    None,
                    {"seed": seed, "size": size},
                )
                for i in range(len(texts))
            ]
        else:
            raise EnvironmentError_(f"tasks must be 'benchmark' or 'generated', not {tasks!r}.")

    # ----- tasks, reset, goal ------------------------------------------------------------
    def tasks(self) -> Sequence[Task]:
        return list(self._tasks)

    def simulator(self, index: int | None = None) -> Simulator:
        """The simulator of task ``index`` (default: the current task)."""
        i = self.task.index if index is None else index
        if i not in self._sims:
            label, path, text = self._problems[i]
            if text is None and path is not None:
                text = path.read_text()
                label = str(path)
            self._sims[i] = Simulator(
                self.domain, parse_problem(text or "", self.domain, label), self.distinct_args
            )
        return self._sims[i]

    def _reset(self, task: Task) -> str:
        self.state = self.simulator(task.index).initial_state
        return self.render_state()

    def goal_text(self) -> str:
        goal = sorted(self.spec.render(g) for g in self.simulator().problem.goal)
        return f"{GOAL_PREFIX}{', '.join(goal)}."

    def goal_progress(self) -> float:
        return self.simulator().progress(self.state)

    @property
    def examples(self) -> list[str]:
        """One worked example for agent prompts, played on the simulator (``demos.py``)."""
        if self._examples is None:
            from learnact_langgraph.envs.pddl.demos import demo_trajectory

            text = demo_trajectory(self)
            self._examples = [text] if text else []
        return self._examples

    def reflection_example(self) -> str:
        """This domain's failed attempt and plan, played on our own problem."""
        from learnact_langgraph.envs.pddl.worked_cases import reflection_example

        return reflection_example(self)

    def revision_examples(self) -> str:
        """This domain's two answered revision cases, played on our own problems."""
        from learnact_langgraph.envs.pddl.worked_cases import revision_examples

        return revision_examples(self)

    def render_state(self, state: State | None = None) -> str:
        """The full state as sorted English sentences (each atom's is made once)."""
        atoms = self.state if state is None else state
        return " ".join(sorted(map(self._sentences.__getitem__, atoms)))

    @property
    def objects(self) -> dict[str, str]:
        """Object name -> PDDL type, for the current task."""
        return dict(self.simulator().objects)

    # ----- actions ---------------------------------------------------------------------------
    def base_actions(self) -> Sequence[BaseAction]:
        return list(self._base)

    def _spec(self, name: str) -> BaseAction | None:
        return self._base_by_name.get(name)

    def valid_actions(self) -> list[str]:
        sim = self.simulator()
        ids = sim.valid_ids(self.state)
        if ids is None:  # a state the grounding cannot serve (its static facts differ)
            return [
                format_call(self._py_names[op], args) for op, args in sim.valid_actions(self.state)
            ]
        texts = sim.label_cache.get("call")  # each ground action's call text, made once
        if texts is None:
            texts = sim.label_cache["call"] = [None] * len(sim.grounding.labels)
        out: list[str] = []
        for i in ids:
            text = texts[i]
            if text is None:
                op, args = sim.grounding.labels[i]
                text = texts[i] = format_call(self._py_names[op], args)
            out.append(text)
        return out

    def _execute(self, name: str, args: tuple[Any, ...]) -> StepResult:
        text = format_call(name, args)
        spec = self._actions[name]
        sim = self.simulator()
        objs: list[str] = []
        for param, arg in zip(spec.params, args, strict=True):
            if not isinstance(arg, str):
                return self.refuse(
                    text,
                    "bad_arguments",
                    f"{INVALID_UNKNOWN} Argument {param} of {name} must be an object name "
                    f"(a string), not {arg!r}.",
                )
            obj = arg.strip().lower()
            if obj not in sim.objects:
                names = ", ".join(sorted(sim.objects))
                return self.refuse(
                    text,
                    "bad_arguments",
                    f"{INVALID_UNKNOWN} There is no object {arg!r} in this task; "
                    f"the objects are: {names}.",
                )
            objs.append(obj)
        ground = tuple(objs)
        why = sim.check(spec.operator, ground, self.state)
        if why == "type":
            op = self.domain.operators[spec.operator]
            param, obj, need = next(
                (p, o, t)
                for p, o, t in zip(spec.params, ground, op.types, strict=True)
                if o not in sim.of_type[t]
            )
            return self.refuse(
                text,
                "bad_arguments",
                f"{INVALID_UNKNOWN} {obj!r} is a {sim.objects[obj]}, but parameter {param} of "
                f"{name} needs a {need}.",
            )
        if why == "distinct":
            return self.refuse(
                text,
                "precondition",
                f"{INVALID_PRECONDITION} One object cannot fill two parameters of an action.",
            )
        if why is not None:
            return self.refuse(text, "precondition")
        self.state = sim.apply(spec.operator, ground, self.state)
        return self.ok(text, self.render_state())

    def step_text(self, command: str) -> StepResult:
        """Run an AgentBoard-style text command such as ``"pick ball1 rooma left"``.

        The first word naming an action (PDDL or Python spelling, any case) picks it;
        then the words naming objects, in order, fill its parameters.
        """
        self.task  # noqa: B018 - raises a clear error before reset()
        if command.strip().lower() == "check valid actions":
            return self._count(
                self.ok(command, "Valid actions are: " + ", ".join(self.valid_actions()))
            )
        tokens = _TOKEN.findall(command.lower())
        by_word = {a.operator: a for a in self.spec.actions}
        by_word.update({a.name.lower(): a for a in self.spec.actions})
        spec = next((by_word[t] for t in tokens if t in by_word), None)
        if spec is None:
            names = ", ".join(a.name for a in self.spec.actions)
            return self._count(
                self.refuse(
                    command,
                    "unparsable",
                    f"{INVALID_UNKNOWN} No action name found in {command!r}; actions: {names}.",
                )
            )
        objects = self.simulator().objects
        args = [t for t in tokens if t in objects]
        if len(args) < len(spec.params):
            return self.call(spec.name, *args)
        return self.call(spec.name, *args[: len(spec.params)])

    def _count(self, result: StepResult) -> StepResult:
        """Book a step that did not go through :meth:`call`."""
        self._steps += 1
        self._observation = result.observation
        return result

    # ----- snapshots: the state is immutable ---------------------------------------------
    def _get_state(self) -> Any:
        return self.state

    def _set_state(self, state: Any) -> None:
        self.state = state


class GripperEnvironment(PDDLEnvironment):
    name: ClassVar[str] = "gripper"


class BlockworldEnvironment(PDDLEnvironment):
    name: ClassVar[str] = "blockworld"


class BarmanEnvironment(PDDLEnvironment):
    name: ClassVar[str] = "barman"


class TyreworldEnvironment(PDDLEnvironment):
    name: ClassVar[str] = "tyreworld"


ENVIRONMENTS: dict[str, type[PDDLEnvironment]] = {
    cls.name: cls
    for cls in (GripperEnvironment, BlockworldEnvironment, BarmanEnvironment, TyreworldEnvironment)
}


def load_env(
    domain: str,
    *,
    tasks: TaskSource = "benchmark",
    data_dir: str | os.PathLike[str] | None = None,
    n: int = 10,
    size: int = 4,
    seed: int = 0,
    distinct_args: bool = True,
) -> PDDLEnvironment:
    """A Robotic Planning environment for ``domain``.

    ``tasks="benchmark"`` serves the paper's problems from the data directory (index i is
    the i-th problem file in sorted order; the train split comes from
    :func:`learnact_langgraph.data.load_splits`: the data directory's ``splits.json``,
    else the packaged copy);
    ``tasks="generated"`` serves ``n`` fresh problems of ``size`` balls/blocks drawn with
    ``seed`` (gripper and blockworld only; no data needed).
    """
    key = domain.strip().lower()
    key = "blockworld" if key == "blocksworld" else key
    cls = ENVIRONMENTS.get(key)
    if cls is None:
        raise EnvironmentError_(
            f"Unknown PDDL domain {domain!r}; choose one of: {', '.join(DOMAINS)}."
        )
    return cls(
        tasks=tasks, data_dir=data_dir, n=n, size=size, seed=seed, distinct_args=distinct_args
    )
