"""The distributed mode's launcher over fakes: how many synchronous requests may wait, and for how long."""

from __future__ import annotations

import threading
from types import SimpleNamespace

import pytest

from core.exceptions import GeneratorBusy
from service.distributed.celery_launch import CeleryLauncher
from service.jobs.intake import Accepted

PARAMS = SimpleNamespace(model="tiny")  # the launcher reads only the model, whose queue the task goes to


class FakeViews:
    """``wait`` blocks until the test opens ``gate``; records each wait's timeout."""

    def __init__(self) -> None:
        self.gate = threading.Event()
        self.waiting = threading.Semaphore(0)
        self.timeouts: list[float | None] = []

    def wait(self, job_id: str, *, abandoned=None, timeout=None) -> list:
        self.timeouts.append(timeout)
        self.waiting.release()
        self.gate.wait(10)
        return []


class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple] = []

    def __getattr__(self, name: str):
        return lambda *args, **kwargs: self.calls.append((name, *args)) or True


@pytest.fixture
def parts():
    return {"views": FakeViews(), "dispatch": Recorder(), "repository": Recorder(), "events": Recorder()}


def launcher(parts, *, max_waiting: int) -> CeleryLauncher:
    return CeleryLauncher(
        dispatch=parts["dispatch"],
        leases=Recorder(),
        repository=parts["repository"],
        events=parts["events"],
        views=parts["views"],
        announcer=Recorder(),
        max_waiting=max_waiting,
        timeout=12.5,
    )


def accepted(i: int) -> Accepted:
    return Accepted(job_id=f"job-{i}", params=PARAMS, n=1, persisted=True)


def test_up_to_max_waiting_requests_wait_and_one_more_is_refused_and_withdrawn(parts):
    launch = launcher(parts, max_waiting=2)
    threads = [threading.Thread(target=launch.run, args=(accepted(i),), kwargs={"abandoned": None}) for i in range(2)]
    for thread in threads:
        thread.start()
    for _ in threads:
        assert parts["views"].waiting.acquire(timeout=10)
    assert launch.full()
    with pytest.raises(GeneratorBusy):
        launch.run(accepted(9), abandoned=None)
    assert ("withdraw", "job-9") in parts["repository"].calls
    assert ("enqueue", "job-9") not in parts["dispatch"].calls
    parts["views"].gate.set()
    for thread in threads:
        thread.join(10)
    assert not launch.full()
    assert parts["views"].timeouts == [12.5, 12.5]


def test_one_waiter_below_the_bound_leaves_room(parts):
    launch = launcher(parts, max_waiting=2)
    thread = threading.Thread(target=launch.run, args=(accepted(1),), kwargs={"abandoned": None})
    thread.start()
    assert parts["views"].waiting.acquire(timeout=10)
    assert not launch.full()
    parts["views"].gate.set()
    thread.join(10)
