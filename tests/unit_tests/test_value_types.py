"""The per-base-call value types write their own ``__init__`` (it is faster than the
frozen dataclass's); they must still behave exactly like the dataclass would."""

from __future__ import annotations

import copy
import dataclasses
import inspect
import pickle
from typing import Any

import pytest

from learnact_langgraph.envs.base import StepResult
from learnact_langgraph.sandbox.types import SubStep

SAMPLES: dict[type[Any], tuple[tuple[Any, ...], dict[str, Any]]] = {
    SubStep: (("move", ("a", "b"), False, "Nothing happens."), {"error": "precondition"}),
    StepResult: (("move('a', 'b')", True, "You are in b.", 0.5, False), {"error": None}),
}


def _generated(cls: type[Any]) -> type[Any]:
    """The frozen dataclass ``cls`` would be with the generated ``__init__``."""
    specs = [
        (f.name, f.type, dataclasses.field(default=f.default))
        if f.default is not dataclasses.MISSING
        else (f.name, f.type)
        for f in dataclasses.fields(cls)
    ]
    return dataclasses.make_dataclass(f"Generated{cls.__name__}", specs, frozen=True)


@pytest.mark.parametrize("cls", list(SAMPLES))
def test_the_written_init_takes_the_fields_in_order_with_their_defaults(cls: type[Any]) -> None:
    params = list(inspect.signature(cls.__init__).parameters.values())[1:]
    fields = dataclasses.fields(cls)
    assert [p.name for p in params] == [f.name for f in fields]
    assert [p.default for p in params] == [
        inspect.Parameter.empty if f.default is dataclasses.MISSING else f.default for f in fields
    ]


@pytest.mark.parametrize("cls", list(SAMPLES))
def test_a_value_holds_what_the_generated_dataclass_would(cls: type[Any]) -> None:
    args, kwargs = SAMPLES[cls]
    value, reference = cls(*args, **kwargs), _generated(cls)(*args, **kwargs)
    assert dataclasses.asdict(value) == dataclasses.asdict(reference)
    assert repr(value) == repr(reference).replace(f"Generated{cls.__name__}", cls.__name__)
    assert cls(*args) == cls(*args) and hash(cls(*args)) == hash(cls(*args))
    assert value != cls(*args[:-1], "something else", **kwargs)


@pytest.mark.parametrize("cls", list(SAMPLES))
def test_a_value_stays_frozen_and_copies_like_a_dataclass(cls: type[Any]) -> None:
    args, kwargs = SAMPLES[cls]
    value = cls(*args, **kwargs)
    first = dataclasses.fields(cls)[0].name
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(value, first, "changed")
    with pytest.raises(dataclasses.FrozenInstanceError):
        delattr(value, first)
    assert pickle.loads(pickle.dumps(value)) == value
    assert copy.deepcopy(value) == value
    changed = dataclasses.replace(value, **{first: "changed"})
    assert getattr(changed, first) == "changed" and getattr(value, first) == args[0]
