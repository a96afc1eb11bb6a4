"""What Studio needs from the learner: a settings form, a short input, an env by name."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from learnact_langgraph.errors import LearnActError
from learnact_langgraph.graphs.learner import LearnerContext, learner_graph
from learnact_langgraph.graphs.sessions import make_env


def test_the_context_has_a_json_schema_with_descriptions_and_defaults() -> None:
    schema = learner_graph().get_context_jsonschema()
    assert schema is not None
    props = schema["properties"]
    assert props["k"]["default"] == 4 and "Candidate sets" in props["k"]["description"]
    assert "scripted" in props["learner_model"]["description"]
    # Live Python objects are for Python callers only and stay out of the form.
    assert not {"env_factory", "library", "tool_agent"} & set(props)


def test_the_input_form_is_what_to_learn_from() -> None:
    assert set(learner_graph().get_input_jsonschema()["properties"]) == {
        "learnact_tasks",
        "learnact_trajectories",
    }


def test_an_environment_can_be_named_by_an_import_string(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "my_envs.py").write_text(
        "from learnact_langgraph.envs.pddl import load_env\n\n"
        "def small():\n"
        "    return load_env('gripper', tasks='generated', n=2, size=2, seed=1)\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    env = make_env(LearnerContext(env="my_envs:small"))
    assert env.name == "gripper" and len(env.tasks()) == 2
    with pytest.raises(LearnActError, match="Cannot import the environment"):
        make_env(LearnerContext(env="my_envs:nothing_here"))
    sys.modules.pop("my_envs", None)
