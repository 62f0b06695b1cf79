"""The real server as a subprocess, driven over HTTP the way an outside client would."""

from __future__ import annotations

import io
import json
import re
import socket
import time
import uuid
from pathlib import Path

import httpx
import pytest
from PIL import Image

from bench.server import start_server, stop_server
from core.settings import ROOT

LINE = re.compile(
    r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2},\d{3} (?P<level>[A-Z]+) (?P<rid>\S+) "
    r"\[(?P<thread>\d+)\] \[(?P<func>\w+):(?P<line>\d+)\] REQUEST (?P<kind>START|END)"
)
END = re.compile(r"REQUEST END (?P<method>[A-Z]+) (?P<path>\S+) (?P<status>\d{3}) route=(?P<route>\S+) [\d.]+ms$")


def request_lines(server, request_id: str) -> list[re.Match]:
    """The request's log lines, once its END is written: that happens after the client has the response."""
    deadline = time.monotonic() + 10
    while True:
        matches = (LINE.match(line) for line in server.lines())
        found = [m for m in matches if m and m["rid"] == request_id]
        if any(m["kind"] == "END" for m in found) or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


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
            http.get(f"/image/{uuid.uuid4()}"),
        ]
    request_ids = [r.headers["x-request-id"] for r in responses]
    assert len(set(request_ids)) == len(request_ids)
    for response, request_id in zip(responses, request_ids, strict=True):
        lines = request_lines(server, request_id)
        assert [m["kind"] for m in lines] == ["START", "END"], (request_id, server.lines())
        assert lines[0]["thread"] == lines[1]["thread"]
        end = next(line for line in server.lines() if request_id in line and "REQUEST END" in line)
        assert f" {response.status_code} " in end
    ends = [next(line for line in server.lines() if rid in line and "REQUEST END" in line) for rid in request_ids]
    routes = [END.search(line)["route"] for line in ends]
    # The 422 is left out: its body fails validation before the route is named.
    assert [routes[i] for i in (0, 1, 2, 4, 5)] == ["/image/", "/image/", "-", "-", "/image/{guid}"]


def test_no_traceback_or_internals_reach_the_client(server):
    with httpx.Client(base_url=server.url, timeout=60) as http:
        responses = [
            http.post("/image/", content=b"\xff\xfe", headers={"content-type": "application/json"}),
            http.get("/image/' OR 1=1 --"),
            http.get("/image/..%2F..%2Fetc%2Fpasswd/content"),
        ]
    assert [r.status_code for r in responses] == [422, 404, 404]
    for body in (r.text for r in responses):
        for leak in ("Traceback", "pymysql", "SELECT", "/work", ".py"):
            assert leak not in body


def test_a_declared_oversize_body_is_refused_before_it_is_sent(server):
    host, port = server.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(
            b"POST /image/ HTTP/1.1\r\nHost: pixy\r\nContent-Type: application/json\r\n"
            b"Content-Length: 1000000000\r\n\r\n"
        )
        answer = sock.recv(65536)
    assert answer.startswith(b"HTTP/1.1 413 "), answer


def test_the_server_listens_only_where_pixy_host_says(server):
    assert server.url.startswith("http://127.0.0.1:")  # what the fixture sets PIXY_HOST to
    assert httpx.get(f"{server.url}/health", timeout=10).status_code == 200
    elsewhere = server.url.replace("127.0.0.1", "127.0.0.2")
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{elsewhere}/health", timeout=10)


def test_a_warning_log_level_keeps_request_lines_out_of_the_log(settings, tmp_path):
    quiet = start_server(settings, tmp_path, PIXY_LOG_LEVEL="WARNING")
    try:
        assert httpx.get(f"{quiet.url}/image/", timeout=30).status_code == 200
    finally:
        stop_server(quiet)
    lines = quiet.lines()
    assert any("PIXY_API_KEYS is empty" in line for line in lines), "warnings still reach the log"
    assert not [line for line in lines if "REQUEST START" in line or "REQUEST END" in line]


def broken_scheduler_model(folder: Path) -> Path:
    """The tiny model with a scheduler setting that loads but makes every generation raise."""
    tiny = ROOT / "models" / "tiny"
    folder.mkdir()
    for part in tiny.iterdir():
        if part.name != "scheduler":
            (folder / part.name).symlink_to(part.resolve())
    (folder / "scheduler").mkdir()
    config = json.loads((tiny / "scheduler" / "scheduler_config.json").read_text())
    (folder / "scheduler" / "scheduler_config.json").write_text(json.dumps(config | {"timestep_spacing": "bogus"}))
    return folder


def test_a_failed_generation_is_logged_with_its_traceback_under_the_request_id(settings, tmp_path):
    model = broken_scheduler_model(tmp_path / "broken")
    failing = start_server(settings, tmp_path, PIXY_MODEL=str(model), PIXY_STRICT_MODEL="1")
    try:
        response = httpx.post(f"{failing.url}/image/", json={"prompt": "doomed", "steps": 1}, timeout=60)
    finally:
        stop_server(failing)
    assert response.status_code == 500 and response.json()["detail"] == "image generation failed"
    assert "bogus" not in response.text
    request_id = response.headers["x-request-id"]
    lines = failing.lines()
    errors = [i for i, line in enumerate(lines) if f" ERROR {request_id} " in line]
    assert errors, f"no ERROR line under {request_id}:\n" + "\n".join(lines[-40:])
    details = "\n".join(lines[errors[0] : errors[0] + 80])
    assert "Traceback" in details and "bogus" in details
