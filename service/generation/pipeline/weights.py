"""Where a model's weights are and how they load: shared by the generator and ``scripts/download_weights.py``.

Imports diffusers only inside ``load_pipeline``, so the download script can use the lookups without it.
"""

from __future__ import annotations

import functools
import hashlib
import os
import warnings
from pathlib import Path

INDEX_FILE = "model_index.json"
FP16 = "fp16"


def local_name(model_id: str) -> str:
    """The folder under ``models/`` that ``scripts/download_weights.py`` fetches a hub model into."""
    return model_id.replace("/", "--")


def find_local(model: str, models_dir: Path) -> Path | None:
    """The folder holding ``model``'s pipeline: ``models/<model>``, a path, or ``models/<owner>--<name>``."""
    for folder in (models_dir / model, Path(model), models_dir / local_name(model)):
        if (folder / INDEX_FILE).is_file():
            return folder
    return None


def has_fp16(folder: Path) -> bool:
    return any(folder.rglob(f"*.{FP16}.safetensors"))


def model_hash(source: str | Path) -> str:
    """A1111's short model hash (the first 10 hex digits of a sha256) for a diffusers folder: that of the UNet's
    weights file the pipeline loads (the fp16 variant where there is one), the part that tells one checkpoint from
    another. Hashed once per file (the same path, size and time: the cached answer); "" for a hub id not on disk."""
    folder = Path(source)
    names = ["diffusion_pytorch_model.safetensors", "diffusion_pytorch_model.bin"]
    if folder.is_dir() and has_fp16(folder):
        names.insert(0, f"diffusion_pytorch_model.{FP16}.safetensors")
    for name in names:
        weights = folder / "unet" / name
        if weights.is_file():
            stat = weights.stat()
            return _short_sha256(weights.resolve(), stat.st_size, stat.st_mtime_ns)
    return ""


@functools.lru_cache(maxsize=32)
def _short_sha256(path: Path, size: int, mtime_ns: int) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()[:10]


def quiet_libraries() -> None:
    """Keep diffusers' and transformers' progress bars and notices out of the service log."""
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    # A missing model's refusal must stay one line: huggingface_hub warns about a deprecated argument first.
    warnings.filterwarnings("ignore", message=".*local_dir_use_symlinks.*")
    from diffusers.utils import logging as diffusers_logging
    from transformers.utils import logging as transformers_logging

    diffusers_logging.set_verbosity_error()
    diffusers_logging.disable_progress_bar()
    transformers_logging.set_verbosity_error()


def load_pipeline(source: str | Path, *, device: str = "cpu", half: bool = False):
    """``from_pretrained`` without the network; a folder's fp16 files are preferred (float32 unless ``half``)."""
    import torch
    from diffusers import AutoPipelineForText2Image

    kwargs: dict = {"local_files_only": True}
    if half:
        kwargs["dtype"] = torch.float16
    if Path(source).is_dir() and has_fp16(Path(source)):
        kwargs["variant"] = FP16
    pipe = AutoPipelineForText2Image.from_pretrained(source, **kwargs)
    pipe.set_progress_bar_config(disable=True)
    return pipe.to(device)
