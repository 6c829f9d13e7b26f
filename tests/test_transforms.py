"""Unit tests of the pipeline's steps (transforms/), each on Beam's TestPipeline or called directly."""
from __future__ import annotations

import io
from pathlib import Path
import json

import apache_beam as beam
import pyarrow.parquet as pq
import pytest
from apache_beam.testing.test_pipeline import TestPipeline as BeamTestPipeline
from apache_beam.testing.util import assert_that, equal_to, is_not_empty
from PIL import Image

from docexit.records import PageRecord
from pipeline.local_runner import LocalRunner
from transforms.classify import (ImageStageHandler, ModelSpec, MultimodalHandler, Outcome, PrepareFn,
                                 RouteClassifiedFn, RouteImageStageFn, load_service)
from transforms.decode import DecodeFn
from transforms.elements import (ERRORS_SCHEMA, ERRORS_TAG, RESULT_CONTRACT_COLUMNS, RESULTS_SCHEMA, Page,
                                 error_row)
from transforms.ocr import OcrFn
from transforms.report import RunStatsFn, add_error, add_result, merge_stats, new_stats, stats_to_json
from transforms.testing import POISON_WORD, render_page
from transforms.write import WriteParquetFiles

FAKE = ModelSpec(factory="transforms.testing:fake_classifier", warmup=False)


def _png(size=(120, 160), color=255) -> bytes:
    buf = io.BytesIO()
    Image.new("L", size, color).save(buf, format="PNG")
    return buf.getvalue()


def _page(i: int, words=None) -> Page:
    words = words if words is not None else ["INVOICE", "total", str(i)]
    im, boxes = render_page(words, size=(300, 400), seed=i)
    return Page(doc_id=f"d{i}", uri=f"mem://p{i}.png", page=0, image=im, words=words, boxes=boxes,
                ocr_source="carried")


def _pipeline():
    return BeamTestPipeline(runner=LocalRunner())


# ------------------------------------------------------------------------------------ schemas

def test_results_schema_has_the_contract_columns():
    assert RESULT_CONTRACT_COLUMNS == [
        "doc_id", "uri", "page", "label", "confidence", "exit_name", "exit_index", "layers_run", "layers_total",
        "flops_fraction", "ocr_skipped", "ocr_words", "ocr_ms", "model_ms", "policy", "model_version", "label_gold"]
    assert ERRORS_SCHEMA.names == ["doc_id", "uri", "page", "stage", "error_type", "message"]
    assert RESULTS_SCHEMA.field("label_gold").nullable


# ------------------------------------------------------------------------------------- decode

def test_decode_turns_every_bad_input_into_one_error_row():
    good = PageRecord(uri="a.png", image_bytes=_png(), label_gold="memo",
                      words=["x"], boxes=[[0, 0, 10, 10]])
    bad_ocr = PageRecord(uri="b.png", image_bytes=_png(), words=["x", "y"], boxes=[[0, 0, 1, 1]])
    records = [
        good, bad_ocr,
        PageRecord(uri="empty.png", image_bytes=b""),
        PageRecord(uri="trunc.png", image_bytes=_png((300, 300), 0)[:60]),
        PageRecord(uri="text.png", image_bytes=b"not an image at all" * 5),
        PageRecord(uri="missing.png", image_bytes=None, error="read: file not found: missing.png"),
    ]
    with _pipeline() as p:
        out = (p | beam.Create(records) | beam.ParDo(DecodeFn()).with_outputs(ERRORS_TAG, main="pages"))
        pages = out.pages | "PageKeys" >> beam.Map(lambda pg: (pg.uri, pg.ocr_source, pg.label_gold, pg.image.mode,
                                                                bool(pg.note)))
        errors = out[ERRORS_TAG] | "ErrKeys" >> beam.Map(lambda r: (r["uri"], r["stage"], r["error_type"]))
        assert_that(pages, equal_to([("a.png", "carried", "memo", "L", False), ("b.png", "none", None, "L", True)]),
                    label="pages")
        assert_that(errors, equal_to([
            ("empty.png", "decode", "empty"),
            ("trunc.png", "decode", "truncated"),
            ("text.png", "decode", "undecodable"),
            ("missing.png", "read", "not_found"),
        ]), label="errors")


def test_decode_rejects_images_over_max_pixels():
    fn = DecodeFn(max_pixels=100)
    out = list(fn.process(PageRecord(uri="big.png", image_bytes=_png((20, 20)))))
    assert len(out) == 1 and out[0].tag == ERRORS_TAG
    assert out[0].value["error_type"] == "too_large"


# ---------------------------------------------------------------------------------------- OCR

def test_ocr_passes_carried_words_and_reports_a_broken_engine_per_page():
    fn = OcrFn(engine="no-such-engine")
    fn.setup()
    carried = _page(1)
    assert list(fn.process(carried)) == [carried]           # carried OCR: no engine needed
    needs = _page(2)
    needs.words = needs.boxes = None
    out = list(fn.process(needs))
    assert len(out) == 1 and out[0].tag == ERRORS_TAG
    assert out[0].value["stage"] == "ocr" and out[0].value["error_type"] == "engine_unavailable"


def test_ocr_uses_the_cache(tmp_path, monkeypatch):
    from docexit.ocr import OcrCache, OcrResult

    class Engine:
        calls = 0

        def read(self, image):
            Engine.calls += 1
            return OcrResult(["hello"], [[1, 2, 3, 4]], [0.9], image.width, image.height, 5.0, "stub")

        def read_many(self, images):
            return [self.read(im) for im in images]

        def cache_key(self):
            return "stub-1"

    monkeypatch.setattr("docexit.ocr.make_engine", lambda *a, **k: Engine())
    fn = OcrFn(engine="stub", cache_root=str(tmp_path / "cache"))
    fn.setup()
    for expected_source in ("engine", "cache"):
        page = _page(3)
        page.words = page.boxes = None
        page.image_hash = "ab" * 32
        (out,) = list(fn.process(page))
        assert out.words == ["hello"] and out.ocr_source == expected_source
    assert Engine.calls == 1
    assert OcrCache(str(tmp_path / "cache")).get("ab" * 32, "stub-1") is not None


def test_ocr_batch_isolates_a_page_the_engine_cannot_read(monkeypatch):
    from docexit.ocr import OcrError, OcrResult

    class Engine:
        def read(self, image):
            if image.width == 13:
                raise OcrError("stub: cannot read this page")
            return OcrResult(["w"], [[0, 0, 1, 1]], [1.0], image.width, image.height, 2.0, "stub")

        def read_many(self, images):
            return [self.read(im) for im in images]  # one bad page fails the whole call

        def cache_key(self):
            return "stub-1"

    monkeypatch.setattr("docexit.ocr.make_engine", lambda *a, **k: Engine())
    fn = OcrFn(engine="stub")
    fn.setup()
    batch = [_page(i) for i in range(3)] + [_page(9)]
    for p in batch[:3]:
        p.words = p.boxes = None
    batch[1].image = batch[1].image.resize((13, 20))
    out = list(fn.process(batch))
    errors = [o.value for o in out if getattr(o, "tag", None) == ERRORS_TAG]
    pages = [o for o in out if getattr(o, "tag", None) is None]
    assert [e["doc_id"] for e in errors] == ["d1"] and errors[0]["error_type"] == "OcrError"
    assert sorted(p.doc_id for p in pages) == ["d0", "d2", "d9"]
    assert {p.doc_id: p.ocr_source for p in pages} == {"d0": "engine", "d2": "engine", "d9": "carried"}


# --------------------------------------------------------------------------------- classifier

def test_multimodal_handler_isolates_a_poisoned_page_in_its_batch():
    service = load_service(FAKE)
    handler = MultimodalHandler(FAKE, calibrate_every=1)
    pages = [_page(0), _page(1, ["memo", POISON_WORD]), _page(2)]
    results = handler.run_inference(pages, service)
    outcomes = [r.inference for r in results]
    assert [r.example.doc_id for r in results] == ["d0", "d1", "d2"]
    assert outcomes[0].pred is not None and outcomes[2].pred is not None
    assert outcomes[1].pred is None and outcomes[1].error[0] == "ValueError"
    assert all(o.batch_error for o in outcomes)             # the batch failed first, pages retried alone
    assert outcomes[0].full_ms is not None                  # calibration batch: full depth measured
    rows = [list(RouteClassifiedFn().process(r)) for r in results]
    assert rows[1][0].tag == ERRORS_TAG and rows[1][0].value["stage"] == "classify"
    assert rows[0][0]["label"] == "invoice" and rows[0][0]["ocr_skipped"] is False


def test_full_depth_handler_measures_every_page():
    service = load_service(FAKE)
    handler = MultimodalHandler(FAKE, early_exit=False)
    results = handler.run_inference([_page(0), _page(1)], service)
    for r in results:
        assert r.inference.pred.exit_name == "final"
        assert r.inference.full_ms == pytest.approx(r.inference.pred.model_ms)


def test_image_stage_routes_confident_pages_to_done():
    service = load_service(FAKE)
    handler = ImageStageHandler(FAKE)
    pages = [_page(i) for i in range(12)]
    done, todo = [], []
    for r in handler.run_inference(pages, service):
        for out in RouteImageStageFn().process(r):
            (done if getattr(out, "tag", None) == "done" else todo).append(out)
    assert done and todo and len(done) + len(todo) == 12
    assert all(o.value["ocr_skipped"] and o.value["ocr_words"] == 0 for o in done)
    assert all(p.prior is not None and p.image_stage_ms is not None for p in todo)


def test_image_stage_failure_sends_the_page_to_ocr():
    page = _page(0)
    result = beam.ml.inference.base.PredictionResult(page, Outcome(error=("RuntimeError", "boom")))
    (out,) = list(RouteImageStageFn().process(result))
    assert out is page and out.prior is None and "image stage failed" in out.note


def test_prepare_rejects_mismatched_words_and_clamps_boxes():
    ok = _page(0)
    ok.boxes[0] = [-5, 10, 2000, 5]
    (out,) = list(PrepareFn().process(ok))
    assert out.boxes[0] == [0, 5, 1000, 10]
    bad = _page(1)
    bad.boxes = bad.boxes[:1]
    (err,) = list(PrepareFn().process(bad))
    assert err.tag == ERRORS_TAG and err.value["stage"] == "prepare"


# -------------------------------------------------------------------------------------- write

def test_write_parquet_files_commits_bundles_and_removes_strays(tmp_path):
    out_dir = tmp_path / "results"
    out_dir.mkdir()
    (out_dir / "part-stray.parquet").write_bytes(b"left by a failed bundle")
    rows = [error_row(f"d{i}", f"u{i}", 0, "decode", "empty", "x") for i in range(5)]
    with _pipeline() as p:
        files = p | beam.Create(rows) | WriteParquetFiles(str(out_dir), ERRORS_SCHEMA)
        assert_that(files, is_not_empty())
    names = sorted(f.name for f in out_dir.iterdir())
    assert "part-stray.parquet" not in names and names
    table = pq.read_table(str(out_dir))
    assert table.num_rows == 5 and table.schema.equals(ERRORS_SCHEMA, check_metadata=False)


def test_write_parquet_files_writes_an_empty_file_for_no_rows(tmp_path):
    with _pipeline() as p:
        _ = p | beam.Create([]) | WriteParquetFiles(str(tmp_path / "errors"), ERRORS_SCHEMA)
    table = pq.read_table(str(tmp_path / "errors"))
    assert table.num_rows == 0 and table.schema.names == ERRORS_SCHEMA.names


# ------------------------------------------------------------------------------------- report

def test_run_stats_combiner_matches_a_plain_fold():
    service = load_service(FAKE)
    results = MultimodalHandler(FAKE).run_inference([_page(i) for i in range(6)], service)
    rows = [list(RouteClassifiedFn().process(r))[0] for r in results]
    rows[0]["label_gold"] = rows[0]["label"]
    rows[1]["label_gold"] = "letter" if rows[1]["label"] != "letter" else "memo"
    errors = [error_row("e1", "u", 0, "decode", "empty", "m"), error_row("e2", "u", 0, "ocr", "OcrError", "m")]
    with _pipeline() as p:
        r_stats = p | "R" >> beam.Create(rows) | "CR" >> beam.CombineGlobally(RunStatsFn("r"))
        e_stats = p | "E" >> beam.Create(errors) | "CE" >> beam.CombineGlobally(RunStatsFn("e"))
        expected_r, expected_e = new_stats(), new_stats()
        for row in rows:
            add_result(expected_r, row)
        for row in errors:
            add_error(expected_e, row)
        assert_that(r_stats | "JR" >> beam.Map(json.dumps, sort_keys=True),
                    equal_to([json.dumps(stats_to_json(expected_r), sort_keys=True)]), label="results")
        assert_that(e_stats | "JE" >> beam.Map(json.dumps, sort_keys=True),
                    equal_to([json.dumps(stats_to_json(expected_e), sort_keys=True)]), label="errors")
    expected = merge_stats([expected_r, expected_e])
    merged = merge_stats([expected, expected])
    assert merged["results"] == 12 and merged["gold_pages"] == 4 and merged["gold_correct"] == 2
    assert merged["errors_by_stage"] == {"decode": 2, "ocr": 2}


def test_remote_model_folder_is_downloaded_once(tmp_path, monkeypatch):
    import fsspec

    from transforms.classify import localize_model_path

    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    fs = fsspec.filesystem("memory")
    fs.pipe("memory://models-test/v1/model.safetensors", b"weights")
    fs.pipe("memory://models-test/v1/tokenizer/vocab.json", b"{}")
    try:
        local = localize_model_path("memory://models-test/v1")
        assert (Path(local) / "model.safetensors").read_bytes() == b"weights"
        assert (Path(local) / "tokenizer" / "vocab.json").is_file()
        fs.rm("memory://models-test", recursive=True)
        assert localize_model_path("memory://models-test/v1") == local  # cached: no second download
    finally:
        if fs.exists("memory://models-test"):
            fs.rm("memory://models-test", recursive=True)
    assert localize_model_path("/some/local/dir") == "/some/local/dir"
    assert localize_model_path(None) is None


def test_progress_prints_running_counts(capsys):
    from transforms.write import ProgressFn

    ok, bad = ProgressFn(every_s=1e-9, kind="r", run_id="t1"), ProgressFn(every_s=1e-9, kind="e", run_id="t1")
    ok.setup()
    bad.setup()
    out = [list(fn.process({"i": i})) for i, fn in enumerate([ok, bad, ok])]
    assert out == [[{"i": 0}], [{"i": 1}], [{"i": 2}]]   # pass-through
    err = capsys.readouterr().err
    assert "3 pages done (2 classified, 1 errors)" in err and "pages/s" in err
