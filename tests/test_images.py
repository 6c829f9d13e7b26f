"""Image decoding on the shared real scans and on files made from them (no mocks)."""
from __future__ import annotations

import hashlib
import io
import struct
import warnings
import zlib

import numpy as np
import pytest
from PIL import Image

from docexit.images import (
    DEFAULT_MAX_PIXELS,
    DecodedImage,
    ImageDecodeError,
    content_hash,
    decode_image,
    resize_long_side,
)

REAL_SIZES = {
    "linn.png": (2550, 3300),
    "cardinal.png": (773, 1000),
    "skew.png": (773, 1000),
    "rotated_skew.png": (773, 1000),
    "c03-29.png": (774, 1000),
    "typewriter.png": (4000, 2864),
    "baiona_cmyk.jpg": (640, 682),
}


def _encode(im: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    im.save(buf, fmt, **kw)
    return buf.getvalue()


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)


def _blank_1bit_png(width: int, height: int) -> bytes:
    """A genuine 1-bit all-white PNG, compressed row by row (a real decompression bomb when large)."""
    row = b"\x00" + b"\xff" * ((width + 7) // 8)  # filter byte 0 + packed white pixels
    comp = zlib.compressobj(9)
    parts = [comp.compress(row * 500) for _ in range(height // 500)]
    parts.append(comp.compress(row * (height % 500)))
    parts.append(comp.flush())
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", b"".join(parts))
            + _png_chunk(b"IEND", b""))


def _claim_size(png: bytes, width: int, height: int) -> bytes:
    """The same PNG with an IHDR (valid CRC) claiming another size."""
    assert png[12:16] == b"IHDR"
    body = struct.pack(">II", width, height) + png[24:29]
    return png[:8] + _png_chunk(b"IHDR", body) + png[33:]


@pytest.fixture(scope="module")
def cardinal(real_dir) -> bytes:
    return (real_dir / "cardinal.png").read_bytes()


@pytest.mark.parametrize("name", sorted(REAL_SIZES))
def test_real_scans_decode_to_gray_with_their_size(real_dir, name):
    data = (real_dir / name).read_bytes()
    out = decode_image(data)
    assert isinstance(out, DecodedImage)
    assert out.image.mode == "L"
    assert (out.width, out.height) == REAL_SIZES[name] == out.image.size
    assert out.n_frames == 1 and out.note is None
    assert out.format == ("JPEG" if name.endswith(".jpg") else "PNG")
    arr = np.asarray(out.image)
    assert arr.min() < 100 and arr.max() > 200  # ink on paper, not a flat page


def test_palette_scan_keeps_its_tones(real_dir):
    data = (real_dir / "linn.png").read_bytes()
    with Image.open(io.BytesIO(data)) as src:
        assert src.mode == "P"
        expected = np.asarray(src.convert("RGB").convert("L"))
    assert np.array_equal(np.asarray(decode_image(data).image), expected)


def test_cmyk_jpeg_is_not_inverted(real_dir):
    data = (real_dir / "baiona_cmyk.jpg").read_bytes()
    with Image.open(io.BytesIO(data)) as src:
        assert src.mode == "CMYK"
        rgb_gray = np.asarray(src.convert("RGB").convert("L"), dtype=float)
    gray = np.asarray(decode_image(data).image, dtype=float)
    assert abs(gray.mean() - rgb_gray.mean()) < 1.0
    assert gray.mean() > 128  # a light map; an inverted CMYK decode would be dark


def test_multi_page_tiff_uses_first_page(real_dir):
    pages = [Image.open(real_dir / n) for n in ("c03-29.png", "cardinal.png", "skew.png")]
    try:
        data = _encode(pages[0], "TIFF", save_all=True, append_images=pages[1:], compression="tiff_deflate")
        first = np.asarray(pages[0].convert("L"))
    finally:
        for p in pages:
            p.close()
    out = decode_image(data)
    assert out.format == "TIFF"
    assert out.n_frames == 3
    assert out.note == "multi-page TIFF: 3 pages, first page used"
    assert (out.width, out.height) == (774, 1000)
    assert np.array_equal(np.asarray(out.image), first)


def test_one_bit_scan(cardinal):
    with Image.open(io.BytesIO(cardinal)) as src:
        data = _encode(src.convert("1"), "PNG")
    out = decode_image(data)
    assert out.image.mode == "L" and out.image.size == (773, 1000)
    assert set(np.unique(np.asarray(out.image))) <= {0, 255}


def test_rgba_is_composited_on_white(cardinal):
    with Image.open(io.BytesIO(cardinal)) as src:
        gray = src.convert("L")
    alpha = Image.new("L", gray.size, 255)
    alpha.paste(0, (0, 0, gray.width // 2, gray.height))  # left half fully transparent
    rgba = Image.merge("RGBA", (gray, gray, gray, alpha))
    arr = np.asarray(decode_image(_encode(rgba, "PNG")).image)
    assert (arr[:, : gray.width // 2] == 255).all()
    assert np.array_equal(arr[:, gray.width // 2:], np.asarray(gray)[:, gray.width // 2:])


def test_sixteen_bit_is_scaled_not_clipped(cardinal):
    with Image.open(io.BytesIO(cardinal)) as src:
        gray8 = np.asarray(src.convert("L"))
    img16 = Image.fromarray(gray8.astype(np.uint16) * 257)
    assert img16.mode == "I;16"
    for fmt in ("PNG", "TIFF"):
        out = decode_image(_encode(img16, fmt))
        assert out.image.mode == "L"
        assert np.abs(np.asarray(out.image).astype(int) - gray8).max() <= 1


def test_exif_orientation_is_honoured(cardinal):
    with Image.open(io.BytesIO(cardinal)) as src:
        exif = Image.Exif()
        exif[0x0112] = 6  # rotate 90 CW to display
        data = _encode(src.convert("L"), "JPEG", exif=exif.tobytes(), quality=90)
    out = decode_image(data)
    assert (out.width, out.height) == (1000, 773)


@pytest.mark.parametrize("fmt", ["BMP", "GIF", "WEBP"])
def test_other_formats(cardinal, fmt):
    with Image.open(io.BytesIO(cardinal)) as src:
        data = _encode(src.convert("L"), fmt)
    out = decode_image(data)
    assert out.format == fmt and out.image.mode == "L" and out.image.size == (773, 1000)


def test_empty_bytes():
    with pytest.raises(ImageDecodeError) as err:
        decode_image(b"")
    assert err.value.reason == "empty"


@pytest.mark.parametrize("cut", [0.5, 0.9])
def test_truncated_png_fails(cardinal, cut):
    with pytest.raises(ImageDecodeError) as err:
        decode_image(cardinal[: int(len(cardinal) * cut)])
    assert err.value.reason == "truncated"


def test_png_cut_inside_header_is_truncated(cardinal):
    with pytest.raises(ImageDecodeError) as err:
        decode_image(cardinal[:20])
    assert err.value.reason == "truncated"


def test_truncated_jpeg_fails(real_dir):
    data = (real_dir / "baiona_cmyk.jpg").read_bytes()
    with pytest.raises(ImageDecodeError) as err:
        decode_image(data[: len(data) // 2])
    assert err.value.reason == "truncated"


def test_not_an_image(real_dir):
    with pytest.raises(ImageDecodeError) as err:
        decode_image((real_dir / "linn.txt").read_bytes())
    assert err.value.reason == "undecodable"
    assert isinstance(err.value, ValueError)


def test_bomb_helper_makes_valid_pngs():
    out = decode_image(_blank_1bit_png(300, 1200))
    assert out.image.size == (300, 1200)
    assert (np.asarray(out.image) == 255).all()


def test_small_file_bomb_is_too_large():
    bomb = _blank_1bit_png(20000, 20000)  # 400 Mpixel, well under 100 KB
    assert len(bomb) < 200_000
    with pytest.raises(ImageDecodeError) as err:
        decode_image(bomb)
    assert err.value.reason == "too_large"


def test_header_claiming_60000_square_is_too_large(cardinal):
    with pytest.raises(ImageDecodeError) as err:
        decode_image(_claim_size(cardinal, 60000, 60000))
    assert err.value.reason == "too_large"


def test_own_pixel_limit_applies_below_pils(cardinal):
    bomb = _blank_1bit_png(8000, 8000)  # 64 Mpixel: over our default, under PIL's warning level
    assert 8000 * 8000 > DEFAULT_MAX_PIXELS
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # PIL must not even warn: our check comes first
        with pytest.raises(ImageDecodeError) as err:
            decode_image(bomb)
    assert err.value.reason == "too_large" and "max_pixels" in str(err.value)
    with pytest.raises(ImageDecodeError) as err:
        decode_image(cardinal, max_pixels=773 * 1000 - 1)
    assert err.value.reason == "too_large"
    assert decode_image(cardinal, max_pixels=773 * 1000).width == 773


def test_resize_long_side_only_shrinks(real_dir):
    img = decode_image((real_dir / "typewriter.png").read_bytes()).image
    small = resize_long_side(img, 1000)
    assert small.size == (1000, 716)  # 4000x2864 -> aspect kept
    assert small.mode == "L"
    assert resize_long_side(small, 2000) is small
    tall = resize_long_side(decode_image((real_dir / "cardinal.png").read_bytes()).image, 500)
    assert tall.size == (386, 500)
    with pytest.raises(ValueError):
        resize_long_side(img, 0)


def test_content_hash(cardinal, real_dir):
    assert content_hash(cardinal) == hashlib.sha256(cardinal).hexdigest()
    assert content_hash(cardinal) == content_hash(bytes(cardinal))
    assert content_hash(cardinal) != content_hash((real_dir / "skew.png").read_bytes())
    assert len(content_hash(b"")) == 64
