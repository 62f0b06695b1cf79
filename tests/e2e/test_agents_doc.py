"""docs/agents.md's Python examples, run as written against a real keyed server: only the URL changes."""

from __future__ import annotations

import io
import re
from contextlib import redirect_stdout

import pytest
from PIL import Image

from core.settings import ROOT
from tests.e2e.conftest import start_server

DOC = ROOT / "docs" / "agents.md"
DOC_URL = "http://localhost:8001"
DOC_KEY = "your-key"


def python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.DOTALL)


def run_block(code: str, url: str) -> str:
    printed = io.StringIO()
    with redirect_stdout(printed):
        exec(compile(code.replace(DOC_URL, url), str(DOC), "exec"), {"__name__": "__main__"})
    return printed.getvalue()


@pytest.fixture
def keyed_server(settings, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the examples save images to the working directory
    running = start_server(settings, tmp_path, PIXY_API_KEYS=DOC_KEY)
    yield running
    running.stop()


def test_the_doc_has_an_mcp_and_an_openai_example():
    blocks = python_blocks()
    assert len(blocks) == 2
    assert "streamable_http_client" in blocks[0] and "base_url" in blocks[1]
    assert all(DOC_URL in block for block in blocks)


def test_the_mcp_example_runs_against_a_keyed_server(keyed_server, tmp_path):
    printed = run_block(python_blocks()[0], keyed_server.url)
    assert "tools: ['generate_image', 'get_image', 'list_images', 'list_models']" in printed
    [(guid, url)] = re.findall(r"made: (\S+) (\S+)", printed)
    assert url == f"{keyed_server.url}/image/{guid}/content"
    assert "found: 1" in printed
    with Image.open(tmp_path / "lighthouse.webp") as preview:
        assert preview.format == "WEBP"


def test_the_openai_example_runs_against_a_keyed_server(keyed_server, tmp_path):
    printed = run_block(python_blocks()[1], keyed_server.url)
    assert "saved boat.png, prompt: a paper boat on a pond" in printed
    assert re.search(rf"url: {re.escape(keyed_server.url)}/image/[0-9a-f-]{{36}}/content", printed)
    with Image.open(tmp_path / "boat.png") as png:
        assert png.format == "PNG"
