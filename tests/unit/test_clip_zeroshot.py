"""Two-prompt CLIP zero-shot baseline on the embedded-tier clip-tiny (random weights)."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from uasbench.errors import ConfigError, DataError
from uasbench.methods import registry
from uasbench.methods.clip.prompts import baseline_prompts
from uasbench.methods.clip.windows import to_clip_input

torch.set_num_threads(2)


@pytest.fixture(scope="module")
def clip_method():
    return registry.create("clip", model_name="clip-tiny")


def test_prompts_are_the_metauas_pair():
    assert baseline_prompts("bottle") == (["a photo of a normal bottle"], ["a photo of an anomalous bottle"])


def test_image_score_uses_open_clips_own_image_and_text_embeddings(clip_method):
    images = torch.rand(2, 3, 64, 48)
    maps, scores = clip_method.predict(images, category="bottle")
    model = clip_method.model
    with torch.no_grad():
        image = F.normalize(model.encode_image(to_clip_input(images, model.visual)), dim=-1)
        text = F.normalize(model.encode_text(clip_method.tokenizer(["a photo of a normal bottle",
                                                                    "a photo of an anomalous bottle"])), dim=-1)
    expected = torch.softmax(image @ text.T / 0.07, dim=-1)[:, 1]
    torch.testing.assert_close(scores, expected, rtol=1e-4, atol=1e-6)
    assert maps.shape == (2, 64, 48) and maps.dtype == torch.float32
    assert float(maps.min()) >= 0 and float(maps.max()) <= 1 and float(maps.std()) > 0
    assert clip_method.weight_source == "random" and clip_method.shots == 0


def test_needs_a_category_and_valid_images(clip_method):
    with pytest.raises(ConfigError, match="category name"):
        clip_method.predict(torch.rand(1, 3, 32, 32))
    with pytest.raises(DataError, match="shape"):
        clip_method.predict(torch.rand(1, 4, 32, 32), category="bottle")
