"""The gallery page in a real (headless) Chromium, against the real server with the tiny model.

Playwright drives Debian's /usr/bin/chromium: Playwright's own browser download cannot work
here. ``.ci/run`` installs the package when it is missing; without it these tests are skipped.
Some tests answer the JSON API from Playwright routes instead of the server, to check paging
independently of what the server implements; the API-key flow is in test_gallery_keys.py.
"""

from __future__ import annotations

import json
import re
from urllib.parse import parse_qs, urlparse

import httpx
import pytest
from playwright.sync_api import Page, Route, expect

from bench.server import Server
from core.settings import ROOT
from tests.browser.pages import (
    BROWSER,
    fake_item,
    generate_in_page,
    is_content_url,
    is_jobs_url,
    is_list_url,
    png_bytes,
)

ARTIFACTS = ROOT / "test-artifacts"

pytestmark = BROWSER


def test_page_and_assets_are_served(server):
    with httpx.Client(base_url=server.url, timeout=30) as http:
        html = http.get("/")
        assert html.status_code == 200
        assert html.headers["content-type"].startswith("text/html")
        assert 'id="grid"' in html.text
        assert http.get("/static/gallery.js").headers["content-type"].startswith("text/javascript")
        assert http.get("/static/jobs.js").headers["content-type"].startswith("text/javascript")
        assert http.get("/static/gallery.css").headers["content-type"].startswith("text/css")
        # Encoded dots and slashes reach the server as they are: httpx would resolve a literal "..".
        for raw in ("%2e%2e", "%2e%2e/core/settings.py", "..%2fcore%2fsettings.py", "%2e%2e%2f%2e%2e%2fetc%2fpasswd"):
            missing = http.get(f"/static/{raw}")
            assert missing.status_code == 404, raw
            assert "Settings" not in missing.text and "root:" not in missing.text, raw
        unknown = http.get("/static/nope.js")
        assert unknown.status_code == 404
        assert "detail" in unknown.json()
        # The page fetches nothing from anywhere but this server.
        for name in ("/", "/static/gallery.js", "/static/jobs.js", "/static/gallery.css"):
            assert "http://" not in http.get(name).text.replace("http://www.w3.org", "")
            assert "https://" not in http.get(name).text


def test_generate_show_details_and_generate_again(page: Page, server: Server):
    page.goto(server.url + "/")
    expect(page.locator("#empty")).to_be_visible()
    expect(page.locator("#load-more")).to_be_hidden()

    # Hold the POST so the busy state can be seen, and record exactly what the page sent.
    held: list[Route] = []

    def hold_post(route: Route) -> None:
        if route.request.method == "POST":
            held.append(route)
        else:
            route.fallback()

    page.route(is_jobs_url, hold_post)
    page.fill("#prompt", "a lighthouse at dusk")
    page.click("#options summary")
    page.fill("#seed", "1234")
    page.click("#generate")
    expect(page.locator("#generate")).to_be_disabled()
    expect(page.locator("#status")).to_be_visible()
    expect(page.locator("#status")).to_contain_text("Generating")
    expect(page.locator("#status")).to_have_text(re.compile(r"Generating… [1-9]\d*\.\d s"))  # seconds count up
    assert len(held) == 1
    assert held[0].request.post_data_json == {"prompt": "a lighthouse at dusk", "seed": 1234}
    assert held[0].request.headers["content-type"].startswith("application/json")
    page.unroute(is_jobs_url, hold_post)
    held[0].fallback()

    thumbs = page.locator(".thumb")
    expect(thumbs).to_have_count(1)
    expect(thumbs.first).to_have_attribute("data-loaded", "true")
    expect(page.locator("#generate")).to_be_enabled()
    expect(page.locator("#status")).to_contain_text("Done in")
    expect(page.locator("#empty")).to_be_hidden()
    assert thumbs.first.locator("img").get_attribute("src").startswith("blob:")
    first_guid = thumbs.first.get_attribute("data-guid")

    thumbs.first.click()
    detail = page.locator("#detail")
    expect(detail).to_be_visible()
    expect(page.locator("#d-prompt")).to_have_text("a lighthouse at dusk")
    expect(page.locator("#d-seed")).to_have_text("1234")
    expect(page.locator("#d-guid")).to_have_text(first_guid)
    expect(page.locator("#d-model")).not_to_have_text("—")
    expect(page.locator("#d-size")).to_contain_text("×")

    page.click("#again")
    expect(thumbs).to_have_count(2)
    expect(page.locator("#d-guid")).not_to_have_text(first_guid)
    expect(page.locator("#d-seed")).to_have_text("1234")
    expect(page.locator("#d-prompt")).to_have_text("a lighthouse at dusk")
    expect(page.locator("#detail-status")).to_contain_text("Done in")
    second_guid = page.locator("#d-guid").inner_text()
    assert thumbs.first.get_attribute("data-guid") == second_guid  # newest first
    page.wait_for_function("document.querySelector('#detail-img').naturalWidth > 0")
    expect(thumbs.first).to_have_attribute("data-loaded", "true")

    with httpx.Client(base_url=server.url, timeout=30) as http:
        stored = http.get("/image/").json()
    assert [item["guid"] for item in stored] == [second_guid, first_guid]
    assert {item["seed"] for item in stored} == {1234}

    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "gallery-detail.png"))
    page.click("#close")
    expect(detail).to_be_hidden()
    generate_in_page(page, "a red fox in tall grass, golden hour")
    page.screenshot(path=str(ARTIFACTS / "gallery.png"), full_page=True)

    # A reload lists what the server remembers, newest first.
    page.reload()
    expect(thumbs).to_have_count(3)
    assert thumbs.nth(1).get_attribute("data-guid") == second_guid
    assert thumbs.nth(2).get_attribute("data-guid") == first_guid


def test_error_detail_is_shown(page: Page, server: Server):
    page.goto(server.url + "/")
    expect(page.locator("#empty")).to_be_visible()
    page.fill("#prompt", "   ")
    page.click("#generate")
    message = page.locator("#message")
    expect(message).to_be_visible()
    expect(message).to_contain_text("prompt")
    expect(page.locator("#generate")).to_be_enabled()
    expect(page.locator("#status")).to_be_hidden()
    expect(page.locator(".thumb")).to_have_count(0)


@pytest.mark.parametrize("honours_limit", [True, False], ids=["paged", "limit-ignored"])
def test_load_more_pages_with_limit_and_offset(page: Page, server: Server, honours_limit: bool):
    items = [fake_item(n) for n in range(30)]
    requested: list[dict] = []

    def answer_list(route: Route) -> None:
        query = parse_qs(urlparse(route.request.url).query)
        requested.append({key: values[0] for key, values in query.items()})
        limit, offset = int(query["limit"][0]), int(query["offset"][0])
        page_items = items[offset : offset + limit] if honours_limit else items
        route.fulfill(status=200, content_type="application/json", body=json.dumps(page_items))

    page.route(is_list_url, answer_list)
    page.route(is_content_url, lambda route: route.fulfill(status=200, content_type="image/png", body=png_bytes()))
    page.goto(server.url + "/")

    thumbs = page.locator(".thumb")
    more = page.locator("#load-more")
    if honours_limit:
        expect(thumbs).to_have_count(24)
        expect(more).to_be_visible()
        more.click()
        expect(thumbs).to_have_count(30)
        assert requested == [{"limit": "24", "offset": "0"}, {"limit": "24", "offset": "24"}]
    else:
        expect(thumbs).to_have_count(30)
        assert requested == [{"limit": "24", "offset": "0"}]
    expect(more).to_be_hidden()
    expect(thumbs.last).to_have_attribute("data-loaded", "true")
    assert thumbs.first.get_attribute("data-guid") == items[0]["guid"]
    assert thumbs.last.get_attribute("data-guid") == items[29]["guid"]
