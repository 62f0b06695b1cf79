"""What the gallery tests share: the marks that skip them without Chromium, fake API answers, page steps."""

from __future__ import annotations

import io
import json
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


def is_jobs_url(url: str) -> bool:
    """``/jobs`` and everything under it: creating, following and cancelling jobs."""
    path = urlparse(url).path
    return path == "/jobs" or path.startswith("/jobs/")


def fake_job(images: list[dict], status: str = "queued", **extra) -> dict:
    """A Job as ``POST /jobs`` and the terminal ``succeeded`` event carry it."""
    params = {key: images[0][key] for key in ("prompt", "seed", "steps", "guidance_scale", "width", "height")}
    return {
        "id": "11111111-2222-4333-8444-555555555555",
        "status": status,
        "position": 0,
        "step": 0,
        "steps": params["steps"],
        "progress": 0.0,
        "eta_ms": None,
        "n": len(images),
        "created_at": "2025-01-01T12:00:00",
        "params": params | {"negative_prompt": "", "model": "fake"},
        "images": images if status == "succeeded" else [],
        "error": None,
    } | extra


def sse(*events: tuple[str, dict]) -> str:
    """A ``text/event-stream`` body of the given (event, data) pairs, numbered from 1."""
    return "".join(f"id: {n}\nevent: {kind}\ndata: {json.dumps(data)}\n\n" for n, (kind, data) in enumerate(events, 1))


def generate_in_page(page: Page, prompt: str) -> None:
    before = page.locator(".thumb").count()
    page.fill("#prompt", prompt)
    page.click("#generate")
    expect(page.locator(".thumb")).to_have_count(before + 1)
    expect(page.locator(".thumb").first).to_have_attribute("data-loaded", "true")
