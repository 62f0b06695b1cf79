"""A1111's sampler names as diffusers schedulers, each built ``from_config`` from the model's own config.

A scheduler keeps state between steps, so each batch gets a fresh one and the pipeline gets its own back after.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from core.models import GenerationParams
from core.samplers import AUTOMATIC

SCHEDULER_CLASSES = {
    "Euler": ("EulerDiscreteScheduler", {}),
    "Euler a": ("EulerAncestralDiscreteScheduler", {}),
    "DPM++ 2M": ("DPMSolverMultistepScheduler", {"algorithm_type": "dpmsolver++"}),
    "DPM++ 2M SDE": ("DPMSolverMultistepScheduler", {"algorithm_type": "sde-dpmsolver++"}),
    "DPM++ SDE": ("DPMSolverSDEScheduler", {}),  # torchsde
    "DDIM": ("DDIMScheduler", {}),
    "UniPC": ("UniPCMultistepScheduler", {}),
    "LMS": ("LMSDiscreteScheduler", {}),  # scipy
    "Heun": ("HeunDiscreteScheduler", {}),
    "DPM2": ("KDPM2DiscreteScheduler", {}),
    "LCM": ("LCMScheduler", {}),
}
SIGMAS = {"karras": {"use_karras_sigmas": True}, "exponential": {"use_exponential_sigmas": True}}
SAMPLER_NAMES = {name: sampler for sampler, (name, options) in SCHEDULER_CLASSES.items() if not options}
SAMPLER_NAMES |= {"DPMSolverMultistepScheduler": "DPM++ 2M", "PNDMScheduler": "PLMS"}


def sampler_name(scheduler) -> str:
    """A1111's name for a loaded scheduler, or its class name when A1111 has none."""
    name = type(scheduler).__name__
    if name == "DPMSolverMultistepScheduler" and "sde" in str(scheduler.config.get("algorithm_type", "")):
        return "DPM++ 2M SDE"
    return SAMPLER_NAMES.get(name, name)


def build_scheduler(own, batch: list[GenerationParams]):
    """The scheduler a batch asks for, fresh, from ``own``'s config; None when it asks for the model's own."""
    first = batch[0]
    if first.sampler is None and (first.scheduler or AUTOMATIC) == AUTOMATIC:
        return None
    import diffusers

    if first.sampler is None:
        kind, options = type(own), {}
    else:
        name, options = SCHEDULER_CLASSES[first.sampler]
        kind = getattr(diffusers, name)
    options = options | SIGMAS.get(first.scheduler or AUTOMATIC, {})
    if kind is diffusers.DPMSolverSDEScheduler:  # one Brownian tree per image, seeded by it: reproducible
        options["noise_sampler_seed"] = [p.seed for p in batch]
    return kind.from_config(own.config, **options)


@contextmanager
def scheduler_for(pipe, batch: list[GenerationParams]) -> Iterator[None]:
    """Run ``pipe`` with the batch's scheduler; its own is back afterwards, whatever happened."""
    chosen = build_scheduler(pipe.scheduler, batch)
    if chosen is None:
        yield
        return
    own = pipe.scheduler
    pipe.scheduler = chosen
    try:
        yield
    finally:
        pipe.scheduler = own
