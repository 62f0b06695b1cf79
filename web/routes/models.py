"""What a request may choose: the models this deployment serves, the samplers and their noise schedules."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool

from core.exceptions import AssetNotFound
from core.samplers import SAMPLERS, SCHEDULERS
from web.deps import ContainerDep

router = APIRouter(tags=["models"])
OPENAI_OWNER = "pixyproxy"


@router.get("/models")
async def list_models(container: ContainerDep) -> list[dict]:
    """Every model served: id, family, default, available (or the reason), loaded, defaults (and workers)."""
    return await run_in_threadpool(container.list_models)


@router.get("/samplers")
async def list_samplers() -> dict[str, list[str]]:
    """The sampler and scheduler names a request may give (AUTOMATIC1111's)."""
    return {"samplers": list(SAMPLERS), "schedulers": list(SCHEDULERS)}


def _openai_model(model: dict) -> dict:
    return {"id": model["id"], "object": "model", "created": 0, "owned_by": OPENAI_OWNER}


@router.get("/v1/models")
async def list_openai_models(container: ContainerDep) -> dict:
    """The available models in OpenAI's list shape (``client.models.list()``)."""
    models = await run_in_threadpool(container.list_models)
    return {"object": "list", "data": [_openai_model(model) for model in models if model["available"]]}


@router.get("/v1/models/{model_id:path}")
async def get_openai_model(model_id: str, container: ContainerDep) -> dict:
    """One available model, OpenAI's way (``client.models.retrieve(id)``); 404 when not served."""
    models = await run_in_threadpool(container.list_models)
    found = next((model for model in models if model["id"] == model_id and model["available"]), None)
    if found is None:
        raise AssetNotFound(f"model {model_id!r} is not served here")
    return _openai_model(found)
