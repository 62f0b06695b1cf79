"""The gallery follows its jobs live: queue position, step progress, the preview, Cancel (issue 11)."""

from __future__ import annotations

import json
from urllib.parse import urlparse

import httpx
from playwright.sync_api import Page, Route, expect

from bench.server import Server
from tests.browser.pages import BROWSER, fake_item, fake_job, is_content_url, is_jobs_url, png_bytes, sse

pytestmark = BROWSER

# Every text the job panel shows, in order, and every preview it is given: kept by the page itself,
# because a fast job can pass through a state between two polls of the test.
RECORD_JOB_PANEL = """
window.jobTexts = [];
window.jobPreviews = 0;
const panel = document.querySelector("#job");
new MutationObserver((records) => {
  for (const record of records) {
    if (record.type === "attributes" && record.target.matches(".job-preview")) {
      if ((record.target.getAttribute("src") || "").startsWith("data:image/jpeg;base64,")) window.jobPreviews += 1;
    } else if (record.target.closest && record.target.closest(".job-text")) {
      window.jobTexts.push(panel.querySelector(".job-text").textContent);
    }
  }
}).observe(panel, { subtree: true, childList: true, characterData: true, attributes: true, attributeFilter: ["src"] });
"""


def fill_options(page: Page, **fields: int) -> None:
    page.click("#options summary")
    for name, value in fields.items():
        page.fill(f"#{name}", str(value))


def test_generate_shows_step_progress_to_the_end_then_the_image(page: Page, server: Server):
    page.goto(server.url + "/")
    expect(page.locator("#empty")).to_be_visible()
    page.evaluate(RECORD_JOB_PANEL)
    page.fill("#prompt", "a kettle on a stove")
    fill_options(page, steps=8, seed=5)
    page.click("#generate")

    job = page.locator("#job")
    expect(job).to_be_visible()
    expect(job.locator(".job-text")).to_have_text("8/8 steps · done")
    expect(job).to_have_attribute("data-state", "succeeded")
    assert page.evaluate(
        "[document.querySelector('#job .job-bar').value, document.querySelector('#job .job-bar').max]"
    ) == [8, 8]
    expect(job.locator(".job-cancel")).to_be_hidden()
    expect(page.locator("#status")).to_contain_text("Done in")
    thumbs = page.locator(".thumb")
    expect(thumbs).to_have_count(1)
    expect(thumbs.first).to_have_attribute("data-loaded", "true")

    texts = page.evaluate("window.jobTexts")
    steps = [text.split(" ")[0] for text in texts if "steps" in text]
    assert steps[-1] == "8/8", texts
    counted = [int(step.split("/")[0]) for step in steps]
    assert counted == sorted(counted) and len(set(counted)) >= 4, texts  # it counted up, step by step

    with httpx.Client(base_url=server.url, timeout=30) as http:
        [stored] = http.get("/image/").json()
        [done] = http.get("/jobs").json()
    assert thumbs.first.get_attribute("data-guid") == stored["guid"]
    assert done["status"] == "succeeded" and done["images"][0]["guid"] == stored["guid"]

    thumbs.first.click()
    expect(page.locator("#d-guid")).to_have_text(stored["guid"])
    page.click("#again")  # through a job too: its own panel in the detail view
    expect(page.locator("#detail-job .job-text")).to_have_text("8/8 steps · done")
    expect(thumbs).to_have_count(2)
    expect(page.locator("#d-guid")).not_to_have_text(stored["guid"])
    expect(page.locator("#d-seed")).to_have_text("5")


def test_cancel_stops_a_running_job_and_adds_no_image(page: Page, server: Server):
    page.goto(server.url + "/")
    expect(page.locator("#empty")).to_be_visible()
    page.fill("#prompt", "a very slow cathedral")
    fill_options(page, steps=100, width=512, height=512)
    page.click("#generate")

    job = page.locator("#job")
    expect(job).to_have_attribute("data-state", "running")
    expect(job.locator(".job-text")).to_contain_text("/100 steps")
    preview = job.locator(".job-preview")
    expect(preview).to_be_visible()  # the live preview of the steps so far
    assert preview.get_attribute("src").startswith("data:image/jpeg;base64,")
    page.wait_for_function("document.querySelector('#job .job-preview').naturalWidth > 0")

    job.locator(".job-cancel").click()
    expect(job).to_have_attribute("data-state", "cancelled")
    expect(job.locator(".job-text")).to_contain_text("Cancelled")
    expect(page.locator("#status")).to_contain_text("Cancelled after")
    expect(page.locator("#generate")).to_be_enabled()
    expect(page.locator("#message")).to_be_hidden()
    expect(page.locator(".thumb")).to_have_count(0)

    with httpx.Client(base_url=server.url, timeout=30) as http:
        [cancelled] = http.get("/jobs").json()
        assert cancelled["status"] == "cancelled"
        assert cancelled["step"] < 100
        assert http.get("/image/").json() == []


def test_queue_position_is_shown_while_queued_and_the_stream_resumes(page: Page, server: Server):
    """A mocked API: each events request gets one event and ends, so the page resumes with Last-Event-ID."""
    created = fake_item(3, prompt="queued fake", steps=2)
    job = fake_job([created], position=2)
    events = [
        ("queued", {"position": 2}),
        ("queued", {"position": 1}),
        ("started", {}),
        ("progress", {"step": 1, "steps": 2, "progress": 0.5, "eta_ms": 900}),
        ("succeeded", fake_job([created], "succeeded", step=2, progress=1.0)),
    ]
    held: list[Route] = []
    resumed_from: list[str | None] = []

    def api(route: Route) -> None:
        path = urlparse(route.request.url).path
        if route.request.method == "POST":
            route.fulfill(status=202, content_type="application/json", body=json.dumps(job))
        elif path.endswith("/events"):
            assert "previews=1" in route.request.url
            resumed_from.append(route.request.headers.get("last-event-id"))
            held.append(route)
        else:
            route.fulfill(status=404, content_type="application/json", body='{"detail": "not mocked"}')

    def answer(n: int) -> None:
        """Send event n (1-based) as its own stream, with its id."""
        body = sse(*events[:n]).split("\n\n")[n - 1] + "\n\n"
        held.pop().fulfill(status=200, content_type="text/event-stream", body=body)

    page.route(is_jobs_url, api)
    page.route(is_content_url, lambda route: route.fulfill(status=200, content_type="image/png", body=png_bytes()))
    page.goto(server.url + "/")
    expect(page.locator("#empty")).to_be_visible()
    page.fill("#prompt", "queued fake")
    page.click("#generate")

    text = page.locator("#job .job-text")
    expect(text).to_have_text("Queued: 2 ahead")  # from the 202 itself
    for n, shown in [(1, "Queued: 2 ahead"), (2, "Queued: 1 ahead"), (3, "0/2 steps"), (4, "1/2 steps")]:
        _wait_held(page, held)
        answer(n)
        expect(text).to_contain_text(shown)
    _wait_held(page, held)
    answer(5)
    expect(text).to_have_text("2/2 steps · done")
    expect(page.locator(".thumb")).to_have_count(1)
    assert resumed_from == [None, "1", "2", "3", "4"]


def _wait_held(page: Page, held: list[Route]) -> None:
    for _ in range(600):
        if held:
            return
        page.wait_for_timeout(50)
    raise AssertionError("the page did not ask for the events again")


PARSE_IN_PIECES = """
async (text) => {
  const { sseParser } = await import("/static/jobs.js");
  const results = [];
  for (const size of [1, 2, 3, 7, text.length]) {
    const got = [];
    const feed = sseParser((event) => got.push(event));
    for (let i = 0; i < text.length; i += size) feed(text.slice(i, i + size));
    results.push(got);
  }
  return results;
}
"""


def test_the_event_parser_gives_the_same_events_however_the_stream_is_cut(page: Page, server: Server):
    text = (
        ": heartbeat\n\n"
        'id: 1\nevent: queued\ndata: {"position":2}\n\n'
        'id: 2\r\nevent: progress\r\ndata: {"step":1,\r\ndata: "steps":4}\r\n\r\n'
        "id: 3\revent: cancelled\rdata: not json\r\r"
        "event: partial\ndata: never ended"
    )
    page.goto(server.url + "/")
    expected = [
        {"id": "1", "kind": "queued", "data": {"position": 2}},
        {"id": "2", "kind": "progress", "data": {"step": 1, "steps": 4}},
        {"id": "3", "kind": "cancelled", "data": "not json"},
    ]
    for got in page.evaluate(PARSE_IN_PIECES, text):
        assert got == expected


def test_without_an_events_stream_the_page_polls_the_job_and_shows_a_failure(page: Page, server: Server):
    """A mocked API whose events route is unavailable: the page polls GET /jobs/{id} instead."""
    created = fake_item(4, prompt="polled fake", steps=4)
    states = [
        fake_job([created], "running", step=1, progress=0.25),
        fake_job([created], "running", step=3, progress=0.75),
        fake_job([created], "failed", error={"detail": "image generation failed"}),
    ]
    polls: list[str] = []

    def api(route: Route) -> None:
        path = urlparse(route.request.url).path
        if route.request.method == "POST":
            route.fulfill(status=202, content_type="application/json", body=json.dumps(fake_job([created])))
        elif path.endswith("/events"):
            route.fulfill(status=503, content_type="application/json", body='{"detail": "no streams here"}')
        else:
            polls.append(path)
            state = states[min(len(polls), len(states)) - 1]
            route.fulfill(status=200, content_type="application/json", body=json.dumps(state))

    page.route(is_jobs_url, api)
    page.goto(server.url + "/")
    expect(page.locator("#empty")).to_be_visible()
    page.evaluate(RECORD_JOB_PANEL)
    page.fill("#prompt", "polled fake")
    page.click("#generate")
    expect(page.locator("#message")).to_have_text("image generation failed")
    expect(page.locator("#job")).to_have_attribute("data-state", "failed")
    expect(page.locator("#generate")).to_be_enabled()
    expect(page.locator(".thumb")).to_have_count(0)
    texts = page.evaluate("window.jobTexts")
    assert "1/4 steps" in texts[1] and "3/4 steps" in texts[2], texts
    assert polls == [f"/jobs/{states[0]['id']}"] * 3
