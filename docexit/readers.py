"""Input readers: turn an input spec into PageRecords (raw bytes, not decoded).

Two steps, so Beam can spread the reading: ``expand_input(spec)`` lists small picklable
``SourceItem``s (one per image file, parquet file or tar shard; runs on the launcher), and
``read_item(item)`` streams the PageRecords of one item (runs on the workers). ``iter_pages``
chains both for plain-Python use.

Everything goes through fsspec, so local paths, ``memory://``, ``gs://`` and ``s3://`` behave alike.

Input specs ``expand_input`` recognises:

* an RVL-CDIP label file (``*.txt``: lines ``relative/path.ext label``, label an int index or a
  class name; blank lines and ``#`` comments ignored). Paths resolve against ``label_root`` when
  given, else against the label file's folder, else (decided once per file from the first path)
  against the folder's parent, else the parent's ``images/`` (RVL-CDIP's ``labels/`` beside
  ``images/`` layout). A malformed line becomes an error record, not an exception.
* a folder: when every (non-hidden) subfolder is a class name (any case, spaces/hyphens ok) the
  images under each are labelled with it; any other folder gives every image (and parquet/tar
  shard) under it, unlabelled.
* a glob or a single file, dispatched by extension: images (IMAGE_EXTENSIONS), ``.parquet``,
  ``.tar`` (also ``.tar.gz``/``.tgz``) WebDataset shards; ``.txt`` is a label file when named
  directly or by a glob ending in ``.txt``.

Readers never raise for a bad item: they yield a PageRecord with ``error="read: <reason>"`` and
``image_bytes=None``. ``expand_input`` raises ``InputError`` when the spec matches nothing usable.
"""
from __future__ import annotations

import io
import json
import logging
import posixpath
import re
import tarfile
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any, Iterable, Iterator, Optional

from fsspec.core import url_to_fs
from fsspec.implementations.local import LocalFileSystem

from .labels import normalise_label
from .records import PageRecord

log = logging.getLogger(__name__)

IMAGE_EXTENSIONS: tuple[str, ...] = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".gif", ".webp")
PARQUET_EXTENSIONS: tuple[str, ...] = (".parquet",)
TAR_EXTENSIONS: tuple[str, ...] = (".tar", ".tar.gz", ".tgz")
LABEL_FILE_EXTENSIONS: tuple[str, ...] = (".txt",)
SIDECAR_EXTENSIONS: tuple[str, ...] = (".json", ".hocr")

PARQUET_BATCH_ROWS = 32   # rows per Arrow batch: image rows are ~100 KB each, keep batches small
_MAX_LINE_IN_ERROR = 120
_GLOB_MAGIC = re.compile(r"[*?\[]")
_BBOX = re.compile(r"\bbbox\s+(-?\d+(?:\.\d+)?)\s+(-?\d+(?:\.\d+)?)\s+(-?\d+(?:\.\d+)?)\s+(-?\d+(?:\.\d+)?)")


class InputError(ValueError):
    """The input spec matches nothing that can be read (the message names the path)."""


@dataclass(frozen=True)
class SourceItem:
    """A small, picklable unit of reading work; ``read_item`` turns it into PageRecords."""

    kind: str                      # "image" | "parquet" | "tar" | "error" (a bad label-file line)
    uri: str
    label: Optional[str] = None    # class name when known (label file line, class folder)
    sidecar: Optional[str] = None  # URI of an OCR sidecar (X.json / X.hocr) found beside an image
    error: Optional[str] = None    # for kind "error": why this entry cannot be read


# --------------------------------------------------------------------------------------- helpers

def _uri(fs: Any, path: str) -> str:
    """The URI to record for ``path`` on ``fs``: plain path when local, else with its protocol."""
    if isinstance(fs, LocalFileSystem):
        return path
    return fs.unstrip_protocol(path)


def _ext(path: str) -> str:
    name = posixpath.basename(path).lower()
    for ext in TAR_EXTENSIONS:  # the only multi-dot extensions
        if name.endswith(ext):
            return ext
    return posixpath.splitext(name)[1]


def _kind_of(path: str) -> Optional[str]:
    ext = _ext(path)
    if ext in IMAGE_EXTENSIONS:
        return "image"
    if ext in PARQUET_EXTENSIONS:
        return "parquet"
    if ext in TAR_EXTENSIONS:
        return "tar"
    return None


def _is_hidden(rel_path: str) -> bool:
    return any(part.startswith(".") for part in rel_path.split("/") if part)


def _stem(path: str) -> str:
    """``dir/x.png`` -> ``dir/x`` (sidecars are ``dir/x.json``, ``dir/x.hocr``)."""
    return posixpath.splitext(path)[0]


def _find_sidecar(image_path: str, present: set[str]) -> Optional[str]:
    stem = _stem(image_path)
    for ext in SIDECAR_EXTENSIONS:
        if stem + ext in present:
            return stem + ext
    return None


def _class_of_folder(name: str) -> Optional[str]:
    if not name or name.isdigit():  # numbered folders are batches/pages far more often than labels
        return None
    try:
        return normalise_label(name)
    except ValueError:
        return None


def _label_or_none(value: Any) -> Optional[str]:
    """A carried label -> class name; None/''/-1 (HF's "no label") -> None; else ValueError."""
    if value is None:
        return None
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="replace")
    if isinstance(value, str):
        value = value.strip()
        if not value or value == "-1":
            return None
    if isinstance(value, int) and not isinstance(value, bool) and value == -1:
        return None
    return normalise_label(value)


# ------------------------------------------------------------------------------------ OCR input

def _to_grid(boxes: list[list[float]], sx: float, sy: float, ox: float = 0.0, oy: float = 0.0) -> list[list[int]]:
    out = []
    for x0, y0, x1, y1 in boxes:
        a = [(x0 - ox) * sx, (y0 - oy) * sy, (x1 - ox) * sx, (y1 - oy) * sy]
        a = [min(1000, max(0, int(round(v)))) for v in a]
        out.append([min(a[0], a[2]), min(a[1], a[3]), max(a[0], a[2]), max(a[1], a[3])])
    return out


def _check_words_boxes(words: Any, boxes: Any) -> tuple[list[str], list[list[float]]]:
    if not isinstance(words, (list, tuple)) or not isinstance(boxes, (list, tuple)):
        raise ValueError("'words' and 'boxes' must both be lists")
    if len(words) != len(boxes):
        raise ValueError(f"{len(words)} words but {len(boxes)} boxes")
    out_w: list[str] = []
    out_b: list[list[float]] = []
    for word, box in zip(words, boxes):
        if box is None or len(box) != 4:
            raise ValueError(f"box for word {word!r} is not [x0, y0, x1, y1]: {box!r}")
        try:
            coords = [float(v) for v in box]
        except (TypeError, ValueError):
            raise ValueError(f"box for word {word!r} is not numeric: {box!r}") from None
        text = "" if word is None else str(word).strip()
        if text:  # empty words carry nothing for the model
            out_w.append(text)
            out_b.append(coords)
    return out_w, out_b


def ocr_from_json(obj: Any, image_size: Optional[tuple[int, int]] = None) -> tuple[list[str], list[list[int]]]:
    """Words and 0-1000 boxes from a sidecar/WebDataset JSON object.

    Boxes are on the 0-1000 grid unless the object gives the page's pixel "width" and "height", in
    which case they are pixel boxes and are normalised. Boxes beyond 1000 with no width/height are
    normalised by ``image_size`` when given, else rejected. Raises ValueError when malformed.
    """
    if not isinstance(obj, dict):
        raise ValueError("OCR JSON is not an object")
    if "words" not in obj or "boxes" not in obj:
        raise ValueError("OCR JSON lacks 'words' or 'boxes'")
    words, boxes = _check_words_boxes(obj["words"], obj["boxes"])
    width, height = obj.get("width"), obj.get("height")
    if width is not None or height is not None:
        try:
            width, height = float(width), float(height)
        except (TypeError, ValueError):
            raise ValueError(f"bad page size width={width!r} height={height!r}") from None
        if width <= 0 or height <= 0:
            raise ValueError(f"bad page size {width}x{height}")
        return words, _to_grid(boxes, 1000.0 / width, 1000.0 / height)
    if all(0 <= v <= 1000 for box in boxes for v in box):
        return words, _to_grid(boxes, 1.0, 1.0)
    if image_size:
        return words, _to_grid(boxes, 1000.0 / image_size[0], 1000.0 / image_size[1])
    raise ValueError("boxes exceed the 0-1000 grid and no 'width'/'height' is given")


class _HocrParser(HTMLParser):
    _VOID = {"br", "img", "meta", "link", "hr", "input", "area", "base", "col", "embed", "source", "wbr"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.pages = 0
        self.page_bbox: Optional[tuple[float, float, float, float]] = None
        self.words: list[str] = []
        self.boxes: list[list[float]] = []
        self._word_box: Optional[list[float]] = None
        self._word_text: list[str] = []
        self._depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, Optional[str]]]) -> None:
        if self._word_box is not None:
            if tag not in self._VOID:
                self._depth += 1
            return
        attr = dict(attrs)
        classes = (attr.get("class") or "").split()
        title = attr.get("title") or ""
        if "ocr_page" in classes:
            self.pages += 1
            match = _BBOX.search(title)
            if self.pages == 1 and match:
                self.page_bbox = tuple(float(v) for v in match.groups())  # type: ignore[assignment]
        elif "ocrx_word" in classes and self.pages <= 1 and tag not in self._VOID:
            match = _BBOX.search(title)
            if match:
                self._word_box = [float(v) for v in match.groups()]
                self._word_text = []
                self._depth = 1

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, Optional[str]]]) -> None:
        if self._word_box is None:  # a self-closing tag opens nothing
            attr = dict(attrs)
            if "ocr_page" in (attr.get("class") or "").split():
                self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        if self._word_box is None or tag in self._VOID:
            return
        self._depth -= 1
        if self._depth == 0:
            text = " ".join("".join(self._word_text).split())
            if text:
                self.words.append(text)
                self.boxes.append(self._word_box)
            self._word_box = None

    def handle_data(self, data: str) -> None:
        if self._word_box is not None:
            self._word_text.append(data)


def ocr_from_hocr(text: str, image_size: Optional[tuple[int, int]] = None) -> tuple[list[str], list[list[int]]]:
    """Words and 0-1000 boxes from hOCR: ``ocrx_word`` bboxes normalised by the first ``ocr_page`` bbox
    (or ``image_size`` when the page has none). Only the first page's words are kept."""
    parser = _HocrParser()
    parser.feed(text)
    parser.close()
    if parser.page_bbox is not None:
        px0, py0, px1, py1 = parser.page_bbox
    elif image_size:
        px0, py0, px1, py1 = 0.0, 0.0, float(image_size[0]), float(image_size[1])
    else:
        raise ValueError("hOCR has no ocr_page bbox to normalise word boxes by")
    if px1 <= px0 or py1 <= py0:
        raise ValueError(f"hOCR page bbox is empty: {parser.page_bbox}")
    return parser.words, _to_grid(parser.boxes, 1000.0 / (px1 - px0), 1000.0 / (py1 - py0), px0, py0)


def _image_size(data: bytes) -> Optional[tuple[int, int]]:
    try:
        from PIL import Image

        with Image.open(io.BytesIO(data)) as im:
            return im.size
    except Exception:
        return None


# ------------------------------------------------------------------------------------- expanding

def _expand_folder(fs: Any, path: str, *, recursive: bool, sidecars: bool) -> list[SourceItem]:
    path = path.rstrip("/") or path
    entries = fs.ls(path, detail=True)
    root_files = [e["name"] for e in entries if e.get("type") != "directory"]
    subdirs = [e["name"].rstrip("/") for e in entries if e.get("type") == "directory"]
    subdirs = [d for d in subdirs if not posixpath.basename(d).startswith(".")]
    classes = {d: _class_of_folder(posixpath.basename(d)) for d in subdirs}

    def files_under(folder: str, local_files: list[str]) -> list[str]:
        if recursive:
            return sorted(fs.find(folder))
        return sorted(local_files)

    if subdirs and all(classes.values()):
        groups: list[tuple[Optional[str], list[str]]] = [(None, sorted(root_files))]
        for d in sorted(subdirs):
            sub_files = [e["name"] for e in fs.ls(d, detail=True) if e.get("type") != "directory"] if not recursive else []
            groups.append((classes[d], files_under(d, sub_files)))
    else:
        if subdirs and any(classes.values()):
            log.warning("folder %s mixes class-named and other subfolders: reading it unlabelled", path)
        groups = [(None, files_under(path, root_files))]

    items: list[SourceItem] = []
    for label, files in groups:
        present = set(files)
        for f in files:
            rel = f[len(path):].lstrip("/") if f.startswith(path) else posixpath.basename(f)
            if _is_hidden(rel):
                continue
            kind = _kind_of(f)
            if kind is None or (label is not None and kind != "image"):
                continue
            sidecar = _find_sidecar(f, present) if (sidecars and kind == "image") else None
            items.append(SourceItem(kind, _uri(fs, f), label=label,
                                    sidecar=_uri(fs, sidecar) if sidecar else None))
    return items


def _line_error(label_uri: str, lineno: int, line: str, reason: str) -> SourceItem:
    shown = line if len(line) <= _MAX_LINE_IN_ERROR else line[:_MAX_LINE_IN_ERROR] + "..."
    return SourceItem("error", f"{label_uri}#line={lineno}",
                      error=f"label file {label_uri} line {lineno}: {reason}: {shown!r}")


def _expand_label_file(fs: Any, path: str, *, label_root: Optional[str], sidecars: bool,
                       strict: bool) -> list[SourceItem]:
    label_uri = _uri(fs, path)
    text = fs.cat_file(path).decode("utf-8-sig", errors="replace")
    parsed: list[Any] = []   # SourceItem (errors) or (rel_path, label) in line order
    n_ok = 0
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.rsplit(None, 1)
        if len(parts) != 2:
            parsed.append(_line_error(label_uri, lineno, line, "expected '<path> <label>'"))
            continue
        rel, raw_label = parts[0].strip().replace("\\", "/"), parts[1]
        try:
            label = normalise_label(raw_label)
        except ValueError as exc:
            parsed.append(_line_error(label_uri, lineno, line, str(exc)))
            continue
        parsed.append((rel, label))
        n_ok += 1
    if strict and n_ok == 0:
        n_bad = len(parsed)
        raise InputError(f"label file {label_uri} has no '<path> <label>' entries"
                         + (f" ({n_bad} malformed lines)" if n_bad else " (it is empty)"))

    # Where do the relative paths live? Decided once, from the first entry.
    if label_root is not None:
        root_fs, root_path = url_to_fs(str(label_root))
        candidates = [root_path.rstrip("/") or root_path]
    else:
        root_fs = fs
        folder = posixpath.dirname(path)
        parent = posixpath.dirname(folder)
        candidates = [folder, parent, posixpath.join(parent, "images")] if parent != folder else [folder]

    def resolve(base: str, rel: str) -> tuple[Any, str]:
        if "://" in rel:
            return url_to_fs(rel)
        if rel.startswith("/"):
            return root_fs, rel
        return root_fs, posixpath.normpath(posixpath.join(base, rel))

    first_rel = next((p[0] for p in parsed if isinstance(p, tuple)), None)
    base = candidates[0]
    if first_rel is not None and "://" not in first_rel and not first_rel.startswith("/"):
        for cand in candidates:
            f_fs, f_path = resolve(cand, first_rel)
            if f_fs.exists(f_path):
                base = cand
                break
        else:
            log.warning("label file %s: first path %r not found under %s", label_uri, first_rel, candidates)

    # Sidecars: probed per entry only when the first entry has one (again decided once).
    probe_sidecars = False
    if sidecars and first_rel is not None:
        f_fs, f_path = resolve(base, first_rel)
        probe_sidecars = any(f_fs.exists(_stem(f_path) + ext) for ext in SIDECAR_EXTENSIONS)

    items: list[SourceItem] = []
    for entry in parsed:
        if isinstance(entry, SourceItem):
            items.append(entry)
            continue
        rel, label = entry
        e_fs, e_path = resolve(base, rel)
        kind = _kind_of(e_path) or "image"
        sidecar = None
        if probe_sidecars and kind == "image":
            for ext in SIDECAR_EXTENSIONS:
                if e_fs.exists(_stem(e_path) + ext):
                    sidecar = _uri(e_fs, _stem(e_path) + ext)
                    break
        items.append(SourceItem(kind, _uri(e_fs, e_path), label=label, sidecar=sidecar))
    return items


def _expand_file(fs: Any, path: str, *, label_root: Optional[str], sidecars: bool,
                 present: Optional[set[str]], strict: bool) -> Optional[list[SourceItem]]:
    """Items for one file, or None when its extension is not one we read."""
    ext = _ext(path)
    if ext in LABEL_FILE_EXTENSIONS:
        return _expand_label_file(fs, path, label_root=label_root, sidecars=sidecars, strict=strict)
    kind = _kind_of(path)
    if kind is None:
        return None
    sidecar = None
    if sidecars and kind == "image":
        if present is None:
            present = {_stem(path) + e for e in SIDECAR_EXTENSIONS if fs.exists(_stem(path) + e)}
        sidecar = _find_sidecar(path, present)
    return [SourceItem(kind, _uri(fs, path), sidecar=_uri(fs, sidecar) if sidecar else None)]


def expand_input(spec: str, *, label_root: Optional[str] = None, recursive: bool = True,
                 sidecars: bool = True) -> list[SourceItem]:
    """List the SourceItems of an input spec (label file, folder, glob or single file; any fsspec URI).

    ``sidecars=False`` skips looking for X.json / X.hocr OCR beside images (saves listings on
    object stores). Raises InputError when the spec matches nothing usable.
    """
    spec = str(spec)
    fs, path = url_to_fs(spec)

    if _GLOB_MAGIC.search(path):
        matches = fs.glob(path, detail=True)
        if not matches:
            raise InputError(f"input glob matches nothing: {spec}")
        labels_wanted = _ext(path) in LABEL_FILE_EXTENSIONS
        files = sorted(n for n, info in matches.items() if info.get("type") != "directory")
        folders = sorted(n for n, info in matches.items() if info.get("type") == "directory")
        present: set[str] = set()
        if sidecars:
            for parent in sorted({posixpath.dirname(f) for f in files if _kind_of(f) == "image"}):
                present.update(fs.ls(parent, detail=False))
        items: list[SourceItem] = []
        literal = posixpath.dirname(path[: _GLOB_MAGIC.search(path).start()])
        for f in files:
            if _is_hidden(f[len(literal):] if f.startswith(literal) else posixpath.basename(f)):
                continue
            if _ext(f) in LABEL_FILE_EXTENSIONS and not labels_wanted:
                continue
            got = _expand_file(fs, f, label_root=label_root, sidecars=sidecars, present=present, strict=False)
            items.extend(got or [])
        for d in folders:
            items.extend(_expand_folder(fs, d, recursive=recursive, sidecars=sidecars))
        if not items:
            raise InputError(f"input glob {spec} matched {len(matches)} paths but none is a readable input "
                             f"(images {', '.join(IMAGE_EXTENSIONS)}, .parquet, .tar, label .txt)")
        return items

    if fs.isdir(path):
        items = _expand_folder(fs, path, recursive=recursive, sidecars=sidecars)
        if not items:
            raise InputError(f"input folder has no images, parquet or tar files: {spec}")
        return items

    if fs.isfile(path):
        got = _expand_file(fs, path, label_root=label_root, sidecars=sidecars, present=None, strict=True)
        if got is None:
            raise InputError(f"input file has an extension docexit does not read: {spec} (expected images "
                             f"{', '.join(IMAGE_EXTENSIONS)}, .parquet, .tar, or a label .txt)")
        return got

    raise InputError(f"input not found: {spec}")


# --------------------------------------------------------------------------------------- reading

def _error_record(uri: str, reason: str, label: Optional[str] = None) -> PageRecord:
    return PageRecord(uri=uri, image_bytes=None, label_gold=label, error=f"read: {reason}")


def _join_notes(*notes: Optional[str]) -> Optional[str]:
    kept = [n for n in notes if n]
    return "; ".join(kept) if kept else None


def _read_image(item: SourceItem) -> Iterator[PageRecord]:
    fs, path = url_to_fs(item.uri)
    try:
        data = fs.cat_file(path)
    except FileNotFoundError:
        yield _error_record(item.uri, f"file not found: {item.uri}", item.label)
        return
    except Exception as exc:
        yield _error_record(item.uri, f"cannot read {item.uri}: {type(exc).__name__}: {exc}", item.label)
        return
    words = boxes = None
    label = item.label
    note = None
    if item.sidecar:
        try:
            s_fs, s_path = url_to_fs(item.sidecar)
            text = s_fs.cat_file(s_path).decode("utf-8-sig")
            if _ext(s_path) == ".hocr":
                words, boxes = ocr_from_hocr(text, _image_size(data))
            else:
                obj = json.loads(text)
                words, boxes = ocr_from_json(obj, _image_size(data))
                if label is None and isinstance(obj, dict) and obj.get("label") is not None:
                    label = _label_or_none(obj["label"])
        except Exception as exc:
            words = boxes = None
            note = f"sidecar {item.sidecar} ignored: {type(exc).__name__}: {exc}"
    yield PageRecord(uri=item.uri, image_bytes=data, label_gold=label, words=words, boxes=boxes, note=note)


def _hf_class_names(metadata: Optional[dict[bytes, bytes]], column: Optional[str]) -> Optional[list[str]]:
    """ClassLabel names for ``column`` from the 'huggingface' schema metadata, when present."""
    if not metadata or not column or b"huggingface" not in metadata:
        return None
    try:
        meta = json.loads(metadata[b"huggingface"])
        features = (meta.get("info") or {}).get("features") or meta.get("features") or {}
        feature = features.get(column) or {}
        names = feature.get("names")
        return [str(n) for n in names] if isinstance(names, list) else None
    except Exception:
        return None


def _detect_image_column(schema: Any) -> Optional[str]:
    import pyarrow as pa

    for field in schema:
        t = field.type
        if pa.types.is_struct(t):
            for i in range(t.num_fields):
                child = t.field(i)
                if child.name == "bytes" and (pa.types.is_binary(child.type) or pa.types.is_large_binary(child.type)):
                    return field.name
        elif pa.types.is_binary(t) or pa.types.is_large_binary(t):
            return field.name
    return None


def _read_parquet(item: SourceItem, image_column: Optional[str], label_column: Optional[str]) -> Iterator[PageRecord]:
    import pyarrow.parquet as pq

    fs, path = url_to_fs(item.uri)
    row = 0
    try:
        with fs.open(path, "rb") as f:
            pf = pq.ParquetFile(f)
            schema = pf.schema_arrow
            names = set(schema.names)
            img_col = image_column or _detect_image_column(schema)
            if img_col is None or img_col not in names:
                why = (f"column {image_column!r} not found" if image_column
                       else "no image column (struct with 'bytes', or binary)")
                yield _error_record(item.uri, f"parquet {item.uri}: {why}; columns: {', '.join(schema.names)}")
                return
            if label_column is not None and label_column not in names:
                yield _error_record(item.uri, f"parquet {item.uri}: label column {label_column!r} not found; "
                                              f"columns: {', '.join(schema.names)}")
                return
            lab_col = label_column or ("label" if "label" in names else None)
            class_names = _hf_class_names(schema.metadata, lab_col)
            carried = "words" in names and "boxes" in names
            columns = [img_col] + ([lab_col] if lab_col else []) + (["words", "boxes"] if carried else [])
            for batch in pf.iter_batches(batch_size=PARQUET_BATCH_ROWS, columns=columns):
                images = batch.column(img_col).to_pylist()
                labels = batch.column(lab_col).to_pylist() if lab_col else [None] * len(images)
                words_col = batch.column("words").to_pylist() if carried else [None] * len(images)
                boxes_col = batch.column("boxes").to_pylist() if carried else [None] * len(images)
                for value, raw_label, words, boxes in zip(images, labels, words_col, boxes_col):
                    uri = f"{item.uri}#row={row}"
                    row += 1
                    notes: list[Optional[str]] = []
                    label = item.label
                    try:
                        if raw_label is not None:
                            if class_names is not None and isinstance(raw_label, int) and 0 <= raw_label < len(class_names):
                                raw_label = class_names[raw_label]
                            label = _label_or_none(raw_label)
                    except ValueError as exc:
                        label = None
                        notes.append(f"label ignored: {exc}")
                    data = value.get("bytes") if isinstance(value, dict) else value
                    if data is None:
                        where = value.get("path") if isinstance(value, dict) else None
                        yield _error_record(uri, "row has no image bytes" + (f" (path={where!r})" if where else ""),
                                            label)
                        continue
                    if words is not None or boxes is not None:
                        try:
                            words, boxes = ocr_from_json({"words": words or [], "boxes": boxes or []})
                        except ValueError as exc:
                            words = boxes = None
                            notes.append(f"carried OCR ignored: {exc}")
                    yield PageRecord(uri=uri, image_bytes=bytes(data), label_gold=label, words=words,
                                     boxes=boxes, note=_join_notes(*notes))
    except Exception as exc:
        where = f"{item.uri}#row={row}" if row else item.uri
        yield _error_record(where, f"parquet {item.uri}: {type(exc).__name__}: {exc}"
                                   + (f" (rows from {row} on not read)" if row else ""))


def _tar_sample(tar_uri: str, key: str, members: dict[str, bytes], label: Optional[str]) -> PageRecord:
    uri = f"{tar_uri}#{key}"
    image_exts = [e for e in members if "." + e.rsplit(".", 1)[-1] in IMAGE_EXTENSIONS]
    notes: list[Optional[str]] = []
    if "cls" in members:
        try:
            label = _label_or_none(members["cls"])
        except ValueError as exc:
            notes.append(f".cls ignored: {exc}")
    words = boxes = None
    if "json" in members:
        try:
            obj = json.loads(members["json"].decode("utf-8-sig"))
            if isinstance(obj, dict) and obj.get("label") is not None and "cls" not in members:
                try:
                    label = _label_or_none(obj["label"])
                except ValueError as exc:
                    notes.append(f".json label ignored: {exc}")
            if isinstance(obj, dict) and ("words" in obj or "boxes" in obj):
                size = _image_size(members[image_exts[0]]) if image_exts else None
                words, boxes = ocr_from_json(obj, size)
        except Exception as exc:
            words = boxes = None
            notes.append(f".json OCR ignored: {type(exc).__name__}: {exc}")
    if not image_exts:
        return PageRecord(uri=uri, image_bytes=None, label_gold=label,
                          error=f"read: tar sample {key!r} has no image member (members: "
                                f"{', '.join(sorted(members)) or 'none'})")
    if len(image_exts) > 1:
        notes.append(f"tar sample has {len(image_exts)} images ({', '.join(image_exts)}); .{image_exts[0]} used")
    return PageRecord(uri=uri, image_bytes=members[image_exts[0]], label_gold=label, words=words, boxes=boxes,
                      note=_join_notes(*notes))


def _read_tar(item: SourceItem) -> Iterator[PageRecord]:
    fs, path = url_to_fs(item.uri)
    key: Optional[str] = None
    members: dict[str, bytes] = {}
    n_samples = 0
    try:
        with fs.open(path, "rb") as f, tarfile.open(fileobj=f, mode="r|*") as tf:
            for member in tf:
                if not member.isfile():
                    continue
                base = posixpath.basename(member.name)
                if not base or base.startswith("."):
                    continue
                dot = base.find(".")
                member_key = posixpath.join(posixpath.dirname(member.name), base[:dot] if dot > 0 else base)
                ext = base[dot + 1:].lower() if dot > 0 else ""
                handle = tf.extractfile(member)
                data = handle.read() if handle is not None else b""
                if member_key != key:
                    if key is not None:
                        yield _tar_sample(item.uri, key, members, item.label)
                        n_samples += 1
                    key, members = member_key, {}
                members[ext] = data
        if key is not None:
            yield _tar_sample(item.uri, key, members, item.label)
            n_samples += 1
        elif n_samples == 0:
            yield _error_record(item.uri, f"tar {item.uri} holds no files")
    except Exception as exc:
        if key is not None and members:
            # members already read are complete: keep the sample, then report where reading stopped
            yield _tar_sample(item.uri, key, members, item.label)
            n_samples += 1
        where = f"{item.uri}#read-error-after={key}" if key is not None else item.uri
        yield _error_record(where, f"tar {item.uri}: {type(exc).__name__}: {exc} "
                                   f"(after {n_samples} samples)")


def read_item(item: SourceItem, *, image_column: Optional[str] = None,
              label_column: Optional[str] = None) -> Iterator[PageRecord]:
    """Stream the PageRecords of one SourceItem; never raises for a bad item (error records instead).

    ``image_column`` / ``label_column`` override parquet column detection (default: first struct
    column with 'bytes' or binary column; 'label').
    """
    try:
        if item.kind == "image":
            yield from _read_image(item)
        elif item.kind == "parquet":
            yield from _read_parquet(item, image_column, label_column)
        elif item.kind == "tar":
            yield from _read_tar(item)
        elif item.kind == "error":
            yield _error_record(item.uri, item.error or "unreadable input entry", item.label)
        else:
            yield _error_record(item.uri, f"unknown source kind {item.kind!r}", item.label)
    except Exception as exc:  # last resort: a reader bug must not take the worker down
        log.exception("reader failed on %s", item.uri)
        yield _error_record(item.uri, f"{type(exc).__name__}: {exc}", item.label)


def iter_pages(spec: str, **kw: Any) -> Iterator[PageRecord]:
    """``expand_input(spec)`` then ``read_item`` on each item. Keywords go to whichever takes them:
    label_root, recursive, sidecars -> expand_input; image_column, label_column -> read_item."""
    expand_kw = {k: kw.pop(k) for k in ("label_root", "recursive", "sidecars") if k in kw}
    read_kw = {k: kw.pop(k) for k in ("image_column", "label_column") if k in kw}
    if kw:
        raise TypeError(f"iter_pages() got unexpected keyword arguments: {', '.join(sorted(kw))}")
    for item in expand_input(spec, **expand_kw):
        yield from read_item(item, **read_kw)


def iter_items(items: Iterable[SourceItem], **read_kw: Any) -> Iterator[PageRecord]:
    """``read_item`` over several items (plain-Python counterpart of Beam's FlatMap)."""
    for item in items:
        yield from read_item(item, **read_kw)
