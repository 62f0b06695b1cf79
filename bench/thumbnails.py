"""The gallery's thumbnails: what a first page weighs against its PNGs, and a warm thumbnail's req/s."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import httpx

from bench import PROMPT
from bench.load import median
from bench.reads import rotated
from core.settings import ROOT

if TYPE_CHECKING:
    from bench.run import Bench

SIDE = 512


def gallery_query() -> str:
    """The query the gallery's grid asks thumbnails with, read from the page's own script."""
    script = (ROOT / "web/static/gallery.js").read_text(encoding="utf-8")
    return re.search(r'THUMB_QUERY = "([^"]+)"', script)[1]


def thumbnails(bench: Bench) -> None:
    count, query = bench.args.thumb_images, gallery_query()
    body = {"prompt": PROMPT, "steps": 1, "width": SIDE, "height": SIDE}
    post = lambda client, i: client.post("/image/", json=body | {"seed": 90_000 + i})  # noqa: E731
    made = bench.load("main", 4, post, count=count, keep_bodies=True)
    guids = [b["guid"] for b in made.bodies if b]
    with httpx.Client(base_url=bench.servers["main"].url, timeout=60) as client:
        png_bytes = sum(len(client.get(f"/image/{g}/content").content) for g in guids)
        thumb_bytes = sum(len(client.get(f"/image/{g}/content{query}").content) for g in guids)  # made here
    content_path = f"/image/{guids[0]}/content"
    paths = {"content": content_path, "thumbnail": content_path + query}
    runs: dict[str, list] = {name: [] for name in paths}
    for r in range(bench.args.rounds):
        for name in rotated(list(paths), r):
            get = lambda client, _, path=paths[name]: client.get(path)  # noqa: E731
            runs[name].append(bench.load("main", 4, get, duration=bench.args.read_seconds))
    res = bench.result
    res["gallery_page_images"], res["gallery_page_query"] = len(guids), query
    res["gallery_page_png_bytes"], res["gallery_page_thumbnail_bytes"] = png_bytes, thumb_bytes
    res["gallery_page_weight_ratio"] = thumb_bytes / png_bytes
    res["thumbnail_rps_c4"] = median([x.rate for x in runs["thumbnail"]])
    res["thumbnail_content_rps_c4"] = median([x.rate for x in runs["content"]])
    pairs = zip(runs["thumbnail"], runs["content"], strict=True)
    res["thumbnail_over_content"] = median([t.rate / c.rate for t, c in pairs])
