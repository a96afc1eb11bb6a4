"""Async twins of every public :class:`~learnact_langgraph.library.ActionLibrary` method.

Async code (a LangGraph server, an async agent) must not block its event loop, and
``AsyncSqliteStore`` / ``AsyncPostgresStore`` refuse synchronous calls made on their
loop. Each ``a*`` method runs its synchronous twin on a worker thread
(``asyncio.to_thread``, which carries the caller's context for tracing); from there
the async stores serve the calls on their own loop, and the writers' lock is taken
across processes (``library_locks``: a file lock beside the SQLite file,
``pg_advisory_lock`` on PostgreSQL). The twins take the same arguments as the methods
they mirror.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, TypeVar, cast

if TYPE_CHECKING:
    from langchain_core.tools import BaseTool

    from learnact_langgraph.actions import LearnedAction
    from learnact_langgraph.envs.base import BaseAction
    from learnact_langgraph.library import ActionLibrary, ActionStatus
    from learnact_langgraph.library_release import Release, ReleaseBuilder
    from learnact_langgraph.library_snapshot import ReleaseView
    from learnact_langgraph.tools.toolkit import LearnedToolkit

T = TypeVar("T")

__all__ = ["AsyncLibraryMethods", "AsyncReleaseBuilder"]


async def _off_loop(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    return await asyncio.to_thread(fn, *args, **kwargs)


class AsyncReleaseBuilder:
    """A :class:`~learnact_langgraph.library_release.ReleaseBuilder` for async code:
    the same methods, awaited (they read the store)."""

    def __init__(self, builder: ReleaseBuilder) -> None:
        self.builder = builder

    async def add(self, *args: Any, **kwargs: Any) -> AsyncReleaseBuilder:
        await _off_loop(self.builder.add, *args, **kwargs)
        return self

    async def revise(self, *args: Any, **kwargs: Any) -> AsyncReleaseBuilder:
        await _off_loop(self.builder.revise, *args, **kwargs)
        return self

    async def retire(self, *args: Any, **kwargs: Any) -> AsyncReleaseBuilder:
        await _off_loop(self.builder.retire, *args, **kwargs)
        return self

    async def rollback(self, *args: Any, **kwargs: Any) -> AsyncReleaseBuilder:
        await _off_loop(self.builder.rollback, *args, **kwargs)
        return self


def _lib(obj: object) -> ActionLibrary:
    return cast("ActionLibrary", obj)


class AsyncLibraryMethods:
    """The ``a*`` methods, mixed into ``ActionLibrary``."""

    async def aset_base_actions(self, *args: Any, **kwargs: Any) -> None:
        await _off_loop(_lib(self).set_base_actions, *args, **kwargs)

    async def abase_actions(self) -> tuple[BaseAction, ...]:
        return await _off_loop(lambda: _lib(self).base_actions)

    async def apointer(self) -> tuple[int, frozenset[int]]:
        return await _off_loop(_lib(self).pointer)

    async def ageneration(self) -> int:
        return await _off_loop(lambda: _lib(self).generation)

    async def ahead(self, name: str) -> dict[str, Any] | None:
        return await _off_loop(_lib(self).head, name)

    async def aheads(self) -> list[dict[str, Any]]:
        return await _off_loop(_lib(self).heads)

    async def arelease_view(self, *args: Any) -> ReleaseView | None:
        return await _off_loop(_lib(self).release_view, *args)

    async def arelease_contents(self, *args: Any) -> dict[str, int]:
        return await _off_loop(_lib(self).release_contents, *args)

    async def aactions(self, *args: Any) -> list[LearnedAction]:
        return await _off_loop(_lib(self).actions, *args)

    async def anames(self, *args: Any) -> list[str]:
        return await _off_loop(_lib(self).names, *args)

    async def alen(self) -> int:
        return await _off_loop(len, _lib(self))

    async def acontains(self, name: str) -> bool:
        return await _off_loop(_lib(self).__contains__, name)

    async def astatus(self, name: str) -> ActionStatus:
        return await _off_loop(_lib(self).status, name)

    async def aget(self, *args: Any, **kwargs: Any) -> LearnedAction:
        return await _off_loop(_lib(self).get, *args, **kwargs)

    async def ahistory(self, name: str) -> list[LearnedAction]:
        return await _off_loop(_lib(self).history, name)

    async def adiff(self, *args: Any, **kwargs: Any) -> str:
        return await _off_loop(_lib(self).diff, *args, **kwargs)

    async def areleases(self) -> list[Release]:
        return await _off_loop(_lib(self).releases)

    @asynccontextmanager
    async def arelease(
        self, *, run_id: str | None = None, message: str = ""
    ) -> AsyncIterator[AsyncReleaseBuilder]:
        """``async with library.arelease(...) as rel: await rel.add(...)``; committed
        when the block ends."""
        manager = _lib(self).release(run_id=run_id, message=message)
        builder = AsyncReleaseBuilder(await _off_loop(manager.__enter__))
        try:
            yield builder
        except BaseException as exc:
            if not await _off_loop(manager.__exit__, type(exc), exc, exc.__traceback__):
                raise
        else:
            await _off_loop(manager.__exit__, None, None, None)

    async def aadd(self, *args: Any, **kwargs: Any) -> LearnedAction:
        return await _off_loop(_lib(self).add, *args, **kwargs)

    async def arevise(self, *args: Any, **kwargs: Any) -> LearnedAction:
        return await _off_loop(_lib(self).revise, *args, **kwargs)

    async def aretire(self, *args: Any, **kwargs: Any) -> None:
        await _off_loop(_lib(self).retire, *args, **kwargs)

    async def arollback(self, *args: Any, **kwargs: Any) -> LearnedAction:
        return await _off_loop(_lib(self).rollback, *args, **kwargs)

    async def arollback_release(self, generation: int) -> Release:
        return await _off_loop(_lib(self).rollback_release, generation)

    async def asearch(self, query: str, k: int = 5) -> list[LearnedAction]:
        return await _off_loop(_lib(self).search, query, k)

    async def aas_tools(self, *args: Any, **kwargs: Any) -> list[BaseTool]:
        return await _off_loop(_lib(self).as_tools, *args, **kwargs)

    async def atoolkit(self, *args: Any, **kwargs: Any) -> LearnedToolkit:
        return await _off_loop(_lib(self).toolkit, *args, **kwargs)
