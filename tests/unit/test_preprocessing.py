"""Each method's declared preprocessing reproduces its official code's transform on a real photo.

The photo is skimage's astronaut upscaled to 1024 px (MVTec's size), so every resize below shrinks it 4-5x, where
antialiasing and pixel-centre conventions matter. The official transforms are the libraries' own calls.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from uasbench.datasets.preprocessing import RESAMPLERS, resize_rgb, resolve_resample
from uasbench.errors import ConfigError
from uasbench.methods.registry import METHOD_MODULES, method_class

#: the harness's own methods (no official code): the harness's resampler
OWN_METHODS = {"prompt-diff", "random"}


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    skimage_data = pytest.importorskip("skimage.data")
    return np.asarray(Image.fromarray(skimage_data.astronaut()).resize((1024, 1024), Image.Resampling.BICUBIC))


def _kornia_metauas(photo: np.ndarray, size: int) -> np.ndarray:
    """MetaUAS ``utils/geometry.py``: ``K.augmentation.Resize(hw)`` (its defaults) on RGB in [0, 1]."""
    kornia = pytest.importorskip("kornia")
    tensor = torch.from_numpy(photo.copy()).permute(2, 0, 1)[None].float() / 255.0
    return kornia.augmentation.Resize((size, size))(tensor)[0].permute(1, 2, 0).numpy() * 255.0


def _torchvision_pil_bilinear(photo: np.ndarray, size: int) -> np.ndarray:
    """UniAD/OneNIP ``TestBaseTransform``: ``transforms.Resize(input_size, Image.BILINEAR)`` on a PIL image."""
    from torchvision import transforms

    return np.asarray(transforms.Resize((size, size), transforms.InterpolationMode.BILINEAR)(Image.fromarray(photo)))


def _patchcore(photo: np.ndarray, size: int) -> np.ndarray:
    """patchcore-inspection ``datasets/mvtec.py``: ``Resize(resize)`` then ``CenterCrop(imagesize)``, 256 -> 224;
    compared with the same centre of our resize (the crop itself is not applied, docs/deviations.md)."""
    from torchvision import transforms

    official = transforms.Compose([transforms.Resize(size), transforms.CenterCrop(224)])(Image.fromarray(photo))
    return np.pad(np.asarray(official).astype(np.float64), (((size - 224) // 2,) * 2, ((size - 224) // 2,) * 2,
                                                           (0, 0)), constant_values=np.nan)


def _open_clip(photo: np.ndarray, size: int) -> np.ndarray:
    """open_clip's eval transform (bicubic shortest-side resize, centre crop, ToTensor, Normalize), un-normalised."""
    open_clip = pytest.importorskip("open_clip")
    mean, std = open_clip.OPENAI_DATASET_MEAN, open_clip.OPENAI_DATASET_STD
    transform = open_clip.image_transform(size, is_train=False, mean=mean, std=std, interpolation="bicubic",
                                          resize_mode="shortest")
    pixels = transform(Image.fromarray(photo))
    rgb01 = pixels * torch.tensor(std)[:, None, None] + torch.tensor(mean)[:, None, None]
    return rgb01.permute(1, 2, 0).numpy() * 255.0


#: method -> (input size of its paper configuration, the official transform)
OFFICIAL = {
    "metauas": (256, _kornia_metauas),
    "uniad": (224, _torchvision_pil_bilinear),
    "onenip": (224, _torchvision_pil_bilinear),
    "patchcore": (256, _patchcore),
    "clip": (240, _open_clip),
    "winclip": (240, _open_clip),
    "winclip+": (240, _open_clip),
}


def test_every_method_with_official_code_is_checked():
    assert set(OFFICIAL) | OWN_METHODS == set(METHOD_MODULES)
    assert all(method_class(name).preprocessing.resample == "cv2-linear" for name in OWN_METHODS)


@pytest.mark.parametrize("name", sorted(OFFICIAL))
def test_declared_preprocessing_matches_the_official_transform(photo, name):
    """Within 1 grey level everywhere; the harness's old cv2 INTER_LINEAR is far off for every method."""
    size, official_transform = OFFICIAL[name]
    official = official_transform(photo, size)
    ours = resize_rgb(photo, size, method_class(name).preprocessing.resample).astype(np.float64)
    old = resize_rgb(photo, size, "cv2-linear").astype(np.float64)
    valid = ~np.isnan(official)
    assert ours.shape == official.shape
    assert np.abs(ours - official)[valid].max() <= 1.0
    assert np.abs(old - official)[valid].max() > 20.0  # the test can tell the resamplers apart


def test_resize_keeps_an_image_of_the_target_size_and_names_an_unknown_resampler(photo):
    assert resize_rgb(photo, 1024, "pil-bicubic") is photo
    assert resize_rgb(photo, (100, 200), "kornia-bilinear").shape == (100, 200, 3)
    with pytest.raises(ConfigError, match="'area'"):
        resize_rgb(photo, 64, "area")


def test_config_and_run_keys_choose_the_resampler():
    metauas = method_class("metauas")
    assert resolve_resample(metauas, {}) == "kornia-bilinear"
    assert resolve_resample(metauas, {"resample": "cv2-linear"}) == "cv2-linear"
    assert resolve_resample(metauas, {"resample": "cv2-linear"}, {"resample": "official"}) == "kornia-bilinear"
    assert resolve_resample(metauas, {}, {"resample": "pil-bilinear"}) == "pil-bilinear"
    assert set(RESAMPLERS) >= {method_class(name).preprocessing.resample for name in METHOD_MODULES}


@pytest.mark.parametrize("where", ["top", "run"])
def test_an_unknown_resample_key_is_refused_when_the_config_is_validated(where):
    from uasbench.config import validate_config

    config = {"tier": "custom", "results_dir": "r", "datasets": {"d": {"kind": "synthetic-ad"}},
              "runs": {"r": {"method": "random", "prompt": "none"}}}
    (config if where == "top" else config["runs"]["r"])["resample"] = "lanczos"
    key = "resample" if where == "top" else "runs.r.resample"
    with pytest.raises(ConfigError, match=rf"c.yaml: {key} = 'lanczos': choose 'official'"):
        validate_config(config, "c.yaml")


def test_predict_resizes_with_the_runs_resampler_and_records_it(tmp_path):
    """Through run_predict: the pixel-difference sanity method sees different pixels under another resampler."""
    from tests.fixtures.layouts import make_mvtec
    from uasbench.config import validate_config
    from uasbench.pipeline.predict import run_predict
    from uasbench.predictions import load_predictions

    make_mvtec(tmp_path / "data", size=(96, 128))
    runs = {name: {"method": "prompt-diff", "prompt": "random", "options": {"space": "pixel"}, **extra}
            for name, extra in (("own", {}), ("pil", {"resample": "pil-bilinear"}))}
    config = validate_config({"tier": "custom", "results_dir": str(tmp_path / "results"), "runs": runs,
                              "datasets": {"d": {"kind": "mvtec", "root": str(tmp_path / "data"), "image_size": 32}}})
    metas = {name: run_predict(config, name, "d", 1, tmp_path / name, torch.device("cpu")) for name in runs}
    assert (metas["own"]["resample"], metas["pil"]["resample"]) == ("cv2-linear", "pil-bilinear")
    maps = {name: np.concatenate([c.maps for _, c in sorted(load_predictions(tmp_path / name)[0].items())])
            for name in runs}
    assert not np.allclose(maps["own"], maps["pil"])
