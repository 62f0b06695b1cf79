"""Download a diffusers model from the Hugging Face Hub into models/, then check that it loads.

``python scripts/download_weights.py`` fetches ``PIXY_MODEL`` (default ``stabilityai/sd-turbo``) into
``models/<owner>--<name>/``, where ``service.generation.pipeline.weights.find_local`` looks for it. Only what
``from_pretrained`` needs is fetched: per component the ``*.fp16.safetensors`` weights when the repo has
them, otherwise the plain ``*.safetensors`` (``.bin`` only when a component has no safetensors at all;
never ``.ckpt``, Flax or ONNX files, nor single-file checkpoints at the repo root), plus every
``.json``/``.txt`` config and the tokenizer files.

Re-running resumes an interrupted download: ``snapshot_download`` with ``local_dir`` keeps partial files
under ``<out>/.cache/huggingface/`` and continues them, and skips files already complete.
``model_index.json`` is fetched last, so a folder that has it is a finished download; that is what
``--if-missing`` and the service check.

Exit codes: 0 done (or nothing to do), 1 downloaded but not loadable as a pipeline, 2 not fetched
(Hub unreachable, offline mode, unknown or gated repo), 130 interrupted (run again to resume).
"""

from __future__ import annotations

import argparse
import glob
import os
import re
import sys
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from core.settings import get_settings  # noqa: E402
from service.generation.pipeline.weights import (  # noqa: E402
    FP16,
    INDEX_FILE,
    find_local,
    has_fp16,
    load_pipeline,
    local_name,
    quiet_libraries,
)

HUB_TIMEOUT = float(os.environ.get("HF_HUB_ETAG_TIMEOUT") or 5)
"""Seconds to wait for the Hub to connect or answer a metadata request, so an unreachable Hub fails fast.

huggingface_hub also makes one best-effort request of its own (3 s timeout) before the first call, so a
Hub that drops packets fails in about 8 s; no DNS, no route, a refused connection or offline mode in <1 s.
"""

CONFIG_PATTERNS = ["*.json", "*.txt", "*.model"]
"""Configs, schedulers, model_index.json and tokenizers (vocab.json, merges.txt, spiece.model)."""

WEIGHT_EXTENSIONS = (".safetensors", ".bin")
"""In order of preference; other weight formats (.ckpt, .msgpack, .onnx) are never fetched."""

_SHARD = re.compile(r"-\d+-of-\d+")


def weight_variant(filename: str, extension: str) -> str | None:
    """``fp16`` for ``model.fp16.safetensors`` or ``model-00001-of-00002.fp16.safetensors``, else None."""
    stem = _SHARD.sub("", Path(filename).name[: -len(extension)])
    _, dot, variant = stem.rpartition(".")
    return variant if dot else None


def _component_weights(files: Iterable[str]) -> list[str]:
    """The weight files to take from one component's files: fp16 over plain, safetensors over .bin."""
    for extension in WEIGHT_EXTENSIONS:
        candidates = [f for f in files if f.endswith(extension)]
        for variant in (FP16, None):
            chosen = [f for f in candidates if weight_variant(f, extension) == variant]
            if chosen:
                return chosen
    return []


def choose_patterns(files: list[str]) -> list[str]:
    """``allow_patterns`` for ``snapshot_download`` given a repo's file list (pure: no I/O).

    Configs and tokenizer files everywhere, and per component (top-level folder) its fp16
    safetensors when present, otherwise its plain safetensors, otherwise its ``.bin`` files.
    Weights at the repo root (single-file checkpoints) are not part of a diffusers layout and
    are skipped.
    """
    by_component: dict[str, list[str]] = defaultdict(list)
    for path in files:
        component, sep, _ = path.partition("/")
        if sep:
            by_component[component].append(path)
    weights = [w for component in sorted(by_component) for w in _component_weights(by_component[component])]
    return CONFIG_PATTERNS + [glob.escape(w) for w in sorted(weights)]


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    detail = text[0][:200] if text else ""
    return f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__


def _explain(exc: Exception, revision: str) -> str:
    """Why the Hub refused, in a few words, for the one-line error."""
    from huggingface_hub.errors import (
        GatedRepoError,
        HfHubHTTPError,
        HFValidationError,
        HTTPError,
        OfflineModeIsEnabled,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    if isinstance(exc, OfflineModeIsEnabled):
        return "offline mode is on (HF_HUB_OFFLINE=1)"
    if isinstance(exc, GatedRepoError):
        return "the repository is gated: accept its terms on the Hub and set HF_TOKEN"
    if isinstance(exc, RepositoryNotFoundError):
        return "no such repository on the Hub (or it is private: set HF_TOKEN)"
    if isinstance(exc, RevisionNotFoundError):
        return f"no revision {revision!r} in the repository"
    if isinstance(exc, HFValidationError):
        return "not a valid Hub model id"
    if isinstance(exc, HfHubHTTPError) and exc.response is not None:
        return f"the Hub answered HTTP {exc.response.status_code}"
    if isinstance(exc, HTTPError):
        return f"the Hub is unreachable ({_first_line(exc)})"
    return _first_line(exc)


def _hub_errors() -> tuple[type[Exception], ...]:
    """What a Hub call raises when it cannot fetch: transport errors, HTTP errors, offline mode, bad ids."""
    from huggingface_hub.errors import HFValidationError, HTTPError

    return (HTTPError, OSError, HFValidationError)


def resolve_commit(model: str, revision: str) -> tuple[str, list[str]]:
    """The commit ``revision`` points at and its file list; fails fast when the Hub is unreachable.

    ``model_info`` is one request with a timeout and no retries, so a missing route or DNS fails in
    seconds; the listing after it may retry, but by then the Hub has answered once.
    """
    from huggingface_hub import HfApi, is_offline_mode
    from huggingface_hub.errors import OfflineModeIsEnabled

    if is_offline_mode():
        raise OfflineModeIsEnabled("HF_HUB_OFFLINE is set")
    api = HfApi()
    commit = api.model_info(model, revision=revision, timeout=HUB_TIMEOUT).sha or revision
    return commit, api.list_repo_files(model, revision=commit)


def fetch(model: str, commit: str, files: list[str], out: Path) -> None:
    """Download the chosen files into ``out`` with a progress bar, ``model_index.json`` last."""
    from huggingface_hub import hf_hub_download, snapshot_download

    snapshot_download(
        model,
        revision=commit,
        local_dir=out,
        allow_patterns=choose_patterns(files),
        ignore_patterns=[INDEX_FILE],
        etag_timeout=HUB_TIMEOUT,
    )
    hf_hub_download(model, INDEX_FILE, revision=commit, local_dir=out, etag_timeout=HUB_TIMEOUT)


def verify(folder: Path) -> None:
    """Load the pipeline from ``folder`` on the CPU, offline (fp16 weights stay fp16); raise if it fails."""
    quiet_libraries()
    pipe = load_pipeline(folder, half=has_fp16(folder))
    print(f"verified: {type(pipe).__name__} loads from {folder}")


def _hint(out: Path) -> str:
    return f"Set PIXY_MODEL=tiny to run on the tiny model, or copy the weights into {out}/."


def run(model: str, revision: str, out: Path, *, verify_after: bool) -> int:
    try:
        commit, files = resolve_commit(model, revision)
        if INDEX_FILE not in files:
            print(f"download_weights: {model!r} has no {INDEX_FILE}: not a diffusers pipeline.", file=sys.stderr)
            return 1
        print(f"downloading {model} ({revision} = {commit[:12]}) into {out}")
        fetch(model, commit, files, out)
    except KeyboardInterrupt:
        print(f"\ndownload_weights: interrupted; run again to resume into {out}.", file=sys.stderr)
        return 130
    except _hub_errors() as exc:
        reason = _explain(exc, revision)
        print(f"download_weights: cannot fetch {model!r}: {reason}. {_hint(out)}", file=sys.stderr)
        return 2
    if verify_after:
        try:
            verify(out)
        except Exception as exc:
            print(f"download_weights: {out} does not load as a pipeline: {_first_line(exc)}", file=sys.stderr)
            return 1
    print(f"{model} is in {out}")
    return 0


def main(argv: list[str] | None = None) -> int:
    settings = get_settings()
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--model", action="append", help="Hub model id, once or more (default: PIXY_MODEL and PIXY_MODELS)"
    )
    parser.add_argument("--revision", default="main", help="branch, tag or commit (default: main)")
    parser.add_argument("--out", type=Path, help="target folder, with one --model (default: models/<owner>--<name>)")
    parser.add_argument("--if-missing", action="store_true", help="do nothing if the target is already complete")
    parser.add_argument("--no-verify", action="store_true", help="skip loading the pipeline after the download")
    args = parser.parse_args(argv)
    models = args.model or settings.model_sources
    if args.out is not None and len(models) > 1:
        parser.error("--out takes one --model")
    outcome = 0
    for model in models:  # each model on its own: one that cannot be fetched does not stop the others
        code = _fetch_one(model, args, settings)
        if code == 130:
            return code
        outcome = outcome or code
    return outcome


def _fetch_one(model: str, args: argparse.Namespace, settings) -> int:
    out: Path = args.out or settings.pixy_models_dir / local_name(model)
    if model in ("tiny", "tiny-xl"):
        print(f"{model} is built by scripts/make_tiny_model.py, not downloaded: nothing to do")
        return 0
    existing = find_local(model, settings.pixy_models_dir)
    if existing is not None and existing.resolve() != out.resolve():
        print(f"{model} is a local folder ({existing}): nothing to download")
        return 0
    if args.if_missing and (out / INDEX_FILE).is_file():
        print(f"{model} is already in {out}")
        return 0
    return run(model, args.revision, out, verify_after=not args.no_verify)


if __name__ == "__main__":
    sys.exit(main())
