"""Image decoding: encoded bytes -> one grayscale ('L') PIL image, or an ImageDecodeError with a reason.

The decode stage turns every failure into an ImageDecodeError whose ``reason`` is one short word
("empty", "undecodable", "truncated", "too_large", "unsupported_mode"), so the pipeline can write it
into an error row (``error="decode: <reason>: ..."``) instead of crashing a worker.

Safety:
* the pixel count is read from the header (``Image.open`` is lazy) and checked against
  ``max_pixels`` before any pixel data is decoded; PIL's own DecompressionBombError (raised by
  ``Image.open`` above ``2 * Image.MAX_IMAGE_PIXELS``, a process-wide setting this module leaves
  alone) is mapped to "too_large" as well;
* truncated files fail with "truncated": ``ImageFile.LOAD_TRUNCATED_IMAGES`` is never set, so PIL
  does not pad missing data with grey;
* only the raster formats listed in ``DEFAULT_FORMATS`` are opened (not EPS, which would run
  Ghostscript on untrusted input, nor the exotic plugins).
"""
from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np
from PIL import Image, ImageOps

DEFAULT_MAX_PIXELS = 50_000_000

# PIL format names accepted by decode_image ("MPO" is how PIL opens many camera JPEGs).
DEFAULT_FORMATS: tuple[str, ...] = (
    "PNG", "JPEG", "MPO", "TIFF", "BMP", "DIB", "GIF", "WEBP", "PPM", "PCX", "TGA", "JPEG2000",
)

_ALPHA_MODES = {"LA", "La", "PA", "RGBA", "RGBa"}


class ImageDecodeError(ValueError):
    """An image that cannot become a page; ``reason`` is a short machine-readable word."""

    def __init__(self, reason: str, detail: str = "") -> None:
        self.reason = reason
        self.detail = detail
        super().__init__(f"{reason}: {detail}" if detail else reason)


@dataclass
class DecodedImage:
    image: Image.Image      # mode 'L', EXIF orientation applied
    width: int
    height: int
    n_frames: int           # pages/frames in the file; only the first is decoded
    format: str             # PIL format name, e.g. "PNG", "JPEG", "TIFF"
    note: Optional[str] = None


def content_hash(data: bytes) -> str:
    """sha256 hex digest of the encoded bytes (the OCR cache key)."""
    return hashlib.sha256(data).hexdigest()


def _open_formats(formats: Optional[Sequence[str]]) -> Optional[list[str]]:
    """The requested PIL format names that this PIL build can open (registers all plugins once)."""
    if formats is None:
        return None
    Image.init()
    return [f.upper() for f in formats if f.upper() in Image.OPEN]


def _looks_truncated(data: bytes) -> bool:
    """True when a recognisable file lacks its format's end marker (PNG IEND, JPEG EOI, GIF trailer)."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return b"IEND" not in data[-64:]
    if data.startswith(b"\xff\xd8"):
        return b"\xff\xd9" not in data[-64:]
    if data.startswith((b"GIF87a", b"GIF89a")):
        return b"\x3b" not in data[-16:]
    return False


def _to_gray(im: Image.Image) -> Image.Image:
    """Any PIL mode -> 'L' with the right tones (alpha composited on white, 16-bit scaled down)."""
    mode = im.mode
    if mode == "L":
        return im
    if mode in ("1", "RGB", "CMYK", "YCbCr", "HSV"):
        # CMYK: PIL already undoes Adobe's inverted CMYK ("CMYK;I") when it decodes the JPEG.
        return im.convert("L") if mode in ("1", "RGB") else im.convert("RGB").convert("L")
    if mode == "P":
        if "transparency" in im.info:
            return _to_gray(im.convert("RGBA"))
        return im.convert("L")
    if mode in _ALPHA_MODES:
        if mode == "La":
            im = im.convert("LA")
        rgba = im.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("L")
    if mode.startswith("I;16") or mode in ("I", "F"):
        arr = np.asarray(im)
        if arr.ndim != 2:
            raise ImageDecodeError("unsupported_mode", f"mode {mode} with shape {arr.shape}")
        arr = arr.astype(np.float64)
        if mode.startswith("I;16"):
            scaled = arr / 257.0
        else:
            lo, hi = float(np.nanmin(arr)) if arr.size else 0.0, float(np.nanmax(arr)) if arr.size else 0.0
            if mode == "F" and lo >= 0.0 and hi <= 1.0:
                scaled = arr * 255.0                     # float image on [0, 1]
            elif lo >= 0.0 and hi <= 255.0:
                scaled = arr                             # 8-bit values in a wide container
            elif lo >= 0.0 and hi <= 65535.0:
                scaled = arr / 257.0                     # 16-bit values (older PIL opens them as 'I')
            else:
                scaled = (arr - lo) * (255.0 / (hi - lo))  # anything else: stretch min..max
        scaled = np.nan_to_num(scaled, nan=255.0)
        return Image.fromarray(np.clip(np.rint(scaled), 0, 255).astype(np.uint8), mode="L")
    if mode == "LAB":
        return im.getchannel("L")
    try:
        return im.convert("RGB").convert("L")
    except (ValueError, OSError) as exc:
        raise ImageDecodeError("unsupported_mode", f"cannot convert mode {mode} to L: {exc}") from exc


def decode_image(
    data: bytes,
    *,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    formats: Optional[Sequence[str]] = DEFAULT_FORMATS,
) -> DecodedImage:
    """Decode encoded image bytes to a grayscale page (first frame of multi-page files).

    Raises ImageDecodeError with reason "empty", "undecodable", "truncated", "too_large" or
    "unsupported_mode". ``formats=None`` lets PIL try every plugin it has.
    """
    if not data:
        raise ImageDecodeError("empty", "0 bytes")
    try:
        im = Image.open(io.BytesIO(data), formats=_open_formats(formats))
    except Image.DecompressionBombError as exc:
        raise ImageDecodeError("too_large", str(exc)) from exc
    except Exception as exc:  # UnidentifiedImageError, SyntaxError, struct.error, ...
        reason = "truncated" if _looks_truncated(data) else "undecodable"
        raise ImageDecodeError(reason, f"{type(exc).__name__}: {exc}") from exc

    with im:
        fmt = im.format or "unknown"
        width, height = im.size
        if width <= 0 or height <= 0:
            raise ImageDecodeError("undecodable", f"{fmt} header gives size {width}x{height}")
        if width * height > max_pixels:
            raise ImageDecodeError(
                "too_large", f"{fmt} {width}x{height} = {width * height} pixels > max_pixels={max_pixels}")
        try:
            n_frames = int(getattr(im, "n_frames", 1) or 1)
        except Exception:  # a broken later frame only matters if we needed it
            n_frames = 1
        note = None
        if n_frames > 1:
            if fmt == "TIFF":
                note = f"multi-page TIFF: {n_frames} pages, first page used"
            else:
                note = f"multi-frame {fmt}: {n_frames} frames, first frame used"
        try:
            if n_frames > 1:
                im.seek(0)
                # the first frame may differ in size from what the header walk left behind
                width, height = im.size
                if width * height > max_pixels:
                    raise ImageDecodeError(
                        "too_large", f"{fmt} {width}x{height} = {width * height} pixels > max_pixels={max_pixels}")
            im.load()
        except ImageDecodeError:
            raise
        except Image.DecompressionBombError as exc:
            raise ImageDecodeError("too_large", str(exc)) from exc
        except Exception as exc:
            message = f"{type(exc).__name__}: {exc}"
            truncated = isinstance(exc, EOFError) or "truncat" in str(exc).lower() or _looks_truncated(data)
            raise ImageDecodeError("truncated" if truncated else "undecodable", message) from exc

        try:
            oriented = ImageOps.exif_transpose(im)
        except Exception:  # a broken EXIF block is not worth losing the page over
            oriented = im
        gray = _to_gray(oriented)
        if gray is im:
            gray = im.copy()  # detach from the file object closed by `with`
    return DecodedImage(image=gray, width=gray.width, height=gray.height, n_frames=n_frames,
                        format=fmt, note=note)


def resize_long_side(image: Image.Image, long_side: int) -> Image.Image:
    """Shrink so that max(width, height) <= long_side, keeping the aspect ratio; never enlarges."""
    if long_side <= 0:
        raise ValueError(f"long_side must be positive, got {long_side}")
    width, height = image.size
    longest = max(width, height)
    if longest <= long_side:
        return image
    scale = long_side / longest
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return image.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)
