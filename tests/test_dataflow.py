"""Dataflow readiness, offline: options pass through, the job graph builds, gs:// paths resolve."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import apache_beam as beam
import pytest
from apache_beam.options.pipeline_options import (DirectOptions, GoogleCloudOptions, SetupOptions, StandardOptions,
                                                  WorkerOptions)

from pipeline import outdir
from pipeline.options import DocexitOptions, fill_remote_defaults, is_local, parse_options, reshuffle_pages, share_model
from pipeline.run import build_pipeline, run

REPO = Path(__file__).resolve().parents[1]
GPU = "worker_accelerator=type:nvidia-l4;count:1;install-nvidia-driver"
DATAFLOW_ARGS = [
    "--input", "gs://docexit-test-bucket/scans/*.png", "--output", "gs://docexit-test-bucket/runs/out",
    "--runner", "DataflowRunner", "--project", "docexit-test", "--region", "us-central1",
    "--temp_location", "gs://docexit-test-bucket/tmp", "--setup_file", str(REPO / "setup.py"),
    f"--dataflow_service_options={GPU}", "--machine_type", "g2-standard-8", "--max_num_workers", "4",
    "--batch_size", "8", "--no_image_stage", "--model", "gs://docexit-test-bucket/models/v1",
    # Beam's TestOptions: nothing is submitted, and option validation skips the GCS bucket checks
    # (soft-delete policy lookup) that would need network and credentials
    "--dry_run=True",
]
STEPS = {"Read", "Decode", "OCR", "Classify", "WriteClassified", "WriteErrors", "StatsClassified", "StatsErrors",
         "WriteStats"}


def test_dataflow_options_pass_through():
    options = parse_options(DATAFLOW_ARGS + ["--experiments", "use_runner_v2"])
    gcp = options.view_as(GoogleCloudOptions)
    assert (gcp.project, gcp.region, gcp.temp_location) == ("docexit-test", "us-central1",
                                                            "gs://docexit-test-bucket/tmp")
    assert gcp.dataflow_service_options == [GPU]
    assert options.view_as(WorkerOptions).machine_type == "g2-standard-8"
    assert options.view_as(SetupOptions).setup_file.endswith("setup.py")
    assert "use_runner_v2" in options.get_all_options()["experiments"]
    d = options.view_as(DocexitOptions)
    assert (d.batch_size, d.min_batch_size, d.no_image_stage) == (8, 4, True)
    assert not is_local(options) and share_model(options) and reshuffle_pages(options)


def test_local_defaults():
    options = parse_options(["--input", "x", "--output", "y", "--direct_num_workers", "2",
                             "--direct_running_mode", "multi_processing"])
    assert is_local(options) and not share_model(options) and not reshuffle_pages(options)
    assert options.view_as(DirectOptions).direct_num_workers == 2
    with pytest.raises(SystemExit):
        parse_options(["--output", "y"])


def test_setup_file_is_filled_in_for_remote_runners():
    args = [a for a in DATAFLOW_ARGS]
    i = args.index("--setup_file")
    del args[i:i + 2]
    options = parse_options(args)
    notes = fill_remote_defaults(options)
    assert options.view_as(SetupOptions).setup_file == str(REPO / "setup.py") and notes


def test_job_graph_builds_with_dataflow_options(tmp_path):
    """The runner-API proto Dataflow would receive: every step there, everything pickles."""
    options = parse_options(DATAFLOW_ARGS)
    p = beam.Pipeline(options=options)  # DataflowRunner, not run
    build_pipeline(p, options, "gs://docexit-test-bucket/runs/.out.tmp-test")
    proto = p.to_runner_api()
    names = {t.unique_name.split("/")[0] for t in proto.components.transforms.values()}
    assert STEPS <= names and "OcrFreeStage" not in names  # --no_image_stage honoured
    assert any("RunInference" in t.unique_name for t in proto.components.transforms.values())
    assert len(proto.SerializeToString()) < 2_000_000  # far below Dataflow's graph size limit
    assert options.view_as(StandardOptions).runner == "DataflowRunner"


@pytest.mark.skipif(importlib.util.find_spec("google.cloud.dataflow") is None,
                    reason="Dataflow API client (apache-beam[gcp]) not installed")
def test_dataflow_runner_dry_run_builds_the_job():
    """DataflowRunner end to end up to the API call (Beam's --dry_run): overrides, sdist staging
    of setup.py, portable proto and the Dataflow Job, without network or credentials."""
    result = run(DATAFLOW_ARGS)
    assert result["dry_run"] and result["runner"] == "DataflowRunner"
    job = result["job"]
    names = {t.unique_name.split("/")[0] for t in job.proto_pipeline.components.transforms.values()}
    assert STEPS <= names
    assert job.options.view_as(GoogleCloudOptions).dataflow_service_options == [GPU]
    envs = list(job.proto_pipeline.components.environments.values())
    assert envs and all(e.urn == "beam:env:docker:v1" for e in envs)
    staged = [d.role_urn for e in envs for d in e.dependencies]
    assert staged  # the sdist built from setup.py (and the pickled main session) travel with the job


def test_gs_paths_through_fsspec_and_beam_filesystems():
    import fsspec
    from apache_beam.io.filesystems import FileSystems
    from apache_beam.io.gcp.gcsfilesystem import GCSFileSystem as BeamGCS

    cls = fsspec.get_filesystem_class("gs")
    assert cls.__module__.startswith("gcsfs")
    fs, path = fsspec.core.url_to_fs("gs://docexit-test-bucket/runs/out/results/*.parquet", token="anon")
    assert path == "docexit-test-bucket/runs/out/results/*.parquet"
    assert fs.unstrip_protocol("docexit-test-bucket/x") == "gs://docexit-test-bucket/x"
    assert isinstance(FileSystems.get_filesystem("gs://docexit-test-bucket/x"), BeamGCS)
    assert FileSystems.join("gs://docexit-test-bucket/runs", "out") == "gs://docexit-test-bucket/runs/out"
    assert FileSystems.split("gs://docexit-test-bucket/runs/out") == ("gs://docexit-test-bucket/runs", "out")
    tmp = outdir.temp_sibling("gs://docexit-test-bucket/runs/out/")
    assert tmp.startswith("gs://docexit-test-bucket/runs/.out.tmp-") and not outdir.is_local(tmp)
    from pipeline.report import parquet_glob

    assert parquet_glob("gs://docexit-test-bucket/runs/out", "results") == \
        "gs://docexit-test-bucket/runs/out/results/*.parquet"


def test_local_dry_run_builds_without_running(tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.png").write_bytes(b"")
    result = run(["--input", str(tmp_path / "in"), "--output", str(tmp_path / "out"), "--dry_run=True",
                  "--classifier_factory", "transforms.testing:fake_classifier"])
    assert result["dry_run"] and result["transforms"] > 20
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in"]  # nothing written
