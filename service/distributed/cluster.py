"""What an API process tells operators of the distributed mode: the broker, its queues, the live workers and
which models each serves."""

from __future__ import annotations

from core.exceptions import ImageException
from data.nodes import Node, NodeRepository
from service.distributed.celery_app import model_queues
from service.distributed.dispatch import CeleryDispatch
from service.distributed.nodes import registered_models


class Cluster:
    def __init__(self, dispatch: CeleryDispatch, nodes: NodeRepository, *, default: str, within_s: float) -> None:
        """``default``: PIXY_MODEL's id, the model of requests that name none."""
        self.dispatch, self.nodes, self.default, self.within_s = dispatch, nodes, default, within_s
        self.queue_depth = 0  # as last read by ``queue_depths`` (a scrape of /metrics, or /ready)

    def queue_depths(self) -> dict[str, int | None]:
        """Tasks waiting in each queue of the default model and of every model a live worker serves (blocking:
        a broker round trip); None for a broker that does not answer."""
        depths = self.dispatch.queue_depths(self._model_ids(self._alive()))
        self.queue_depth = sum(depth or 0 for depth in depths.values())
        return depths

    def _alive(self) -> list[Node]:
        try:
            return self.nodes.alive("worker", within_s=self.within_s)
        except ImageException:
            return []

    def _model_ids(self, alive: list[Node]) -> list[str]:
        served = (info.model for node in alive for info in registered_models(node))
        return list(dict.fromkeys([self.default, *served]))

    @staticmethod
    def _worker(node: Node) -> dict:
        models = [info.model for info in registered_models(node)]
        device = node.info.get("generator", {}).get("device")
        return {"name": node.name, "model": node.model, "models": models, "device": device}

    def workers(self) -> list[dict]:
        return [self._worker(node) for node in self._alive()]

    def models(self) -> list[dict]:
        """``GET /models`` here: each model the live workers serve, with the names of those that serve it."""
        served: dict[str, dict] = {}
        for node in self._alive():
            for info in registered_models(node):
                profile = info.profile
                entry = served.setdefault(
                    info.model,
                    {
                        "id": info.model,
                        "family": info.family,
                        "default": info.model == self.default,
                        "available": True,
                        "loaded": False,
                        "defaults": {
                            "steps": profile.steps,
                            "guidance_scale": profile.guidance_scale,
                            "width": profile.width,
                            "height": profile.height,
                        },
                        "workers": [],
                    },
                )
                entry["workers"].append(node.name)
                # Workers load their PIXY_MODEL at start, the others on first use: that much is known here.
                entry["loaded"] = entry["loaded"] or info.model == node.model
        return list(served.values())

    def status(self) -> dict:
        """For /ready: blocking (a broker round trip and a query), so call it off the event loop."""
        broker = self.dispatch.reachable()
        alive = self._alive()
        workers = [self._worker(node) for node in alive]
        served = self._model_ids(alive)
        queues = self.queue_depths() if broker else dict.fromkeys(model_queues(served))
        models = {model: [w["name"] for w in workers if model in w["models"]] for model in served}
        return {"broker": broker, "workers": len(workers), "worker_nodes": workers, "models": models, "queues": queues}
