"""The report: pipeline combiner vs DuckDB over the Parquet, the CLI, and the docs' queries."""
from __future__ import annotations

import json
import re
from pathlib import Path

import duckdb
import pytest

from pipeline.report import (build_report, diff_reports, main, read_json, render_markdown, report_from_parquet,
                             stats_from_parquet)
from pipeline.run import run
from transforms.testing import write_test_inputs

DOCS = Path(__file__).resolve().parents[1] / "docs" / "pipeline.md"


@pytest.fixture(scope="module")
def out_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("report")
    write_test_inputs(root / "in", n_pages=24)
    out = root / "out"
    run(["--input", str(root / "in"), "--output", str(out), "--classifier_factory",
         "transforms.testing:fake_classifier", "--batch_size", "4", "--calibrate_every", "2"])
    return out


def test_pipeline_report_matches_duckdb_over_parquet(out_dir):
    saved = read_json(str(out_dir / "report.json"))
    again = report_from_parquet(str(out_dir))
    assert diff_reports(saved, again) == []
    assert saved["pages_in"] == saved["results"] + saved["errors"] == 28
    assert saved["errors"] == 4 and saved["accounted"]
    assert saved["ocr"]["skipped"] > 0
    assert saved["compute"]["measured"]["pages"] > 0
    assert saved["accuracy"]["pages_with_gold"] == saved["results"]
    assert sum(e["pages"] for e in saved["exit_histogram"]) == saved["results"]
    assert sum(saved["layers_run_histogram"].values()) == saved["results"]
    assert saved["run"]["wall_s"] > 0 and saved["run"]["counters"]["pages_read"] == 28


def test_report_numbers_are_right(out_dir):
    con = duckdb.connect()
    r = f"read_parquet('{out_dir}/results/*.parquet')"
    report = read_json(str(out_dir / "report.json"))
    mean_layers, skipped, acc = con.execute(
        f"SELECT avg(layers_run), count(*) FILTER (WHERE ocr_skipped), avg((label = label_gold)::INT) FROM {r}"
    ).fetchone()
    assert report["mean_layers_run"] == pytest.approx(mean_layers)
    assert report["ocr"]["skipped"] == skipped
    assert report["accuracy"]["overall"] == pytest.approx(acc)


def test_diff_reports_notices_a_change(out_dir):
    saved = read_json(str(out_dir / "report.json"))
    changed = json.loads(json.dumps(saved))
    changed["exit_histogram"][0]["pages"] += 1
    changed["compute"]["flops_saved_fraction"] *= 1.01
    assert len(diff_reports(saved, changed)) == 2


def test_report_cli(out_dir, tmp_path, capsys):
    assert main([str(out_dir), "--check"]) == 0
    assert "# docexit run report" in capsys.readouterr().out
    assert main([str(out_dir), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["results"] == 24
    # a tampered report.json is caught
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(out_dir, copy)
    report = json.loads((copy / "report.json").read_text())
    report["errors"] += 1
    (copy / "report.json").write_text(json.dumps(report))
    assert main([str(copy), "--check"]) == 1
    assert main([str(tmp_path / "nothing-here")]) == 2


def test_charts_and_markdown(out_dir):
    for name in ("exit_histogram.png", "layers_run_histogram.png"):
        assert (out_dir / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    md = (out_dir / "report.md").read_text()
    assert "| 28 | 24 | 4 | yes |" in md and "FLOPs saved" in md and "exit_histogram.png" in md


def test_build_report_on_empty_stats():
    from transforms.report import new_stats, stats_to_json

    report = build_report(stats_to_json(new_stats()))
    assert report["pages_in"] == 0 and report["accuracy"] is None and report["mean_layers_run"] is None
    assert "No gold labels" in render_markdown(report)


def _doc_blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", DOCS.read_text(), flags=re.S)


def test_docs_duckdb_queries_run_on_a_real_output(out_dir):
    blocks = [b for b in _doc_blocks("sql") if "read_parquet('OUT/" in b]
    assert len(blocks) >= 4
    con = duckdb.connect()
    for sql in blocks:
        rows = con.execute(sql.replace("'OUT/", f"'{out_dir}/")).fetchall()
        assert rows, sql
    # the compute-saved query agrees with the report
    saved_q = next(b for b in blocks if "flops_saved" in b)
    pages, flops_saved, _, _ = con.execute(saved_q.replace("'OUT/", f"'{out_dir}/")).fetchone()
    report = read_json(str(out_dir / "report.json"))
    assert pages == report["results"]
    assert flops_saved == pytest.approx(report["compute"]["flops_saved_fraction"], abs=1e-4)


def test_docs_polars_queries_run_on_a_real_output(out_dir, capsys):
    pytest.importorskip("polars")
    (code,) = [b for b in _doc_blocks("python") if "polars" in b]
    exec(compile(code.replace('"OUT/', f'"{out_dir}/'), "docs/pipeline.md", "exec"), {})
    assert "flops_saved" in capsys.readouterr().out


def test_stats_from_parquet_reads_memory_filesystem(out_dir):
    import fsspec

    fs = fsspec.filesystem("memory")
    for sub in ("results", "errors"):
        for f in (out_dir / sub).iterdir():
            fs.pipe(f"memory://rep/{sub}/{f.name}", f.read_bytes())
    try:
        assert stats_from_parquet("memory://rep")["results"] == 24
    finally:
        fs.rm("memory://rep", recursive=True)
