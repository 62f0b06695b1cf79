"""The samplers and noise schedules a request may name, with AUTOMATIC1111's names; no torch here.

``service.generation.pipeline.samplers`` maps each to the diffusers scheduler built from a model's own config.
"""

from __future__ import annotations

from typing import Literal

Sampler = Literal[
    "Euler", "Euler a", "DPM++ 2M", "DPM++ 2M SDE", "DPM++ SDE", "DDIM", "UniPC", "LMS", "Heun", "DPM2", "LCM"
]
Schedule = Literal["automatic", "karras", "exponential"]

SAMPLERS: tuple[str, ...] = Sampler.__args__
SCHEDULERS: tuple[str, ...] = Schedule.__args__
AUTOMATIC = "automatic"
# These draw their own timesteps: a karras or exponential sigma schedule does not apply to them.
UNSHAPED = frozenset({"Euler a", "DDIM", "LCM", "PLMS"})


def schedule_label(scheduler: str) -> str:
    """A1111's ``Schedule type`` label: Automatic, Karras, Exponential."""
    return scheduler.capitalize()
