"""Decode any image file the way every model sees it: upright, 8-bit RGB."""

from __future__ import annotations

import io
import os
import stat
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from benchmarks.core.filenames import real

# Formats a dermoscopy folder realistically holds; anything else is "not an image".
IMAGE_SUFFIXES = frozenset(
    {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".gif"}
)


#: The largest picture decoded: 64 megapixels, above any dermoscope's 24. A
#: bigger one is an unreadable file, found from its header before any pixel is
#: decoded (a 166 KB PNG can declare 12000 x 12000 and cost gigabytes).
MAX_PIXELS = 64_000_000


class UnreadableImage(Exception):
    """An image file that cannot be decoded; the message says why in a few words."""


def is_image_name(path: str | Path) -> bool:
    return Path(path).suffix.lower() in IMAGE_SUFFIXES


#: What a path that is not a regular file is, by its stat mode test.
_KINDS = (
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISDIR, "a folder"),
)


def not_a_file(path: str | Path) -> str | None:
    """Why ``path`` must not be opened as an image, or None for a regular file
    (after links): a FIFO would block the reader forever, a device never end.
    A path that cannot be looked at is left to the reader to report."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return None
    if stat.S_ISREG(mode):
        return None
    kind = next((kind for test, kind in _KINDS if test(mode)), "a special file")
    return f"not a regular file: {kind}"


def _to_rgb(image: Image.Image) -> Image.Image:
    """Convert every mode we meet (L, P, RGBA, CMYK, I;16, ...) to 8-bit RGB.

    16-bit and 32-bit integer images are scaled by their bit depth, not clipped,
    so a 16-bit scan keeps its contrast; transparency is composited on white.
    """
    if image.mode == "RGB":
        return image
    if image.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        pixels = np.asarray(image, dtype=np.uint32)
        shift = 8 if image.mode.startswith("I;16") or pixels.max() <= 0xFFFF else 24
        grey = (pixels >> shift).astype(np.uint8)
        return Image.fromarray(grey).convert("RGB")
    if image.mode == "F":
        pixels = np.asarray(image, dtype=np.float64)
        span = float(pixels.max() - pixels.min()) or 1.0
        grey = ((pixels - pixels.min()) / span * 255).round().astype(np.uint8)
        return Image.fromarray(grey).convert("RGB")
    if image.mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "PA"):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image.convert("RGB")


def open_rgb(data: bytes, *, draft_size: int | None = None) -> Image.Image:
    """Decode image bytes into an upright RGB PIL image.

    ``draft_size`` lets the JPEG decoder skip detail the caller will resize away
    (a 4x cheaper decode for large dermoscopy photos resized to 128 px).

    Raises
    ------
    UnreadableImage
        For empty, truncated, corrupt or non-image data, and for a picture
        of more than ``MAX_PIXELS``.
    """
    if not data:
        raise UnreadableImage("zero-byte file")
    limit = f"over the {MAX_PIXELS // 1_000_000} megapixel limit"
    try:
        with warnings.catch_warnings():
            # Our own limit, below, replaces Pillow's warning.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            opened = Image.open(io.BytesIO(data))
        with opened as image:
            width, height = image.size
            if width * height > MAX_PIXELS:
                raise UnreadableImage(f"{width}x{height} pixels, {limit}")
            if draft_size is not None and image.format == "JPEG":
                image.draft("RGB", (draft_size, draft_size))
            image.load()
            upright = ImageOps.exif_transpose(image)
            return _to_rgb(upright)
    except UnidentifiedImageError:
        raise UnreadableImage("not an image") from None
    except Image.DecompressionBombError:
        raise UnreadableImage(limit) from None
    except (OSError, SyntaxError, ValueError) as error:
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        if "truncated" in reason.lower():
            reason = "truncated image"
        raise UnreadableImage(reason) from None


def decode_resized(path: str | Path, size: int) -> np.ndarray:
    """Read one file into a (size, size, 3) uint8 array, squashing to a square.

    Dermoscopy crops are near-square; squashing (as the course pipeline does)
    keeps the whole lesion where centre-cropping could cut its border off.
    """
    image = open_rgb(real(path).read_bytes(), draft_size=size)
    if image.size != (size, size):
        image = image.resize((size, size), Image.Resampling.BILINEAR)
    return np.asarray(image, dtype=np.uint8)
