"""Learned actions as LangChain tools: bound to a sandboxed environment session.

``library.as_tools(session)`` gives one ``StructuredTool`` per released learned action
plus the base actions; ``retrieval_tools(library, session)`` gives the small
``retrieve_actions`` / ``run_action`` pair for very large libraries;
``library.toolkit(session)`` is a live toolkit that follows the newest release.
"""

from learnact_langgraph.tools.learned import (
    ActionFailed,
    ActionTool,
    ToolSession,
    base_action_tool,
    learned_action_tool,
    library_tools,
)
from learnact_langgraph.tools.retrieve import retrieval_tools
from learnact_langgraph.tools.schema import annotation_type, base_args_schema, learned_args_schema
from learnact_langgraph.tools.toolkit import LearnedToolkit

__all__ = [
    "ActionFailed",
    "ActionTool",
    "LearnedToolkit",
    "ToolSession",
    "annotation_type",
    "base_action_tool",
    "base_args_schema",
    "learned_action_tool",
    "learned_args_schema",
    "library_tools",
    "retrieval_tools",
]
