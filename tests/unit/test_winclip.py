"""WinCLIP / WinCLIP+: prompts, window indices, harmonic aggregation, masked-token forward, fusion, param counts."""

from __future__ import annotations

import inspect

import open_clip
import pytest
import torch
import torch.nn.functional as F

import uasbench.backbones
from uasbench.errors import ConfigError
from uasbench.methods import registry
from uasbench.methods.clip.prompts import TEMPLATES, compositional_prompts
from uasbench.methods.clip.windows import (
    dense_clip_forward,
    embed_patches,
    harmonic_aggregation,
    to_clip_input,
    window_embeddings,
    window_patch_indices,
)

torch.set_num_threads(2)


@pytest.fixture(scope="module")
def micro_clip():
    """A 64-px (4×4 patch grid) random open_clip CLIP: the same code paths as ViT-B-16-plus-240, in milliseconds."""
    torch.manual_seed(0)
    model = open_clip.CLIP(embed_dim=32,
                           vision_cfg=open_clip.CLIPVisionCfg(image_size=64, patch_size=16, width=64, layers=2,
                                                              head_width=32),
                           text_cfg=open_clip.CLIPTextCfg(context_length=77, vocab_size=49408, width=32, heads=2,
                                                          layers=1)).eval()
    return model


@pytest.fixture()
def micro_factory(micro_clip, monkeypatch):
    """Make the methods' ``create_clip`` return the micro CLIP (weight source 'random')."""
    tokenizer = open_clip.get_tokenizer("ViT-B-16")
    monkeypatch.setattr(uasbench.backbones, "create_clip",
                        lambda *args, **kwargs: (micro_clip, tokenizer, {}, "random"))
    return micro_clip


def test_prompt_ensemble_has_147_normal_and_84_anomalous_prompts():
    normal, anomalous = compositional_prompts("metal_nut")
    assert len(TEMPLATES) == 21 and TEMPLATES.count("a jpeg corrupted photo of the {}.") == 2
    assert (len(normal), len(anomalous)) == (7 * 21, 4 * 21) == (147, 84)
    assert normal[0] == "a cropped photo of the metal_nut."
    assert anomalous[21] == "a cropped photo of the metal_nut with flaw."
    assert all("metal_nut" in p for p in normal + anomalous)


def test_window_indices_match_unfold_on_an_index_board():
    board = torch.arange(20, dtype=torch.float32).reshape(1, 1, 4, 5)
    for window in (2, 3):
        expected = F.unfold(board, kernel_size=window, stride=1)[0].T.long()
        assert torch.equal(window_patch_indices((4, 5), window), expected)
    with pytest.raises(ConfigError, match="does not fit"):
        window_patch_indices((2, 2), 3)


def test_harmonic_aggregation_equals_hand_computation_on_4x4_grid():
    windows = window_patch_indices((4, 4), 2)  # 9 windows, top-left corners row-major
    scores = torch.tensor([[0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]])
    result = harmonic_aggregation(scores, windows, 16).reshape(4, 4)
    assert result[0, 0] == pytest.approx(0.1)  # only window 0 covers the corner
    assert result[0, 1] == pytest.approx(2 / (1 / 0.1 + 1 / 0.2))  # windows 0 and 1
    assert result[1, 1] == pytest.approx(4 / (1 / 0.1 + 1 / 0.2 + 1 / 0.4 + 1 / 0.5))  # windows 0, 1, 3, 4
    assert result[2, 3] == pytest.approx(2 / (1 / 0.6 + 1 / 0.9))  # windows 5 and 8
    assert result[3, 3] == pytest.approx(0.9)
    # a zero window score drives every patch it covers to 0 (1/0 = inf → n/inf = 0), others untouched
    zeroed = harmonic_aggregation(torch.tensor([[0.0, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]]), windows, 16)
    assert zeroed.reshape(4, 4)[1, 1] == 0 and zeroed.reshape(4, 4)[3, 3] == pytest.approx(0.9)


def test_dense_forward_matches_open_clip(micro_clip):
    images = torch.rand(2, 3, 64, 64)
    dense = dense_clip_forward(micro_clip.visual, images)
    pixels = to_clip_input(images, micro_clip.visual)
    torch.testing.assert_close(dense.image_embedding, micro_clip.encode_image(pixels), rtol=1e-4, atol=1e-5)
    micro_clip.visual.output_tokens = True
    try:
        _, tokens = micro_clip.visual(pixels)
    finally:
        micro_clip.visual.output_tokens = False
    torch.testing.assert_close(dense.patch_embeddings, tokens @ micro_clip.visual.proj, rtol=1e-4, atol=1e-5)
    assert dense.grid == (4, 4) and dense.patch_tokens.shape == (2, 16, 64)


def test_batched_window_embeddings_equal_a_per_window_forward(micro_clip):
    visual = micro_clip.visual
    images = torch.rand(2, 3, 64, 64)
    embedded, grid = embed_patches(visual, to_clip_input(images, visual))
    for window in (2, 3):
        indices = window_patch_indices(grid, window)
        batched = window_embeddings(visual, embedded, indices, max_sequences=5)  # several chunks
        for b in range(2):
            for w, patches in enumerate(indices):
                sequence = torch.cat([embedded[b:b + 1, :1], embedded[b:b + 1, patches + 1]], dim=1)
                single = visual.ln_post(visual.transformer(sequence)[:, 0]) @ visual.proj
                torch.testing.assert_close(batched[b, w], single[0], rtol=1e-4, atol=1e-5)
    # the window covering the whole grid is the global image embedding
    whole = window_embeddings(visual, embedded, window_patch_indices(grid, 4))
    global_embedding = micro_clip.encode_image(to_clip_input(images, visual))
    torch.testing.assert_close(whole[:, 0], global_embedding, rtol=1e-4, atol=1e-5)


def test_zero_shot_map_is_the_harmonic_mean_of_image_and_window_scores(micro_factory):
    method = registry.create("winclip")
    images = torch.rand(2, 3, 64, 64)
    features = method.encode(images)
    prototypes = method.prototypes("bottle")

    def probability(embedding: torch.Tensor) -> torch.Tensor:  # independent re-statement of the class score
        cos = F.normalize(embedding, dim=-1) @ F.normalize(prototypes, dim=-1).T
        return torch.softmax(cos / 0.07, dim=-1)[..., 1].double()

    image_scores, grid_maps = method.zero_shot(features, prototypes)
    torch.testing.assert_close(image_scores, probability(features.dense.image_embedding))
    for b, (row, col) in [(0, (0, 0)), (1, (2, 1))]:
        patch = row * 4 + col
        inverse = 1 / probability(features.dense.image_embedding[b])
        for scale, embeddings in zip((2, 3), features.windows):
            covering = [w for w, p in enumerate(window_patch_indices((4, 4), scale)) if patch in p.tolist()]
            window_probs = probability(embeddings[b, covering])
            inverse = inverse + (1 / window_probs).sum() / len(covering)
        assert float(grid_maps[b, row, col]) == pytest.approx(float(3 / inverse), rel=1e-6)
    maps, scores = method.predict(images, category="bottle")
    assert maps.shape == (2, 64, 64) and maps.dtype == torch.float32 and method.weight_source == "random"
    with pytest.raises(ConfigError, match="category name"):
        method.predict(images)


def test_winclip_plus_few_shot_part_vanishes_on_its_own_prompt(micro_factory):
    method = registry.create("winclip+")
    normal, other = torch.rand(1, 3, 64, 64), torch.rand(1, 3, 64, 64)
    method.fit(normal, "bottle")
    memory = method._memory.fitted("bottle")
    assert memory.patch_tokens.shape == (16, 64) and [w.shape[0] for w in memory.windows] == [9, 4]
    own, foreign = method.encode(normal), method.encode(other)
    assert float(method.few_shot(own, memory).abs().max()) < 1e-5
    assert float(method.few_shot(foreign, memory).min()) > 0
    zero_image, zero_maps = method.zero_shot(own, method.prototypes("bottle"))
    maps, scores = method.predict(normal, category="bottle")
    torch.testing.assert_close(scores, (zero_image / 2).float())
    expected = F.interpolate(zero_maps[:, None].float() / 2, size=(64, 64), mode="bilinear", align_corners=False)[:, 0]
    torch.testing.assert_close(maps, expected, rtol=1e-5, atol=1e-6)


def test_metauas_visual_prior_is_the_winclip_plus_few_shot_map_per_query(micro_factory):
    """MetaUAS*+'s prior = WinCLIP+'s few-shot map (patch + 2x2 + 3x3 windows) of each query against its own prompt."""
    method = registry.create("winclip+")
    prompts, queries = torch.rand(2, 3, 64, 64), torch.rand(2, 3, 64, 64)
    own = method.visual_prior(prompts, prompts)
    assert own.shape == (2, 64, 64) and float(own.abs().max()) < 1e-5
    prior = method.visual_prior(queries, prompts)
    for i in range(2):
        method.fit(prompts[i:i + 1], "bottle")
        few = method.few_shot(method.encode(queries[i:i + 1]), method._memory.fitted("bottle"))
        expected = F.interpolate(few[:, None].float(), size=(64, 64), mode="bilinear", align_corners=False)[0, 0]
        torch.testing.assert_close(prior[i], expected, rtol=1e-5, atol=1e-6)
    patch_only = F.interpolate(  # the old prior (patch term alone) is not what the paper's "+" adds
        (0.5 * (1 - F.normalize(method.encode(queries[:1]).dense.patch_tokens, dim=-1)
                @ F.normalize(method.encode(prompts[:1]).dense.patch_tokens[0], dim=-1).T).amin(-1)
         ).reshape(1, 1, 4, 4),
        size=(64, 64), mode="bilinear", align_corners=False)[0, 0]
    assert not torch.allclose(prior[0], patch_only, atol=1e-4)


def test_embedded_tier_clip_tiny_runs_and_reports_random_weights():
    method = registry.create("winclip+", model_name="clip-tiny")
    method.fit(torch.rand(1, 3, 32, 32), "bottle")
    maps, scores = method.predict(torch.rand(1, 3, 32, 32), category="bottle")
    assert method.weight_source == "random" and maps.shape == (1, 32, 32) and torch.isfinite(maps).all()
    assert 0 <= float(scores[0]) <= 1


def test_vit_b16_plus_240_parameter_count_matches_metauas_table2():
    method = registry.create("winclip", pretrained=False)  # the paper preset, random init (no weights offline)
    counts = method.parameter_counts()  # both towers, as Table 2 counts WinCLIP / WinCLIP+ / CLIP
    assert method.model_name == "ViT-B-16-plus-240" and method.weight_source == "random"
    assert counts["total"] / 1e6 == pytest.approx(208.4, abs=0.1) and counts["learnable"] == 0
    for cls in (registry._REGISTRY["winclip+"], registry._REGISTRY["clip"]):
        assert inspect.signature(cls.__init__).parameters["model_name"].default == "ViT-B-16-plus-240"
