"""What an API process tells operators of the distributed mode: the broker, its queue, the live workers."""

from __future__ import annotations

from dataclasses import asdict

from core.exceptions import ImageException
from data.nodes import NodeRepository
from service.distributed.celery_app import QUEUE
from service.distributed.dispatch import CeleryDispatch
from service.distributed.remote import RemoteQueue
from service.generation.interface import GeneratorInfo


def generator_info(info: GeneratorInfo) -> dict:
    return asdict(info)


class Cluster:
    def __init__(self, dispatch: CeleryDispatch, queue: RemoteQueue, nodes: NodeRepository, *, within_s: float) -> None:
        self.dispatch, self.queue, self.nodes, self.within_s = dispatch, queue, nodes, within_s

    def queue_depths(self) -> dict[str, int | None]:
        """Tasks waiting per queue (blocking: a broker round trip); None for a broker that does not answer."""
        return {QUEUE: self.queue.refresh()}

    def workers(self) -> list[dict]:
        try:
            alive = self.nodes.alive("worker", within_s=self.within_s)
        except ImageException:
            return []
        return [
            {"name": node.name, "model": node.model, "device": node.info.get("generator", {}).get("device")}
            for node in alive
        ]

    def status(self) -> dict:
        """For /ready: blocking (a broker round trip and a query), so call it off the event loop."""
        broker = self.dispatch.reachable()
        workers = self.workers()
        queues = self.queue_depths() if broker else {QUEUE: None}
        return {"broker": broker, "workers": len(workers), "worker_nodes": workers, "queues": queues}
