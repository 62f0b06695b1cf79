"""The gallery's grid loads small WebP thumbnails, its detail view the full PNG; a fallback model is announced."""

from __future__ import annotations

from urllib.parse import urlparse

import httpx
from playwright.sync_api import Page, Response, expect

from bench.server import start_server
from tests.browser.pages import BROWSER, is_content_url

pytestmark = BROWSER


def test_grid_loads_thumbnails_and_the_detail_view_the_png(page: Page, server):
    with httpx.Client(base_url=server.url, timeout=60) as http:
        created = http.post("/image/", json={"prompt": "a heron", "steps": 1}).json()
    answers: list[Response] = []
    page.on("response", lambda response: answers.append(response) if is_content_url(response.url) else None)
    page.goto(server.url + "/")
    thumb = page.locator(".thumb").first
    expect(thumb).to_have_attribute("data-loaded", "true")
    [grid] = answers
    assert urlparse(grid.url).query == "width=256&format=webp"
    assert grid.headers["content-type"] == "image/webp"
    natural = page.evaluate("document.querySelector('.thumb img').naturalWidth")
    assert natural == min(256, created["width"])
    expect(page.locator("#fallback")).to_be_hidden()  # the tiny model was asked for: no fallback

    thumb.click()
    page.wait_for_function("document.querySelector('#detail-img').naturalWidth > 0")
    full = answers[-1]
    assert urlparse(full.url).path == f"/image/{created['guid']}/content" and urlparse(full.url).query == ""
    assert full.headers["content-type"] == "image/png"
    assert page.evaluate("document.querySelector('#detail-img').naturalWidth") == created["width"]


def test_a_fallback_model_is_announced_even_before_a_key_is_given(page: Page, settings, tmp_path):
    running = start_server(
        settings, tmp_path, PIXY_MODEL="some/missing-model", PIXY_STRICT_MODEL="0", PIXY_API_KEYS="k1"
    )
    try:
        assert httpx.get(running.url + "/ready", timeout=30).json()["fallback"] is True
        page.goto(running.url + "/")
        expect(page.locator("#key-dialog")).to_be_visible()
        expect(page.locator("#fallback")).to_be_visible()
        expect(page.locator("#fallback")).to_contain_text("fallback")
    finally:
        running.stop()
