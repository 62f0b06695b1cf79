"""What the gallery tests share: the marks that skip them without Chromium, fake API answers, page steps."""

from __future__ import annotations

import io
from urllib.parse import urlparse

import pytest
from PIL import Image
from playwright.sync_api import Page, expect

from tests.browser.conftest import CHROMIUM

BROWSER = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="needs Debian's chromium at /usr/bin/chromium (apt-get install chromium; .ci/run does)",
    ),
]


def png_bytes(color: tuple[int, int, int] = (90, 120, 200)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), color).save(buffer, format="PNG")
    return buffer.getvalue()


def fake_item(n: int, **extra) -> dict:
    guid = f"00000000-0000-4000-8000-{n:012d}"
    return {
        "guid": guid,
        "filename": f"{guid}.png",
        "prompt": f"fake image {n}",
        "negative_prompt": "",
        "seed": n,
        "steps": 4,
        "guidance_scale": 7.5,
        "width": 64,
        "height": 64,
        "model": "fake",
        "created_at": "2025-01-01T12:00:00",
        "generation_ms": 10,
    } | extra


def is_list_url(url: str) -> bool:
    return urlparse(url).path in ("/image/", "/image")


def is_content_url(url: str) -> bool:
    path = urlparse(url).path
    return path.startswith("/image/") and path.endswith("/content")


def generate_in_page(page: Page, prompt: str) -> None:
    before = page.locator(".thumb").count()
    page.fill("#prompt", prompt)
    page.click("#generate")
    expect(page.locator(".thumb")).to_have_count(before + 1)
    expect(page.locator(".thumb").first).to_have_attribute("data-loaded", "true")
