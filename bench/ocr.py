"""OCR benchmark: easyocr's stock readtext vs our fast easyocr settings, on the same pages.

    python bench/ocr.py --pages 8 --out bench/results/ocr.json

Pages: ``--pages`` generated pages (docexit.synth.generate_corpus into a temp dir, one class after
another; or ``--corpus DIR`` to reuse a corpus with truth.parquet; skipped when neither is
available) plus the real scans linn.png, skew.png and cardinal.png (reference: linn.txt).

Recall = share of reference words found (multiset match, case-insensitive, punctuation stripped).
``*_recall`` counts the first ``--max-words`` reference words (in reading order) against the
first ``--max-words`` OCR words (in our reading order): what the classifier will read.
``*_recall_full`` counts whole pages. Both are micro-averages (matched words / reference words),
overall and per source (``generated``, ``real``).

Speed: pages per second of wall time spent in read() (models loaded and warmed on a tiny image
first; page decoding not counted). The engines take turns page by page, so load from other
processes on a shared machine falls on both alike; ``*_pages_per_cpu_s`` and ``speedup_cpu`` use
CPU time (this process and its subprocesses) instead of wall time (with one torch thread, the two agree on an idle
machine). Both engines run with the same torch thread count (``--threads``, default 1).
``--repeat`` reads each page several times and keeps the fastest.

The last line printed is one JSON object (also written to ``--out``).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import platform
import re
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Optional

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from PIL import Image  # noqa: E402

REAL_PAGES = ("linn.png", "skew.png", "cardinal.png")


# ---- recall ------------------------------------------------------------------------------------
def norm_words(words) -> list[str]:
    """Lower-case, punctuation stripped, empty tokens dropped (words holding spaces are split)."""
    out = []
    for w in words:
        for t in str(w).split():
            t = re.sub(r"[\W_]+", "", t.lower())
            if t:
                out.append(t)
    return out


def match_count(ref_words, hyp_words) -> tuple[int, int]:
    """(reference words found in hyp as a multiset, reference words)."""
    r, h = Counter(norm_words(ref_words)), Counter(norm_words(hyp_words))
    return sum(min(c, h[w]) for w, c in r.items()), sum(r.values())


def budget(words, max_words: Optional[int]):
    return list(words)[:max_words] if max_words and max_words > 0 else list(words)


# ---- pages -------------------------------------------------------------------------------------
def default_real_dir() -> Path:
    return Path(os.environ.get("DOCEXIT_SHARED", REPO.parent / "shared")) / "data" / "real"


def load_generated(corpus: Optional[str], n: int, seed: int, tmp: str) -> tuple[list[dict], str]:
    """[{name, source, image, ref}] from a corpus (reused or generated); note says what happened."""
    if n <= 0:
        return [], "generated pages: none asked"
    if corpus is None:
        try:
            from docexit.synth import generate_corpus
        except ImportError as e:
            return [], f"generated pages skipped: docexit.synth unavailable ({e})"
        corpus = os.path.join(tmp, "corpus")
        per_class = max(1, math.ceil(n / 16))
        t0 = time.perf_counter()
        generate_corpus(corpus, per_class=per_class, seed=seed, progress=False)
        note = f"generated {16 * per_class} pages (per_class={per_class}, seed={seed}) in {time.perf_counter() - t0:.1f}s"
    else:
        note = f"reused corpus {corpus}"
    import pyarrow.parquet as pq
    rows = pq.read_table(os.path.join(corpus, "truth.parquet"), columns=["path", "label", "words"]).to_pylist()
    # one class after another (RVL-CDIP order): page i of every class before page i+1 of any
    by_label: dict[str, list[dict]] = {}
    for r in sorted(rows, key=lambda r: r["path"]):
        by_label.setdefault(r["label"], []).append(r)
    try:
        from docexit.labels import RVL_CDIP_CLASSES
        labels = [c for c in RVL_CDIP_CLASSES if c in by_label] + sorted(set(by_label) - set(RVL_CDIP_CLASSES))
    except ImportError:  # pragma: no cover
        labels = sorted(by_label)
    picked, k = [], 0
    while len(picked) < n and any(k < len(v) for v in by_label.values()):
        for label in labels:
            if k < len(by_label[label]) and len(picked) < n:
                picked.append(by_label[label][k])
        k += 1
    pages = []
    for r in picked:
        with Image.open(os.path.join(corpus, r["path"])) as im:
            im.load()
            pages.append({"name": r["path"], "source": "generated", "image": im.copy(), "ref": list(r["words"])})
    return pages, note


def load_real(real_dir: Path, names) -> tuple[list[dict], str]:
    ref_path = real_dir / "linn.txt"
    if not ref_path.is_file():
        return [], f"real pages skipped: {ref_path} not found"
    ref = ref_path.read_text(encoding="utf-8").split()
    pages = []
    for n in names:
        p = real_dir / n
        if p.is_file():
            with Image.open(p) as im:
                im.load()
                pages.append({"name": n, "source": "real", "image": im.copy(), "ref": ref})
    return pages, f"real pages from {real_dir}"


def prepare(image: Image.Image) -> Image.Image:
    """What the pipeline hands the OCR stage: a decoded 'L' image (docexit.images when present)."""
    try:
        from docexit.ocr.base import to_gray
        return to_gray(image)
    except Exception:  # pragma: no cover
        return image.convert("L")


# ---- running -----------------------------------------------------------------------------------
def run_interleaved(engines: list, pages: list[dict], repeat: int) -> dict:
    """Each page is read by every engine in turn (page 1: A, B; page 2: A, B; ...), so background
    load on a shared machine hits the engines alike. Per engine: results, wall and CPU seconds
    (the fastest of ``repeat`` passes per page)."""
    out = {label: {"results": [], "wall": 0.0, "cpu": 0.0} for label, _ in engines}
    for k, p in enumerate(pages):
        for label, eng in engines:
            best = None
            for _ in range(max(1, repeat)):
                t0, c0 = time.perf_counter(), _cpu_s()
                r = eng.read(p["image"])
                wall, cpu = time.perf_counter() - t0, _cpu_s() - c0
                if best is None or wall < best[1]:
                    best = (r, wall, cpu)
            r, wall, cpu = best
            r.meta["wall_ms"], r.meta["cpu_ms"] = round(1000 * wall, 1), round(1000 * cpu, 1)
            out[label]["results"].append(r)
            out[label]["wall"] += wall
            out[label]["cpu"] += cpu
            print(f"  [{k + 1}/{len(pages)}] {p['name']:<50} {label:<9} {wall:6.2f}s wall {cpu:6.2f}s cpu "
                  f"{len(r.words):4d} words", file=sys.stderr, flush=True)
    return out


def summarise(pages: list[dict], results: list, max_words: Optional[int]) -> dict:
    acc = {}
    for src in ("all", "generated", "real"):
        acc[src] = {"m": 0, "n": 0, "mf": 0, "nf": 0, "pages": 0}
    for p, r in zip(pages, results):
        m, n = match_count(budget(p["ref"], max_words), budget(r.words, max_words))
        mf, nf = match_count(p["ref"], r.words)
        for src in ("all", p["source"]):
            a = acc[src]
            a["m"] += m; a["n"] += n; a["mf"] += mf; a["nf"] += nf; a["pages"] += 1  # noqa: E702
    out = {}
    for src, a in acc.items():
        out[src] = {"pages": a["pages"],
                    "recall": round(a["m"] / a["n"], 4) if a["n"] else None,
                    "recall_full": round(a["mf"] / a["nf"], 4) if a["nf"] else None}
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pages", type=int, default=8, help="generated pages (default 8)")
    ap.add_argument("--corpus", default=None, help="reuse this corpus (dir with truth.parquet) instead of generating")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--real-dir", default=None, help="real scans dir (default: shared/data/real)")
    ap.add_argument("--real", default=",".join(REAL_PAGES), help="real pages to read ('' for none)")
    ap.add_argument("--max-words", type=int, default=None,
                    help="classifier word budget for *_recall (default: ours' max_words, 512)")
    ap.add_argument("--threads", type=int, default=None,
                    help="torch threads for every engine (default: ours' DEFAULT_THREADS, 1)")
    ap.add_argument("--repeat", type=int, default=1, help="reads per page and engine (fastest kept)")
    ap.add_argument("--option", action="append", default=[], metavar="KEY=VALUE",
                    help="extra option for our engine (repeatable), e.g. det_long_side=1000")
    ap.add_argument("--skip-default", action="store_true", help="run ours only (no speedup then)")
    ap.add_argument("--tesseract", action="store_true", help="also run the tesseract engine (if installed)")
    ap.add_argument("--out", default="bench/results/ocr.json")
    args = ap.parse_args(argv)

    import torch

    from docexit.ocr import make_engine
    from docexit.ocr.easyocr_engine import DEFAULT_MAX_WORDS, DEFAULT_THREADS

    max_words = DEFAULT_MAX_WORDS if args.max_words is None else args.max_words
    if args.threads is None:
        args.threads = DEFAULT_THREADS
    options = {}
    for kv in args.option:
        k, _, v = kv.partition("=")
        try:
            options[k] = json.loads(v)
        except json.JSONDecodeError:
            options[k] = v

    with tempfile.TemporaryDirectory(prefix="ocr_bench_") as tmp:
        gen, gen_note = load_generated(args.corpus, args.pages, args.seed, tmp)
    real_dir = Path(args.real_dir) if args.real_dir else default_real_dir()
    names = [n for n in args.real.split(",") if n]
    real, real_note = load_real(real_dir, names) if names else ([], "real pages: none asked")
    pages = gen + real
    for p in pages:
        p["image"] = prepare(p["image"])
    print(f"{gen_note}; {real_note}; {len(pages)} pages", file=sys.stderr)
    if not pages:
        print("no pages to benchmark", file=sys.stderr)
        return 2

    warm = Image.new("L", (320, 96), 255)
    from PIL import ImageDraw
    ImageDraw.Draw(warm).text((10, 40), "warm up 123", fill=0)

    engines = []
    if not args.skip_default:
        engines.append(("default", "easyocr-default", {}))
    engines.append(("ours", "easyocr", dict(options, max_words=max_words)))
    if args.tesseract:
        engines.append(("tesseract", "tesseract", {}))

    built = []
    for label, name, opts in engines:
        t0 = time.perf_counter()
        try:
            eng = make_engine(name, threads=args.threads, **opts)
        except Exception as e:
            if label == "tesseract":
                print(f"tesseract skipped: {e}", file=sys.stderr)
                continue
            raise
        load_s = time.perf_counter() - t0
        eng.read(warm)
        built.append((label, eng, load_s))
    if args.threads:
        torch.set_num_threads(args.threads)
    runs = run_interleaved([(label, eng) for label, eng, _ in built], pages, args.repeat)

    report: dict = {}
    per_page: dict = {}
    for label, eng, load_s in built:
        run = runs[label]
        results = run["results"]
        s = summarise(pages, results, max_words)
        report[label] = {"engine": eng.name, "cache_key": eng.cache_key(), "load_s": round(load_s, 2),
                         "seconds": round(run["wall"], 2), "cpu_seconds": round(run["cpu"], 2),
                         "pages_per_s": round(len(pages) / run["wall"], 4),
                         "pages_per_cpu_s": round(len(pages) / run["cpu"], 4), "recall": s}
        if hasattr(eng, "settings"):
            report[label]["settings"] = eng.settings()
        per_page[label] = [{"page": p["name"], "words": len(r.words), "wall_ms": r.meta["wall_ms"],
                            "cpu_ms": r.meta["cpu_ms"],
                            "recall": round(_ratio(*match_count(budget(p["ref"], max_words), budget(r.words, max_words))), 4),
                            "recall_full": round(_ratio(*match_count(p["ref"], r.words)), 4)}
                           for p, r in zip(pages, results)]
        print(f"{label}: {run['wall']:.1f}s wall ({run['cpu']:.1f}s cpu) for {len(pages)} pages, recall "
              f"{s['all']['recall']} (full {s['all']['recall_full']})", file=sys.stderr, flush=True)

    ours = report["ours"]
    out = {
        "pages": len(pages),
        "pages_generated": len(gen),
        "pages_real": len(real),
        "max_words": max_words,
        "ours_pages_per_s": ours["pages_per_s"],
        "ours_pages_per_cpu_s": ours["pages_per_cpu_s"],
        "ours_recall": ours["recall"]["all"]["recall"],
        "ours_recall_full": ours["recall"]["all"]["recall_full"],
    }
    if "default" in report:
        d = report["default"]
        out.update({
            "default_pages_per_s": d["pages_per_s"],
            "default_pages_per_cpu_s": d["pages_per_cpu_s"],
            "speedup": round(d["seconds"] / ours["seconds"], 2),
            "speedup_cpu": round(d["cpu_seconds"] / ours["cpu_seconds"], 2),
            "default_recall": d["recall"]["all"]["recall"],
            "default_recall_full": d["recall"]["all"]["recall_full"],
        })
    for src in ("generated", "real"):
        idx = [k for k, p in enumerate(pages) if p["source"] == src]
        if not idx:
            continue
        out[src] = {"pages": len(idx)}
        for lab, rep in report.items():
            secs = sum(runs[lab]["results"][k].meta["wall_ms"] for k in idx) / 1000
            out[src][lab] = {"recall": rep["recall"][src]["recall"], "recall_full": rep["recall"][src]["recall_full"],
                             "seconds": round(secs, 2), "pages_per_s": round(len(idx) / secs, 4)}
        if "default" in out[src] and "ours" in out[src]:
            out[src]["speedup"] = round(out[src]["default"]["seconds"] / out[src]["ours"]["seconds"], 2)
    out["engines"] = {lab: {k: v for k, v in rep.items() if k != "recall"} for lab, rep in report.items()}
    out["per_page"] = per_page
    out["machine"] = {"cpu": _cpu_name(), "cores": os.cpu_count(), "torch_threads": torch.get_num_threads(),
                      "torch": torch.__version__, "python": platform.python_version(),
                      "loadavg_end": [round(x, 2) for x in os.getloadavg()]}
    out["notes"] = [gen_note, real_note]
    line = json.dumps(out, separators=(",", ":"))
    if args.out:
        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
        with open(args.out, "w", encoding="utf-8") as f:
            f.write(json.dumps(out, indent=1) + "\n")
    print(line)
    return 0


def _cpu_s() -> float:
    """CPU seconds of this process and its finished children (tesseract runs as a subprocess)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def _ratio(m: int, n: int) -> float:
    return m / n if n else 1.0


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


if __name__ == "__main__":
    raise SystemExit(main())
