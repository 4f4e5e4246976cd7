"""A photo's pixel count is checked from its header, before a pixel is decoded."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from dpp_ledger.ledger.qrimage import MAX_PIXELS
from tests.homes import DPP, environment

# Peak memory of a child dpp that refuses a photo: the interpreter and its imports only.
REFUSAL_RSS_KIB = 200 * 1024


def _scan_peak(image: Path) -> tuple[subprocess.CompletedProcess[str], int]:
    """Run `dpp scan` in a fresh process and measure the peak RSS of that dpp alone."""
    code = (
        "import resource, subprocess, sys\n"
        "done = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
        "sys.stdout.write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) + '\\n')\n"
        "sys.stdout.write(str(done.returncode) + '\\n' + done.stderr)\n"
    )
    measured = subprocess.run(
        [sys.executable, "-c", code, DPP, "scan", str(image), "--json"],
        capture_output=True,
        text=True,
        check=True,
        env=environment(),
        timeout=300,
    )
    peak, returncode, stderr = measured.stdout.split("\n", 2)
    return subprocess.CompletedProcess([], int(returncode), "", stderr), int(peak)


@pytest.mark.parametrize(
    "size",
    [(9000, 8800), (7000, 7000)],  # 79 and 49 megapixels: Pillow alone only warns at both
    ids=["79 megapixels", "49 megapixels"],
)
def test_a_huge_image_is_refused_before_decoding(tmp_path: Path, size: tuple[int, int]) -> None:
    path = tmp_path / "huge.png"
    Image.new("1", size, 1).save(path, optimize=True)
    assert path.stat().st_size < 2_000_000  # a small file
    result, peak = _scan_peak(path)
    assert result.returncode == 2, result.stderr
    width, height = size
    assert result.stderr == (
        f"dpp: image {path}: {width * height:,} pixels ({width} x {height}), more than "
        f"{MAX_PIXELS:,}: not decoded (scale the photo down)\n"
    )
    assert peak < REFUSAL_RSS_KIB, f"{peak} KiB"


def test_an_image_under_the_limit_is_decoded(tmp_path: Path) -> None:
    path = tmp_path / "blank.png"
    Image.new("1", (6000, 6600), 1).save(path)  # 39.6 megapixels
    result, _ = _scan_peak(path)
    assert result.returncode == 2
    assert result.stderr == f"dpp: image {path}: no QR code found\n"
