"""How a synchronous request becomes a job: resolved, checked, and its row written when something needs it."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from core.clock import now
from core.exceptions import GeneratorBusy
from core.models import GenerationParams, GenerationRequest
from service.edits.uploads import Uploads
from service.images.params import check_cost
from service.jobs.idempotency import check_owner, key_claim


@dataclass(frozen=True)
class Accepted:
    job_id: str
    params: GenerationParams
    persisted: bool  # its row is written (else it is written once, at its end)
    earlier: str | None = None  # an Idempotency-Key's earlier job, to await instead


class JobIntake:
    """The accepting half of ``JobService``, which sets the attributes used here."""

    def _accept(
        self,
        request: GenerationRequest | dict,
        *,
        n: int,
        idempotency_key: str | None,
        route: str,
        uploads: Uploads | None,
        write_row: bool = False,
    ) -> Accepted:
        """A synchronous job, resolved and checked, its row written when needed (a key, uploads, ``write_row``).

        Without one, no one can ask for the job before it ends: its row is written once, at the end, which
        keeps the synchronous path to one extra commit (a dropped client drops it anyway).
        """
        params = self.images.resolve(request, uploads=uploads)
        check_cost(params, n=n, limits=self.images.limits)
        if self.images.worker.full:
            raise GeneratorBusy()
        job_id = str(uuid.uuid4())
        body = {"request": request, "n": n} | ({"uploads": uploads.sha256} if uploads is not None else {})
        key = key_claim(idempotency_key, route=route, body=body, at=now())
        inputs = self.inputs.writes(job_id, uploads, params) if uploads is not None else None
        if not (write_row or key is not None or inputs):
            return Accepted(job_id, params, persisted=False)
        owner = self.repository.add(job_id, params, n=n, created_at=now(), key=key, inputs=inputs)
        if key is not None:
            check_owner(owner, key)
            if owner.job_id != job_id:  # the key's own job: the caller awaits it
                return Accepted(job_id, params, persisted=True, earlier=owner.job_id)
        return Accepted(job_id, params, persisted=True)
