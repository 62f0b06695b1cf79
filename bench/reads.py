"""The read side: content against two static-file baselines, the list at 100,000 rows, memory under a mix."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from bench import DATABASES, PROMPT, diagnose
from bench.load import median, percentile, server_ms
from service.bootstrap import bootstrap

if TYPE_CHECKING:
    from bench.run import Bench


def rotated(items: list, r: int) -> list:
    return items[r % len(items) :] + items[: r % len(items)]


def content(bench: Bench) -> None:
    guid = bench.guids[0]
    path = bench.tmp / "images-main" / f"{guid}.png"
    argv = [sys.executable, "-m", "bench.static", str(path), "{port}"]
    content_path = f"/image/{guid}/content"
    bench.serve("static", argv, ready_path=content_path)
    same = {"DB_NAME": DATABASES["main"], "PIXY_MODEL": "tiny", "PIXY_API_KEYS": ""}
    bench.serve("same", [*argv, "--same-server"], ready_path=content_path, **same)
    get = lambda client, _: client.get(content_path)  # noqa: E731
    runs: dict[str, list] = {}
    targets = [(name, c) for c in (1, 4) for name in ("main", "static", "same")]
    for r in range(bench.args.rounds):
        for name, c in rotated(targets, r):
            runs.setdefault(f"{name}_c{c}", []).append(bench.load(name, c, get, duration=bench.args.read_seconds))
    res = bench.result
    for c in (1, 4):
        service = runs[f"main_c{c}"]
        res[f"content_rps_c{c}"] = median([x.rate for x in service])
        for name, key in (("static", "static"), ("same", "same_server_static")):
            baseline = runs[f"{name}_c{c}"]
            res[f"{key}_rps_c{c}"] = median([x.rate for x in baseline])
            res[f"content_over_{key}_c{c}"] = median([a.rate / b.rate for a, b in zip(service, baseline, strict=True)])
        cpu = [1000 * x.client_cpu_s / max(x.ok, 1) for x in service + runs[f"static_c{c}"]]
        res[f"client_cpu_ms_per_request_c{c}"] = median(cpu)
    res["content_over_static"] = res["content_over_same_server_static_c4"]
    res["content_png_bytes"] = path.stat().st_size
    res["content_repository_ms"] = diagnose.content_ms(bench.main, guid)


def listing(bench: Bench) -> None:
    settings = bench.main.settings.model_copy(update={"db_name": DATABASES["list"], "pixy_storage": "mysql"})
    rows = bootstrap(settings, generator=bench.main.generator, prepare_database=False)
    bench.containers.append(rows)
    seconds, middle = diagnose.seed_rows(rows, bench.args.rows)
    print(f"  seeded {bench.args.rows} rows in {seconds:.1f}s", flush=True)
    first = bench.load("list", 1, lambda client, _: client.get("/image/"), count=20)  # warm-up
    assert first.errors == 0 and first.ok == 20
    load = bench.load("list", 1, lambda client, _: client.get("/image/"), count=bench.args.list_requests)
    deep = bench.load("list", 1, lambda client, _: client.get(f"/image/?before={middle}"), count=50)
    by_id = server_ms(bench.servers["list"])
    res = bench.result
    res["seed_rows"], res["seed_seconds"] = bench.args.rows, seconds
    res["list_p50_ms_100k"] = percentile(load.latencies_ms, 50)
    res["list_p95_ms_100k"] = percentile(load.latencies_ms, 95)
    res["list_server_p50_ms_100k"] = median([by_id[r] for r in load.request_ids if r in by_id])
    res["list_before_middle_p50_ms"] = percentile(deep.latencies_ms, 50)
    res["list_before_middle_p95_ms"] = percentile(deep.latencies_ms, 95)
    res["list_costs"] = diagnose.list_costs(rows)


def memory(bench: Bench) -> None:
    server, guids, count = bench.servers["main"], bench.guids, bench.args.memory_requests

    def mixed(client, i: int):
        if i % 10 == 8:
            return client.get(f"/image/{guids[i % len(guids)]}/content")
        if i % 10 == 9:
            return client.get("/image/")
        return client.post("/image/", json={"prompt": f"{PROMPT} #{i}", "seed": 50_000 + i, "steps": 1})

    bench.load("main", 4, mixed, count=20)  # the same mix, to warm the paths once
    before = server.memory_mb()
    load = bench.load("main", 4, mixed, count=count)
    after = server.memory_mb()
    res = bench.result
    res["memory_mix"] = (
        f"{count} requests at concurrency 4: 80% POST /image/ (steps=1, distinct prompts and seeds), "
        f"10% GET /image/{{guid}}/content, 10% GET /image/; after 20 warm-up requests of the same mix"
    )
    res["memory_requests"], res["memory_requests_ok"] = count, load.ok
    res["rss_before_mb"], res["rss_after_mb"] = before["VmRSS"], after["VmRSS"]
    res["hwm_before_mb"], res["hwm_after_mb"] = before["VmHWM"], after["VmHWM"]
    res["rss_growth_mb_500"] = max(after["VmRSS"] - before["VmRSS"], after["VmHWM"] - before["VmHWM"])
