"""What an API process tells operators of the distributed mode: the broker, its queue, the live workers."""

from __future__ import annotations

from core.exceptions import ImageException
from data.nodes import NodeRepository
from service.distributed.celery_app import QUEUES
from service.distributed.dispatch import CeleryDispatch


class Cluster:
    def __init__(self, dispatch: CeleryDispatch, nodes: NodeRepository, *, within_s: float) -> None:
        self.dispatch, self.nodes, self.within_s = dispatch, nodes, within_s
        self.queue_depth = 0  # as last read by ``queue_depths`` (a scrape of /metrics, or /ready)

    def queue_depths(self) -> dict[str, int | None]:
        """Tasks waiting per queue (blocking: a broker round trip); None for a broker that does not answer."""
        depths = self.dispatch.queue_depths()
        self.queue_depth = sum(depth or 0 for depth in depths.values())
        return depths

    def workers(self) -> list[dict]:
        try:
            alive = self.nodes.alive("worker", within_s=self.within_s)
        except ImageException:
            return []
        return [
            {"name": node.name, "model": node.model, "device": node.info.get("generator", {}).get("device")}
            for node in alive
        ]

    def models(self, default: str) -> list[dict]:
        """``GET /models`` here: each model the live workers serve, with their names (``default``: PIXY_MODEL's id)."""
        try:
            alive = self.nodes.alive("worker", within_s=self.within_s)
        except ImageException:
            return []
        served: dict[str, dict] = {}
        for node in alive:
            info = node.info.get("generator", {})
            profile = info.get("profile", {})
            entry = served.setdefault(
                node.model,
                {
                    "id": node.model,
                    "family": info.get("family", ""),
                    "default": node.model == default,
                    "available": True,
                    "loaded": True,
                    "defaults": {key: profile.get(key) for key in ("steps", "guidance_scale", "width", "height")},
                    "workers": [],
                },
            )
            entry["workers"].append(node.name)
        return list(served.values())

    def status(self) -> dict:
        """For /ready: blocking (a broker round trip and a query), so call it off the event loop."""
        broker = self.dispatch.reachable()
        workers = self.workers()
        queues = self.queue_depths() if broker else dict.fromkeys(QUEUES)
        return {"broker": broker, "workers": len(workers), "worker_nodes": workers, "queues": queues}
