"""Each process of a deployment keeps a row in ``nodes``: what it serves, and that it is alive.

At start a process compares itself with the live processes of the other role and refuses to run
beside one whose schema or store differs: mixed releases would write what the others misread. Models may
differ: each worker serves its own, and registers them for API processes to route and resolve requests by.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict

from core.clock import now
from core.exceptions import ImageException, ModelNotReady, NoWorkers
from core.model_ids import OPENAI_NAMES
from core.settings import Settings
from data.nodes import Node, NodeRepository
from data.schema import SCHEMA_VERSION
from service.generation.interface import GeneratorInfo
from service.generation.profiles import ModelProfile

logger = logging.getLogger(__name__)

INFO_TTL_S = 5.0
SHARE_MARK = ".pixy-share"  # a token in the images folder: processes that read the same token share it


def storage_of(settings: Settings) -> dict:
    if settings.pixy_storage == "mysql":
        return {"kind": "mysql"}
    mark = settings.pixy_images_dir / SHARE_MARK
    mark.parent.mkdir(parents=True, exist_ok=True)
    if not mark.exists():
        mark.write_text(str(uuid.uuid4()))
    return {"kind": "disk", "share": mark.read_text().strip(), "folder": str(settings.pixy_images_dir)}


def identity(settings: Settings, *, name: str, role: str, info: dict | None = None) -> Node:
    details = (info or {}) | {"storage": storage_of(settings)}
    return Node(name, role, settings.pixy_model, details, SCHEMA_VERSION)


def disagreement(me: Node, peer: Node) -> str | None:
    """Why ``me`` must not run beside ``peer``, or None."""
    if peer.schema_version != me.schema_version:
        return f"schema v{peer.schema_version}, this {me.role} v{me.schema_version}: run one release everywhere"
    mine, theirs = me.info["storage"], peer.info["storage"]
    if mine["kind"] != theirs["kind"]:
        return f"PIXY_STORAGE={theirs['kind']}, this {me.role} {mine['kind']}: set the same store everywhere"
    if mine["kind"] == "disk" and mine["share"] != theirs["share"]:
        return (
            f"another images folder ({theirs['folder']}) than this {me.role}'s {mine['folder']}: with "
            "PIXY_STORAGE=disk every process needs the same shared folder; or use PIXY_STORAGE=mysql"
        )
    return None


def check_peers(nodes: NodeRepository, me: Node, *, within_s: float) -> str | None:
    other = "worker" if me.role == "api" else "api"
    for peer in nodes.alive(other, within_s=within_s):
        if (why := disagreement(me, peer)) is not None:
            return f"{other} {peer.name} has {why}"
    return None


class Heartbeat:
    """A thread that keeps this process's row fresh and runs the other per-beat chores (job leases)."""

    def __init__(self, nodes: NodeRepository, me: Node, *, every: float, chores: list[Callable[[], None]]) -> None:
        self.nodes, self.me, self.every, self.chores = nodes, me, every, chores
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="pixy-heartbeat", daemon=True)

    def start(self) -> Heartbeat:
        try:
            self.nodes.register(self.me, started_at=now())
        except ImageException as exc:  # the first beat after the database returns registers it
            logger.error("not registered in nodes yet: %s", exc.message)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(self.every + 1)
        with contextlib.suppress(ImageException):
            self.nodes.leave(self.me.name)

    def _loop(self) -> None:
        while not self._stop.wait(self.every):
            try:
                if not self.nodes.touch(self.me.name):
                    self.nodes.register(self.me, started_at=now())
            except ImageException as exc:
                logger.warning("heartbeat not written: %s", exc.message)
            for chore in self.chores:
                try:
                    chore()
                except Exception:
                    logger.exception("a heartbeat chore failed")


def node_name(settings: Settings, role: str) -> str:
    """A worker's Celery node name (PIXY_WORKER_NAME, or pixy-<pid>@<host>: two on one host stay apart)."""
    if role == "worker" and settings.pixy_worker_name:
        return settings.pixy_worker_name
    return f"{'pixy' if role == 'worker' else 'api'}-{os.getpid()}@{socket.gethostname()}"


def lease_s(settings: Settings) -> float:
    """A worker silent for three heartbeats is taken for dead: its running jobs may run elsewhere."""
    return settings.pixy_heartbeat_s * 3


class RegisteredModels:
    """The models the live GPU workers serve, each as the first of them (by name) registered it.

    Read anew every few seconds, and at once when a request names a model the last reading lacked: a worker
    that has just come up serves its models from its first heartbeat."""

    def __init__(self, nodes: NodeRepository, *, default: str, within_s: float) -> None:
        """``default``: the model a request that names none (or an OpenAI name) gets, PIXY_MODEL's id."""
        self.nodes, self.default, self.within_s = nodes, default, within_s
        self._served: dict[str, GeneratorInfo] = {}
        self._read = -INFO_TTL_S

    def current(self, requested: str | None = None) -> GeneratorInfo:
        """The requested model's profile as a live worker registered it; a model no live worker serves is
        refused (503) naming it, so that no job waits for a worker that will never come."""
        wanted = self.default if requested is None or requested in OPENAI_NAMES else requested
        served = self._served if time.monotonic() - self._read < INFO_TTL_S else self._read_served()
        if wanted not in served:
            served = self._read_served()
        if wanted in served:
            return served[wanted]
        if not served:
            raise NoWorkers(f"model {wanted!r}: no GPU worker is alive; start one with make worker")
        raise ModelNotReady(
            f"model: {wanted!r} is served by no live worker; served: {', '.join(sorted(served))}", field="model"
        )

    def _read_served(self) -> dict[str, GeneratorInfo]:
        served: dict[str, GeneratorInfo] = {}
        for node in self.nodes.alive("worker", within_s=self.within_s):
            for info in registered_models(node):
                served.setdefault(info.model, info)
        self._served, self._read = served, time.monotonic()
        return served


def registered_models(node: Node) -> list[GeneratorInfo]:
    """What a worker registered of each model it serves (one of an earlier release: its one model)."""
    infos = node.info.get("models") or ([node.info["generator"]] if "generator" in node.info else [])
    return [GeneratorInfo(**info | {"profile": ModelProfile(**info["profile"])}) for info in infos]


def generator_info(info: GeneratorInfo) -> dict:
    """What a worker registers of a model, for ``RegisteredModels`` to read back."""
    return asdict(info)
