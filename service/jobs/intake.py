"""How a request becomes a job: resolved, checked, its key claimed, and its row written when something needs it."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from core.clock import now
from core.exceptions import GeneratorBusy, InvalidInput, TooManyQueued
from core.jobs import MAX_JOB_IMAGES, JobRequest
from core.models import GenerationParams, GenerationRequest
from data.idempotency import KeyClaim
from data.jobs import MySQLJobRepository
from data.write import Write
from service.edits.sources import EditInputs
from service.edits.uploads import Uploads
from service.images.resolver import Resolver
from service.jobs.idempotency import check_owner, key_claim
from service.webhooks.policy import WebhookPolicy


@dataclass(frozen=True)
class Accepted:
    job_id: str
    params: GenerationParams
    n: int
    persisted: bool  # its row is written (else it is written once, at its end)
    earlier: str | None = None  # an Idempotency-Key's earlier job, to answer instead
    # Under an Idempotency-Key: the client that leaves will retry, so the job runs whatever it does.
    keyed: bool = False


class JobIntake:
    def __init__(
        self,
        *,
        repository: MySQLJobRepository,
        resolver: Resolver,
        inputs: EditInputs,
        webhook_policy: WebhookPolicy,
        full: Callable[[], bool],
        max_queued: int,
    ) -> None:
        """``full()``: whether a synchronous request would now wait behind more than the queue may hold;
        ``max_queued``: how many jobs may wait at once (all callers, counted in MySQL) for a new one to be
        accepted."""
        self.repository = repository
        self.resolver = resolver
        self.inputs = inputs
        self.webhook_policy = webhook_policy
        self.full = full
        self.max_queued = max_queued

    def accept_job(self, request: JobRequest, *, idempotency_key: str | None, route: str) -> Accepted:
        """``POST /jobs``: a job whose row is written now, for whoever asks after it."""
        key = key_claim(idempotency_key, route=route, body=request, at=now())
        webhook_url = self.webhook_policy.check(request.webhook_url) if request.webhook_url is not None else None
        params = self.resolver.resolve(request.model_dump(exclude={"n", "webhook_url"}))
        self.resolver.check_cost(params, n=request.n)
        # Counted before the insert: concurrent submissions at the edge may pass it by a few, never by a burst.
        if self.repository.count(status="queued") >= self.max_queued:
            raise TooManyQueued()
        return self._admit(str(uuid.uuid4()), params, n=request.n, key=key, webhook_url=webhook_url, write_row=True)

    def accept_sync(
        self,
        request: GenerationRequest | dict,
        *,
        n: int,
        idempotency_key: str | None,
        route: str,
        uploads: Uploads | None,
        write_row: bool,
    ) -> Accepted:
        """A synchronous request's job; refused (503) before anything is written when the queue is full.

        Its row is written now only when something needs it (a key, uploads, ``write_row``). Without one, no
        one can ask for the job before it ends: its row is written once, at the end, which keeps the
        synchronous path to one extra commit (a dropped client drops it anyway).
        """
        if not 1 <= n <= MAX_JOB_IMAGES:  # the routes check it too; the service trusts no caller
            raise InvalidInput(f"n: must be between 1 and {MAX_JOB_IMAGES}", field="n")
        params = self.resolver.resolve(request, uploads=uploads)
        self.resolver.check_cost(params, n=n)
        if self.full():
            raise GeneratorBusy()
        job_id = str(uuid.uuid4())
        body: Any = {"request": request, "n": n} | ({"uploads": uploads.sha256} if uploads is not None else {})
        key = key_claim(idempotency_key, route=route, body=body, at=now())
        inputs = self.inputs.writes(job_id, uploads, params) if uploads is not None else None
        return self._admit(job_id, params, n=n, key=key, inputs=inputs, write_row=write_row)

    def _admit(
        self,
        job_id: str,
        params: GenerationParams,
        *,
        n: int,
        key: KeyClaim | None,
        write_row: bool,
        inputs: list[Write] | None = None,
        webhook_url: str | None = None,
    ) -> Accepted:
        if not (write_row or key is not None or inputs):
            return Accepted(job_id, params, n, persisted=False)
        owner = self.repository.add(
            job_id, params, n=n, created_at=now(), webhook_url=webhook_url, key=key, inputs=inputs
        )
        if key is not None:
            check_owner(owner, key)
            if owner.job_id != job_id:  # the key's own job: the caller answers with it
                return Accepted(job_id, params, n, persisted=True, earlier=owner.job_id, keyed=True)
        return Accepted(job_id, params, n, persisted=True, keyed=key is not None)
