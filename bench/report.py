"""The targets, and the results as ``<prefix>.json`` and a Markdown report ``<prefix>.md``."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from pathlib import Path

from bench import ceiling_report, models_report, scale_report

# key: (comparison, threshold, unit, what it measures)
TARGETS = {
    "service_over_raw_c1": (">=", 0.95, "", "service images/s at c1 over the raw pipeline's"),
    "content_over_static": (
        ">=",
        0.80,
        "",
        "GET /image/{guid}/content req/s at c4 over a FileResponse of the same PNG in the same server",
    ),
    "list_p95_ms_100k": ("<", 20.0, " ms", "GET /image/ p95 latency with 100,000 rows"),
    "rss_growth_mb_500": ("<=", 10.0, " MB", "server RSS growth (VmRSS or VmHWM) over 500 requests"),
    "gallery_page_weight_ratio": ("<=", 0.1, "", "bytes of the gallery's first page of thumbnails over its PNGs"),
    "thumbnail_over_content": (">=", 0.8, "", "warm thumbnail req/s at c4 over the PNG content route's"),
    "progress_event_p95_ms": ("<", 250.0, " ms", "a step's progress event reaching an SSE client, p95"),
    "cancel_latency_steps": ("<=", 1, " steps", "steps a running job runs after its DELETE is sent (worst)"),
    **scale_report.TARGETS,
    **ceiling_report.TARGETS,
    **models_report.TARGETS,
}


def _met(value: float, op: str, threshold: float) -> bool:
    if value is None or math.isnan(value):
        return False
    return {">=": value >= threshold, "<": value < threshold, "<=": value <= threshold}[op]


def evaluate(result: dict) -> dict:
    targets = {}
    for key, (op, threshold, unit, meaning) in TARGETS.items():
        if key not in result:  # a section not run (``--only``)
            continue
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


def why_c1(r: dict) -> str:
    split, costs = r["c1_request_split"], r["store_costs"]
    raw_ms = split["raw_pipeline_ms"]
    overhead = raw_ms * (1 / r["service_over_raw_c1"] - 1)
    return (
        f"At c1 everything is serial, so S/R = pipeline / (pipeline + overhead): the pipeline's {_f(raw_ms)} ms "
        f"an image leaves {_f(raw_ms / 0.95 - raw_ms)} ms for overhead at 0.95, and about {_f(overhead)} ms was "
        f"spent. Medians over the c1 requests: HTTP + client {_f(split['http_and_client_ms'])} ms (round trip "
        f"minus the server's REQUEST END time), {_f(split['in_server_beyond_pipeline_ms'])} ms in the server "
        f"beyond the pipeline call. In-process, the store step is PNG encode {_f(costs['encode_png_ms'], 2)} ms, "
        f"row INSERT+COMMIT {_f(costs['row_insert_commit_ms'], 2)} ms, file write+fsync+rename "
        f"{_f(costs['disk_put_with_fsync_ms'], 2)} ms (without fsync {_f(costs['disk_put_without_fsync_ms'], 2)} "
        f"ms); `repository.add` in all {_f(costs['repository_add_total_ms'], 2)} ms. The rest is the hand-off to "
        f"the generation thread, FastAPI's validation and serialization and two log lines, on cores shared with "
        f"the client and torch. The fsyncs are kept: they are what makes a 200 durable."
    )


def why_content(r: dict) -> str:
    return (
        f"Against a bare Starlette app the ratio is {_f(r['content_over_static_c4'], 3)} at c4: most of the gap "
        f"is what every PixyProxy request pays, the same-server baseline included (routing, dependencies, the "
        f"request log, metrics, X-Request-ID). The route's own work is `repository.content` on a pooled "
        f"connection ({_f(r['content_repository_ms'], 2)} ms in-process) and one threadpool hop. The client "
        f"spends {_f(r['client_cpu_ms_per_request_c4'], 2)} ms CPU a request on the same cores."
    )


def why_list(r: dict) -> str:
    lc = r["list_costs"]
    return (
        f"`repository.list` takes {_f(lc['repository_list_ms'], 2)} ms in-process (its page as plain SQL "
        f"{_f(lc['sql_page_100_ms'], 2)} ms, the rest is validation). X-Total-Count reads the total that triggers "
        f"keep in `image_stats` ({_f(lc['repository_count_ms'], 2)} ms); a COUNT(*) over {r['seed_rows']:,} rows "
        f"would take {_f(lc['sql_count_star_ms'], 2)} ms every request."
    )


def targets_table(t: dict) -> list[str]:
    lines = ["## Targets", "", "| metric | measured | target | result |", "| --- | --- | --- | --- |"]
    for key, target in t.items():
        verdict = "met" if target["met"] else f"**MISSED** by {target['miss_by']}"
        lines.append(f"| `{key}`: {target['meaning']} | {target['value']} | {target['target']} | {verdict} |")
    return lines


def markdown_only(r: dict) -> str:
    """The report of ``--only``: its section alone."""
    lines = [
        "# PixyProxy benchmarks (one section)",
        "",
        f"`python -m bench --only {r['only']}`, {r['generated_at']}: {r['cpu_count']} CPU cores (shared); load "
        f"average {_f(r['loadavg_start'], 2)} at start, {_f(r['loadavg_end'], 2)} at end; "
        f"{_f(r['duration_s'], 0)} s in all.",
        "",
    ]
    sections = scale_report.section(r) + ceiling_report.section(r) + models_report.section(r)
    return "\n".join(lines + targets_table(r["targets"]) + [""] + sections)


def markdown(r: dict) -> str:
    if r.get("only"):
        return markdown_only(r)
    t = r["targets"]
    s = r["service_images_per_s"]
    lines = [
        "# PixyProxy benchmarks",
        "",
        f"`make bench` (`python -m bench`), {r['generated_at']}: model `{r['model']}` on `{r['device']}` "
        f"({r['dtype']}), {r['width']}x{r['height']}, {r['steps']} steps, guidance {r['guidance_scale']}; "
        f"{r['cpu_count']} CPU cores (shared), torch threads {r['torch_threads']}; load average "
        f"{_f(r['loadavg_start'], 2)} at start, {_f(r['loadavg_end'], 2)} at end; {_f(r['duration_s'], 0)} s in all.",
        "",
        f"Everything below was measured in one run on one machine. Absolute numbers drift on a shared machine, "
        f"so each ratio is the median of per-round ratios of measurements taken side by side ({r['rounds']} "
        f"rounds, the order rotating each round, {r['images_per_measurement']} images per throughput "
        f"measurement). Non-2xx responses during the run: {r['non_2xx_responses']}.",
        "",
        *targets_table(t),
    ]
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
        f"Gallery first page: {r['gallery_page_images']} images at 512x512 weigh {r['gallery_page_png_bytes']:,} bytes "
        f"as PNGs, {r['gallery_page_thumbnail_bytes']:,} as the grid asks them (`{r['gallery_page_query']}`); a warm "
        f"thumbnail {_f(r['thumbnail_rps_c4'])} req/s at c4 against the PNG's {_f(r['thumbnail_content_rps_c4'])}.",
        "",
        f"Live events: {r['progress_events']} progress events reached an SSE client "
        f"{_f(r['progress_event_median_ms'])} ms after their step (median), "
        f"p95 {_f(r['progress_event_p95_ms'])} ms; cancels let "
        f"{r['cancel_latency_steps_runs']} steps run after the DELETE was sent.",
        "",
        *scale_report.section(r),
        *ceiling_report.section(r),
        *models_report.section(r),
        "## Memory",
        "",
        f"{r['memory_mix']}. VmRSS {_f(r['rss_before_mb'])} -> {_f(r['rss_after_mb'])} MB, VmHWM "
        f"{_f(r['hwm_before_mb'])} -> {_f(r['hwm_after_mb'])} MB "
        f"({r['memory_requests_ok']} of {r['memory_requests']} answered 2xx).",
        "",
        "## Why",
        "",
    ]
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
