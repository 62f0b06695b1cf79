"""What each configured model is, read from its folder's configs without loading it, and how one loads later."""

from __future__ import annotations

import json
from pathlib import Path

from core.model_ids import model_id
from core.settings import Settings
from service.generation.models import ModelEntry
from service.generation.pipeline.samplers import SAMPLER_NAMES
from service.generation.pipeline.weights import INDEX_FILE, find_local
from service.generation.profiles import TINY, profile_for


def _config(folder: Path, part: str, name: str) -> dict:
    return json.loads((folder / part / name).read_text(encoding="utf-8"))


def describe(source: str, models_dir: Path) -> ModelEntry:
    """A model's id, pipeline class, defaults and own sampler; unavailable, saying why, when its weights are not
    on disk or its configs cannot be read."""
    ident = model_id(source)
    folder = find_local(source, models_dir)
    if folder is None:
        reason = f"its weights are missing (run scripts/download_weights.py --model {source})"
        return ModelEntry(ident, source, "", TINY, "", reason=reason)
    try:
        family = _config(folder, "", INDEX_FILE)["_class_name"]
        sample_size = _config(folder, "unet", "config.json")["sample_size"]
        vae_scale = 2 ** (len(_config(folder, "vae", "config.json")["block_out_channels"]) - 1)
        scheduler = _config(folder, "scheduler", "scheduler_config.json")["_class_name"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        reason = f"its configs cannot be read ({type(exc).__name__})"
        return ModelEntry(ident, str(folder), "", TINY, "", reason=reason)
    profile = profile_for(model=ident, pipeline_class=family, native_size=sample_size * vae_scale)
    return ModelEntry(ident, str(folder), family, profile, SAMPLER_NAMES.get(scheduler, scheduler))


def model_entries(settings: Settings) -> list[ModelEntry]:
    return [describe(source, settings.pixy_models_dir) for source in settings.model_sources]
