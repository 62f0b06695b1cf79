"""Build two tiny, randomly initialised pipelines: Stable Diffusion into models/tiny and an SDXL-shaped one
(two text encoders, text_time embeddings) into models/tiny-xl.

No network: the UNets, VAEs and CLIP text encoders are built from small configs and the
tokenizer's vocabulary is written here. Both load through the same ``from_pretrained``
path as real weights and draw noise, which is what tests need; their pipeline classes differ.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "models" / "tiny"
DEFAULT_XL_OUT = ROOT / "models" / "tiny-xl"
SEED = 0


def _bytes_to_unicode() -> dict[int, str]:
    """The byte-to-character table CLIP's byte-level BPE uses."""
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1))
    printable += list(range(ord("®"), ord("ÿ") + 1))
    chars = printable[:]
    extra = 0
    for b in range(256):
        if b not in printable:
            printable.append(b)
            chars.append(256 + extra)
            extra += 1
    return dict(zip(printable, (chr(c) for c in chars), strict=True))


def write_tokenizer(folder: Path) -> int:
    folder.mkdir(parents=True, exist_ok=True)
    symbols = list(_bytes_to_unicode().values())
    tokens = symbols + [s + "</w>" for s in symbols] + ["<|startoftext|>", "<|endoftext|>"]
    vocab = {token: i for i, token in enumerate(tokens)}
    (folder / "vocab.json").write_text(json.dumps(vocab), encoding="utf-8")
    (folder / "merges.txt").write_text("#version: 0.2\n", encoding="utf-8")
    config = {
        "tokenizer_class": "CLIPTokenizer",
        "model_max_length": 77,
        "bos_token": "<|startoftext|>",
        "eos_token": "<|endoftext|>",
        "unk_token": "<|endoftext|>",
        "pad_token": "<|endoftext|>",
    }
    (folder / "tokenizer_config.json").write_text(json.dumps(config), encoding="utf-8")
    return len(vocab)


def build_tokenizer():
    """A CLIPTokenizer over the byte-level vocabulary above, and its size."""
    from transformers import CLIPTokenizer

    with tempfile.TemporaryDirectory() as tmp:
        vocab_size = write_tokenizer(Path(tmp))
        return CLIPTokenizer.from_pretrained(tmp), vocab_size


def save_pipeline(out: Path, **components) -> None:
    """Assemble a StableDiffusionPipeline without a safety checker and save it for ``from_pretrained``."""
    from diffusers import StableDiffusionPipeline

    pipe = StableDiffusionPipeline(
        **components, safety_checker=None, feature_extractor=None, requires_safety_checker=False
    )
    pipe.save_pretrained(out)


def tiny_vae():
    from diffusers import AutoencoderKL

    return AutoencoderKL(
        block_out_channels=(8, 8, 16, 16),
        in_channels=3,
        out_channels=3,
        down_block_types=("DownEncoderBlock2D",) * 4,
        up_block_types=("UpDecoderBlock2D",) * 4,
        latent_channels=4,
        layers_per_block=1,
        norm_num_groups=8,
        sample_size=128,
    )


def tiny_unet(**family):
    """Both families' UNet: two blocks of a few channels; ``family`` sets what differs (attention, SDXL's time ids)."""
    from diffusers import UNet2DConditionModel

    return UNet2DConditionModel(
        block_out_channels=(16, 32),
        layers_per_block=1,
        sample_size=16,
        in_channels=4,
        out_channels=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        norm_num_groups=8,
        **family,
    )


def text_config(vocab_size: int, **extra):
    from transformers import CLIPTextConfig

    return CLIPTextConfig(
        bos_token_id=vocab_size - 2,
        eos_token_id=vocab_size - 1,
        pad_token_id=vocab_size - 1,
        hidden_size=32,
        intermediate_size=37,
        layer_norm_eps=1e-05,
        num_attention_heads=4,
        num_hidden_layers=2,
        vocab_size=vocab_size,
        max_position_embeddings=77,
        **extra,
    )


def build_xl(out: Path) -> None:
    """SDXL's shape at toy size: CLIP-L and CLIP-G-with-projection side by side, the UNet conditioned on both
    (cross-attention 32+32) and on the pooled text and six size/crop numbers (text_time)."""
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    import torch
    from diffusers import EulerDiscreteScheduler, StableDiffusionXLPipeline
    from transformers import CLIPTextModel, CLIPTextModelWithProjection

    torch.manual_seed(SEED + 1)
    unet = tiny_unet(
        cross_attention_dim=64,
        attention_head_dim=(2, 4),
        use_linear_projection=True,
        addition_embed_type="text_time",
        addition_time_embed_dim=8,
        projection_class_embeddings_input_dim=6 * 8 + 32,
    )
    scheduler = EulerDiscreteScheduler(
        beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", steps_offset=1, timestep_spacing="leading"
    )
    tokenizer, vocab_size = build_tokenizer()
    tokenizer_2, _ = build_tokenizer()
    pipe = StableDiffusionXLPipeline(
        vae=tiny_vae(),
        text_encoder=CLIPTextModel(text_config(vocab_size)),
        text_encoder_2=CLIPTextModelWithProjection(text_config(vocab_size, projection_dim=32)),
        tokenizer=tokenizer,
        tokenizer_2=tokenizer_2,
        unet=unet,
        scheduler=scheduler,
        force_zeros_for_empty_prompt=True,
    )
    pipe.save_pretrained(out)


def build(out: Path) -> None:
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    import torch
    from diffusers import EulerDiscreteScheduler
    from transformers import CLIPTextModel

    torch.manual_seed(SEED)
    unet = tiny_unet(cross_attention_dim=32, attention_head_dim=4)
    vae = tiny_vae()
    scheduler = EulerDiscreteScheduler(
        beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", steps_offset=1
    )
    tokenizer, vocab_size = build_tokenizer()
    text_encoder = CLIPTextModel(text_config(vocab_size))
    save_pipeline(out, unet=unet, vae=vae, scheduler=scheduler, text_encoder=text_encoder, tokenizer=tokenizer)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--xl-out", type=Path, default=DEFAULT_XL_OUT)
    parser.add_argument("--force", action="store_true", help="rebuild even if present")
    args = parser.parse_args(argv)
    for out, make in ((args.out, build), (args.xl_out, build_xl)):
        if (out / "model_index.json").exists() and not args.force:
            print(f"tiny model already at {out}")
            continue
        make(out)
        print(f"tiny model written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
