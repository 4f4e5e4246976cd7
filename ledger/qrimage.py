"""QR code images: written as PNG or SVG (error correction M), drawn in a terminal, or read back.

Reading uses zxing-cpp; what the code says is then parsed, untrusted, by ``passport.qr``.
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path
from typing import Any

import qrcode
import qrcode.image.svg
import zxingcpp
from PIL import Image, UnidentifiedImageError

from dpp_ledger import passport as pp

from . import sniff
from .files import read_bounded, write_atomic

MAX_IMAGE = 32 * 1024 * 1024
MAX_PIXELS = 40_000_000  # checked from the header; Pillow alone refuses only at twice its limit
Image.MAX_IMAGE_PIXELS = MAX_PIXELS


def _code(payload: str) -> qrcode.QRCode[Any]:
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=4)
    code.add_data(payload)
    code.make(fit=True)
    return code


def write_image(payload: str, path: Path | str) -> None:
    """Write ``payload`` as a QR code image; ``.svg`` gives SVG, anything else PNG."""
    path = Path(path)
    code = _code(payload)
    buffer = io.BytesIO()
    if path.suffix.lower() == ".svg":
        code.make_image(image_factory=qrcode.image.svg.SvgPathImage).save(buffer)
    else:
        code.make_image(fill_color="black", back_color="white").save(buffer, format="PNG")
    write_atomic(path, buffer.getvalue())


def terminal_text(payload: str) -> str:
    """The QR code drawn with block characters, for a terminal."""
    out = io.StringIO()
    _code(payload).print_ascii(out=out, invert=True)
    return out.getvalue()


def read_image(path: Path | str) -> str:
    """The text of the one QR code in the image at ``path``.

    The image's size is read from its header and checked before any pixel is decoded: Pillow
    alone only warns up to twice its limit, and a small PNG can hold 79 million pixels.

    Raises:
        NotFoundError: no such file. DecodeError: not an image, too large, or no QR code in it.
    """
    data = read_bounded(path, MAX_IMAGE, what="image")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # checked below
            image = Image.open(io.BytesIO(data))
        with image:
            _check_pixels(image.width, image.height, path)
            image.load()
            results = zxingcpp.read_barcodes(image.convert("L"))
    except Image.DecompressionBombError:
        raise pp.DecodeError(
            f"image {path}: more than {MAX_PIXELS:,} pixels: not decoded"
        ) from None
    except UnidentifiedImageError:
        kind = sniff.kind_of(data)
        if data[:1] in (b"\xa5", b"\xa6"):  # a CBOR map of a bundle's five or six fields
            kind = "a passport bundle: use `dpp verify` on it"
        what = f"it looks like {kind}" if kind else "its format is not one Pillow reads"
        raise pp.DecodeError(
            f"image {path}: not a picture (PNG, JPEG, GIF, BMP, WebP...): {what}"
        ) from None
    except (OSError, ValueError) as exc:
        raise pp.DecodeError(f"image {path}: a damaged picture ({exc})") from None
    texts = [r.text for r in results if r.valid and r.format == zxingcpp.BarcodeFormat.QRCode]
    if not texts:
        raise pp.DecodeError(f"image {path}: no QR code found")
    if len(set(texts)) > 1:
        raise pp.DecodeError(f"image {path}: more than one QR code; crop to one")
    return texts[0]


def _check_pixels(width: int, height: int, path: Path | str) -> None:
    if width * height > MAX_PIXELS:
        raise pp.DecodeError(
            f"image {path}: {width * height:,} pixels ({width} x {height}), more than "
            f"{MAX_PIXELS:,}: not decoded (scale the photo down)"
        )
