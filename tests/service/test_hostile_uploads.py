"""Uploads built to cost the server memory or time: refused from their headers, before any pixel is decoded."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import textwrap
import time

import pytest
from PIL import ExifTags, Image, ImageFile

from core.exceptions import InvalidInput
from core.settings import ROOT
from service.edits.jpeg import count_scans
from service.edits.uploads import MAX_SCANS, check_uploads
from tests.web.edit_inputs import encoded, jpeg_scan_bomb, mask_png, noise_png

PIXELS = 4096 * 4096  # PIXY_MAX_UPLOAD_PIXELS' default


@pytest.fixture
def decodes(monkeypatch) -> list[tuple[int, int]]:
    """The size of every image decoded from now on."""
    seen: list[tuple[int, int]] = []
    load = ImageFile.ImageFile.load

    def recording(self):
        seen.append(self.size)
        return load(self)

    monkeypatch.setattr(ImageFile.ImageFile, "load", recording)
    return seen


def turned(image: Image.Image) -> Image.Image:
    """``image`` with the EXIF orientation of a photo taken with the camera on its side."""
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6
    image.info["exif"] = exif.tobytes()
    return image


def refused(images, mask=None, **limits) -> InvalidInput:
    with pytest.raises(InvalidInput) as raised:
        check_uploads(images, mask, **({"max_pixels": PIXELS} | limits))
    return raised.value


@pytest.mark.parametrize("size", [(16_777_216, 1), (1, 65_536), (8 * 512 + 1, 512)])
def test_an_image_more_than_8_times_longer_than_wide_is_refused_from_its_header(decodes, size):
    error = refused([("image", encoded(Image.new("1", size)))], max_side=2**31)  # the aspect alone
    assert error.field == "image" and f"{size[0]}x{size[1]}" in error.message and "8 times" in error.message
    assert decodes == []


def test_a_side_longer_than_the_limit_is_refused_from_its_header(decodes):
    error = refused([("image", encoded(Image.new("1", (8193, 1025))))], max_side=8192)
    assert error.field == "image" and "8192" in error.message
    assert decodes == []
    at_the_limit = check_uploads([("image", encoded(Image.new("1", (8192, 1024))))], None, max_pixels=PIXELS)
    assert at_the_limit.size == (8192, 1024)


def test_without_a_side_limit_given_the_settings_default_applies():
    assert refused([("image", encoded(Image.new("1", (8200, 1025))))]).field == "image"


def test_a_progressive_jpeg_of_thousands_of_scans_is_refused_fast_from_its_headers(decodes):
    bomb = jpeg_scan_bomb(4096, extra_scans=1000)
    started = time.monotonic()
    error = refused([("image", bomb)])
    assert time.monotonic() - started < 1
    assert error.field == "image" and f"more than {MAX_SCANS} scans" in error.message
    assert decodes == []


def test_scans_are_refused_past_the_limit_not_at_it():
    plain = count_scans(encoded(Image.new("L", (64, 64)), "JPEG", progressive=True))
    at_the_limit = jpeg_scan_bomb(64, extra_scans=MAX_SCANS - plain)
    assert count_scans(at_the_limit) == MAX_SCANS
    assert check_uploads([("image", at_the_limit)], None, max_pixels=PIXELS).size == (64, 64)
    assert refused([("image", jpeg_scan_bomb(64, extra_scans=MAX_SCANS - plain + 1))]).field == "image"


def test_scans_are_counted_by_walking_the_segments():
    noise = Image.open(io.BytesIO(noise_png(256, 256)))
    assert count_scans(encoded(noise, "JPEG", progressive=True)) == 10  # libjpeg's script for colour
    assert count_scans(encoded(noise.convert("L"), "JPEG", progressive=True)) == 6
    assert count_scans(encoded(noise, "JPEG", progressive=True, restart_marker_blocks=1)) == 10
    # A scan marker inside a comment is skipped with its segment; restarts and stuffed 0xFF bytes with the scan.
    baseline = encoded(noise, "JPEG", comment=b"\xff\xda" * 100, restart_marker_blocks=1)
    assert baseline.count(b"\xff\xda") > 100 and b"\xff\xd3" in baseline and b"\xff\x00" in baseline
    assert count_scans(baseline) == 1
    assert count_scans(baseline[: len(baseline) // 2]) == 1
    assert count_scans(baseline + b"\xff\xda\x00\x02" * 40) == 1  # a decoder stops at the end of the image
    assert count_scans(b"\xff\xd8") == count_scans(b"not a jpeg") == 0


def png_of(size: tuple[int, int], mode: str = "RGB") -> bytes:
    return encoded(Image.new(mode, size))


HEADER_REFUSALS = {
    "a second image's scans": ([("image[0]", png_of((64, 64))), ("image[1]", jpeg_scan_bomb(64, 100))], None),
    "a JPEG mask": ([("image", png_of((64, 64)))], ("mask", encoded(Image.new("RGB", (64, 64)), "JPEG"))),
    "a mask without alpha": ([("image", png_of((64, 64)))], ("mask", png_of((64, 64)))),
    "a mask of another height": ([("image", png_of((64, 64)))], ("mask", mask_png(64, 32))),
    "a mask of another width": ([("image", png_of((64, 64)))], ("mask", mask_png(32, 64))),
    "a mask too long": ([("image", png_of((64, 64)))], ("mask", png_of((1024, 64), "RGBA"))),
}


@pytest.mark.parametrize("case", list(HEADER_REFUSALS))
def test_every_header_is_checked_before_any_file_is_decoded(decodes, case):
    images, mask = HEADER_REFUSALS[case]
    error = refused(images, mask)
    assert error.field == (mask or images[-1])[0]
    assert decodes == []


def test_a_mask_matches_the_image_as_shown_after_its_exif_turn():
    image = turned(Image.new("RGB", (96, 64)))
    photo = encoded(image, "JPEG", exif=image.info["exif"])
    uploads = check_uploads([("image", photo)], ("mask", mask_png(64, 96)), max_pixels=PIXELS)
    assert uploads.size == uploads.mask.size == (64, 96)
    error = refused([("image", photo)], ("mask", mask_png(96, 64)))
    assert error.field == "mask" and "96x64, the image is 64x96" in error.message


PEAK = """
import json, sys
from core.exceptions import InvalidInput
from service.edits.sources import fit_size
from service.edits.jpeg import count_scans
from service.edits.uploads import MAX_SCANS, check_uploads
from tests.web.edit_inputs import encoded, jpeg_scan_bomb, mask_png, noise_png
from service.images.params import Limits

def peak_mb():
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM")) / 1024

data, out = sys.stdin.buffer.read(), int(sys.argv[1])
before = peak_mb()
try:
    uploads = check_uploads([("image", data)], None, max_pixels=4096 * 4096)
except InvalidInput:
    print(json.dumps(None))
    sys.exit()
# The route's default limits fit the output into 2048 a side and 1536 x 1536 pixels, unless size= asks less.
limits = Limits(max_steps=50, max_side=2048, max_pixels=1536 * 1536, max_guidance=20.0, max_prompt_chars=100)
uploads.encoded(*((out, out) if out else fit_size(*uploads.size, limits)))
print(json.dumps(peak_mb() - before))
"""


def peak_growth_mb(image: Image.Image, out: int) -> float | None:
    """How far one upload's check and encoding raise a fresh process's peak RSS (None: refused).

    The PNG is made here, so only the child's handling of it counts, not this process nor the making."""
    data = encoded(image, exif=image.info.get("exif", b""))
    args = [sys.executable, "-c", textwrap.dedent(PEAK), str(out)]
    run = subprocess.run(args, input=data, cwd=ROOT, capture_output=True, timeout=120)
    assert run.returncode == 0, run.stderr.decode()
    return json.loads(run.stdout)


# The decoded file and the RGB copy an edit keeps, at most 4 bytes a pixel each in Pillow, plus slack.
BOUND_MB = 8 * PIXELS / 2**20 + 32
WORST = {
    "2 KB that cost 0.8 GB": (lambda: Image.new("1", (16_777_216, 1)), 0),
    "the most pixels at 8:1": (lambda: Image.new("1", (11_585, 1448)), 0),
    "the longest side with the most pixels": (lambda: Image.new("1", (8192, 2048)), 0),
    "the longest side to the smallest output": (lambda: Image.new("1", (8192, 1024)), 64),
    "the most pixels, 4 bytes each, turned": (lambda: turned(Image.new("RGBA", (4096, 4096))), 0),
}


@pytest.mark.parametrize("case", list(WORST))
def test_every_image_is_refused_or_stays_within_a_memory_bound(case):
    image, out = WORST[case]
    growth = peak_growth_mb(image(), out)
    assert growth is None or growth < BOUND_MB, f"{growth:.0f} MB"
