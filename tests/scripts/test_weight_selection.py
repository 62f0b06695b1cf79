"""scripts/download_weights.py's file selection: fp16 safetensors per component, nothing else fetched."""

from __future__ import annotations

from huggingface_hub.utils import filter_repo_objects

from scripts import download_weights as dw

SD_TURBO_FILES = [
    ".gitattributes",
    "README.md",
    "model_index.json",
    "output.png",
    "sd_turbo.safetensors",
    "scheduler/scheduler_config.json",
    "text_encoder/config.json",
    "text_encoder/model.fp16.safetensors",
    "text_encoder/model.safetensors",
    "text_encoder/pytorch_model.bin",
    "text_encoder/pytorch_model.fp16.bin",
    "tokenizer/merges.txt",
    "tokenizer/special_tokens_map.json",
    "tokenizer/tokenizer_config.json",
    "tokenizer/vocab.json",
    "unet/config.json",
    "unet/diffusion_pytorch_model.fp16.safetensors",
    "unet/diffusion_pytorch_model.safetensors",
    "unet/diffusion_pytorch_model.bin",
    "vae/config.json",
    "vae/diffusion_pytorch_model.fp16.safetensors",
    "vae/diffusion_pytorch_model.safetensors",
    "vae/diffusion_pytorch_model.ckpt",
    "vae/diffusion_flax_model.msgpack",
]


def selected(files: list[str]) -> set[str]:
    """What ``snapshot_download`` would fetch with ``choose_patterns(files)``."""
    return set(filter_repo_objects(files, allow_patterns=dw.choose_patterns(files)))


def test_fp16_safetensors_are_preferred_and_nothing_else_is_fetched() -> None:
    assert selected(SD_TURBO_FILES) == {
        "model_index.json",
        "scheduler/scheduler_config.json",
        "text_encoder/config.json",
        "text_encoder/model.fp16.safetensors",
        "tokenizer/merges.txt",
        "tokenizer/special_tokens_map.json",
        "tokenizer/tokenizer_config.json",
        "tokenizer/vocab.json",
        "unet/config.json",
        "unet/diffusion_pytorch_model.fp16.safetensors",
        "vae/config.json",
        "vae/diffusion_pytorch_model.fp16.safetensors",
    }


def test_each_component_falls_back_on_its_own() -> None:
    files = [
        "model_index.json",
        "unet/diffusion_pytorch_model.fp16.safetensors",
        "unet/diffusion_pytorch_model.safetensors",
        "vae/diffusion_pytorch_model.safetensors",
        "vae/diffusion_pytorch_model.bin",
        "vae/diffusion_pytorch_model.non_ema.safetensors",
        "safety_checker/pytorch_model.bin",
        "safety_checker/pytorch_model.fp16.bin",
        "safety_checker/model.ckpt",
    ]
    assert selected(files) == {
        "model_index.json",
        "unet/diffusion_pytorch_model.fp16.safetensors",
        "vae/diffusion_pytorch_model.safetensors",
        "safety_checker/pytorch_model.fp16.bin",
    }


def test_sharded_fp16_weights_and_their_index_are_taken() -> None:
    files = [
        "model_index.json",
        "unet/diffusion_pytorch_model-00001-of-00002.fp16.safetensors",
        "unet/diffusion_pytorch_model-00002-of-00002.fp16.safetensors",
        "unet/diffusion_pytorch_model.safetensors.index.fp16.json",
        "unet/diffusion_pytorch_model-00001-of-00002.safetensors",
        "unet/diffusion_pytorch_model-00002-of-00002.safetensors",
        "text_encoder_2/model.fp16-00001-of-00002.safetensors",
        "text_encoder_2/model.fp16-00002-of-00002.safetensors",
        "text_encoder_2/model-00001-of-00002.safetensors",
        "tokenizer_2/spiece.model",
    ]
    got = selected(files)
    assert {f for f in got if f.endswith(".safetensors")} == {
        "unet/diffusion_pytorch_model-00001-of-00002.fp16.safetensors",
        "unet/diffusion_pytorch_model-00002-of-00002.fp16.safetensors",
        "text_encoder_2/model.fp16-00001-of-00002.safetensors",
        "text_encoder_2/model.fp16-00002-of-00002.safetensors",
    }
    assert {"unet/diffusion_pytorch_model.safetensors.index.fp16.json", "tokenizer_2/spiece.model"} <= got


def test_weight_variant() -> None:
    assert dw.weight_variant("unet/diffusion_pytorch_model.fp16.safetensors", ".safetensors") == "fp16"
    assert dw.weight_variant("unet/diffusion_pytorch_model.safetensors", ".safetensors") is None
    assert dw.weight_variant("unet/diffusion_pytorch_model-00001-of-00003.safetensors", ".safetensors") is None
    assert dw.weight_variant("text_encoder/pytorch_model.fp16.bin", ".bin") == "fp16"
