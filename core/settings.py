"""The one settings object, read from the environment and ``.env`` at the repo root."""

from __future__ import annotations

import base64
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=ROOT / ".env", extra="ignore")

    db_host: str = "127.0.0.1"
    db_port: int = 3306
    db_user: str = "root"
    db_password: SecretStr = SecretStr("")
    db_name: str = "pixyproxy"
    db_connect_timeout: float = 3.0
    db_read_timeout: float = 10.0
    # /ready gives up on a slow ping after this, so a stuck database reads as not ready, quickly.
    pixy_ready_timeout: float = Field(default=2.0, gt=0)
    # A hard ceiling on MySQL connections; a unit of work waits db_pool_timeout for one, then answers 503.
    db_pool_max: int = Field(default=10, ge=1)
    db_pool_timeout: float = Field(default=5.0, gt=0)

    pixy_host: str = "0.0.0.0"
    pixy_port: int = 8001
    pixy_log_level: str = "INFO"

    pixy_model: str = "stabilityai/sd-turbo"
    # Further models this box serves, chosen per request by ``model``: hub ids, folders or tiny, comma-separated.
    pixy_models: str = ""
    # How many pipelines may be on the device at once; the least recently used is parked in CPU memory beyond.
    pixy_max_loaded_models: int = Field(default=1, ge=1)
    # An evicted pipeline is parked in CPU memory (1) or dropped and loaded again from disk when asked for (0).
    pixy_park_evicted_models: bool = True
    # The batch queue keeps to the model on the device, but a request waits behind at most this many batches of
    # other models before its own model gets the device.
    pixy_model_switch_after: int = Field(default=4, ge=0)
    pixy_models_dir: Path = ROOT / "models"
    pixy_strict_model: bool = False
    pixy_device: Literal["auto", "cuda", "cpu"] = "auto"
    pixy_compile: bool = False

    pixy_storage: Literal["disk", "mysql"] = "disk"
    pixy_images_dir: Path = ROOT / "images"

    pixy_max_queue: int = Field(default=8, ge=0)
    # POST /jobs beyond this many queued jobs (all callers, counted in MySQL) is a 503 with Retry-After.
    pixy_max_queued_jobs: int = Field(default=200, ge=1)
    # Retention, pruned in small batches off the request path; images are never pruned.
    pixy_job_retention_days: float = Field(default=30, ge=1)  # finished jobs (their events, key, uploads)
    pixy_delivery_retention_days: float = Field(default=30, ge=1)  # settled webhook deliveries
    # None: 4 on the CPU, where batching measured faster (docs/benchmarks.md), 1 on CUDA until measured there.
    pixy_max_batch: int | None = Field(default=None, ge=1)
    pixy_batch_wait_ms: int = Field(default=0, ge=0)
    pixy_generation_timeout: float = Field(default=300.0, gt=0)
    pixy_png_compress_level: int = Field(default=1, ge=0, le=9)
    # JPEG and WebP quality of derived images (?format=, ?width=) and the OpenAI default for output_compression.
    pixy_variant_quality: int = Field(default=80, ge=1, le=100)
    # The thumbnail widths ``?width=`` may ask for (each is made once and kept); any other is a 422. Empty: none.
    pixy_variant_widths: str = "64,128,256,512,1024"

    pixy_max_steps: int = Field(default=100, ge=1)
    pixy_max_side: int = Field(default=2048, ge=64)
    pixy_max_pixels: int = Field(default=1536 * 1536, ge=64 * 64)
    pixy_max_guidance: float = Field(default=30.0, ge=0)
    pixy_max_prompt_chars: int = Field(default=2000, ge=1)
    # steps x megapixels x n per request. None: 250 on CUDA (any one image the limits above allow), 60 on CPU.
    pixy_max_cost: float | None = Field(default=None, gt=0)
    pixy_max_body_bytes: int = Field(default=64 * 1024, ge=1024)
    # POST /v1/images/edits: its whole multipart body (images and mask together), instead of the cap above;
    # and the most pixels an uploaded image may claim, and its longest side (at most 8 times the other),
    # refused from its header before any decoding.
    pixy_max_upload_bytes: int = Field(default=8 * 1024 * 1024, ge=64 * 1024)
    pixy_max_upload_pixels: int = Field(default=4096 * 4096, ge=64 * 64)
    pixy_max_upload_side: int = Field(default=8192, ge=64)
    # Slow clients (slowloris): the request head, and then the body, must arrive within these seconds.
    pixy_header_timeout: float = Field(default=10.0, gt=0)
    pixy_body_timeout: float = Field(default=30.0, gt=0)

    pixy_api_keys: SecretStr = SecretStr("")
    pixy_cors_origins: str = ""
    # Absolute URLs handed to clients (OpenAI ``url``) start here, never from the request's Host.
    pixy_public_url: str = ""
    # With keys set, /metrics and the API docs need one too unless opened here.
    pixy_public_metrics: bool = False
    pixy_public_docs: bool = False
    # Jobs' webhook_url: POSTs signed with this Standard Webhooks secret (whsec_ + base64), to these hosts only
    # (comma-separated host or host:port). Without a secret, a webhook_url is refused.
    pixy_webhook_secret: SecretStr = SecretStr("")
    pixy_webhook_hosts: str = ""
    pixy_webhook_timeout: float = Field(default=5.0, gt=0)
    # After a timeout or 5xx, retries wait base, 2x, 4x ... (at most a minute apart) for retry_for seconds.
    pixy_webhook_retry_base: float = Field(default=1.0, gt=0)
    pixy_webhook_retry_for: float = Field(default=900.0, ge=600)

    # Distributed mode (docs/deploy.md): set, API processes load no model and enqueue jobs on this Celery broker
    # (amqp://… recommended, or redis://…) for GPU workers (`make worker`). Empty: one process does everything.
    pixy_broker_url: str = ""
    pixy_worker_name: str = ""  # a worker's node name; empty: pixy-<pid>@<host>
    # Workers say every this many seconds that they are alive and still run their jobs; 3x silence is death.
    pixy_heartbeat_s: float = Field(default=5.0, gt=0)
    # A job accepted this long ago whose task may be lost (a crash before the publish, a broker that lost its
    # queue) is sent again by one API process's sweep; a duplicate task is harmless (the row decides who runs).
    pixy_stranded_after_s: float = Field(default=60.0, gt=0)
    # Redis only: an unacknowledged task returns to the queue after this long (a dead worker's task).
    pixy_redis_visibility_timeout: int = Field(default=120, ge=10)
    # A GPU worker's own Prometheus endpoint (on PIXY_HOST): its generations and the jobs it ended. 0: none.
    pixy_worker_metrics_port: int = Field(default=0, ge=0, le=65535)

    @field_validator("pixy_models_dir", "pixy_images_dir")
    @classmethod
    def _relative_to_root(cls, value: Path) -> Path:
        return value if value.is_absolute() else ROOT / value

    @field_validator("pixy_webhook_secret")
    @classmethod
    def _standard_webhooks_secret(cls, value: SecretStr) -> SecretStr:
        raw = value.get_secret_value().removeprefix("whsec_")
        try:
            if raw and not base64.b64decode(raw, validate=True):
                raise ValueError
        except ValueError:
            raise ValueError("must be whsec_ followed by base64 (Standard Webhooks)") from None
        return value

    @property
    def model_sources(self) -> list[str]:
        """``PIXY_MODEL`` first (served even when not listed), then ``PIXY_MODELS`` in order, once each."""
        listed = [m.strip() for m in self.pixy_models.split(",") if m.strip()]
        return list(dict.fromkeys([self.pixy_model, *listed]))

    @property
    def distributed(self) -> bool:
        return bool(self.pixy_broker_url.strip())

    @property
    def api_keys(self) -> list[str]:
        raw = self.pixy_api_keys.get_secret_value()
        return [key.strip() for key in raw.split(",") if key.strip()]

    @property
    def variant_widths(self) -> tuple[int, ...]:
        """The allowed thumbnail widths, ascending."""
        return tuple(sorted({int(w) for w in self.pixy_variant_widths.split(",") if w.strip()}))

    @field_validator("pixy_variant_widths")
    @classmethod
    def _widths_are_positive_integers(cls, value: str) -> str:
        if not all(w.strip().isdigit() and int(w) > 0 for w in value.split(",") if w.strip()):
            raise ValueError("a comma-separated list of positive integers, e.g. 64,128,256")
        return value

    @property
    def cors_origins(self) -> list[str]:
        return [o.strip() for o in self.pixy_cors_origins.split(",") if o.strip()]


@lru_cache
def get_settings() -> Settings:
    return Settings()
