"""The gallery's API-key flow in a real (headless) Chromium: against a mocked API, then the real server."""

from __future__ import annotations

import json
from urllib.parse import urlparse

import httpx
from playwright.sync_api import Page, Route, expect

from bench.server import Server
from tests.browser.pages import BROWSER, fake_item, fake_job, generate_in_page, is_content_url, png_bytes, sse

pytestmark = BROWSER


def test_api_key_is_asked_for_stored_and_sent(page: Page, server: Server):
    """The key flow against a mocked API that wants X-API-Key: k1 on every JSON and content call."""
    created = fake_item(7, prompt="keyed fake")
    seen_keys: list[str | None] = []

    def guarded(route: Route) -> None:
        key = route.request.headers.get("x-api-key")
        seen_keys.append(key)
        if key != "k1":
            body = {"detail": "missing or invalid API key"}
            route.fulfill(status=401, content_type="application/json", body=json.dumps(body))
        elif is_content_url(route.request.url):
            route.fulfill(status=200, content_type="image/png", body=png_bytes((200, 80, 60)))
        elif route.request.method == "POST":
            route.fulfill(status=202, content_type="application/json", body=json.dumps(fake_job([created])))
        elif urlparse(route.request.url).path.endswith("/events"):
            events = sse(("queued", {"position": 0}), ("succeeded", fake_job([created], "succeeded")))
            route.fulfill(status=200, content_type="text/event-stream", body=events)
        else:
            route.fulfill(status=200, content_type="application/json", body="[]")

    page.route(lambda url: urlparse(url).path.startswith(("/image", "/jobs")), guarded)
    page.goto(server.url + "/")

    key_dialog = page.locator("#key-dialog")
    expect(key_dialog).to_be_visible()
    expect(page.locator("#key-reason")).to_contain_text("missing or invalid API key")
    page.fill("#api-key", "k1")
    page.click("#key-save")
    expect(key_dialog).to_be_hidden()
    expect(page.locator("#empty")).to_be_visible()
    assert page.evaluate("localStorage.getItem('pixyproxy.apiKey')") == "k1"
    assert seen_keys == [None, "k1"]

    generate_in_page(page, "keyed fake")
    assert set(seen_keys[2:]) == {"k1"}
    expect(key_dialog).to_be_hidden()

    # A rejected key: asked once, the retry fails too, and the detail is shown.
    page.evaluate("localStorage.setItem('pixyproxy.apiKey', 'wrong')")
    page.fill("#prompt", "again")
    page.click("#generate")
    expect(key_dialog).to_be_visible()
    page.fill("#api-key", "still-wrong")
    page.click("#key-save")
    expect(page.locator("#message")).to_contain_text("missing or invalid API key")
    expect(key_dialog).to_be_hidden()
    expect(page.locator("#generate")).to_be_enabled()


def test_api_keys_against_the_real_server(page: Page, keyed_server: Server):
    with httpx.Client(base_url=keyed_server.url, timeout=30) as http:
        assert http.get("/image/").status_code == 401, "the server enforces PIXY_API_KEYS"
        assert http.get("/").status_code == 200, "the page itself must load without a key"
        assert http.get("/static/gallery.js").status_code == 200

    page.goto(keyed_server.url + "/")
    expect(page.locator("#key-dialog")).to_be_visible()
    page.fill("#api-key", "k1")
    page.click("#key-save")
    expect(page.locator("#key-dialog")).to_be_hidden()
    expect(page.locator("#empty")).to_be_visible()
    expect(page.locator("#message")).to_be_hidden()

    generate_in_page(page, "a key-guarded teapot")
    assert page.locator(".thumb img").first.get_attribute("src").startswith("blob:")
    page.locator(".thumb").first.click()
    expect(page.locator("#d-prompt")).to_have_text("a key-guarded teapot")
