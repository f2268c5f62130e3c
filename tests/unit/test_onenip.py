"""OneNIP: bidirectional decoder, ablation switches, fused maps and normalisers, training data, conversion."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tests.fixtures.layouts import make_btad, make_mvtec
from tests.unit.test_uniad import ATTENTION, B4_WITH_FC, official_keys
from uasbench.cli import main as cli_main
from uasbench.errors import CheckpointError, ConfigError
from uasbench.methods import create
from uasbench.methods.reconstruction.convert import official_to_uasbench, uasbench_to_official
from uasbench.methods.reconstruction.decoders import BidirectionalDecoder, BidirectionalDecoderLayer
from uasbench.methods.reconstruction.model import fuse_maps, image_scores
from uasbench.methods.reconstruction.onenip import OneNIP
from uasbench.methods.reconstruction.training import ReconstructionTrainingSet, training_loss
from uasbench.methods.reconstruction.transformer import neighbour_mask
from uasbench.methods.reconstruction.uniad import UniAD
from uasbench.training.loop import TrainSpec, train

# Official names from gaobb/OneNIP @e93dec5 models/reconstructions/onenip.py (TransformerDecoderLayer, MLPBlock,
# TransformerDecoder.final_attn_token_to_image, MaskHead "upconv{k}" Sequential + "predictor").
ONENIP_DECODER_LAYER = ([f"{m}.{a}" for m in ("cross_attn_prompt_to_image", "cross_attn_image_to_prompt")
                         for a in ATTENTION]
                        + [f"{m}.{t}" for m in ("mlp.lin1", "mlp.lin2", "norm1", "norm2", "norm3")
                           for t in ("weight", "bias")])
ONENIP_EXTRA = ([f"reconstruction.transformer.decoder.final_attn_token_to_image.{a}" for a in ATTENTION]
                + [f"reconstruction.seghead.upconv{k}.{m}" for k in (1, 2)
                   for m in ("0.weight", "1.weight", "1.bias", "1.running_mean", "1.running_var",
                             "1.num_batches_tracked", "3.weight", "3.bias")]
                + ["reconstruction.seghead.predictor.weight", "reconstruction.seghead.predictor.bias"])
TINY = {"backbone": "tf_efficientnet_lite0", "image_size": 64, "encoder_layers": 1, "decoder_layers": 1,
        "hidden_dim": 32, "ffn_dim": 64}


def tiny(**options):
    torch.manual_seed(0)
    return create("onenip", **{**TINY, **options})


@pytest.fixture(scope="module")
def shared():
    """One tiny official-configuration model for the tests that leave its weights alone."""
    return tiny()


def test_paper_parameter_count_and_official_key_layout(tmp_path):
    torch.manual_seed(0)
    method = create("onenip", pretrained_backbone=False)
    assert method.parameter_counts() == {"learnable": 8_372_625, "total": B4_WITH_FC + 8_372_625}
    official = uasbench_to_official(method.model.state_dict(), "onenip")
    assert set(official) == official_keys(ONENIP_DECODER_LAYER, ONENIP_EXTRA)
    path = tmp_path / "ckpt.pkl"
    torch.save({"state_dict": official}, path)
    assert cli_main(["convert", "onenip-official", str(path), str(tmp_path / "onenip.pt")]) == 0
    converted = torch.load(tmp_path / "onenip.pt", weights_only=True)
    assert converted.keys() == method.model.state_dict().keys()
    assert torch.isinf(converted.pop("train_rec_range")).all()  # not in the official file: not yet measured
    assert all(torch.equal(value, method.model.state_dict()[key]) for key, value in converted.items())
    uniad_like = {k.replace("cross_attn_prompt_to_image", "self_attn"): v for k, v in official.items()}
    with pytest.raises(CheckpointError, match=r"missing keys:.*official names of the missing keys:.*"
                                              r"cross_attn_prompt_to_image"):
        official_to_uasbench(uniad_like, "onenip", method.model)


def test_swapping_the_prompt_changes_the_output(shared):
    torch.manual_seed(0)
    decoder = BidirectionalDecoder(2, 16, 4, 32, 0.1).eval()
    image, pos = torch.randn(9, 2, 16), torch.randn(9, 1, 16)
    mask = neighbour_mask((3, 3), (1, 1))
    p1, p2 = torch.randn(9, 2, 16), torch.randn(9, 2, 16)
    out1 = decoder(image, pos, mask, p1)
    torch.testing.assert_close(decoder(image, pos, mask, p1), out1)
    assert not torch.allclose(decoder(image, pos, mask, p2), out1)
    assert not torch.allclose(decoder(image, pos, mask, p1.flip(1)), out1)
    query, prompts = torch.rand(1, 3, 64, 64), torch.rand(2, 3, 64, 64)
    a, b = (shared.model.anomaly_maps(query, prompts[i:i + 1])[0] for i in range(2))
    assert not torch.allclose(a, b)


def test_prompt_to_image_attention_is_blind_to_the_neighbourhood():
    torch.manual_seed(0)
    layer = BidirectionalDecoderLayer(8, 2, 16, 0.0).eval()
    mask = neighbour_mask((4, 4), (2, 2))
    image = torch.randn(16, 1, 8, requires_grad=True)
    prompt, _ = layer(torch.randn(16, 1, 8), image, torch.zeros(16, 1, 8), mask)
    prompt[5].sum().backward()  # the returned prompt stream only saw the image through the masked attention
    blind = image.grad[:, 0].abs().sum(1) == 0
    assert torch.equal(blind, mask[5])


def test_ablation_switches(shared):
    variants = {p: tiny(prompt=p, restoration=False, refiner=False) for p in ("none", "static")}
    counts = {p: m.parameter_counts()["learnable"] for p, m in variants.items()}
    assert counts["none"] - counts["static"] == 16 * 32  # one learned 4x4-query table of width 32 per decoder layer
    assert variants["none"].shots is None and shared.shots == 1
    with pytest.raises(ConfigError, match="refiner=True needs restoration=True"):
        tiny(restoration=False)
    with pytest.raises(ConfigError, match="needs a normal prompt"):
        shared.predict(torch.rand(1, 3, 64, 64))
    with pytest.raises(ConfigError, match="prompt='bogus'"):
        tiny(prompt="bogus")
    with pytest.raises(ConfigError, match="normalizer"):
        tiny(normalizer="per-image")
    row3 = tiny(prompt="none", restoration=True, refiner=False)  # Tab 4a row 3: restoration added to UniAD
    assert row3.parameter_counts() == variants["none"].parameter_counts()
    maps, scores = row3.predict(torch.rand(2, 3, 64, 64))
    assert torch.isfinite(row3.model.train().loss(*torch.rand(2, 2, 3, 64, 64)[[0, 0, 1]], torch.ones(2, 1, 64, 64)))
    assert maps.shape == (2, 64, 64) and scores.shape == (2,)


def test_loss_and_dice_gradients_reach_the_transformer(shared):
    net = shared.model.train()
    query, prompt, synthetic = torch.rand(3, 2, 3, 64, 64)
    mask = torch.zeros(2, 1, 64, 64)
    mask[:, :, 10:30, 10:30] = 1
    loss = net.loss(query, prompt, synthetic, mask)
    assert torch.isfinite(loss) and loss > 0
    out = net(query, prompt, synthetic)
    assert out.reconstructed.shape == out.targets.shape == (4, 192, 4, 4)
    torch.testing.assert_close(out.targets[2:], out.targets[:2])  # restoration target = the clean query
    out.refiner_logits.sigmoid().mean().backward()
    assert net.input_proj.weight.grad.abs().sum() > 0  # the refiner input is not detached (official)
    net.zero_grad(set_to_none=True)
    net.eval()


def _predict_categories(method, batches):
    results = {}
    for category, (query, prompt) in batches.items():
        maps, scores = method.predict(query, prompt, category=category)
        results[category] = {"maps": maps.numpy(), "scores": scores.numpy()}
    return results


def test_test_set_normaliser_fuses_with_the_whole_test_set_range(shared):
    method = shared
    gen = torch.Generator().manual_seed(3)
    batches = {c: (torch.rand(2, 3, 64, 64, generator=gen), torch.rand(2, 3, 64, 64, generator=gen)) for c in "ab"}
    raw = {c: method.model.anomaly_maps(*batches[c]) for c in batches}
    results = _predict_categories(method, batches)
    for c in batches:  # before finalize_dataset: the reconstruction maps
        np.testing.assert_allclose(results[c]["maps"], raw[c][0].numpy(), rtol=1e-6)
    method.finalize_dataset(results)
    low = min(float(raw[c][0].min()) for c in raw)
    high = max(float(raw[c][0].max()) for c in raw)
    for c in batches:
        fused = 0.5 * raw[c][0] + 0.5 * (high + low) / 2 * raw[c][1]
        np.testing.assert_allclose(results[c]["maps"], fused.numpy(), rtol=1e-5)
        np.testing.assert_allclose(results[c]["scores"], image_scores(fused).numpy(), rtol=1e-5)
    assert method.result_tags["normalizer"] == "test-set"
    with pytest.raises(ConfigError, match="no refiner maps were kept"):
        method.finalize_dataset(results)


def test_train_set_normaliser_needs_a_calibration():
    method = tiny(normalizer="train-set")
    query, prompt = torch.rand(2, 2, 3, 64, 64)
    with pytest.raises(ConfigError, match="no training-image range"):
        method.predict(query, prompt)
    low, high = method.calibrate_normalizer(query, prompt)
    rec, ref = method.model.anomaly_maps(query, prompt)
    assert (low, high) == pytest.approx((float(rec.min()), float(rec.max())))
    maps, _ = method.predict(query, prompt)
    torch.testing.assert_close(maps, fuse_maps(rec, ref, low, high))
    results = {"x": {"maps": maps.numpy(), "scores": np.zeros(2)}}
    method.finalize_dataset(results)  # nothing to do for the train-set normaliser
    assert results["x"]["maps"] is not None and np.all(results["x"]["scores"] == 0)


def _toy_set(with_prompt=True, synthesize=True, **kwargs):
    from uasbench.datasets.anomalies.synthesis import AnomalySynthesizer
    from uasbench.datasets.anomalies.textures import TextureSource

    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(6, 64, 64, 3), dtype=np.uint8)
    synth = AnomalySynthesizer(TextureSource.builtin(64)) if synthesize else None
    return ReconstructionTrainingSet(images, ["a", "a", "a", "b", "b", "b"], seed=0, with_prompt=with_prompt,
                                     synthesizer=synth, **kwargs)


def test_training_items_depend_only_on_seed_epoch_index():
    data = _toy_set()
    item = data[4]
    assert set(item) == {"query", "prompt", "synthetic", "mask"}
    assert item["query"].shape == item["synthetic"].shape == (3, 64, 64) and item["mask"].shape == (1, 64, 64)
    assert any(torch.equal(item["prompt"], data[j]["query"]) for j in (3, 4, 5))  # same category
    again = _toy_set()[4]
    assert all(torch.equal(item[k], again[k]) for k in item)
    data.set_epoch(1)
    assert not torch.equal(data[4]["synthetic"], item["synthetic"])
    fixed = _toy_set(train_prompt="fixed")
    assert all(torch.equal(fixed[i]["prompt"], fixed[3]["query"]) for i in (3, 4, 5))
    assert set(_toy_set(with_prompt=False, synthesize=False)[0]) == {"query"}


def test_unified_training_set_from_several_datasets(tmp_path):
    make_mvtec(tmp_path / "mvtec")
    make_btad(tmp_path / "btad")
    config = {"datasets": {"mv": {"kind": "mvtec", "root": str(tmp_path / "mvtec")},
                           "bt": {"kind": "btad", "root": str(tmp_path / "btad")}}}
    entry = {"method": "onenip", "data": ["mv", "bt"], "image_size": 64, "epochs": 3}
    data = OneNIP.training_dataset(config, entry)
    assert sorted(set(data.groups)) == ["bt/01", "bt/02", "bt/03", "mv/bottle", "mv/cable"]
    assert len(data) == 3 + 2 + 3 * 2 and data.images.shape[1:] == (64, 64, 3)
    data.set_epoch(2)
    assert data[0]["calibrate"] == 1
    uniad = UniAD.training_dataset(config, {**entry, "method": "uniad"})
    assert set(uniad[0]) == {"query"}
    with pytest.raises(ConfigError, match="unknown datasets"):
        OneNIP.training_dataset(config, {**entry, "data": ["nope"]})


def test_cached_features_match_computed_ones(shared):
    net = shared.model
    data = _toy_set(with_ids=True)
    items = [data[i] for i in range(4)]
    batch = {k: torch.stack([torch.as_tensor(it[k]) for it in items]) for k in items[0]}
    assert batch["query_id"].tolist() == [0, 1, 2, 3]
    assert all(data.groups[p] == data.groups[q] for q, p in enumerate(batch["prompt_id"].tolist()))
    cached = net.features(batch["prompt"], batch["prompt_id"])
    torch.testing.assert_close(cached, net.features(batch["prompt"]), rtol=1e-4, atol=1e-4)  # batch-size noise
    assert set(net._feature_cache) == set(batch["prompt_id"].tolist())
    net.eval()
    a = net(batch["query"], batch["prompt"], None, batch["query_id"], batch["prompt_id"])
    b = net(batch["query"], batch["prompt"])
    torch.testing.assert_close(a.reconstructed, b.reconstructed, rtol=1e-3, atol=1e-3)


def test_training_resumes_bit_for_bit_and_calibrates(tmp_path):
    torch.set_num_threads(1)
    spec = TrainSpec(epochs=2, batch_size=3, lr=1e-3, weight_decay=1e-4, seed=0, grad_clip=0.1, step_size=1)
    straight = tiny().model
    train(straight, training_loss, _toy_set(calibrate_epoch=1, with_ids=True), spec, tmp_path / "a",
          torch.device("cpu"))
    resumed = tiny().model  # a fresh process: an empty feature cache
    train(resumed, training_loss, _toy_set(calibrate_epoch=1, with_ids=True),
          TrainSpec(**{**spec.__dict__, "epochs": 1}), tmp_path / "b", torch.device("cpu"))
    assert torch.isinf(resumed.train_rec_range).all()  # calibration only happens in the last epoch
    resumed = tiny().model
    train(resumed, training_loss, _toy_set(calibrate_epoch=1, with_ids=True), spec, tmp_path / "b",
          torch.device("cpu"))
    for (k, a), b in zip(straight.state_dict().items(), resumed.state_dict().values()):
        assert torch.equal(a, b), k
    assert torch.isfinite(straight.train_rec_range).all() and straight.train_rec_range[0] < straight.train_rec_range[1]
