"""Atomic replacement of a run's output folder, on local disks and fsspec filesystems.

A run writes everything into a temporary sibling ``.<name>.tmp-<id>`` and only at the end swaps it
into place:

* local: rename OUT -> ``.<name>.old-<id>``, rename tmp -> OUT, delete the old one. Both renames are
  atomic on POSIX, so OUT is always either the complete old run or the complete new one (for the
  instant between the two renames it does not exist; it never mixes two runs).
* object stores (gs://, s3://, memory:// ...): there is no directory rename. The old OUT is
  deleted, then the temp tree is moved (copy + delete per object). Readers that could catch the
  copy half done should look for ``OUT/_SUCCESS``, written last.

A failed run deletes its temp folder (unless asked to keep it) and leaves OUT untouched.
"""
from __future__ import annotations

import os
import shutil
import uuid
from typing import Optional

SUCCESS = "_SUCCESS"


def _fs(url: str):
    from fsspec.core import url_to_fs

    return url_to_fs(url)


def is_local(url: str) -> bool:
    """True for plain paths and file:// URLs (decided from the URL alone: no filesystem is built,
    so no credential lookups for gs:// and friends)."""
    from fsspec.core import split_protocol

    protocol, _ = split_protocol(url)
    return protocol in (None, "file", "local")


def normalise(url: str) -> str:
    """Absolute local path, or the URL as given (no trailing slash)."""
    if "://" not in url or url.startswith("file://"):
        return os.path.abspath(os.path.expanduser(url[len("file://"):] if url.startswith("file://") else url))
    return url.rstrip("/")


def temp_sibling(out: str, tag: str = "tmp") -> str:
    out = normalise(out)
    parent, name = out.rsplit("/", 1) if "/" in out else ("", out)
    return f"{parent}/.{name}.{tag}-{uuid.uuid4().hex[:12]}"


def prepare_temp(out: str) -> str:
    """Create (and return) a fresh temp sibling of ``out``; the parent is created when missing."""
    tmp = temp_sibling(out)
    fs, path = _fs(tmp)
    fs.makedirs(path, exist_ok=True)
    return tmp


def discard(tmp: str) -> None:
    fs, path = _fs(tmp)
    try:
        if fs.exists(path):
            fs.rm(path, recursive=True)
    except Exception:
        pass


def commit(tmp: str, out: str) -> str:
    """Swap ``tmp`` into place as ``out``; returns ``out``."""
    out = normalise(out)
    fs, tmp_path = _fs(tmp)
    _, out_path = _fs(out)
    with fs.open(f"{tmp_path}/{SUCCESS}", "wb") as f:
        f.write(b"")
    if is_local(out):
        old: Optional[str] = None
        if os.path.lexists(out_path):
            old = temp_sibling(out, "old")
            os.replace(out_path, old)
        os.replace(tmp_path, out_path)
        if old:
            if os.path.isdir(old) and not os.path.islink(old):
                shutil.rmtree(old, ignore_errors=True)
            else:
                os.remove(old)
        return out
    if fs.exists(out_path):
        fs.rm(out_path, recursive=True)
    # move every object except the marker, then the marker last
    files = [p for p in fs.find(tmp_path) if not p.endswith("/" + SUCCESS)]
    for src in files:
        rel = src[len(tmp_path.rstrip("/")) + 1:]
        fs.mv(src, f"{out_path}/{rel}")
    fs.mv(f"{tmp_path}/{SUCCESS}", f"{out_path}/{SUCCESS}")
    discard(tmp)
    return out
