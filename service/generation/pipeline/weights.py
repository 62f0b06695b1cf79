"""Where a model's weights are and how they load: shared by the generator and ``scripts/download_weights.py``.

Imports diffusers only inside ``load_pipeline``, so the download script can use the lookups without it.
"""

from __future__ import annotations

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
