"""Model names with endpoints, output caps and timeouts, sent the way servers read them."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from learnact_langgraph.cli import app
from learnact_langgraph.graphs.learner_state import LearnerContext, models_for
from learnact_langgraph.models import (
    ModelError,
    ModelSettings,
    model_id,
    resolve_model,
    resolve_roles,
    split_spec,
)
from learnact_langgraph.models.usage import invoke_reply
from learnact_langgraph.validation import SettingError

#: langchain-openai opens (never connects) a socket to see which keepalive options the
#: system has; connecting stays blocked everywhere but loopback.
pytestmark = pytest.mark.allow_hosts(["127.0.0.1"])

URL = "http://127.0.0.1:8767/v1"


def _completion(content: str, finish: str) -> dict[str, Any]:
    return {
        "id": "x",
        "object": "chat.completion",
        "created": 0,
        "model": "qwen",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": finish,
            }
        ],
        "usage": {"prompt_tokens": 12, "completion_tokens": 5, "total_tokens": 17},
    }


class Server:
    """An OpenAI-compatible endpoint in memory: keeps every request body it gets."""

    def __init__(self, finish: str = "stop") -> None:
        self.bodies: list[dict[str, Any]] = []
        self.urls: list[str] = []
        self.finish = finish

    def client(self) -> httpx.Client:
        def handle(request: httpx.Request) -> httpx.Response:
            self.urls.append(str(request.url))
            self.bodies.append(json.loads(request.content))
            return httpx.Response(200, json=_completion("move('rooma', 'roomb')", self.finish))

        return httpx.Client(transport=httpx.MockTransport(handle))


def test_spec_with_an_endpoint_splits_at_the_url() -> None:
    assert split_spec("openai:qwen@http://127.0.0.1:8767/v1") == ("openai:qwen", URL)
    assert split_spec("openai:gpt-4o-mini") == ("openai:gpt-4o-mini", None)
    assert split_spec("openai:name@not-a-url") == ("openai:name@not-a-url", None)


def test_cap_goes_in_the_body_as_max_tokens_for_compatible_servers() -> None:
    server = Server()
    model = resolve_model(
        f"openai:qwen@{URL}",
        settings=ModelSettings(max_tokens=40, timeout=30),
        http_client=server.client(),
    )
    reply = invoke_reply(model, "hi", stop=["\nObservation:"])
    assert reply.text == "move('rooma', 'roomb')" and not reply.truncated
    body = server.bodies[0]
    assert body["max_tokens"] == 40  # llama-cpp, vLLM and Ollama read this one
    assert body["stop"] == ["\nObservation:"]
    assert server.urls[0] == f"{URL}/chat/completions"
    assert model_id(model) == f"openai-chat:qwen@{URL}"  # the manifest tells local from OpenAI


def test_base_url_setting_points_a_plain_name_at_a_server() -> None:
    server = Server(finish="length")
    model = resolve_model(
        "openai:qwen", settings=ModelSettings(base_url=URL), http_client=server.client()
    )
    assert invoke_reply(model, "hi").truncated  # finish_reason "length" means cut off
    assert "max_tokens" not in server.bodies[0]


def test_hosted_openai_gets_the_cap_as_its_own_field(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    model = resolve_model("openai:gpt-4o-mini", settings=ModelSettings(max_tokens=50, timeout=9))
    assert getattr(model, "max_tokens", None) == 50
    assert getattr(model, "request_timeout", None) == 9
    assert model_id(model) == "openai-chat:gpt-4o-mini"


def test_endpoint_only_for_openai_compatible_names() -> None:
    with pytest.raises(ModelError, match="OpenAI-compatible"):
        resolve_model(f"anthropic:claude@{URL}")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"max_tokens": 0}, "max_tokens must be a whole number of at least 1"),
        ({"timeout": 0}, "timeout must be a number of seconds above 0"),
        ({"base_url": "127.0.0.1:8767"}, "base_url must start with http://"),
    ],
)
def test_bad_settings_say_what_is_wrong(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(SettingError, match=message):
        ModelSettings(**kwargs)
    with pytest.raises(SettingError, match=message):
        LearnerContext(**kwargs)


def test_context_settings_reach_both_models() -> None:
    ctx = LearnerContext(
        learner_model=f"openai:coder@{URL}", agent_model=f"openai:actor@{URL}", max_tokens=77
    )
    learner, agent = models_for(ctx)
    for model in (learner, agent):
        assert getattr(model, "extra_body", None) == {"max_tokens": 77}
    assert getattr(learner, "temperature", None) == 0.7
    assert getattr(agent, "temperature", None) == 0


def test_learner_defaults_to_the_agents_name_but_samples() -> None:
    agent, learner = resolve_roles(f"openai:qwen@{URL}")
    assert agent is not learner
    assert getattr(agent, "temperature", None) == 0
    assert getattr(learner, "temperature", None) == 0.7


def test_local_model_needs_its_server(monkeypatch: pytest.MonkeyPatch) -> None:
    from learnact_langgraph import local_model

    monkeypatch.setattr(local_model, "server_running", lambda url=None, timeout=2.0: False)
    with pytest.raises(ModelError, match="learnact local-model serve"):
        resolve_model("local")


def test_local_model_gets_role_caps(monkeypatch: pytest.MonkeyPatch) -> None:
    from learnact_langgraph import local_model

    monkeypatch.setattr(local_model, "server_running", lambda url=None, timeout=2.0: True)
    agent, learner = resolve_roles("local")
    assert getattr(agent, "extra_body", None) == {"max_tokens": 160}
    assert getattr(learner, "extra_body", None) == {"max_tokens": 640}
    assert model_id(agent).startswith(f"openai-chat:{local_model.MODEL_ALIAS}@http://127.0.0.1")
    capped, _ = resolve_roles("local", settings=ModelSettings(max_tokens=99))
    assert getattr(capped, "extra_body", None) == {"max_tokens": 99}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["learn", "--max-tokens", "0"], "'--max-tokens': must be at least 1, got 0."),
        (["eval", "--timeout", "0"], "'--timeout': must be greater than 0, got 0"),
        (["bench", "--record", "a", "--replay", "b", "--model", "scripted"], "not both"),
    ],
)
def test_cli_model_options_fail_in_one_line(args: list[str], message: str) -> None:
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2, result.output
    assert message in result.output and "Traceback" not in result.output
