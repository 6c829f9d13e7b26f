"""The multi-exit model on tiny configs: equivalence, losses, heads, calibration, policies, real early exit."""
import random

import numpy as np
import pytest
import torch
from PIL import Image
from transformers import LayoutLMv3ForSequenceClassification

from models.calibration import binary_metrics, classification_metrics, ece_equal_mass, fit_temperature
from models.classifier import DocClassifier
from models.config import ExitConfig, preset_layers
from models.inference import EarlyExitRunner
from models.losses import entropy_regularise_gradients, exit_weights, multi_exit_loss
from models.multiexit import MultiExitLayoutLMv3
from models.policies import ExitPolicy, ExitTable, exit_choice, heuristic_policy, search_per_exit, simulate
from models.testing import make_tiny_model, tiny_model


def _pages(n=4, seed=0):
    rng = np.random.default_rng(seed)
    images = [Image.fromarray((rng.random((90, 70)) * 255).astype("uint8")) for _ in range(n)]
    vocab = ["dear", "sir", "invoice", "total", "memo", "to", "from", "budget", "report"]
    words = [[vocab[int(i)] for i in rng.integers(0, len(vocab), size=int(rng.integers(1, 12)))] for _ in range(n)]
    boxes = [[[10 * j, 20, 10 * j + 8, 30] for j in range(len(w))] for w in words]
    return images, words, boxes


def _batch(processor, n=4, seed=0):
    images, words, boxes = _pages(n, seed)
    enc = processor.encode_text(words, boxes)
    return enc, processor.pixel_values(images), images, words, boxes


def test_no_exits_equals_layoutlmv3_for_sequence_classification():
    model, processor = tiny_model(exits="")
    reference = LayoutLMv3ForSequenceClassification(model.config).eval()
    reference.load_state_dict(model.backbone.state_dict())
    enc, pixels, *_ = _batch(processor, n=5)
    assert enc["attention_mask"].min() == 0  # padding really present: the masks matter
    with torch.no_grad():
        expected = reference(**enc, pixel_values=pixels).logits
        ours = model(**enc, pixel_values=pixels)["final"][0]
    torch.testing.assert_close(ours, expected, atol=1e-5, rtol=0)


def test_text_exit_ignores_padding():
    model, processor = tiny_model(exits="text")
    images, words, boxes = _pages(2, seed=3)
    words[1] = words[1][:2]
    boxes[1] = boxes[1][:2]
    alone = processor.encode_text(words[1:], boxes[1:])
    padded = processor.encode_text(words, boxes)
    assert padded["input_ids"].shape[1] > alone["input_ids"].shape[1]
    px = processor.pixel_values(images)
    with torch.no_grad():
        a = model(**alone, pixel_values=px[1:])["text"][0][0]
        b = model(**padded, pixel_values=px)["text"][0][1]
    torch.testing.assert_close(a, b, atol=1e-5, rtol=0)


def test_presets_and_exit_order():
    assert preset_layers("alternate", 12) == [2, 4, 6, 8, 10]
    assert preset_layers("quarter", 12) == [3, 6, 9]
    assert preset_layers("all", 4) == [1, 2, 3]
    assert preset_layers("single", 12) == [6]
    cfg = ExitConfig.from_places("layer_2,concat,image_1,text,vision", 4)
    assert cfg.all_exits == ["vision", "image_1", "text", "concat", "layer_2", "final"]
    cfg = ExitConfig.from_places("image_1,vision_grid,text,vision", 4)
    assert cfg.all_exits == ["vision", "vision_grid", "image_1", "text", "final"]
    with pytest.raises(ValueError):
        ExitConfig(exits=["layer_x"])
    with pytest.raises(ValueError):
        MultiExitLayoutLMv3(tiny_model(exits="")[0].config, ExitConfig(exits=["layer_4"]))


@pytest.mark.parametrize("strategy", ["uniform", "weighted", "entropyreg", "weighted-entropyreg"])
@pytest.mark.parametrize("head", ["ramp", "ramp1", "gate"])
def test_each_strategy_and_head_trains(strategy, head):
    model, processor = tiny_model(exits="vision,image_1,text,concat,all", head=head, strategy=strategy)
    model.train()
    enc, pixels, *_ = _batch(processor, n=6, seed=1)
    labels = torch.tensor([0, 1, 2, 0, 1, 2])
    weights = exit_weights(model)
    if "weighted" in strategy:
        assert abs(sum(weights.values()) - 1) < 1e-9
        # reaching a deeper exit takes more parameters, so it weighs less
        assert weights["layer_1"] > weights["layer_3"]
    else:
        assert set(weights.values()) == {1.0}
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    first = None
    for _ in range(8):
        out = model(**enc, pixel_values=pixels)
        loss, parts = multi_exit_loss(model, out, labels, weights)
        opt.zero_grad()
        loss.backward()
        if "entropyreg" in strategy:
            before = model.backbone.layoutlmv3.encoder.layer[0].output.dense.weight.grad.clone()
            scales = entropy_regularise_gradients(model, out)
            assert all(0.0 <= s <= 1.0 for s in scales.values())
            # backbone gradients are untouched
            torch.testing.assert_close(model.backbone.layoutlmv3.encoder.layer[0].output.dense.weight.grad, before)
        opt.step()
        first = first if first is not None else float(loss)
    assert float(loss) < first  # it learns the batch
    assert set(parts) == set(model.exit_config.exits) | {"final"}


def test_entropyreg_scales_head_gradients_by_one_minus_normalised_entropy():
    model, processor = tiny_model(exits="text,layer_1")
    enc, pixels, *_ = _batch(processor, n=4)
    out = model(**enc, pixel_values=pixels)
    loss, _ = multi_exit_loss(model, out, torch.tensor([0, 1, 2, 3]), exit_weights(model))
    loss.backward()
    g_before = model.heads["text"].out_proj.weight.grad.clone()
    ent = []
    for name in ("text", "layer_1", "final"):
        logp = torch.log_softmax(out[name][0].detach().float(), -1)
        ent.append(float(-(logp.exp() * logp).sum(-1).mean()))
    n = np.minimum(3 * np.exp(ent) / np.exp(ent).sum(), 1.0)
    scales = entropy_regularise_gradients(model, out)
    assert scales["text"] == pytest.approx(1 - n[0], abs=1e-5)
    torch.testing.assert_close(model.heads["text"].out_proj.weight.grad, g_before * (1 - n[0]))


def test_gate_reads_final_head_and_trains_on_its_correctness():
    model, processor = tiny_model(exits="layer_1", head="gate")
    enc, pixels, *_ = _batch(processor, n=3)
    with torch.no_grad():
        out = model(**enc, pixel_values=pixels)
        logits, gate = out["layer_1"]
        state, _ = model.embed_multimodal(**enc, pixel_values=pixels)
        model.run_layer(0, state)
        expected = model.backbone.classifier(state.hidden[:, 0])
    assert gate.shape == (3,)
    torch.testing.assert_close(logits, expected)


def test_temperature_scaling_lowers_nll_of_overconfident_logits():
    torch.manual_seed(0)
    labels = torch.randint(0, 4, (400,))
    logits = torch.randn(400, 4)
    logits[torch.arange(400), labels] += 1.0
    logits *= 6.0  # overconfident
    t = fit_temperature(logits, labels)
    assert t > 2.0
    before = classification_metrics(torch.softmax(logits, -1), labels)
    after = classification_metrics(torch.softmax(logits / t, -1), labels)
    assert after["nll"] < before["nll"] and after["ece"] < before["ece"]
    assert after["accuracy"] == before["accuracy"]
    gate_t = fit_temperature(logits[:, 0], labels.eq(0).double(), binary=True)
    assert binary_metrics(torch.sigmoid(logits[:, 0] / gate_t), labels.eq(0))["nll"] <= \
        binary_metrics(torch.sigmoid(logits[:, 0]), labels.eq(0))["nll"] + 1e-9
    assert ece_equal_mass(torch.ones(10), torch.ones(10, dtype=torch.bool)) == 0.0


def _table():
    # 3 exits (one image exit), 6 pages
    conf = np.array([[0.95, 0.5, 0.99, 0.2, 0.6, 0.3],
                     [0.5, 0.92, 0.5, 0.97, 0.2, 0.3],
                     [1.0, 1.0, 1.0, 1.0, 1.0, 1.0]])
    pred = np.array([[0, 1, 9, 3, 4, 5],
                     [0, 1, 2, 3, 0, 0],
                     [0, 1, 2, 3, 4, 5]])
    labels = np.array([0, 1, 2, 3, 4, 5])
    layers = np.array([[1] * 6, [3] * 6, [6] * 6])
    flops = layers * 10.0
    return ExitTable(["image_1", "layer_1", "final"], conf, pred, labels, layers, flops, np.full(6, 60.0), 4,
                     image_exits=1)


def test_policies_replay_on_exit_table():
    table = _table()
    r = simulate(ExitPolicy(kind="global", global_threshold=0.9), table)
    assert list(exit_choice(ExitPolicy(kind="global", global_threshold=0.9), table)) == [0, 1, 0, 1, 2, 2]
    assert r["accuracy"] == pytest.approx(5 / 6)  # page 2 left early at the image exit with a wrong label
    assert r["ocr_skipped_fraction"] == pytest.approx(2 / 6)
    full = simulate(ExitPolicy(kind="full"), table)
    assert full["accuracy"] == 1.0 and full["flops_fraction"] == pytest.approx(1.0)
    searched = search_per_exit(table, accuracy_floor=1.0)
    rs = simulate(searched, table)
    assert rs["accuracy"] == 1.0 and rs["flops_fraction"] < full["flops_fraction"]
    budget = search_per_exit(table, flops_budget=0.5)
    assert simulate(budget, table)["flops_fraction"] <= 0.5


def test_per_exit_search_weighs_the_ocr_a_page_skips():
    from models.policies import compute_cost

    table = _table()
    r = {"flops_fraction": 0.25, "ocr_skipped_fraction": 0.5}
    assert compute_cost(r, ocr_cost=100.0) == pytest.approx(0.25 + 50.0)
    # one wrong page allowed: skipping OCR for two pages (one of them wrong) beats any FLOPs saving
    cheap = simulate(search_per_exit(table, accuracy_floor=5 / 6, ocr_cost=100.0), table)
    assert cheap["accuracy"] >= 5 / 6 and cheap["ocr_skipped_fraction"] >= 2 / 6
    strict = simulate(search_per_exit(table, accuracy_floor=1.0, ocr_cost=100.0), table)
    assert strict["accuracy"] == 1.0 and strict["ocr_skipped_fraction"] == 0.0  # page 2 is confidently wrong


def test_heuristic_policy_is_min_max_of_paper_metric():
    p = heuristic_policy({"a": {"accuracy": 0.8, "ece": 0.1}, "b": {"accuracy": 0.9, "ece": 0.05},
                          "final": {"accuracy": 0.95, "ece": 0.02}}, epsilon=0.01)
    m = {"a": 1 - 8, "b": 1 - 18, "final": 1 - 47.5}
    lo, hi = min(m.values()) - 0.01, max(m.values()) + 0.01
    for k in m:
        assert p.thresholds[k] == pytest.approx((m[k] - lo) / (hi - lo))
        assert 0 < p.thresholds[k] < 1


def test_policy_parse():
    default = ExitPolicy(kind="per-exit", thresholds={"text": 0.9})
    assert ExitPolicy.parse("global:0.8", default).threshold("x") == 0.8
    assert ExitPolicy.parse("default,max_layers=2", default).max_layers == 2
    assert ExitPolicy.parse("full", default).threshold("text") > 1
    with pytest.raises(ValueError):
        ExitPolicy.parse("heuristic", default)
    with pytest.raises(ValueError):
        ExitPolicy.parse("bogus", default)


def test_active_set_early_exit_matches_full_pass_per_exit():
    """Pages leave at the first confident exit, with exactly the answer that exit gives in a full pass."""
    model, processor = tiny_model(exits="text,concat,all", num_layers=4, seed=2)
    enc, pixels, *_ = _batch(processor, n=8, seed=5)
    with torch.no_grad():
        full = model(**enc, pixel_values=pixels)
    conf = {n: torch.softmax(full[n][0], -1).max(-1).values for n in model.exit_config.multimodal_exits}
    tau = float(torch.quantile(torch.cat(list(conf.values())), 0.6))
    policy = ExitPolicy(kind="global", global_threshold=tau)
    outcomes = EarlyExitRunner(model, policy).multimodal(**enc, pixel_values=pixels)
    order = model.exit_config.multimodal_exits
    leave = []
    for page, o in enumerate(outcomes):
        expected = next(n for n in order if n == "final" or conf[n][page] > tau)
        assert o.exit_name == expected
        torch.testing.assert_close(torch.tensor(o.probs), torch.softmax(full[expected][0][page], -1),
                                   atol=1e-5, rtol=0)
        leave.append(o.layers_run)
    assert min(leave) < 4 and max(leave) <= 4  # some left early, nobody ran past the last layer
    assert all(o.model_ms > 0 and o.flops > 0 for o in outcomes)


def test_anytime_budgets():
    model, processor = tiny_model(exits="layer_1,layer_2", num_layers=4)
    enc, pixels, *_ = _batch(processor, n=3)
    never = ExitPolicy(kind="global", global_threshold=0.99999, max_layers=2)
    out = EarlyExitRunner(model, never).multimodal(**enc, pixel_values=pixels)
    assert all(o.layers_run == 2 and o.exit_name in ("layer_1", "layer_2") for o in out)
    deadline = ExitPolicy(kind="global", global_threshold=0.99999, deadline_ms=0.0)
    out = EarlyExitRunner(model, deadline).multimodal(**enc, pixel_values=pixels)
    assert all(o.layers_run == 1 for o in out)  # the deadline passed during the first layer


def test_classifier_round_trip_and_two_stages(tmp_path):
    make_tiny_model(tmp_path / "m", policy=ExitPolicy(kind="global", global_threshold=0.0))
    clf = DocClassifier.from_pretrained(tmp_path / "m", device="cpu")
    images, words, boxes = _pages(3)
    first = clf.classify_image_only(images)
    assert all(p.exited and p.exit_name == "vision" and p.layers_run == 0 for p in first)  # tau 0: all leave
    strict = DocClassifier.from_pretrained(tmp_path / "m", device="cpu", policy="global:0.99999")
    first = strict.classify_image_only(images)
    assert not any(p.exited for p in first) and all(p.layers_run == 2 for p in first)
    final = strict.classify(images, words, boxes, prior=first)
    assert all(p.exit_name == "final" and p.layers_run == 2 + 4 for p in final)
    full = strict.classify(images, words, boxes, early_exit=False)
    assert all(p.layers_run == 4 and p.flops_fraction == pytest.approx(1.0, abs=0.02) for p in full)
    assert all(f.flops > p.flops for f, p in zip(final, full))  # the image stage's cost is added in
    # save_pretrained / from_pretrained round trip is bit-for-bit
    reloaded = MultiExitLayoutLMv3.from_pretrained(tmp_path / "m")
    for (k, a), (_, b) in zip(clf.model.state_dict().items(), reloaded.state_dict().items()):
        assert torch.equal(a, b), k


def test_vision_grid_exit_sees_where_the_ink_is():
    """Without position embeddings the paper's vision exit (a mean) cannot tell a page from the same
    page with its patches moved; vision_grid reads the grid, so it can."""
    model, _ = tiny_model(exits="vision,vision_grid,image_1")
    with torch.no_grad():
        model.lm.pos_embed.zero_()
        pixels = torch.ones(1, 3, 64, 64)
        pixels[:, :, :16, :16] = -1.0                  # ink in the top-left patch only
        moved = torch.ones(1, 3, 64, 64)
        moved[:, :, 48:, 48:] = -1.0                   # the same patch, bottom-right
        out_a, out_b = model.forward_image_stage(pixels), model.forward_image_stage(moved)
    assert set(out_a) == {"vision", "vision_grid", "image_1"}
    torch.testing.assert_close(out_a["vision"][0], out_b["vision"][0])
    assert (out_a["vision_grid"][0] - out_b["vision_grid"][0]).abs().max() > 1e-4
    params = model.params_to_reach("vision_grid") - model.params_to_reach("vision")
    assert params == sum(p.numel() for p in model.grid_pool.parameters())
    from models.flops import pool_flops

    assert pool_flops(model.config, "vision_grid") > 0 and pool_flops(model.config, "vision") == 0


def test_device_and_dtype_follow_the_hardware(monkeypatch, tmp_path):
    """Device-agnostic: 'auto' picks CUDA when present (bf16, else fp16 there) and fp32 on CPU; the
    classifier then runs end to end on that device, and in bf16 when asked."""
    from models.classifier import pick_device, pick_dtype

    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert pick_device("auto").type == expected
    assert pick_dtype("auto", torch.device("cpu")) == torch.float32
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)
    assert pick_dtype("auto", torch.device("cuda")) == torch.bfloat16
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: False)
    assert pick_dtype("auto", torch.device("cuda")) == torch.float16
    monkeypatch.undo()
    with pytest.raises(ValueError, match="unknown dtype"):
        pick_dtype("int3", torch.device("cpu"))
    make_tiny_model(tmp_path / "m")
    images, words, boxes = _pages(3)
    for dtype in ("auto", "bfloat16"):
        clf = DocClassifier.from_pretrained(tmp_path / "m", device="auto", dtype=dtype)
        param = next(clf.model.parameters())
        assert param.device.type == expected
        assert param.dtype == (torch.bfloat16 if dtype == "bfloat16" else pick_dtype("auto", param.device))
        preds = clf.classify(images, words, boxes)
        assert len(preds) == 3 and all(0.0 <= p.confidence <= 1.0 for p in preds)
