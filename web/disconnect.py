"""Blocking generation off the event loop, while the loop watches whether the client is still there."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

import anyio
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

T = TypeVar("T")
# How often the loop looks for the client's disconnect while its images are queued or made.
POLL_S = 0.1


async def _watch(request: Request, abandoned: threading.Event) -> None:
    while not await request.is_disconnected():
        await anyio.sleep(POLL_S)
    abandoned.set()


async def run_while_connected(request: Request, call: Callable[[threading.Event], T]) -> T:
    """Run ``call(abandoned)`` in the threadpool; ``abandoned`` is set as soon as the client disconnects.

    The service cancels a queued generation on it, so a client that gave up costs the queue nothing.
    """
    abandoned = threading.Event()
    error: Exception | None = None
    async with anyio.create_task_group() as group:
        group.start_soon(_watch, request, abandoned)
        try:
            result = await run_in_threadpool(call, abandoned)
        except Exception as exc:  # raised outside the group, which would wrap it in an ExceptionGroup
            error = exc
        group.cancel_scope.cancel()
    if error is not None:
        raise error
    return result
