"""The models one process serves: which is the default, which are on the device, and loading on first use.

``Models`` is the generator the batch queue calls: it sends each batch to its model's pipeline, loading it first
when it is not on the device. The batch queue's one thread is the only caller, so a load never runs while another
model generates. Only the bookkeeping is locked: listings never wait for a load.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, replace

from core.exceptions import InvalidInput, ModelNotReady
from core.model_ids import OPENAI_NAMES
from core.models import GenerationParams
from service.generation.interface import GeneratedImage, GeneratorInfo, ImageGenerator
from service.generation.profiles import ModelProfile

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ModelEntry:
    """What is known of a model without loading it: read from its folder's configs."""

    id: str
    source: str
    family: str
    profile: ModelProfile
    sampler: str
    reason: str | None = None  # set: unavailable, and why


class Models:
    def __init__(
        self,
        default: ImageGenerator,
        entries: list[ModelEntry],
        *,
        load: Callable[[ModelEntry], ImageGenerator],
        max_loaded: int = 1,
        park: bool = True,
    ) -> None:
        """``default`` is loaded and on the device; ``entries`` the other models, loaded by ``load`` when asked."""
        self.default = default.info.model
        self.info = default.info
        self.previews = True  # offered to each batch; ``generate`` passes them on to a generator that can
        self._load, self._max_loaded, self._park = load, max_loaded, park
        info = default.info
        own = ModelEntry(info.model, info.model, info.family, info.profile, info.sampler)
        self._entries = {own.id: own} | {e.id: e for e in entries if e.id != own.id}
        self._on_device: OrderedDict[str, ImageGenerator] = OrderedDict({own.id: default})  # least recent first
        self._parked: dict[str, ImageGenerator] = {}
        self._lock = threading.Lock()
        self.on_switch: Callable[[str, float], None] | None = None  # (model, seconds) each time one comes on

    @property
    def ids(self) -> list[str]:
        return list(self._entries)

    def choose(self, requested: str | None) -> GeneratorInfo:
        """The model a request names (None or an OpenAI name: the default), or a 422 naming ``model``."""
        wanted = self.default if requested is None or requested in OPENAI_NAMES else requested
        entry = self._entries.get(wanted)
        if entry is None:
            raise InvalidInput(f"model: {wanted!r} is not served here; models: {', '.join(self.ids)}", field="model")
        if entry.reason is not None:
            raise ModelNotReady(f"model: {wanted!r} is unavailable: {entry.reason}", field="model")
        return self.info_of(wanted)

    def info_of(self, model: str) -> GeneratorInfo:
        with self._lock:
            known = self._on_device.get(model) or self._parked.get(model)
        if known is not None:
            return known.info
        entry = self._entries[model]
        return replace(
            self.info, model=entry.id, family=entry.family, sampler=entry.sampler, profile=entry.profile, compiled=False
        )

    def loaded(self, model: str) -> bool:
        with self._lock:
            return model in self._on_device

    def describe(self) -> list[dict]:
        """One entry per model, for ``GET /models``."""
        with self._lock:
            on_device = set(self._on_device)
        entries = list(self._entries.values())
        return [_described(entry, default=entry.id == self.default, loaded=entry.id in on_device) for entry in entries]

    def generate(self, batch: list[GenerationParams], **options) -> list[GeneratedImage]:
        """Run a batch (one model's) on its pipeline, bringing it onto the device first."""
        model = batch[0].model or self.default
        generator = self._bring(model)
        if not getattr(generator, "previews", False):
            options.pop("on_preview", None)
        made = generator.generate(batch, **options)
        return [replace(each, info=generator.info) for each in made]

    def _bring(self, model: str) -> ImageGenerator:
        with self._lock:
            if model in self._on_device:
                self._on_device.move_to_end(model)
                return self._on_device[model]
            entry = self._entries.get(model)
        if entry is None or entry.reason is not None:
            raise ModelNotReady(f"model: {model!r} is unavailable: {entry.reason if entry else 'not served here'}")
        started = time.perf_counter()
        self._make_room()
        generator = self._parked.pop(model, None)
        if generator is not None:
            generator.to_device()
        else:
            generator = self._first_load(entry)
        with self._lock:
            self._on_device[model] = generator
        seconds = time.perf_counter() - started
        logger.info("model %s on the device in %.2fs", model, seconds)
        if self.on_switch is not None:
            self.on_switch(model, seconds)
        return generator

    def _first_load(self, entry: ModelEntry) -> ImageGenerator:
        try:
            return self._load(entry)
        except Exception as exc:
            reason = f"it failed to load ({type(exc).__name__})"
            logger.exception("model %s failed to load", entry.id)
            with self._lock:
                self._entries[entry.id] = replace(entry, reason=reason)
            raise ModelNotReady(f"model: {entry.id!r} is unavailable: {reason}", field="model") from exc

    def _make_room(self) -> None:
        """Evict least recently used pipelines until one more fits: parked in CPU memory, or dropped."""
        while len(self._on_device) >= self._max_loaded:
            with self._lock:
                model, evicted = self._on_device.popitem(last=False)
            if self._park:
                evicted.to_cpu()
                self._parked[model] = evicted
            else:
                evicted.release()
            logger.info("model %s %s", model, "parked in CPU memory" if self._park else "dropped")


def _described(entry: ModelEntry, *, default: bool, loaded: bool) -> dict:
    profile = entry.profile
    answer = {"id": entry.id, "family": entry.family, "default": default, "available": entry.reason is None}
    if entry.reason is not None:
        answer["reason"] = entry.reason
    defaults = {"steps": profile.steps, "guidance_scale": profile.guidance_scale}
    return answer | {"loaded": loaded, "defaults": defaults | {"width": profile.width, "height": profile.height}}
