"""scripts/download_weights.py, offline: the skip paths, fetching, resuming, verifying and clean failures."""

from __future__ import annotations

import json
import shutil
import socket
import time
from pathlib import Path

import pytest
from huggingface_hub import constants
from huggingface_hub.utils import filter_repo_objects

from core.settings import ROOT
from scripts import download_weights as dw
from tests.scripts.test_weight_selection import SD_TURBO_FILES, selected


def _no_hub(*args, **kwargs):
    raise AssertionError("the Hub must not be contacted")


def test_if_missing_with_a_complete_folder_exits_at_once(tmp_path: Path, monkeypatch, capsys) -> None:
    (tmp_path / "model_index.json").write_text(json.dumps({"_class_name": "StableDiffusionPipeline"}))
    monkeypatch.setattr(dw, "resolve_commit", _no_hub)
    assert dw.main(["--model", "someone/some-model", "--out", str(tmp_path), "--if-missing"]) == 0
    assert "already" in capsys.readouterr().out


@pytest.mark.parametrize("model", ["tiny", str(ROOT / "models" / "tiny")])
def test_tiny_and_local_folders_need_no_download(model: str, monkeypatch) -> None:
    monkeypatch.setattr(dw, "resolve_commit", _no_hub)
    assert dw.main(["--model", model]) == 0


def _offline(monkeypatch, offline: bool) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1" if offline else "0")
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", offline)


def test_offline_mode_fails_in_one_line_with_code_2(tmp_path: Path, monkeypatch, capsys) -> None:
    _offline(monkeypatch, True)
    out = tmp_path / "never-created"
    started = time.monotonic()
    assert dw.main(["--model", "pixyproxy-tests/no-such-model", "--out", str(out)]) == 2
    assert time.monotonic() - started < 5
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert err.count("\n") == 1
    assert "pixyproxy-tests/no-such-model" in err and "HF_HUB_OFFLINE" in err and "PIXY_MODEL=tiny" in err
    assert not out.exists()


def test_model_is_taken_more_than_once_and_one_failure_does_not_stop_the_others(monkeypatch, capsys) -> None:
    _offline(monkeypatch, True)
    assert dw.main(["--model", "pixyproxy-tests/no-such-model", "--model", "tiny", "--model", "tiny-xl"]) == 2
    captured = capsys.readouterr()
    assert "pixyproxy-tests/no-such-model" in captured.err
    assert "tiny is built" in captured.out and "tiny-xl is built" in captured.out


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_unreachable_hub_fails_in_one_line_with_code_2(tmp_path: Path, monkeypatch, capsys) -> None:
    _offline(monkeypatch, False)
    monkeypatch.setattr(constants, "ENDPOINT", f"http://127.0.0.1:{_closed_port()}")
    started = time.monotonic()
    assert dw.main(["--model", "pixyproxy-tests/no-such-model", "--out", str(tmp_path / "out")]) == 2
    assert time.monotonic() - started < 5
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert err.count("\n") == 1
    assert "unreachable" in err and "PIXY_MODEL=tiny" in err


@pytest.fixture(scope="module")
def tiny_fp16(tmp_path_factory) -> Path:
    """models/tiny saved the way the script downloads a real model: fp16 weights only."""
    import torch
    from diffusers import AutoPipelineForText2Image

    tiny = ROOT / "models" / "tiny"
    if not (tiny / "model_index.json").is_file():
        pytest.fail("models/tiny is missing: run scripts/make_tiny_model.py (make test does)")
    folder = tmp_path_factory.mktemp("tiny-fp16")
    pipe = AutoPipelineForText2Image.from_pretrained(tiny, local_files_only=True, dtype=torch.float16)
    pipe.save_pretrained(folder, variant="fp16")
    return folder


def test_verify_loads_an_fp16_only_folder(tiny_fp16: Path) -> None:
    assert dw.has_fp16(tiny_fp16)
    assert not list(tiny_fp16.rglob("diffusion_pytorch_model.safetensors"))
    dw.verify(tiny_fp16)


def test_fetch_takes_the_chosen_files_at_one_commit_and_model_index_last(tmp_path: Path, monkeypatch) -> None:
    import huggingface_hub

    calls: list[tuple[str, dict]] = []
    monkeypatch.setattr(huggingface_hub, "snapshot_download", lambda repo, **kw: calls.append(("snapshot", kw)))
    monkeypatch.setattr(huggingface_hub, "hf_hub_download", lambda repo, name, **kw: calls.append((name, kw)))
    dw.fetch("stabilityai/sd-turbo", "c0ffee" * 6 + "c0ff", SD_TURBO_FILES, tmp_path)
    (first, snapshot), (last, index) = calls
    assert first == "snapshot" and last == "model_index.json"
    assert snapshot["allow_patterns"] == dw.choose_patterns(SD_TURBO_FILES)
    assert snapshot["ignore_patterns"] == ["model_index.json"]
    assert snapshot["local_dir"] == index["local_dir"] == tmp_path
    assert snapshot["revision"] == index["revision"] == "c0ffee" * 6 + "c0ff"
    assert snapshot["etag_timeout"] == dw.HUB_TIMEOUT


def test_a_download_is_verified(tiny_fp16: Path, tmp_path: Path, monkeypatch, capsys) -> None:
    out = tmp_path / "someone--model"
    monkeypatch.setattr(dw, "resolve_commit", lambda model, revision: ("a" * 40, SD_TURBO_FILES))
    monkeypatch.setattr(dw, "fetch", lambda model, commit, files, out: shutil.copytree(tiny_fp16, out))
    assert dw.main(["--model", "someone/model", "--out", str(out)]) == 0
    assert "verified: StableDiffusionPipeline" in capsys.readouterr().out


def test_a_download_that_does_not_load_exits_1(tmp_path: Path, monkeypatch, capsys) -> None:
    out = tmp_path / "broken"
    monkeypatch.setattr(dw, "resolve_commit", lambda model, revision: ("a" * 40, SD_TURBO_FILES))
    monkeypatch.setattr(dw, "fetch", lambda model, commit, files, out: out.mkdir())
    assert dw.main(["--model", "someone/model", "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert "does not load" in err and "Traceback" not in err


def test_a_repo_without_model_index_is_refused(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.setattr(dw, "resolve_commit", lambda model, revision: ("a" * 40, ["model.safetensors"]))
    monkeypatch.setattr(dw, "fetch", _no_hub)
    assert dw.main(["--model", "someone/model", "--out", str(tmp_path / "out")]) == 1
    assert "not a diffusers pipeline" in capsys.readouterr().err


def test_an_interrupted_download_says_how_to_resume(tmp_path: Path, monkeypatch, capsys) -> None:
    def interrupt(*args) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(dw, "resolve_commit", lambda model, revision: ("a" * 40, SD_TURBO_FILES))
    monkeypatch.setattr(dw, "fetch", interrupt)
    assert dw.main(["--model", "someone/model", "--out", str(tmp_path / "out")]) == 130
    assert "run again to resume" in capsys.readouterr().err


class FakeHub:
    """``snapshot_download`` and ``hf_hub_download`` over a file list, resuming as the real ones do:
    a file already in ``local_dir`` is kept unless ``force_download``. It can fail after ``budget`` files."""

    def __init__(self, files: list[str], *, budget: int | None = None) -> None:
        self.files, self.budget = files, budget
        self.fetched: list[str] = []

    def _get(self, name: str, local_dir: Path, force_download: bool) -> None:
        target = Path(local_dir) / name
        if target.exists() and not force_download:
            return
        if self.budget is not None and len(self.fetched) >= self.budget:
            raise KeyboardInterrupt
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(f"weights of {name}")
        self.fetched.append(name)

    def snapshot_download(self, repo, *, local_dir, allow_patterns, ignore_patterns, force_download=False, **kw):
        for name in filter_repo_objects(self.files, allow_patterns=allow_patterns, ignore_patterns=ignore_patterns):
            self._get(name, local_dir, force_download)

    def hf_hub_download(self, repo, filename, *, local_dir, force_download=False, **kw):
        self._get(filename, local_dir, force_download)


def test_a_second_run_continues_an_interrupted_download_without_refetching(tmp_path: Path, monkeypatch) -> None:
    import huggingface_hub

    out = tmp_path / "someone--model"
    hub = FakeHub(SD_TURBO_FILES, budget=3)
    monkeypatch.setattr(huggingface_hub, "snapshot_download", hub.snapshot_download)
    monkeypatch.setattr(huggingface_hub, "hf_hub_download", hub.hf_hub_download)
    monkeypatch.setattr(dw, "resolve_commit", lambda model, revision: ("a" * 40, SD_TURBO_FILES))
    argv = ["--model", "someone/model", "--out", str(out), "--if-missing", "--no-verify"]

    assert dw.main(argv) == 130
    first_part = list(hub.fetched)
    assert len(first_part) == 3 and not (out / "model_index.json").exists()

    hub.budget = None
    assert dw.main(argv) == 0
    assert hub.fetched[:3] == first_part, "the first run's files are kept, not fetched again"
    assert sorted(hub.fetched) == sorted(selected(SD_TURBO_FILES)), "every chosen file fetched exactly once"
    assert hub.fetched[-1] == "model_index.json"
