"""Cheap previews: latents to RGB through a fixed linear map, as A1111's "approx cheap" does.

No VAE decode and no extra model: one 4x3 matrix product per step, on latents of 1/8 the image's size.
"""

from __future__ import annotations

from PIL import Image

# Rows are the four latent channels, columns R, G, B (A1111, modules/sd_vae_approx.py, cheap_approximation).
SD_LATENT_RGB = (
    (0.298, 0.207, 0.208),
    (0.187, 0.286, 0.173),
    (-0.158, 0.189, 0.264),
    (-0.184, -0.271, -0.473),
)
SDXL_LATENT_RGB = (
    (0.3448, 0.4168, 0.4395),
    (-0.1953, -0.0290, 0.0250),
    (0.1074, 0.0886, -0.0163),
    (-0.3730, -0.2499, -0.2088),
)


def latent_rgb_map(pipe) -> tuple | None:
    """The map for this pipeline's latents; None when they are not the 4-channel SD or SDXL kind."""
    if getattr(pipe.vae.config, "latent_channels", 4) != 4:
        return None
    # SDXL's UNet takes the added time ids; SD 1.x/2.x's does not.
    return SDXL_LATENT_RGB if getattr(pipe.unet.config, "addition_embed_type", None) == "text_time" else SD_LATENT_RGB


def latents_to_images(latents, rgb_map: tuple) -> list[Image.Image]:
    """One small RGB image per latent in the batch: (batch, 4, h, w) becomes h x w pixels each."""
    import torch

    coefs = torch.tensor(rgb_map, dtype=torch.float32, device=latents.device)
    rgb = torch.einsum("blxy,lr->bxyr", latents.float(), coefs)
    pixels = ((rgb + 1.0) * 127.5).clamp(0, 255).to(torch.uint8).cpu().numpy()
    return [Image.fromarray(each, "RGB") for each in pixels]
