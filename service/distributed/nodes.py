"""Each process of a deployment keeps a row in ``nodes``: what it serves, and that it is alive.

At start a process compares itself with the live processes of the other role and refuses to run
beside one whose schema, model or store differs: mixed releases would write what the others misread.
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
from core.exceptions import ImageException, InvalidInput, NoWorkers
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
    if peer.model != me.model:
        return f"model {peer.model!r}, this {me.role} PIXY_MODEL={me.model!r}: set the same model everywhere"
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


class RegisteredModel:
    """The model the GPU workers serve, as the newest of them registered it (read anew every few seconds)."""

    def __init__(self, nodes: NodeRepository) -> None:
        self.nodes = nodes
        self._info: GeneratorInfo | None = None
        self._read = 0.0

    def current(self, requested: str | None = None) -> GeneratorInfo:
        """Before any worker has registered, a generation is refused (503) as ``NoWorkers``; a ``requested``
        model other than theirs (or an OpenAI name for it) is a 422 naming ``model``."""
        if self._info is None or time.monotonic() - self._read > INFO_TTL_S:
            node = self.nodes.latest("worker")
            if node is None or "generator" not in node.info:
                raise NoWorkers()
            info = dict(node.info["generator"])
            self._info = GeneratorInfo(**info | {"profile": ModelProfile(**info["profile"])})
            self._read = time.monotonic()
        if requested is not None and requested not in OPENAI_NAMES and requested != self._info.model:
            raise InvalidInput(f"model: {requested!r} is not served here; models: {self._info.model}", field="model")
        return self._info


def generator_info(info: GeneratorInfo) -> dict:
    """What a worker registers of its model, for ``RegisteredModel`` to read back."""
    return asdict(info)
