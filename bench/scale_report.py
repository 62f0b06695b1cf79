"""The scale-out section of the report: its targets, its table, and what limits it when a target is missed."""

from __future__ import annotations

TARGETS = {
    "scale_efficiency_worst": (
        ">=",
        0.9,
        "",
        "throughput(N workers) / (N x throughput(1 worker)), the worst N, workers sleeping 200 ms an image",
    ),
    "enqueue_to_start_p50_ms": ("<", 20.0, " ms", "POST /jobs accepted to the job started on an idle worker, p50"),
}


BROKERS = {"amqp": "RabbitMQ, in a vhost of its own", "redis": "Redis"}


def _f(value: float, digits: int = 1) -> str:
    return f"{value:.{digits}f}"


def section(r: dict) -> list[str]:
    if "scale_efficiency" not in r:
        return []
    ideal = r["scale_ideal_jobs_per_s_per_worker"]
    lines = [
        "## Scale-out (distributed mode)",
        "",
        f"One API process (`PIXY_BROKER_URL`: {BROKERS.get(r['scale_broker'], r['scale_broker'])}; "
        f"`PIXY_STORAGE=mysql`) and N "
        f"workers (`python -m bench.sleep_worker`: the real worker, `PIXY_MAX_BATCH=1`, with a generator that "
        f"sleeps {_f(1000 / ideal, 0)} ms an image and costs no CPU), all on this {r['scale_cpu_count']}-core "
        f"machine. Each measurement sends {r['scale_jobs_per_worker']} x N jobs (`steps=1`) through `POST /jobs` "
        f"from 4 clients and times them from the first send to the last `finished_at`; each round measures N "
        f"workers next to 1 (idle workers stop consuming through Celery's remote control) and each efficiency "
        f"is the median of the per-round ratios {r['scale_efficiency_rounds']}. An ideal worker does "
        f"{_f(ideal, 1)} jobs/s.",
        "",
        "| workers | jobs/s | jobs/s a worker | scale_efficiency | workers that took jobs (fewest) | most jobs on "
        "one worker | job time beyond the sleep, median ms | finished to next started on a worker, median ms |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for n, rate in r["scale_jobs_per_s"].items():
        lines.append(
            f"| {n} | {_f(rate, 2)} | {_f(rate / int(n), 2)} | {_f(r['scale_efficiency'][n], 3)} | "
            f"{r['scale_workers_used_min'][n]} | {r['scale_most_jobs_on_a_worker'][n]} | "
            f"{_f(r['scale_job_overhead_ms'][n])} | {_f(r['scale_gap_between_jobs_ms'][n])} |"
        )
    lines += [
        "",
        f"Enqueue to start on an idle worker (`jobs.started_at - created_at`, {r['enqueue_to_start_jobs']} "
        f"sequential jobs): p50 {_f(r['enqueue_to_start_p50_ms'], 2)} ms, p95 {_f(r['enqueue_to_start_p95_ms'], 2)} "
        f"ms; the `POST /jobs` round trip p50 {_f(r['enqueue_post_p50_ms'], 2)} ms.",
        "",
        why(r),
        "",
    ]
    return lines


def why(r: dict) -> str:
    """What a job costs a worker beyond its sleep, and what bends the ratio as N grows."""
    top = max(r["scale_efficiency"], key=int)
    inside, gap = r["scale_job_overhead_ms"], r["scale_gap_between_jobs_ms"]
    missed = r["scale_efficiency_worst"] < TARGETS["scale_efficiency_worst"][1]
    return (
        f"{'**Missed.** ' if missed else ''}What limits it: each job costs a worker about "
        f"{_f(inside['1'] + gap['1'])} ms beyond its sleep with one worker ({_f(inside['1'])} ms from the claim to "
        f"`finished_at`: the job's row read, the started and progress events, the cancel check, the PNG; "
        f"{_f(gap['1'])} ms from there to the next claim: the image and the job's end in one transaction, the "
        f"succeeded event, the acknowledgement, the next delivery (prefetch 1 with late acks sends it only "
        f"after the ack) and the lease read), and {_f(inside[top] + gap[top])} ms with {top} workers, whose "
        f"processes share these cores with the API, MariaDB, RabbitMQ and the client. A measurement also ends "
        f"with its busiest worker: {r['scale_most_jobs_on_a_worker'][top]} jobs on one of the {top} where each "
        f"would take {r['scale_jobs_per_worker']} costs that much more time."
    )
