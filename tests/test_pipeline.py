"""End-to-end runs of the batch pipeline on the local runner (pipeline.run.run)."""
from __future__ import annotations

import os
from collections import Counter

import fsspec
import pyarrow.parquet as pq
import pytest

from pipeline.report import diff_reports, read_json, report_from_parquet
from pipeline.run import run
from transforms.elements import ERRORS_SCHEMA, RESULTS_SCHEMA
from transforms.testing import POISON_WORD, write_test_inputs

FAKE = ["--classifier_factory", "transforms.testing:fake_classifier"]
EXPECTED_BROKEN = {
    "zero_bytes.png": ("decode", "empty"),
    "truncated.png": ("decode", "truncated"),
    "not_an_image.png": ("decode", "undecodable"),
    "huge.png": ("decode", "too_large"),
    "missing_file.png": ("read", "not_found"),
}


def _tables(out):
    fs, path = fsspec.core.url_to_fs(str(out))
    res = pq.ParquetDataset(f"{path}/results", filesystem=fs).read()
    err = pq.ParquetDataset(f"{path}/errors", filesystem=fs).read()
    return res, err


def _check_schema(table, schema):
    assert table.schema.names == schema.names
    for field in schema:
        assert table.schema.field(field.name).type == field.type, field.name


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    from models.testing import make_tiny_model

    return make_tiny_model(tmp_path_factory.mktemp("tiny_model"))


def test_end_to_end_real_classifier_real_ocr_and_broken_files(tmp_path, tiny_model):
    """Generated pages (sidecar words) + one page through real easyocr + broken files, via a label file."""
    inputs = write_test_inputs(tmp_path / "in", n_pages=5, ocr_pages=1)
    out = tmp_path / "out"
    report = run(["--input", inputs["label_file"], "--output", str(out), "--model", tiny_model,
                  "--batch_size", "4", "--calibrate_every", "1"])
    res, err = _tables(out)

    # every input ends in exactly one row
    assert inputs["label_file_total"] == 11
    assert res.num_rows + err.num_rows == inputs["label_file_total"]
    uris = res.column("uri").to_pylist() + err.column("uri").to_pylist()
    assert len(set(uris)) == len(uris) == inputs["label_file_total"]
    doc_ids = res.column("doc_id").to_pylist() + err.column("doc_id").to_pylist()
    assert len(set(doc_ids)) == len(doc_ids)

    # schemas are the contract
    _check_schema(res, RESULTS_SCHEMA)
    _check_schema(err, ERRORS_SCHEMA)

    # each broken file is an error row of the right kind
    got = {os.path.basename(r["uri"]): (r["stage"], r["error_type"]) for r in err.to_pylist()}
    assert got == EXPECTED_BROKEN

    rows = {os.path.basename(r["uri"]): r for r in res.to_pylist()}
    assert set(rows) == {os.path.basename(p) for p in inputs["pages"] + inputs["ocr_pages"]}
    for name, row in rows.items():
        assert row["label_gold"] in ("invoice", "letter", "memo")
        assert row["model_version"] and row["policy"]
        assert 0 < row["layers_run"] and row["layers_total"] >= 1
        assert row["flops"] > 0 and row["model_ms"] >= 0
    ocr_row = rows[os.path.basename(inputs["ocr_pages"][0])]
    if not ocr_row["ocr_skipped"]:  # a random tiny model may (rarely) exit before OCR
        assert ocr_row["ocr_source"] == "engine" and ocr_row["ocr_words"] > 0 and ocr_row["ocr_ms"] > 0
    carried = [r for n, r in rows.items() if not r["ocr_skipped"] and n != os.path.basename(inputs["ocr_pages"][0])]
    assert all(r["ocr_source"] == "carried" and r["ocr_ms"] == 0 for r in carried)

    # the report adds up and agrees with the Parquet
    assert report["pages_in"] == inputs["label_file_total"] and report["accounted"]
    assert report["results"] == res.num_rows and report["errors"] == err.num_rows
    assert sum(e["pages"] for e in report["exit_histogram"]) == res.num_rows
    assert report["accuracy"]["pages_with_gold"] == res.num_rows
    assert diff_reports(report, report_from_parquet(str(out))) == []
    assert diff_reports(read_json(str(out / "report.json")), report) == []
    for name in ("report.md", "exit_histogram.png", "layers_run_histogram.png", "run.json", "_SUCCESS"):
        assert (out / name).is_file(), name


def test_one_bad_page_never_takes_its_batch_with_it(tmp_path):
    import json

    inputs = write_test_inputs(tmp_path / "in", n_pages=6, broken=False)
    poisoned = inputs["pages"][2]
    sidecar = os.path.splitext(poisoned)[0] + ".json"
    obj = json.load(open(sidecar))
    obj["words"][1], obj["boxes"][1] = POISON_WORD, obj["boxes"][1]
    json.dump(obj, open(sidecar, "w"))
    out = tmp_path / "out"
    report = run(["--input", str(tmp_path / "in"), "--output", str(out), "--no_image_stage",
                  "--batch_size", "6", "--min_batch_size", "6"] + FAKE)
    res, err = _tables(out)
    assert res.num_rows == 5 and err.num_rows == 1
    (e,) = err.to_pylist()
    assert e["uri"] == os.path.abspath(poisoned) and e["stage"] == "classify" and "poisoned" in e["message"]
    assert report["errors_by_type"] == {"classify/ValueError": 1}
    # the others were classified alone after their batch failed, and say so
    assert all("after its batch failed" in (r["note"] or "") for r in res.to_pylist())


def test_rerun_replaces_output_atomically(tmp_path, tiny_model):
    a = write_test_inputs(tmp_path / "a", n_pages=4, broken=False, classes=("letter",))
    b = write_test_inputs(tmp_path / "b", n_pages=3, broken=False, classes=("memo",))
    out = tmp_path / "runs" / "out"
    run(["--input", str(tmp_path / "a"), "--output", str(out), "--model", tiny_model])
    assert _tables(out)[0].num_rows == len(a["pages"])
    run(["--input", str(tmp_path / "b"), "--output", str(out), "--model", tiny_model])
    res, err = _tables(out)
    assert res.num_rows == len(b["pages"]) and err.num_rows == 0
    assert set(res.column("label_gold").to_pylist()) == {"memo"}
    # a failing run leaves the previous output untouched and no temporary siblings behind
    with pytest.raises(Exception):
        run(["--input", str(tmp_path / "does-not-exist"), "--output", str(out), "--model", tiny_model])
    assert _tables(out)[0].num_rows == len(b["pages"])
    assert sorted(os.listdir(tmp_path / "runs")) == ["out"]


def test_memory_filesystem_input_and_output(tmp_path, tiny_model):
    write_test_inputs(tmp_path / "in", n_pages=3)
    fs = fsspec.filesystem("memory")
    base = "memory://docexit-test"
    for root, _, files in os.walk(tmp_path / "in"):
        for name in files:
            src = os.path.join(root, name)
            fs.pipe(f"{base}/in/{os.path.relpath(src, tmp_path / 'in')}", open(src, "rb").read())
    try:
        report = run(["--input", f"{base}/in", "--output", f"{base}/out", "--model", tiny_model])
        res, err = _tables(f"{base}/out")
        assert res.num_rows == 3 and err.num_rows == 4 and report["accounted"]
        assert all(u.startswith("memory://") for u in res.column("uri").to_pylist())
        assert diff_reports(report, report_from_parquet(f"{base}/out")) == []
        # re-run into the same memory:// OUT: replaced, not mixed
        run(["--input", f"{base}/in/letter", "--output", f"{base}/out", "--model", tiny_model])
        assert _tables(f"{base}/out")[0].num_rows == 1
        assert not [p for p in fs.ls(base, detail=False) if ".tmp-" in p]
    finally:
        fs.rm(base, recursive=True)


def test_full_depth_and_no_image_stage_flags(tmp_path):
    write_test_inputs(tmp_path / "in", n_pages=9, broken=False)
    full = run(["--input", str(tmp_path / "in"), "--output", str(tmp_path / "full"), "--no_early_exit"] + FAKE)
    res, _ = _tables(tmp_path / "full")
    rows = res.to_pylist()
    assert all(r["exit_name"] == "final" and r["layers_run"] == r["layers_total"] for r in rows)
    assert not any(r["ocr_skipped"] for r in rows)
    assert all(r["full_model_ms"] == pytest.approx(r["model_ms"]) for r in rows)
    assert full["compute"]["measured"]["model_time_saved_fraction"] == pytest.approx(0.0, abs=1e-9)

    run(["--input", str(tmp_path / "in"), "--output", str(tmp_path / "noimg"), "--no_image_stage"] + FAKE)
    rows = _tables(tmp_path / "noimg")[0].to_pylist()
    assert not any(r["ocr_skipped"] for r in rows) and all(r["image_stage_ms"] is None for r in rows)

    ee = run(["--input", str(tmp_path / "in"), "--output", str(tmp_path / "ee")] + FAKE)
    assert ee["ocr"]["skipped"] > 0 and ee["compute"]["flops_saved_fraction"] > 0


def test_direct_runner_name_never_tries_prism(tmp_path, monkeypatch):
    from apache_beam.runners.portability import prism_runner

    def boom(*a, **k):
        raise AssertionError("PrismRunner must not be used")

    monkeypatch.setattr(prism_runner.PrismRunner, "run_pipeline", boom)
    write_test_inputs(tmp_path / "in", n_pages=2, broken=False)
    report = run(["--input", str(tmp_path / "in"), "--output", str(tmp_path / "out"), "--runner", "DirectRunner"]
                 + FAKE)
    assert report["results"] == 2 and "FnApiRunner" in report["run"]["runner"]


@pytest.mark.slow
def test_multi_processing_workers_give_the_same_rows(tmp_path):
    write_test_inputs(tmp_path / "in", n_pages=8)
    one = run(["--input", str(tmp_path / "in"), "--output", str(tmp_path / "one")] + FAKE)
    two = run(["--input", str(tmp_path / "in"), "--output", str(tmp_path / "two"), "--direct_num_workers", "2",
               "--direct_running_mode", "multi_processing"] + FAKE)
    key = lambda t: sorted((r["doc_id"], r["label"], r["exit_name"]) for r in t.to_pylist())  # noqa: E731
    assert key(_tables(tmp_path / "one")[0]) == key(_tables(tmp_path / "two")[0])
    assert Counter(_tables(tmp_path / "one")[1].column("error_type").to_pylist()) == \
        Counter(_tables(tmp_path / "two")[1].column("error_type").to_pylist())
    assert one["pages_in"] == two["pages_in"] == 12


def test_cli_main_reports_a_bad_input_without_a_traceback(tmp_path, capsys):
    from pipeline.run import main

    assert main(["--input", str(tmp_path / "nope"), "--output", str(tmp_path / "out")] + FAKE) == 1
    assert "input not found" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["--output", str(tmp_path / "out")])


def test_parquet_and_tar_shards(tmp_path):
    import io
    import json
    import tarfile

    import pyarrow as pa

    from transforms.testing import render_page

    shards = tmp_path / "shards"
    shards.mkdir()
    images = []
    for i in range(4):
        im, _ = render_page(["MEMO", "page", str(i)], size=(200, 260), seed=i)
        buf = io.BytesIO()
        im.save(buf, format="PNG")
        images.append(buf.getvalue())
    table = pa.table({"image": [{"bytes": b, "path": f"p{i}.png"} for i, b in enumerate(images)] + [{"bytes": b"junk",
                                                                                                     "path": "bad"}],
                      "label": [15, 15, 0, 0, 15],
                      "words": [["memo", "page"]] * 5, "boxes": [[[10, 10, 90, 40], [100, 10, 200, 40]]] * 5})
    pq.write_table(table, str(shards / "part-0.parquet"))
    with tarfile.open(shards / "shard-0.tar", "w") as tf:
        for i, data in enumerate(images[:3]):
            for ext, payload in (("png", data), ("cls", b"11"),
                                 ("json", json.dumps({"words": ["invoice"], "boxes": [[1, 2, 3, 4]]}).encode())):
                info = tarfile.TarInfo(f"s{i:03d}.{ext}")
                info.size = len(payload)
                tf.addfile(info, io.BytesIO(payload))
    report = run(["--input", str(shards), "--output", str(tmp_path / "out")] + FAKE)
    res, err = _tables(tmp_path / "out")
    assert report["pages_in"] == 8 and res.num_rows == 7 and err.num_rows == 1
    uris = res.column("uri").to_pylist() + err.column("uri").to_pylist()
    assert len(set(uris)) == 8 and any("#row=4" in u for u in err.column("uri").to_pylist())
    assert sum("#s00" in u for u in uris) == 3
    gold = dict(zip(res.column("uri").to_pylist(), res.column("label_gold").to_pylist()))
    assert {g for u, g in gold.items() if ".tar#" in u} == {"invoice"}
    # parquet columns and tar .json members carried the OCR: the engine never ran
    assert report["ocr"]["engine_pages"] == 0
    assert {r["ocr_source"] for r in res.to_pylist() if not r["ocr_skipped"]} == {"carried"}
