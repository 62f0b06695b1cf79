"""The gallery's model and sampler pickers (issue 19): filled from GET /models and GET /samplers, sent with the
job, shown in the detail view, and carried by "Generate again" and "Use settings"."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Page, Route, expect

from bench.server import Server, start_server
from tests.browser.pages import BROWSER, is_jobs_url

pytestmark = BROWSER


@pytest.fixture
def two_models(settings, tmp_path, tiny_xl) -> Iterator[Server]:
    running = start_server(settings, tmp_path, PIXY_MODELS=f"{tiny_xl},missing/model")
    yield running
    running.stop()


def options(page: Page, select: str) -> list[tuple[str, str, bool]]:
    found = page.eval_on_selector_all(f"{select} option", "os => os.map(o => [o.value, o.textContent, o.disabled])")
    return [tuple(option) for option in found]


def test_the_pickers_list_the_models_and_samplers_and_a_job_uses_the_ones_chosen(page: Page, two_models: Server):
    with httpx.Client(base_url=two_models.url, timeout=30) as http:
        samplers = http.get("/samplers").json()["samplers"]
    page.goto(two_models.url + "/")
    expect(page.locator("#model")).to_have_attribute("data-loaded", "true")
    assert options(page, "#model") == [
        ("", "default", False),
        ("tiny", "tiny (default)", False),
        ("tiny-xl", "tiny-xl", False),
        ("missing/model", "missing/model: unavailable", True),
    ]
    assert options(page, "#sampler") == [("", "the model's own", False)] + [(name, name, False) for name in samplers]

    sent: list[dict] = []

    def record(route: Route) -> None:
        if route.request.method == "POST":
            sent.append(route.request.post_data_json)
        route.fallback()

    page.route(is_jobs_url, record)
    page.fill("#prompt", "a tram in fog")
    page.click("#options summary")
    page.select_option("#model", "tiny-xl")
    page.select_option("#sampler", "DDIM")
    page.fill("#seed", "77")
    page.click("#generate")
    thumbs = page.locator(".thumb")
    expect(thumbs).to_have_count(1)
    assert sent == [{"prompt": "a tram in fog", "model": "tiny-xl", "sampler": "DDIM", "seed": 77}]

    thumbs.first.click()
    expect(page.locator("#d-model")).to_have_text("tiny-xl")
    expect(page.locator("#d-sampler")).to_have_text("DDIM")
    page.click("#again")  # the same model and sampler again
    expect(thumbs).to_have_count(2)
    assert {key: sent[1][key] for key in ("model", "sampler", "seed")} == {
        "model": "tiny-xl",
        "sampler": "DDIM",
        "seed": 77,
    }
    expect(page.locator("#d-sampler")).to_have_text("DDIM")

    page.click("#reuse")  # back in the form, the pickers set to what the image was made with
    assert (page.input_value("#model"), page.input_value("#sampler")) == ("tiny-xl", "DDIM")
    page.select_option("#model", "")  # back to the default: nothing sent, the server's default used
    page.select_option("#sampler", "")
    page.click("#generate")
    expect(thumbs).to_have_count(3)
    assert "model" not in sent[2] and "sampler" not in sent[2]

    with httpx.Client(base_url=two_models.url, timeout=30) as http:
        stored = http.get("/image/").json()
    assert [(item["model"], item["sampler"]) for item in stored][1:] == [("tiny-xl", "DDIM")] * 2
    assert stored[0]["model"] == "tiny" and stored[0]["sampler"] != "DDIM"
