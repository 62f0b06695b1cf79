"""The ceiling section of the report: the service with a generator that costs nothing, its targets and profile."""

from __future__ import annotations

TARGETS = {
    "ceiling_images_per_s_c16": (">=", 150.0, "", "POST /image/ images/s at c16, stand-in generator, 512x512"),
    "server_cpu_ms_per_image_512": ("<=", 8.0, " ms", "the server process's CPU time per stored 512x512 image"),
    "ceiling_jobs_images_per_s_c16": (
        ">=",
        120.0,
        "",
        "POST /jobs images/s at c16, each client following its job's events to the end",
    ),
    "distributed_ceiling_images_per_s_c16": (
        ">=",
        60.0,
        "",
        "POST /image/ images/s at c16, one API process and one stand-in worker on RabbitMQ",
    ),
}

# Where the server's time went, from py-spy --gil (samples only while a thread holds the GIL) on the stand-in
# server at c16, POST /image/, 1,500 requests, after this changes. The process is bound by the GIL:
# at ~150 images/s and ~5.5 ms each it holds it ~80% of the time, so its CPU per image sets the ceiling.
PROFILE = [
    ("PNG encoding (fpng, holding the GIL; was Pillow's zlib, ~22 ms)", 28.9),
    ("`Image.tobytes` for the encoder", 12.2),
    ("HTTP: uvicorn, Starlette and FastAPI, the middleware, two log lines", 21.0),
    ("pydantic, the resolver and the job intake", 6.0),
    ("MySQL (PyMySQL): the image and job rows, one commit", 10.9),
    ("the file: mkstemp, write, fsync (which releases the GIL), rename", 3.2),
    ("hand-offs: the batch queue, futures, anyio's threads", 10.0),
]


def _f(value: float, digits: int = 1) -> str:
    return f"{value:.{digits}f}"


def section(r: dict) -> list[str]:
    if "ceiling_images_per_s_c16" not in r:
        return []
    enc = r["ceiling_encode"]
    lines = [
        "## Ceiling (a generator that costs nothing)",
        "",
        "`python -m bench.photo_server`: the real service (HTTP, the job path, PNG encoding, disk storage, MySQL) "
        "with a stand-in generator that answers at once with photo-like 512x512 content (smooth fields, edges "
        f"and noise; {r['ceiling_png_bytes']:,} bytes as stored), `PIXY_MAX_BATCH=8`. Each measurement is "
        f"{r['ceiling_requests_per_measurement']} requests from 16 clients; the figure is the median of "
        f"{len(r['ceiling_images_per_s_c16_rounds'])} rounds, `POST /image/` and `POST /jobs` alternating.",
        "",
        "| what | images/s (median) | rounds |",
        "| --- | --- | --- |",
        f"| `POST /image/`, c16 | {_f(r['ceiling_images_per_s_c16'])} | {r['ceiling_images_per_s_c16_rounds']} |",
        f"| `POST /jobs`, then its events to the end, c16 | {_f(r['ceiling_jobs_images_per_s_c16'])} | "
        f"{r['ceiling_jobs_images_per_s_c16_rounds']} |",
    ]
    if "distributed_ceiling_images_per_s_c16" in r:
        lines.append(
            f"| distributed: `POST /image/`, c16, one API process, one stand-in worker (RabbitMQ, mysql storage) | "
            f"{_f(r['distributed_ceiling_images_per_s_c16'])} | {r['distributed_ceiling_images_per_s_c16_rounds']} |"
        )
    lines += [
        "",
        f"Server CPU per stored image (utime + stime of the process over the `POST /image/` runs): "
        f"{_f(r['server_cpu_ms_per_image_512'], 2)} ms (rounds {r['server_cpu_ms_per_image_512_rounds']}).",
    ]
    if "distributed_api_cpu_ms_per_image" in r:
        lines[-1] += (
            f" Distributed: the API process {_f(r['distributed_api_cpu_ms_per_image'], 2)} ms, the worker "
            f"{_f(r['distributed_worker_cpu_ms_per_image'], 2)} ms an image."
        )
    lines += [
        "",
        f"Encoders on the stand-in's image, in-process (median of {enc['repeat']}): "
        + ", ".join(f"{name} {_f(ms, 2)} ms ({enc['bytes'][name]:,} bytes)" for name, ms in enc["ms"].items())
        + f"; the service uses {enc['chosen']}.",
        "",
        "Where the server's time goes (py-spy `--gil` at c16, share of the time a thread holds the GIL):",
        "",
        "| part | share |",
        "| --- | --- |",
        *[f"| {part} | {share:.0f}% |" for part, share in PROFILE],
        "",
    ]
    return lines
