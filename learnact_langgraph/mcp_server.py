"""The learned library as an MCP server: the newest release's actions as MCP tools.

Most agent hosts take tools over the Model Context Protocol. The server offers the
environment's base actions and the library's newest release (re-read when the release
pointer moves, through :class:`~learnact_langgraph.tools.toolkit.LearnedToolkit`), plus
``task_status`` (the goal and what the agent sees now). Calls run in the sandbox
against one session of the named environment; a failed call is an MCP error result
(``isError``) whose text is the observation and whose structured content is the
sandbox's result. Transports: stdio, and streamable HTTP on 127.0.0.1.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import anyio
from langchain_core.messages import ToolMessage
from langchain_core.utils.function_calling import convert_to_openai_tool

from learnact_langgraph.errors import LearnActError

if TYPE_CHECKING:
    from mcp.server.lowlevel import Server

    from learnact_langgraph.envs.base import Environment
    from learnact_langgraph.library import ActionLibrary
    from learnact_langgraph.tools.toolkit import LearnedToolkit

__all__ = ["MCP_FORMAT", "build_mcp_server", "mcp_manifest", "mcp_tool_specs", "serve"]

MCP_FORMAT = "learnact-mcp"
STATUS_TOOL = "task_status"


def _require_mcp() -> None:
    try:
        import mcp  # noqa: F401
    except ImportError as exc:
        raise LearnActError(
            "The MCP server needs the mcp package: pip install 'learnact-langgraph[mcp]'."
        ) from exc


def mcp_tool_specs(tools: list[Any]) -> list[dict[str, Any]]:
    """``{name, description, inputSchema}`` of each tool, as MCP lists them."""
    return _specs(convert_to_openai_tool(tool)["function"] for tool in tools)


def _specs(functions: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    specs = []
    for fn in functions:
        schema = fn.get("parameters") or {"type": "object", "properties": {}}
        specs.append(
            {"name": fn["name"], "description": fn.get("description", ""), "inputSchema": schema}
        )
    return specs


def mcp_manifest(lib: ActionLibrary, *, env: str | None = None) -> str:
    """An MCP-ready manifest of the current release: the tools and how to serve them."""
    name = env or (lib.prefix[-1] if lib.prefix else "gripper")
    from learnact_langgraph.library_cache import gc_paused
    from learnact_langgraph.library_export import dumps_indented, openai_tools

    with gc_paused():  # thousands of acyclic dicts are made here (see gc_paused)
        tools = _specs(t["function"] for t in openai_tools(lib))  # the release's schemas
        data = {
            "format": MCP_FORMAT,
            "server": {
                "command": "learnact",
                "args": ["library", "serve-mcp", "--prefix", "/".join(lib.prefix), "--env", name],
                "transports": ["stdio", "streamable-http"],
            },
            "generation": lib.generation,
            "tools": tools,
        }
        return dumps_indented(data, ensure_ascii=True)


def build_mcp_server(toolkit: LearnedToolkit, env: Environment) -> Server:
    """An MCP server whose tools are ``toolkit``'s (the newest release at every call)."""
    _require_mcp()
    from mcp import types
    from mcp.server.lowlevel import Server

    server: Server = Server("learnact")
    status = {
        "name": STATUS_TOOL,
        "description": "The task's goal and the current observation.",
        "inputSchema": {"type": "object", "properties": {}},
    }

    @server.list_tools()
    async def list_tools() -> list[types.Tool]:
        tools = await anyio.to_thread.run_sync(toolkit.get_tools)
        return [types.Tool(**spec) for spec in [*mcp_tool_specs(tools), status]]

    @server.call_tool()
    async def call_tool(name: str, arguments: dict[str, Any]) -> types.CallToolResult:
        if name == STATUS_TOOL:
            text = f"{env.goal}\n{env.observation}"
            return types.CallToolResult(content=[types.TextContent(type="text", text=text)])
        tools = {t.name: t for t in await anyio.to_thread.run_sync(toolkit.get_tools)}
        if name not in tools:
            raise ValueError(f"There is no tool {name!r}; list the tools to see what is offered.")
        call = {"type": "tool_call", "name": name, "args": arguments, "id": "mcp"}
        msg = await anyio.to_thread.run_sync(tools[name].invoke, call)
        assert isinstance(msg, ToolMessage)
        artifact = msg.artifact if isinstance(msg.artifact, dict) else None
        return types.CallToolResult(
            content=[types.TextContent(type="text", text=str(msg.content))],
            structuredContent=json.loads(json.dumps(artifact, default=str)) if artifact else None,
            isError=msg.status == "error",
        )

    return server


def serve(
    server: Server, *, transport: str = "stdio", host: str = "127.0.0.1", port: int = 8765
) -> None:
    """Run ``server`` until stopped: over stdio, or streamable HTTP at ``/mcp``."""
    if transport == "stdio":
        from mcp.server.stdio import stdio_server

        async def run_stdio() -> None:
            async with stdio_server() as (read, write):
                await server.run(read, write, server.create_initialization_options())

        anyio.run(run_stdio)
        return
    if transport != "http":
        raise LearnActError(f"Unknown MCP transport {transport!r}; choose stdio or http.")
    import contextlib

    import uvicorn
    from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
    from starlette.applications import Starlette
    from starlette.routing import Mount

    manager = StreamableHTTPSessionManager(app=server, stateless=True)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> Any:
        async with manager.run():
            yield

    app = Starlette(routes=[Mount("/mcp", app=manager.handle_request)], lifespan=lifespan)
    uvicorn.run(app, host=host, port=port, log_level="warning")
