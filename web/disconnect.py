"""Blocking generation off the event loop, while the loop watches whether the client is still there."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

import anyio
from starlette.requests import Request

T = TypeVar("T")
# How often the loop looks for the client's disconnect while its images are queued or made.
POLL_S = 0.1
# Threads beyond the queue's bound: the requests a batch runs, and those about to be told the queue is full.
SPARE_THREADS = 8


async def _watch(request: Request, abandoned: threading.Event) -> None:
    while not await request.is_disconnected():
        await anyio.sleep(POLL_S)
    abandoned.set()


def generation_threads(max_queue: int) -> anyio.CapacityLimiter:
    """The threads synchronous generations wait on: their own, so that however many wait, reads keep the
    shared threadpool. Beyond what the queue admits, a request waits for a thread without holding one, then
    is refused as busy."""
    return anyio.CapacityLimiter(max_queue + SPARE_THREADS)


async def run_while_connected(request: Request, call: Callable[[threading.Event], T]) -> T:
    """Run ``call(abandoned)`` on the generation threads; ``abandoned`` is set as soon as the client
    disconnects.

    The service cancels a queued generation on it, so a client that gave up costs the queue nothing.
    """
    abandoned = threading.Event()
    error: Exception | None = None
    async with anyio.create_task_group() as group:
        group.start_soon(_watch, request, abandoned)
        try:
            limiter = request.app.state.generation_threads
            result = await anyio.to_thread.run_sync(call, abandoned, limiter=limiter)
        except Exception as exc:  # raised outside the group, which would wrap it in an ExceptionGroup
            error = exc
        group.cancel_scope.cancel()
    if error is not None:
        raise error
    return result
