"""Per-model defaults: a turbo model wants 1-4 steps and no guidance, SD 1.5 about 25 and 7.5."""

from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True)
class ModelProfile:
    name: str
    steps: int
    guidance_scale: float
    width: int
    height: int


TINY = ModelProfile("tiny", steps=4, guidance_scale=7.5, width=128, height=128)
TINY_XL = ModelProfile("tiny-xl", steps=3, guidance_scale=5.0, width=128, height=128)
TURBO = ModelProfile("turbo", steps=1, guidance_scale=0.0, width=512, height=512)
SDXL = ModelProfile("sdxl", steps=30, guidance_scale=7.0, width=1024, height=1024)
SD = ModelProfile("sd", steps=25, guidance_scale=7.5, width=512, height=512)


def profile_for(*, model: str, pipeline_class: str, native_size: int) -> ModelProfile:
    """Pick defaults from the model's name and pipeline, sized to what it was trained on."""
    name = model.lower()
    if name == "tiny" or name.endswith("/tiny"):
        base = TINY
    elif name == "tiny-xl" or name.endswith("/tiny-xl"):
        base = TINY_XL
    elif "turbo" in name:
        base = TURBO
    elif "xl" in pipeline_class.lower():
        base = SDXL
    else:
        base = SD
    return replace(base, width=native_size, height=native_size)
