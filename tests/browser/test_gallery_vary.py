"""The detail view's "Vary": img2img from the image shown, through a job, against the real server."""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import Page, expect

from bench.server import Server
from tests.browser.pages import BROWSER, generate_in_page, is_jobs_url

pytestmark = BROWSER


def test_vary_makes_an_img2img_of_the_image_shown_and_shows_it(page: Page, server: Server):
    page.goto(server.url + "/")
    generate_in_page(page, "a harbour at noon")
    thumbs = page.locator(".thumb")
    source = thumbs.first.get_attribute("data-guid")
    thumbs.first.click()
    expect(page.locator("#d-source")).to_have_text("—")

    sent: list[dict] = []
    page.on("request", lambda r: sent.append(r.post_data_json) if r.method == "POST" and is_jobs_url(r.url) else None)
    page.click("#vary")
    expect(thumbs).to_have_count(2)
    expect(page.locator("#detail-status")).to_contain_text("Done in")
    expect(page.locator("#d-guid")).not_to_have_text(source)
    expect(page.locator("#d-source")).to_have_text(f"{source} (strength 0.6)")
    expect(page.locator("#d-prompt")).to_have_text("a harbour at noon")
    expect(page.locator("#vary")).to_be_enabled()
    page.wait_for_function("document.querySelector('#detail-img').naturalWidth > 0")
    assert sent[0]["init_image"] == source and sent[0]["prompt"] == "a harbour at noon"
    assert "seed" not in sent[0]  # a fresh variation each time

    varied = page.locator("#d-guid").inner_text()
    assert thumbs.first.get_attribute("data-guid") == varied  # newest first
    with httpx.Client(base_url=server.url, timeout=30) as http:
        detail = http.get(f"/image/{varied}").json()
        source_detail = http.get(f"/image/{source}").json()
    assert (detail["init_image"], detail["strength"]) == (source, 0.6)
    assert (detail["width"], detail["height"]) == (source_detail["width"], source_detail["height"])


@pytest.mark.parametrize("button", ["#again", "#vary"])
def test_while_one_runs_neither_detail_button_can_start_another(page: Page, server: Server, button: str):
    page.goto(server.url + "/")
    generate_in_page(page, "a quiet street")
    page.locator(".thumb").first.click()
    held = []
    page.route(is_jobs_url, lambda route: held.append(route) if route.request.method == "POST" else route.fallback())
    page.click(button)
    expect(page.locator("#again")).to_be_disabled()
    expect(page.locator("#vary")).to_be_disabled()
    page.unroute(is_jobs_url)
    held[0].fallback()
    expect(page.locator(".thumb")).to_have_count(2)
    expect(page.locator("#again")).to_be_enabled()
    expect(page.locator("#vary")).to_be_enabled()
