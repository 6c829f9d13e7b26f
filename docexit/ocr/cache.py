"""OCR result cache on any fsspec filesystem, keyed by image content hash + engine cache key.

Layout: ``{root}/{sha1(engine_key)[:16]}/{image_hash[:2]}/{image_hash}.json``; each entry stores the
full engine key, checked on read. A missing, unreadable or mismatching entry is a miss, never an
error: the cache can only save work. Writes go to a temporary name first and are then renamed
(local filesystems), or are single-object puts (object stores), so a reader never sees half an entry.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import uuid
from typing import Optional

from .base import OcrResult

DEFAULT_CACHE_ROOT = os.path.join("~", ".cache", "docexit", "ocr")
log = logging.getLogger(__name__)


class OcrCache:
    def __init__(self, root: Optional[str] = None) -> None:
        from fsspec.core import url_to_fs
        root = root or DEFAULT_CACHE_ROOT
        if "://" not in root:
            root = os.path.abspath(os.path.expanduser(root))
        self.root = root
        self.fs, self._base = url_to_fs(root)
        self._local = "file" in (self.fs.protocol if isinstance(self.fs.protocol, tuple) else (self.fs.protocol,))
        self.hits = 0
        self.misses = 0

    def path(self, image_hash: str, engine_key: str) -> str:
        if not image_hash or any(c in image_hash for c in "/\\."):
            raise ValueError(f"bad image hash {image_hash!r}")
        ek = hashlib.sha1(engine_key.encode("utf-8")).hexdigest()[:16]
        return f"{self._base.rstrip('/')}/{ek}/{image_hash[:2]}/{image_hash}.json"

    def get(self, image_hash: str, engine_key: str) -> Optional[OcrResult]:
        p = self.path(image_hash, engine_key)
        try:
            with self.fs.open(p, "rb") as f:
                d = json.loads(f.read().decode("utf-8"))
            if d.get("engine_key") != engine_key or d.get("image_hash") != image_hash:
                raise ValueError("key mismatch")
            result = OcrResult.from_dict(d["result"])
        except FileNotFoundError:
            self.misses += 1
            return None
        except Exception as e:  # corrupt or foreign entry: treat as a miss
            log.warning("OCR cache entry %s unreadable (%s); ignoring it", p, e)
            self.misses += 1
            return None
        self.hits += 1
        return result

    def put(self, image_hash: str, engine_key: str, result: OcrResult) -> None:
        p = self.path(image_hash, engine_key)
        data = json.dumps({"image_hash": image_hash, "engine_key": engine_key, "result": result.to_dict()},
                          ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        parent = p.rsplit("/", 1)[0]
        if self._local:
            self.fs.makedirs(parent, exist_ok=True)
            tmp = f"{p}.{uuid.uuid4().hex}.tmp"
            with self.fs.open(tmp, "wb") as f:
                f.write(data)
            os.replace(tmp, p)
        else:
            self.fs.pipe_file(p, data)
