"""`docexit train` end to end on a tiny generated corpus, and the word sources it trains on."""
import json

import pytest

from docexit.ocr.base import OcrResult
from docexit.ocr.reading_order import reading_order
from docexit.synth import generate_corpus
from models.data import OcrSource, load_examples


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    out = tmp_path_factory.mktemp("train_corpus")
    generate_corpus(str(out), per_class=2, seed=3, split=(0.5, 0.5, 0.0), workers=1, progress=False)
    return out


def test_generator_words_arrive_in_ocr_reading_order(corpus):
    import pyarrow.parquet as pq

    examples = load_examples(str(corpus), split="train", image_size=64, progress=False)
    assert len(examples) == 16
    truth = {r["path"]: r for r in pq.read_table(corpus / "truth.parquet").to_pylist()}
    reordered = 0
    for e in examples:
        assert reading_order(e.boxes) == list(range(len(e.boxes)))  # already in reading order
        row = truth[e.uri[len(str(corpus)) + 1:]]
        assert sorted(e.words) == sorted(row["words"])  # same words, nothing lost
        reordered += e.words != list(row["words"])
        assert e.ocr_words is None
    assert reordered > 0  # some templates (columns, sidebars) are not written in reading order


def test_cached_ocr_becomes_a_second_view_and_words_ocr_uses_it(corpus, tmp_path):
    cache = str(tmp_path / "ocr")
    source = OcrSource("easyocr", cache, max_words=30, run=False)
    first = load_examples(str(corpus), split="val", image_size=64, progress=False)[0]
    data = open(first.uri, "rb").read()
    assert source.get(data) is None  # nothing cached, and run=False never runs the engine
    fake = OcrResult(words=["cached", "words"], boxes=[[10, 10, 50, 20], [60, 10, 90, 20]], confidences=[0.9, 0.8],
                     width=100, height=100, ocr_ms=1.0)
    from docexit.images import content_hash

    source.cache.put(content_hash(data), source.engine_key, fake)

    both = load_examples(str(corpus), split="val", image_size=64, ocr_cache=cache, max_words=30, progress=False)
    with_view = [e for e in both if e.ocr_words is not None]
    assert [e.uri for e in with_view] == [first.uri]
    assert with_view[0].ocr_words == ["cached", "words"] and with_view[0].words == first.words

    only_ocr = load_examples(str(corpus), split="val", image_size=64, words="ocr", ocr_cache=cache, max_words=30,
                             limit=1, progress=False)
    assert only_ocr[0].words == ["cached", "words"]
    # a different word budget is a different cache entry (the pipeline keys it the same way)
    assert OcrSource("easyocr", cache, max_words=31, run=False).get(data) is None
    with pytest.raises(ValueError, match="words must be"):
        load_examples(str(corpus), words="gold")


def test_train_image_stage_then_joint_saves_a_loadable_model(corpus, tmp_path):
    from docexit.cli import main
    from models.classifier import DocClassifier

    out = tmp_path / "model"
    rc = main(["train", "--data", str(corpus), "--out", str(out), "--hidden", "48", "--layers", "2",
               "--heads", "2", "--max-text-tokens", "32", "--image-size", "64", "--vocab-size", "300",
               "--exits", "vision,image_1,text,layer_1", "--image-epochs", "2", "--epochs", "1",
               "--batch-size", "8", "--image-exit-weight", "2", "--no-progress", "--threads", "1"])
    assert rc == 0
    card = json.loads((out / "training.json").read_text())
    assert [h["phase"] for h in card["history"]] == ["image", "image", "joint"]
    assert "val_accuracy" not in card["history"][0]  # validated once, at the image phase's end
    assert set(card["history"][1]["val_accuracy"]) >= {"vision", "image_1", "text", "layer_1", "final"}
    assert not (out / "checkpoint.pt").exists()

    clf = DocClassifier.from_pretrained(out, device="cpu", dtype="float32")
    from PIL import Image

    page = load_examples(str(corpus), split="val", image_size=64, progress=False)[0]
    preds = clf.classify([Image.open(page.uri)], [page.words], [page.boxes])
    assert len(preds) == 1 and preds[0].label in card["exit_config"]["labels"]

    # continuing from it with --init keeps its tokenizer and exits
    rc = main(["train", "--data", str(corpus), "--out", str(tmp_path / "tuned"), "--init", str(out),
               "--epochs", "1", "--batch-size", "8", "--no-progress", "--threads", "1"])
    assert rc == 0
    assert (tmp_path / "tuned" / "tokenizer.json").read_text() == (out / "tokenizer.json").read_text()
    assert main(["train", "--data", str(corpus), "--out", str(tmp_path / "x"), "--epochs", "0"]) == 2


def test_image_epochs_train_only_the_image_heads_by_default():
    from models.testing import tiny_model
    from models.train import set_image_heads_only

    model, _ = tiny_model(exits="vision,vision_grid,image_1,text,layer_1")
    set_image_heads_only(model, True)
    trainable = {n.split(".")[0] + "." + n.split(".")[1] for n, p in model.named_parameters() if p.requires_grad}
    assert trainable == {"heads.vision", "heads.vision_grid", "heads.image_1", "grid_pool.reduce", "grid_pool.project"}
    set_image_heads_only(model, False)
    assert all(p.requires_grad for p in model.parameters())


def test_limit_takes_pages_evenly_across_classes(corpus):
    from collections import Counter

    from models.data import balanced_subset

    examples = load_examples(str(corpus), image_size=32, progress=False)  # stored class by class
    assert len({e.label for e in examples[:4]}) < 4
    subset = balanced_subset(examples, 16)
    assert len(subset) == 16 and set(Counter(e.label for e in subset).values()) == {1}
    assert sorted(map(id, balanced_subset(examples, 1000))) == sorted(map(id, examples))  # all, each once


def test_with_exits_keeps_shared_weights_and_drops_the_rest():
    import torch

    from models.config import ExitConfig
    from models.testing import tiny_model

    model, _ = tiny_model(exits="vision,vision_grid,image_1,text,layer_1")
    pruned = model.with_exits(ExitConfig.from_places("vision_grid,text", 4, labels=model.exit_config.labels))
    assert sorted(pruned.heads) == ["text", "vision_grid"] and pruned.grid_pool is not None
    for name, tensor in pruned.state_dict().items():
        if name != "temperatures":
            torch.testing.assert_close(tensor, model.state_dict()[name])
    grown = pruned.with_exits(ExitConfig.from_places("text,layer_2", 4, labels=model.exit_config.labels))
    assert grown.grid_pool is None and sorted(grown.heads) == ["layer_2", "text"]
    torch.testing.assert_close(grown.heads["text"].out_proj.weight, model.heads["text"].out_proj.weight)
