"""Targets, ``docs/benchmarks.json`` and the Markdown table ``docs/benchmarks.md`` for ``scripts/bench.py``."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from pathlib import Path

# key: (comparison, threshold, unit, what it measures)
TARGETS = {
    "service_over_raw_c1": (">=", 0.95, "", "service images/s at c1 over the raw pipeline's"),
    "content_over_static": (
        ">=", 0.80, "", "GET /image/{guid}/content req/s at c4 over a FileResponse of the same PNG in the same server"
    ),
    "list_p95_ms_100k": ("<", 20.0, " ms", "GET /image/ p95 latency with 100,000 rows"),
    "rss_growth_mb_500": ("<=", 10.0, " MB", "server RSS growth (VmRSS or VmHWM) over 500 requests"),
}


def _met(value: float, op: str, threshold: float) -> bool:
    if value is None or math.isnan(value):
        return False
    return {">=": value >= threshold, "<": value < threshold, "<=": value <= threshold}[op]


def evaluate(result: dict) -> dict:
    targets = {}
    for key, (op, threshold, unit, meaning) in TARGETS.items():
        value = result[key]
        met = _met(value, op, threshold)
        targets[key] = {
            "value": round(value, 3), "target": f"{op} {threshold}{unit}", "met": met,
            "miss_by": None if met else round(abs(value - threshold), 3), "meaning": meaning,
        }  # fmt: skip
    return targets


def _round(value):
    if isinstance(value, float):
        return round(value, 3)
    if isinstance(value, dict):
        return {k: _round(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_round(v) for v in value]
    return value


def _f(value: float, digits: int = 1) -> str:
    return f"{value:.{digits}f}"


def connect_penalty(r: dict) -> float:
    """Milliseconds a connection costs beyond a connection with TLS off."""
    cc = r["connect_costs"]
    return max(0.0, cc["open_connection_close_ms"] - cc["connect_close_ssl_disabled_ms"])


def why_connect(r: dict) -> str | None:
    cc = r["connect_costs"]
    if cc["open_connection_close_ms"] < max(2.0, 5 * cc["connect_close_ssl_disabled_ms"]):
        return None
    return (
        f"**Common cause: every unit of work opens a MySQL connection, and each costs "
        f"{_f(cc['open_connection_close_ms'])} ms.** `data.connection.open_connection` calls `pymysql.connect` "
        f"per transaction, and PyMySQL {cc['pymysql_version']} with no TLS options runs in 'preferred' TLS mode: "
        f"it builds `ssl.create_default_context()` (loading the system CA store, "
        f"{_f(cc['ssl_create_default_context_ms'])} ms of CPU) on every connect, although this server has "
        f"have_ssl={cc['server_have_ssl']}. The same "
        f"connect+close with `ssl_disabled=True` takes {_f(cc['connect_close_ssl_disabled_ms'], 2)} ms. Proposed "
        f"fix: in `open_connection` pass `ssl_disabled=True` unless TLS is configured (or build one SSLContext "
        f"and reuse it), then keep connections per thread instead of one per transaction."
    )


def why_c1(r: dict) -> str:
    split, costs = r["c1_request_split"], r["store_costs"]
    raw_ms = split["raw_pipeline_ms"]
    budget = raw_ms / 0.95 - raw_ms
    overhead = raw_ms * (1 / r["service_over_raw_c1"] - 1)
    return (
        f"At c1 everything is serial, so S/R = pipeline / (pipeline + overhead). The pipeline takes "
        f"{_f(raw_ms)} ms an image in-process, so 0.95 allows {_f(budget)} ms of overhead; S/R "
        f"{_f(r['service_over_raw_c1'], 3)} means about {_f(overhead)} ms. Medians over the c1 requests: client "
        f"round trip {_f(split['client_round_trip_ms'])} ms, of which HTTP + client {_f(split['http_and_client_ms'])}"
        f" ms (round trip minus the server's own REQUEST END time), the pipeline call in the server "
        f"{_f(split['pipeline_call_ms'])} ms, and {_f(split['in_server_beyond_pipeline_ms'])} ms in the server "
        f"beyond the pipeline call. Timed in-process, the store step is: PNG encode {_f(costs['encode_png_ms'], 2)}"
        f" ms, row INSERT+COMMIT on a pooled connection {_f(costs['row_insert_commit_ms'], 2)} ms, file "
        f"write+fsync+rename {_f(costs['disk_put_with_fsync_ms'], 2)} ms (without fsync "
        f"{_f(costs['disk_put_without_fsync_ms'], 2)} ms); `repository.add` in all "
        f"{_f(costs['repository_add_total_ms'], 2)} ms. The rest is the hand-off to the generation thread and "
        f"back, FastAPI's body validation and response serialization, and two log lines, on 2 cores shared with "
        f"the client and with torch's own threads. Each piece is small; together they are a few ms, which a "
        f"{_f(raw_ms, 0)} ms model leaves little room for. The fsyncs are kept: they are what makes a 200 durable."
    )


def why_content(r: dict) -> str:
    cc = r["content_costs"]
    return (
        f"Against a bare Starlette app serving the same file, the ratio is "
        f"{_f(r['content_over_static_c4'], 3)} at c4 and {_f(r['content_over_static_c1'], 3)} at c1: a bare "
        f"FileResponse costs about {_f(1000 / r['static_rps_c1'], 2)} ms a request at c1 (client included), "
        f"the content route about {_f(1000 / r['content_rps_c1'], 2)} ms. Most of the gap is what every "
        f"PixyProxy request pays, the same-server baseline included: FastAPI's routing and dependencies, the "
        f"request-log middleware's two lines, Prometheus observations and the X-Request-ID header. The route's "
        f"own work is `repository.content` on a pooled connection (ping, SELECT, COMMIT: "
        f"{_f(cc['repository_content_ms'], 2)} ms in-process) and one threadpool hop for the blocking driver. "
        f"The client (httpx on the same 2 cores) spends {_f(r['client_cpu_ms_per_request_c4'], 2)} ms CPU a "
        f"request, which narrows every read ratio."
    )


def why_list(r: dict) -> str:
    lc = r["list_costs"]
    return (
        f"Per request, in-process: the page query {_f(lc['sql_page_100_ms'], 2)} ms and validating 100 rows "
        f"{_f(lc['validate_100_rows_ms'], 2)} ms (`repository.list` {_f(lc['repository_list_ms'], 2)} ms). "
        f"X-Total-Count reads the total that insert and delete triggers keep in `image_stats` "
        f"(`repository.count` {_f(lc['repository_count_ms'], 2)} ms); a COUNT(*) would scan "
        f"{r['seed_rows']:,} index entries every request ({_f(lc['sql_count_star_ms'], 2)} ms)."
    )


def markdown(r: dict) -> str:
    t = r["targets"]
    s = r["service_images_per_s"]
    lines = [
        "# PixyProxy benchmarks",
        "",
        f"`make bench` (`scripts/bench.py`), {r['generated_at']}: model `{r['model']}` on `{r['device']}` "
        f"({r['dtype']}), {r['width']}x{r['height']}, {r['steps']} steps, guidance {r['guidance_scale']}; "
        f"{r['cpu_count']} CPU cores (shared), torch threads {r['torch_threads']}; load average "
        f"{_f(r['loadavg_start'], 2)} at start, {_f(r['loadavg_end'], 2)} at end; {_f(r['duration_s'], 0)} s in all.",
        "",
        f"Everything below was measured in one run on one machine. Absolute numbers drift on a shared machine, "
        f"so each ratio is the median of per-round ratios of measurements taken side by side ({r['rounds']} "
        f"rounds, the order rotating each round, {r['images_per_measurement']} images per throughput "
        f"measurement). Non-2xx responses during the run: {r['non_2xx_responses']}.",
        "",
        "## Targets",
        "",
        "| metric | measured | target | result |",
        "| --- | --- | --- | --- |",
    ]
    for key, target in t.items():
        verdict = "met" if target["met"] else f"**MISSED** by {target['miss_by']}"
        lines.append(f"| `{key}`: {target['meaning']} | {target['value']} | {target['target']} | {verdict} |")
    gain = r["batching_gain_c8"]
    lines.append(
        f"| `batching_gain_c8`: c8 images/s with PIXY_MAX_BATCH=4 over 1 | {_f(gain, 3)} | (none; report) | "
        f"{'faster' if gain > 1.05 else 'not faster'} |"
    )
    raw = r["raw_images_per_s"]
    lines += [
        "",
        "## Generation throughput",
        "",
        "| what | images/s | over raw (median of per-round ratios) |",
        "| --- | --- | --- |",
        f"| raw pipeline, in-process, one image a call (R) | {_f(raw, 2)} | 1 |",
        f"| raw pipeline, in-process, 4 images a call | {_f(r['raw_batch4_images_per_s'], 2)} | "
        f"{_f(r['raw_batch4_over_raw'], 3)} |",
        f"| service over HTTP, c1 | {_f(s['c1'], 2)} | {_f(r['service_over_raw_c1'], 3)} |",
        f"| service over HTTP, c4 | {_f(s['c4'], 2)} | {_f(r['service_over_raw_c4'], 3)} |",
        f"| service over HTTP, c8, PIXY_MAX_BATCH=1 | {_f(s['c8'], 2)} | {_f(r['service_over_raw_c8'], 3)} |",
        f"| service over HTTP, c8, PIXY_MAX_BATCH=4, PIXY_BATCH_WAIT_MS={r['batch_wait_ms']} | "
        f"{_f(r['batch4_service_images_per_s_c8'], 2)} | gain over MAX_BATCH=1: {_f(gain, 3)} |",
        "",
        f"Per-round S/R at c1: {r['service_over_raw_c1_rounds']}.",
        "",
        "## Read path",
        "",
        "| what | c1 req/s | c4 req/s |",
        "| --- | --- | --- |",
        f"| `GET /image/{{guid}}/content` ({r['content_png_bytes']} byte PNG, disk storage) | "
        f"{_f(r['content_rps_c1'])} | {_f(r['content_rps_c4'])} |",
        f"| static baseline: Starlette FileResponse of the same file, uvicorn the same way | "
        f"{_f(r['static_rps_c1'])} | {_f(r['static_rps_c4'])} |",
        f"| same-server baseline: the PixyProxy app (its middleware, log lines, metrics) with an extra route "
        f"returning a FileResponse of the same file | {_f(r['same_server_static_rps_c1'])} | "
        f"{_f(r['same_server_static_rps_c4'])} |",
        f"| content / same-server static (the target's ratio) | {_f(r['content_over_same_server_static_c1'], 3)} | "
        f"{_f(r['content_over_same_server_static_c4'], 3)} |",
        f"| content / bare static | {_f(r['content_over_static_c1'], 3)} | {_f(r['content_over_static_c4'], 3)} |",
        "",
        f"`GET /image/` (first page, 100 rows) with {r['seed_rows']:,} rows (seeded through `add_many` in "
        f"{_f(r['seed_seconds'])} s, mysql storage): p50 {_f(r['list_p50_ms_100k'], 2)} ms, p95 "
        f"{_f(r['list_p95_ms_100k'], 2)} ms (server's own time p50 {_f(r['list_server_p50_ms_100k'], 2)} ms); "
        f"a page from the middle (`?before=`) p50 {_f(r['list_before_middle_p50_ms'], 2)} ms, p95 "
        f"{_f(r['list_before_middle_p95_ms'], 2)} ms.",
        "",
        "## Memory",
        "",
        f"{r['memory_mix']}. VmRSS {_f(r['rss_before_mb'])} -> {_f(r['rss_after_mb'])} MB, VmHWM "
        f"{_f(r['hwm_before_mb'])} -> {_f(r['hwm_after_mb'])} MB ({r['memory_requests_ok']} of 500 answered 2xx).",
        "",
        "## Why",
        "",
    ]
    if common := why_connect(r):
        lines += [f"- {common}", ""]
    if not t["service_over_raw_c1"]["met"]:
        lines += [f"- **service_over_raw_c1 missed by {t['service_over_raw_c1']['miss_by']}.** {why_c1(r)}", ""]
    if not t["content_over_static"]["met"]:
        lines += [f"- **content_over_static missed by {t['content_over_static']['miss_by']}.** {why_content(r)}", ""]
    if not t["list_p95_ms_100k"]["met"]:
        lines += [f"- **list_p95_ms_100k missed by {t['list_p95_ms_100k']['miss_by']} ms.** {why_list(r)}", ""]
    else:
        lines += [f"- List latency: {why_list(r)}", ""]
    if not t["rss_growth_mb_500"]["met"]:
        lines += [f"- **rss_growth_mb_500 missed by {t['rss_growth_mb_500']['miss_by']} MB.**", ""]
    lines += [
        f"- Micro-batching at c8: {'faster' if gain > 1.05 else 'not faster'} on this machine "
        f"(x{_f(gain, 2)}). In-process, 4 images a call give x{_f(r['raw_batch4_over_raw'], 2)} the images/s "
        f"of one a call, which bounds what the worker's batching can win here.",
        "",
    ]
    if r.get("notes"):
        lines += [f"- {note}" for note in r["notes"]] + [""]
    return "\n".join(lines)


def write(result: dict, prefix: Path) -> tuple[Path, Path]:
    result["generated_at"] = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    result["targets"] = evaluate(result)
    result = _round(result)
    prefix.parent.mkdir(parents=True, exist_ok=True)
    json_path, md_path = prefix.with_suffix(".json"), prefix.with_suffix(".md")
    json_path.write_text(json.dumps(result, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    md_path.write_text(markdown(result), encoding="utf-8")
    return json_path, md_path
