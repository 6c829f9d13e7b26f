"""Input readers on real scans laid out in tmp dirs and in fsspec's memory filesystem (no mocks)."""
from __future__ import annotations

import io
import json
import pickle
import tarfile
import uuid

import fsspec
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from PIL import Image

from docexit.images import decode_image
from docexit.readers import (
    InputError,
    SourceItem,
    expand_input,
    iter_pages,
    ocr_from_hocr,
    ocr_from_json,
    read_item,
)

SCANS = ("cardinal.png", "skew.png", "c03-29.png", "rotated_skew.png")

HOCR = """<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN"
    "http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">
<html xmlns="http://www.w3.org/1999/xhtml" xml:lang="en" lang="en">
 <head><title></title><meta name='ocr-system' content='tesseract 5.3.0' /></head>
 <body>
  <div class='ocr_page' id='page_1' title='image "scan.png"; bbox 0 0 773 1000; ppageno 0'>
   <div class='ocr_carea' id='block_1_1' title="bbox 60 40 700 120">
    <p class='ocr_par' id='par_1_1' lang='eng' title="bbox 60 40 700 120">
     <span class='ocr_line' id='line_1_1' title="bbox 60 40 700 80; baseline 0 -8; x_size 40">
      <span class='ocrx_word' id='word_1_1' title='bbox 60 40 200 80; x_wconf 96'>The</span>
      <span class='ocrx_word' id='word_1_2' title='bbox 210 40 700 80; x_wconf 91'><strong>LinnSequencer</strong></span>
      <span class='ocrx_word' id='word_1_3' title='bbox 710 40 773 80; x_wconf 50'>&amp;<br/>Co</span>
      <span class='ocrx_word' id='word_1_4' title='bbox 720 40 760 80; x_wconf 10'> </span>
     </span>
    </p>
   </div>
  </div>
 </body>
</html>
"""


def _png(data: bytes, fmt: str) -> bytes:
    with Image.open(io.BytesIO(data)) as im:
        buf = io.BytesIO()
        im.convert("L").save(buf, fmt)
        return buf.getvalue()


@pytest.fixture(scope="module")
def scans(real_dir) -> dict[str, bytes]:
    return {name: (real_dir / name).read_bytes() for name in SCANS}


def _records(spec, **kw):
    return list(iter_pages(str(spec), **kw))


def _assert_decodes(records):
    for rec in records:
        assert rec.error is None, rec.error
        assert decode_image(rec.image_bytes).image.mode == "L"


# ------------------------------------------------------------------------------ label files

def test_label_file_beside_images(tmp_path, scans):
    (tmp_path / "imgs").mkdir()
    (tmp_path / "imgs" / "a.png").write_bytes(scans["cardinal.png"])
    (tmp_path / "imgs" / "b.png").write_bytes(scans["skew.png"])
    (tmp_path / "train.txt").write_text(
        "# RVL-CDIP style\n\nimgs/a.png 0\nimgs/b.png Scientific-Report\nonly_one_token\n"
        "imgs/c.png 99\nimgs/missing.png memo\n")
    items = expand_input(str(tmp_path / "train.txt"))
    assert [i.kind for i in items] == ["image", "image", "error", "error", "image"]
    recs = [r for i in items for r in read_item(i)]
    assert [r.label_gold for r in recs[:2]] == ["letter", "scientific_report"]
    assert recs[0].uri == str(tmp_path / "imgs" / "a.png")
    assert recs[0].image_bytes == scans["cardinal.png"]
    _assert_decodes(recs[:2])
    bad = recs[2:4]
    for rec, lineno in zip(bad, (5, 6)):
        assert rec.image_bytes is None and rec.error.startswith("read: ")
        assert rec.uri.endswith(f"train.txt#line={lineno}")
        assert f"line {lineno}" in rec.error
    assert "out of range" in recs[3].error
    missing = recs[4]
    assert missing.error.startswith("read: file not found") and missing.image_bytes is None
    assert missing.label_gold == "memo"


def test_label_file_rvl_cdip_layout(tmp_path, scans):
    # RVL-CDIP: labels/val.txt lists "imagesq/q/o/x.tif 3" for files under images/
    tif_dir = tmp_path / "rvl" / "images" / "imagesq" / "q" / "o"
    tif_dir.mkdir(parents=True)
    (tif_dir / "80035521.tif").write_bytes(_png(scans["c03-29.png"], "TIFF"))
    (tif_dir / "80035522.tif").write_bytes(_png(scans["cardinal.png"], "TIFF"))
    labels = tmp_path / "rvl" / "labels"
    labels.mkdir()
    (labels / "val.txt").write_text("imagesq/q/o/80035521.tif 3\nimagesq/q/o/80035522.tif 15\n")
    recs = _records(labels / "val.txt")
    assert [r.label_gold for r in recs] == ["handwritten", "memo"]
    assert recs[0].uri == str(tif_dir / "80035521.tif")
    _assert_decodes(recs)

    # paths relative to the label folder's parent ("images/..." beside "labels/")
    (labels / "parent.txt").write_text("images/imagesq/q/o/80035522.tif invoice\n")
    assert [r.label_gold for r in _records(labels / "parent.txt")] == ["invoice"]

    # explicit label_root wins
    (tmp_path / "elsewhere.txt").write_text("q/o/80035521.tif 1\n")
    recs = _records(tmp_path / "elsewhere.txt", label_root=str(tmp_path / "rvl" / "images" / "imagesq"))
    assert recs[0].label_gold == "form" and recs[0].error is None


def test_label_file_with_no_entries_is_input_error(tmp_path, real_dir):
    with pytest.raises(InputError, match="linn.txt"):
        expand_input(str(real_dir / "linn.txt"))
    (tmp_path / "empty.txt").write_text("# nothing\n\n")
    with pytest.raises(InputError, match="empty.txt"):
        expand_input(str(tmp_path / "empty.txt"))


# ------------------------------------------------------------------------------ folders and globs

def test_class_folders(tmp_path, scans):
    root = tmp_path / "by_class"
    for folder, name in (("Letter", "cardinal.png"), ("scientific report", "skew.png"),
                         ("NEWS-ARTICLE/2019", "c03-29.png")):
        (root / folder).mkdir(parents=True)
        (root / folder / name).write_bytes(scans[name])
    (root / "Letter" / "notes.md").write_text("not an image")
    (root / ".ipynb_checkpoints").mkdir()
    (root / ".ipynb_checkpoints" / "x.png").write_bytes(scans["skew.png"])
    items = expand_input(str(root))
    assert sorted((i.label, i.uri.rsplit("/", 1)[1]) for i in items) == [
        ("letter", "cardinal.png"), ("news_article", "c03-29.png"), ("scientific_report", "skew.png")]
    flat = expand_input(str(root), recursive=False)
    assert {i.label for i in flat} == {"letter", "scientific_report"}
    _assert_decodes(_records(root))


def test_plain_folder_is_unlabelled(tmp_path, scans):
    root = tmp_path / "batch"
    (root / "Letter").mkdir(parents=True)          # one class-like name among others: not class folders
    (root / "misc" / "deep").mkdir(parents=True)
    (root / "Letter" / "a.png").write_bytes(scans["cardinal.png"])
    (root / "misc" / "deep" / "b.jpeg").write_bytes(_png(scans["skew.png"], "JPEG"))
    (root / "c.png").write_bytes(scans["c03-29.png"])
    (root / "README.txt").write_text("folder scans ignore .txt")
    recs = _records(root)
    assert len(recs) == 3 and all(r.label_gold is None for r in recs)
    _assert_decodes(recs)
    assert [i.uri for i in expand_input(str(root), recursive=False)] == [str(root / "c.png")]


def test_glob_and_single_file(tmp_path, scans, real_dir):
    for name, data in scans.items():
        (tmp_path / name).write_bytes(data)
    (tmp_path / "linn.txt").write_text("a transcription, not a label file")
    items = expand_input(str(tmp_path / "*.png"))
    assert sorted(i.uri for i in items) == sorted(str(tmp_path / n) for n in scans)
    assert all(i.kind == "image" and i.label is None for i in items)
    assert len(expand_input(str(tmp_path / "*"))) == len(scans)   # .txt only read when asked for
    single = expand_input(str(real_dir / "baiona_cmyk.jpg"))
    assert single == [SourceItem("image", str(real_dir / "baiona_cmyk.jpg"))]
    _assert_decodes(_records(real_dir / "baiona_cmyk.jpg"))


def test_unmatched_specs_raise_input_error(tmp_path, real_dir):
    with pytest.raises(InputError, match="nothing"):
        expand_input(str(tmp_path / "*.png"))
    with pytest.raises(InputError, match="not found"):
        expand_input(str(tmp_path / "nope"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="empty"):
        expand_input(str(tmp_path / "empty"))
    with pytest.raises(InputError, match="README.md"):
        expand_input(str(real_dir / "README.md"))
    assert issubclass(InputError, ValueError)


# ------------------------------------------------------------------------------ sidecar OCR

def test_sidecar_json_and_hocr(tmp_path, scans):
    (tmp_path / "px.png").write_bytes(scans["cardinal.png"])
    (tmp_path / "px.json").write_text(json.dumps(
        {"words": ["The", "LinnSequencer", ""], "boxes": [[60, 40, 200, 80], [210, 40, 700, 80], [0, 0, 1, 1]],
         "width": 773, "height": 1000}))
    (tmp_path / "grid.png").write_bytes(scans["skew.png"])
    (tmp_path / "grid.json").write_text(json.dumps({"words": ["32", "Track"], "boxes": [[10, 20, 30, 40], [40, 20, 90, 40]]}))
    (tmp_path / "hocr.png").write_bytes(scans["rotated_skew.png"])
    (tmp_path / "hocr.hocr").write_text(HOCR)
    (tmp_path / "bad.png").write_bytes(scans["c03-29.png"])
    (tmp_path / "bad.json").write_text('{"words": ["a"], "boxes": []}')
    by_name = {r.uri.rsplit("/", 1)[1]: r for r in _records(tmp_path)}
    assert set(by_name) == {"px.png", "grid.png", "hocr.png", "bad.png"}
    px = by_name["px.png"]
    assert px.words == ["The", "LinnSequencer"]
    assert px.boxes == [[78, 40, 259, 80], [272, 40, 906, 80]]
    assert by_name["grid.png"].boxes == [[10, 20, 30, 40], [40, 20, 90, 40]]
    hocr = by_name["hocr.png"]
    assert hocr.words == ["The", "LinnSequencer", "&Co"]
    assert hocr.boxes == [[78, 40, 259, 80], [272, 40, 906, 80], [918, 40, 1000, 80]]
    bad = by_name["bad.png"]
    assert bad.words is None and bad.boxes is None and bad.error is None
    assert "sidecar" in bad.note and "1 words but 0 boxes" in bad.note
    # a glob and a single file find the same sidecars
    assert {i.sidecar.rsplit("/", 1)[1] for i in expand_input(str(tmp_path / "*.png"))} == {
        "px.json", "grid.json", "hocr.hocr", "bad.json"}
    assert expand_input(str(tmp_path / "hocr.png"))[0].sidecar == str(tmp_path / "hocr.hocr")
    assert all(i.sidecar is None for i in expand_input(str(tmp_path), sidecars=False))


def test_ocr_parsers_directly():
    words, boxes = ocr_from_hocr(HOCR)
    assert words[0] == "The" and all(0 <= v <= 1000 for b in boxes for v in b)
    with pytest.raises(ValueError, match="0-1000"):
        ocr_from_json({"words": ["x"], "boxes": [[0, 0, 2000, 10]]})
    assert ocr_from_json({"words": ["x"], "boxes": [[0, 0, 2000, 10]]}, image_size=(4000, 1000))[1] == [[0, 0, 500, 10]]


def test_label_file_entries_get_sidecars(tmp_path, scans):
    (tmp_path / "a.png").write_bytes(scans["cardinal.png"])
    (tmp_path / "a.json").write_text(json.dumps({"words": ["The"], "boxes": [[1, 2, 3, 4]]}))
    (tmp_path / "b.png").write_bytes(scans["skew.png"])
    (tmp_path / "l.txt").write_text("a.png memo\nb.png 0\n")
    recs = _records(tmp_path / "l.txt")
    assert recs[0].words == ["The"] and recs[1].words is None


# ------------------------------------------------------------------------------ parquet

def _hf_parquet(scans, *, with_ocr=True, row_group_size=2) -> tuple[bytes, int]:
    names = list(scans)
    image_type = pa.struct([("bytes", pa.binary()), ("path", pa.string())])
    images = [{"bytes": scans[n], "path": n} for n in names] + [{"bytes": None, "path": "lost.png"}]
    labels = [0, 15, 3, -1, 4]
    cols = {"image": pa.array(images, type=image_type), "label": pa.array(labels, type=pa.int64())}
    if with_ocr:
        cols["words"] = pa.array([["The", "Linn"], None, [], ["x"], None], type=pa.list_(pa.string()))
        cols["boxes"] = pa.array([[[1, 2, 3, 4], [5, 6, 7, 8]], None, [], [[0, 0, 1000, 1000]], None],
                                 type=pa.list_(pa.list_(pa.int64())))
    class_names = ["letter", "form", "email", "handwritten", "advertisement", "scientific report",
                   "scientific publication", "specification", "file folder", "news article", "budget",
                   "invoice", "presentation", "questionnaire", "resume", "memo"]
    meta = {"info": {"features": {"image": {"_type": "Image"},
                                  "label": {"names": class_names, "_type": "ClassLabel"}}}}
    table = pa.table(cols).replace_schema_metadata({"huggingface": json.dumps(meta)})
    buf = io.BytesIO()
    pq.write_table(table, buf, row_group_size=row_group_size)
    return buf.getvalue(), len(images)


def test_parquet_hf_layout(tmp_path, scans):
    data, n = _hf_parquet(scans)
    path = tmp_path / "train-00000-of-00001.parquet"
    path.write_bytes(data)
    assert pq.ParquetFile(path).metadata.num_row_groups == 3
    items = expand_input(str(path))
    assert items == [SourceItem("parquet", str(path))]
    recs = list(read_item(items[0]))
    assert [r.uri for r in recs] == [f"{path}#row={i}" for i in range(n)]
    assert [r.label_gold for r in recs] == ["letter", "memo", "handwritten", None, "advertisement"]
    assert recs[0].image_bytes == scans[SCANS[0]]
    assert recs[0].words == ["The", "Linn"] and recs[0].boxes == [[1, 2, 3, 4], [5, 6, 7, 8]]
    assert recs[1].words is None and recs[2].words == []
    _assert_decodes(recs[:4])
    assert recs[4].image_bytes is None and "no image bytes" in recs[4].error and "lost.png" in recs[4].error
    # a folder of shards is read like the HF hub's data/ folder
    assert [i.kind for i in expand_input(str(tmp_path))] == ["parquet"]


def test_parquet_plain_binary_column_and_overrides(tmp_path, scans):
    table = pa.table({"id": ["a", "b"], "png": pa.array([scans["cardinal.png"], scans["skew.png"]], pa.binary()),
                      "doc_type": ["Invoice", "news article"]})
    path = tmp_path / "plain.parquet"
    pq.write_table(table, path)
    recs = _records(path, label_column="doc_type")
    assert [r.label_gold for r in recs] == ["invoice", "news_article"]
    _assert_decodes(recs)
    assert [r.label_gold for r in _records(path)] == [None, None]  # no 'label' column
    (err,) = _records(path, image_column="nope")
    assert err.error.startswith("read: ") and "nope" in err.error


def test_corrupt_parquet_is_an_error_record(tmp_path, scans):
    data, _ = _hf_parquet(scans)
    path = tmp_path / "broken.parquet"
    path.write_bytes(data[: len(data) // 2])
    (rec,) = _records(path)
    assert rec.image_bytes is None and rec.error.startswith("read: parquet")
    (tmp_path / "fake.parquet").write_bytes(scans["skew.png"])
    (rec,) = _records(tmp_path / "fake.parquet")
    assert rec.error.startswith("read: ")


# ------------------------------------------------------------------------------ tar shards

def _tar(members: list[tuple[str, bytes]], mode: str = "w") -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode=mode) as tf:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _shard_members(scans) -> list[tuple[str, bytes]]:
    ocr = {"label": "memo", "words": ["The", "LinnSequencer"], "boxes": [[60, 40, 200, 80], [210, 40, 700, 80]],
           "width": 773, "height": 1000}
    return [
        ("shard/s001.png", scans["cardinal.png"]), ("shard/s001.cls", b"3\n"),
        ("shard/s002.jpg", _png(scans["skew.png"], "JPEG")), ("shard/s002.json", json.dumps(ocr).encode()),
        ("shard/s003.json", b'{"label": 1}'),                     # no image member
        ("shard/s004.tiff", _png(scans["c03-29.png"], "TIFF")), ("shard/s004.cls", b"Budget"),
        ("shard/s005.png", scans["rotated_skew.png"]),
    ]


def test_tar_shard(tmp_path, scans):
    path = tmp_path / "shard-000000.tar"
    path.write_bytes(_tar(_shard_members(scans)))
    recs = list(read_item(expand_input(str(path))[0]))
    assert [r.uri.split("#")[1] for r in recs] == ["shard/s001", "shard/s002", "shard/s003", "shard/s004", "shard/s005"]
    assert all(r.uri.startswith(f"{path}#") for r in recs)
    assert [r.label_gold for r in recs] == ["handwritten", "memo", "form", "budget", None]
    assert recs[1].words == ["The", "LinnSequencer"] and recs[1].boxes == [[78, 40, 259, 80], [272, 40, 906, 80]]
    assert recs[2].image_bytes is None and "no image member" in recs[2].error
    ok = [r for r in recs if r.error is None]
    assert len(ok) == 4
    _assert_decodes(ok)


def test_tar_glob_gz_and_truncated(tmp_path, scans):
    members = _shard_members(scans)
    (tmp_path / "a.tar").write_bytes(_tar(members[:2]))
    (tmp_path / "b.tar.gz").write_bytes(_tar(members[2:4], mode="w:gz"))
    recs = _records(tmp_path / "*.tar*")
    assert [r.label_gold for r in recs] == ["handwritten", "memo"]
    # a shard cut inside its third member: the first two samples survive, then one error record
    whole = _tar(members)
    cut = whole.index(b"shard/s004.tiff") + 1024  # header of s004 is 512 bytes: cut inside its data
    (tmp_path / "cut.tar").write_bytes(whole[:cut])
    recs = _records(tmp_path / "cut.tar")
    good = [r for r in recs if r.error is None]
    assert [r.uri.split("#")[1] for r in good] == ["shard/s001", "shard/s002"]
    assert recs[-1].error.startswith("read: tar") and recs[-1].image_bytes is None
    assert len({r.doc_id for r in recs}) == len(recs)
    (tmp_path / "junk.tar").write_bytes(b"\x00garbage" * 100)
    (rec,) = _records(tmp_path / "junk.tar")
    assert rec.error.startswith("read: ")


# ------------------------------------------------------------------------------ read_item never raises

def test_read_item_never_raises(tmp_path, real_dir):
    for item in (SourceItem("image", str(tmp_path / "gone.png"), label="memo"),
                 SourceItem("tar", str(tmp_path / "gone.tar")),
                 SourceItem("parquet", str(real_dir / "linn.png")),
                 SourceItem("parquet", str(tmp_path / "gone.parquet")),
                 SourceItem("weird", str(real_dir / "linn.png")),
                 SourceItem("image", "memory:///docexit-nothing-here/x.png")):
        (rec,) = list(read_item(item))
        assert rec.image_bytes is None and rec.error.startswith("read: "), (item, rec.error)
        assert rec.uri == item.uri
    assert pickle.loads(pickle.dumps(SourceItem("image", "gs://b/x.png", "memo"))) == SourceItem("image", "gs://b/x.png", "memo")


def test_doc_ids_stable_and_distinct(tmp_path, scans):
    for name, data in scans.items():
        (tmp_path / name).write_bytes(data)
    data, _ = _hf_parquet(scans)
    (tmp_path / "p.parquet").write_bytes(data)
    (tmp_path / "s.tar").write_bytes(_tar(_shard_members(scans)))
    first = [r.doc_id for r in _records(tmp_path)]
    second = [r.doc_id for r in _records(tmp_path)]
    assert first == second
    assert len(first) == 4 + 5 + 5 and len(set(first)) == len(first)
    assert all(len(d) == 20 for d in first)


# ------------------------------------------------------------------------------ memory://

@pytest.fixture
def mem_root():
    fs = fsspec.filesystem("memory")
    root = f"/docexit-test-{uuid.uuid4().hex[:8]}"
    yield fs, root
    if fs.exists(root):
        fs.rm(root, recursive=True)
    assert not fs.exists(root)


def test_memory_filesystem(mem_root, scans):
    fs, root = mem_root
    base = f"memory://{root}"
    fs.pipe(f"{root}/cls/Letter/a.png", scans["cardinal.png"])
    fs.pipe(f"{root}/cls/Letter/a.hocr", HOCR.encode())
    fs.pipe(f"{root}/cls/memo/b.png", scans["skew.png"])
    fs.pipe(f"{root}/rvl/images/x/c.png", scans["c03-29.png"])
    fs.pipe(f"{root}/rvl/labels/test.txt", b"x/c.png 9\nbroken\n")
    data, n_rows = _hf_parquet(scans)
    fs.pipe(f"{root}/shards/p.parquet", data)
    fs.pipe(f"{root}/shards/s-0.tar", _tar(_shard_members(scans)))
    fs.pipe(f"{root}/cls/Letter/.ipynb_checkpoints/a-checkpoint.png", scans["cardinal.png"])

    cls = _records(f"{base}/cls")
    assert [(r.uri, r.label_gold) for r in cls] == [
        (f"memory://{root}/cls/Letter/a.png", "letter"), (f"memory://{root}/cls/memo/b.png", "memo")]
    assert cls[0].words == ["The", "LinnSequencer", "&Co"]
    _assert_decodes(cls)

    lab = _records(f"{base}/rvl/labels/test.txt")
    assert lab[0].uri == f"memory://{root}/rvl/images/x/c.png" and lab[0].label_gold == "news_article"
    assert lab[0].image_bytes == scans["c03-29.png"]
    assert lab[1].error.startswith("read: ") and lab[1].uri.endswith("test.txt#line=2")

    items = expand_input(f"{base}/shards/*")
    assert sorted(i.kind for i in items) == ["parquet", "tar"]
    recs = [r for i in items for r in read_item(i)]
    assert len(recs) == n_rows + 5
    assert all(r.uri.startswith(f"memory://{root}/shards/") for r in recs)
    assert sum(r.error is None for r in recs) == (n_rows - 1) + 4

    globbed = _records(f"{base}/**/*.png")   # a glob lists files: no class folders, no labels
    assert [r.uri.rsplit("/", 1)[1] for r in globbed] == ["a.png", "b.png", "c.png"]
    assert all(r.label_gold is None for r in globbed)
    assert globbed[0].words is not None  # the hOCR sidecar is found through the glob too
    with pytest.raises(InputError, match="memory://"):
        expand_input(f"{base}/nothing/*.png")
