"""The real server as a subprocess, driven over HTTP the way an outside client would."""

from __future__ import annotations

import io
import re
import uuid

import httpx
from PIL import Image

LINE = re.compile(
    r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2},\d{3} (?P<level>[A-Z]+) (?P<rid>\S+) "
    r"\[(?P<thread>\d+)\] \[(?P<func>\w+):(?P<line>\d+)\] REQUEST (?P<kind>START|END)"
)


def request_lines(server, request_id: str) -> list[re.Match]:
    matches = (LINE.match(line) for line in server.lines())
    return [m for m in matches if m and m["rid"] == request_id]


def test_create_detail_list_content_and_unknown(server):
    with httpx.Client(base_url=server.url, timeout=60) as http:
        created = http.post("/image", json={"prompt": "an owl in the snow"})
        assert created.status_code == 200
        detail = created.json()
        assert http.get(f"/image/{detail['guid']}").json() == detail
        assert detail in http.get("/image/").json()
        png = http.get(f"/image/{detail['guid']}/content")
        assert png.headers["content-type"] == "image/png"
        assert Image.open(io.BytesIO(png.content)).format == "PNG"
        assert http.get(f"/image/{uuid.uuid4()}").status_code == 404


def test_every_request_logs_one_start_and_one_end_with_its_id(server):
    with httpx.Client(base_url=server.url, timeout=60) as http:
        responses = [
            http.get("/image/"),
            http.post("/image/", json={"prompt": "a comet"}),
            http.get("/no/such/path"),
            http.post("/image/", content=b"{not json", headers={"content-type": "application/json"}),
            http.delete("/image/"),
        ]
    request_ids = [r.headers["x-request-id"] for r in responses]
    assert len(set(request_ids)) == len(request_ids)
    for response, request_id in zip(responses, request_ids, strict=True):
        lines = request_lines(server, request_id)
        assert [m["kind"] for m in lines] == ["START", "END"], (request_id, server.lines())
        assert lines[0]["thread"] == lines[1]["thread"]
        end = next(line for line in server.lines() if request_id in line and "REQUEST END" in line)
        assert f" {response.status_code} " in end


def test_no_traceback_or_internals_reach_the_client(server):
    with httpx.Client(base_url=server.url, timeout=60) as http:
        bodies = [
            http.post("/image/", content=b"\xff\xfe", headers={"content-type": "application/json"}).text,
            http.get("/image/' OR 1=1 --").text,
            http.get("/image/..%2F..%2Fetc%2Fpasswd/content").text,
        ]
    for body in bodies:
        for leak in ("Traceback", "pymysql", "SELECT", "/work", ".py"):
            assert leak not in body
