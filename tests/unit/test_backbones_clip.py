"""open_clip models: the paper's ViT-B-16-plus-240 (parameter count) and our small ``clip-tiny``."""

from __future__ import annotations

import pytest
import torch

from uasbench.backbones import create_clip

torch.set_num_threads(2)

OPENAI_MEAN = (0.48145466, 0.4578275, 0.40821073)


@pytest.fixture(scope="module")
def tiny():
    return create_clip("clip-tiny")


def test_clip_tiny_is_a_working_frozen_open_clip_model(tiny):
    model, tokenizer, preprocess_cfg, source = tiny
    assert source == "random"  # no CLIP weights exist offline for our own config
    assert tuple(preprocess_cfg["size"]) == (240, 240) and tuple(preprocess_cfg["mean"]) == OPENAI_MEAN
    assert not model.training and not any(p.requires_grad for p in model.parameters())
    assert model.visual.conv1.kernel_size == (16, 16)
    tokens = tokenizer(["a photo of a flawless object", "a photo of a damaged object"])
    with torch.no_grad():
        image_embedding = model.encode_image(torch.randn(1, 3, 240, 240))
        text_embedding = model.encode_text(tokens)
    assert tokens.shape == (2, 77)
    assert image_embedding.shape == (1, 128) and text_embedding.shape == (2, 128)
    assert sum(p.numel() for p in model.parameters()) < 12_000_000


def test_clip_tiny_loads_a_named_weights_file(tiny, tmp_path):
    model = tiny[0]
    state = {k: v + 0.25 if v.is_floating_point() else v for k, v in model.state_dict().items()}
    path = tmp_path / "tiny.pt"
    torch.save(state, path)
    loaded, _, _, source = create_clip("clip-tiny", weights=str(path))
    assert source == f"file:{path}"
    assert all(torch.equal(loaded.state_dict()[k], v) for k, v in state.items())


def test_vit_b_16_plus_240_has_the_papers_208_4m_parameters():
    model, _, preprocess_cfg, _ = create_clip("ViT-B-16-plus-240", "laion400m_e31")
    total = sum(p.numel() for p in model.parameters())
    assert round(total / 1e6, 1) == 208.4  # MetaUAS Tab 2, CLIP / WinCLIP rows
    assert tuple(preprocess_cfg["size"]) == (240, 240) and preprocess_cfg["interpolation"] == "bicubic"
    assert model.visual.transformer.width == 896 and model.text_projection.shape == (640, 640)
