"""The generation worker: futures, a bounded wait queue, failures, batching and shutdown."""

from __future__ import annotations

import numpy as np
import pytest

from core.exceptions import GenerationFailed, GeneratorBusy
from core.models import GenerationParams

WAIT = 5


def params(seed: int = 1, **overrides) -> GenerationParams:
    values = {"prompt": f"seed {seed}", "negative_prompt": "", "seed": seed, "steps": 2}
    values |= {"guidance_scale": 1.0, "width": 64, "height": 64}
    return GenerationParams(**(values | overrides))


def test_results_come_back_through_futures(make_worker, render):
    worker = make_worker()
    submitted = [params(seed) for seed in (3, 1, 4)]
    futures = [worker.submit(p) for p in submitted]
    results = [f.result(timeout=WAIT) for f in futures]
    assert [r.params for r in results] == submitted
    for result, p in zip(results, submitted, strict=True):
        assert np.array_equal(np.asarray(result.image), np.asarray(render(p.seed)))


def test_max_queue_counts_waiting_jobs_not_the_running_one(make_worker, generator):
    generator.gate.clear()
    worker = make_worker(max_queue=2)
    running = worker.submit(params(0))
    assert generator.started.wait(WAIT)
    waiting = [worker.submit(params(1)), worker.submit(params(2))]
    assert (worker.busy, worker.queue_depth) == (1, 2)
    with pytest.raises(GeneratorBusy) as caught:
        worker.submit(params(3))
    assert caught.value.status_code == 503 and caught.value.retry_after > 0
    generator.gate.set()
    assert [f.result(timeout=WAIT).params.seed for f in [running, *waiting]] == [0, 1, 2]
    assert worker.submit(params(4)).result(timeout=WAIT).params.seed == 4


def test_a_zero_queue_still_admits_one_job_when_idle(make_worker, generator):
    generator.gate.clear()
    worker = make_worker(max_queue=0)
    first = worker.submit(params(0))
    assert generator.started.wait(WAIT)
    with pytest.raises(GeneratorBusy):
        worker.submit(params(1))
    generator.gate.set()
    assert first.result(timeout=WAIT).params.seed == 0


def test_a_failed_generation_fails_its_future_and_the_next_job_succeeds(make_worker, generator):
    generator.failures.append(GenerationFailed())
    worker = make_worker()
    failed = worker.submit(params(1))
    assert isinstance(failed.exception(timeout=WAIT), GenerationFailed)
    assert worker.submit(params(2)).result(timeout=WAIT).params.seed == 2


def test_the_worker_survives_a_generator_fault_outside_its_contract(make_worker, generator):
    generator.failures.append(RuntimeError("boom"))
    worker = make_worker()
    assert isinstance(worker.submit(params(1)).exception(timeout=WAIT), RuntimeError)
    assert worker.submit(params(2)).result(timeout=WAIT).params.seed == 2


def test_compatible_jobs_submitted_together_reach_the_generator_as_one_batch(make_worker, generator):
    worker = make_worker(start=False, max_batch=4, batch_wait_ms=2000)
    futures = [worker.submit(params(seed)) for seed in range(4)]
    worker.start()
    results = [f.result(timeout=WAIT) for f in futures]
    assert generator.batch_sizes == [4]
    assert [r.params.seed for r in results] == [0, 1, 2, 3]


def test_a_batch_never_exceeds_max_batch(make_worker, generator):
    worker = make_worker(start=False, max_batch=4, batch_wait_ms=50)
    futures = [worker.submit(params(seed)) for seed in range(6)]
    worker.start()
    assert [f.result(timeout=WAIT).params.seed for f in futures] == list(range(6))
    assert generator.batch_sizes == [4, 2]


@pytest.mark.parametrize(
    "differ",
    [{"steps": 3}, {"guidance_scale": 2.0}, {"width": 128}, {"height": 128}],
    ids=["steps", "guidance", "width", "height"],
)
def test_jobs_that_differ_in_shape_are_not_batched_together(make_worker, generator, differ):
    worker = make_worker(start=False, max_batch=4, batch_wait_ms=50)
    futures = [worker.submit(params(seed, **(differ if seed % 2 else {}))) for seed in range(4)]
    worker.start()
    for future in futures:
        future.result(timeout=WAIT)
    assert generator.batch_sizes == [2, 2]
    for batch in generator.batches:
        assert len({(p.steps, p.guidance_scale, p.width, p.height) for p in batch}) == 1


def test_with_max_batch_one_every_job_runs_alone(make_worker, generator):
    worker = make_worker(start=False, max_batch=1, batch_wait_ms=50)
    futures = [worker.submit(params(seed)) for seed in range(3)]
    worker.start()
    for future in futures:
        future.result(timeout=WAIT)
    assert generator.batch_sizes == [1, 1, 1]


def test_stop_fails_pending_futures_and_refuses_new_jobs(make_worker, generator):
    generator.gate.clear()
    worker = make_worker()
    running = worker.submit(params(0))
    assert generator.started.wait(WAIT)
    pending = [worker.submit(params(1)), worker.submit(params(2))]
    worker.stop(timeout=0.1)
    for future in pending:
        assert isinstance(future.exception(timeout=WAIT), GeneratorBusy)
    with pytest.raises(GeneratorBusy):
        worker.submit(params(3))
    generator.gate.set()
    assert running.result(timeout=WAIT).params.seed == 0
    assert generator.batch_sizes == [1]


def test_stop_tolerates_a_pending_future_the_caller_cancelled(make_worker, generator):
    generator.gate.clear()
    worker = make_worker()
    worker.submit(params(0))
    assert generator.started.wait(WAIT)
    abandoned, pending = worker.submit(params(1)), worker.submit(params(2))
    assert abandoned.cancel()
    worker.stop(timeout=0.1)
    assert isinstance(pending.exception(timeout=WAIT), GeneratorBusy)


def test_a_poisoned_request_fails_alone_and_its_batch_mates_succeed(make_worker, generator):
    generator.poisoned.add("seed 2")
    worker = make_worker(start=False, max_batch=4, batch_wait_ms=2000)
    futures = [worker.submit(params(seed)) for seed in range(4)]
    worker.start()
    assert isinstance(futures[2].exception(timeout=WAIT), GenerationFailed)
    assert [futures[i].result(timeout=WAIT).params.seed for i in (0, 1, 3)] == [0, 1, 3]
    assert generator.batch_sizes == [4, 1, 1, 1, 1]
