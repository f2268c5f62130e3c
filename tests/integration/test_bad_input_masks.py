"""A user's own folder through ``uasbench run``: masks in other encodings, photos stored rotated, files that are not
read and misspelt categories give the number of the plain folder, or an error naming the file, never another number.

One small folder (two categories of 48x48 images, a red 10x10 defect, 0/255 PNG masks) is built per module, and its
``prompt-diff`` (pixel) metrics at 32 px are the reference each variant is compared with.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from PIL import Image

from tests.integration.test_bad_input import assert_clean_error, run_cli
from uasbench.cli import main
from uasbench.datasets.imageio import SoftMaskWarning

CATEGORIES = ("c1", "c2")
SIZE = 48
DEFECT = 10
RUN = ("--method", "prompt-diff", "--options", "space=pixel", "--image-size", "32", "--device", "cpu")


def _save(path: Path, image: Image.Image, **params) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, **params)
    return path


def _photo(base: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A plain surface of colour ``base`` with a little noise."""
    return np.clip(base + rng.normal(0, 8, (SIZE, SIZE, 3)), 0, 255).astype(np.uint8)


def build_folder(root: Path, seed: int = 0) -> Path:
    """``<c>/train/good`` 3, ``<c>/test/good`` 2, ``<c>/test/scratch`` 2 (red square), ``ground_truth`` 0/255 PNGs."""
    rng = np.random.default_rng(seed)
    for category in CATEGORIES:
        base = rng.integers(60, 200, size=3)
        for split, n in (("train", 3), ("test", 2)):
            for i in range(n):
                _save(root / category / split / "good" / f"{i:03d}.png", Image.fromarray(_photo(base, rng)))
        for i in range(2):
            image, mask = _photo(base, rng), np.zeros((SIZE, SIZE), np.uint8)
            top, left = rng.integers(5, SIZE - DEFECT - 5, size=2)
            image[top:top + DEFECT, left:left + DEFECT] = (220, 20, 20)
            mask[top:top + DEFECT, left:left + DEFECT] = 255
            _save(root / category / "test" / "scratch" / f"{i:03d}.png", Image.fromarray(image))
            _save(root / category / "ground_truth" / "scratch" / f"{i:03d}_mask.png", Image.fromarray(mask))
    return root


def run_metrics(capsys, root: Path, out: Path) -> dict:
    code, _, err = run_cli(capsys, "run", "--root", root, "--out", out, *RUN)
    assert code == 0, err
    return json.loads(next((out / "metrics").rglob("seed1.json")).read_text())["mean"]


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    return build_folder(tmp_path_factory.mktemp("user") / "parts")


@pytest.fixture(scope="module")
def reference(folder, tmp_path_factory) -> dict:
    out = tmp_path_factory.mktemp("reference") / "out"
    assert main(["run", "--root", str(folder), "--out", str(out), *RUN]) == 0
    mean = json.loads((out / "metrics" / "parts" / "prompt-diff" / "seed1.json").read_text())["mean"]
    assert mean["P-AP"] > 0.9  # the variants below are compared with a meaningful number
    return mean


@pytest.fixture
def copy(folder, tmp_path) -> Path:
    return Path(shutil.copytree(folder, tmp_path / "parts"))


def masks_of(root: Path) -> list[Path]:
    return sorted(root.glob("*/ground_truth/scratch/*_mask.png"))


def defect_of(mask_path: Path) -> np.ndarray:
    return np.asarray(Image.open(mask_path)) > 0


# --- mask encodings: read as a viewer shows them -------------------------------------------------------------------

def rgba_transparent_white(defect: np.ndarray) -> Image.Image:
    """White everywhere; the background fully transparent, the defect opaque."""
    rgba = np.full((*defect.shape, 4), 255, np.uint8)
    rgba[..., 3] = np.where(defect, 255, 0)
    return Image.fromarray(rgba)


def palette_white_first(defect: np.ndarray) -> Image.Image:
    """Index 0 is white (the defect), index 1 black (the background): the indices alone read inverted."""
    image = Image.fromarray(np.where(defect, 0, 1).astype(np.uint8), mode="P")
    image.putpalette([255, 255, 255, 0, 0, 0])
    return image


@pytest.mark.parametrize("encode", [rgba_transparent_white, palette_white_first], ids=["rgba", "palette"])
def test_masks_in_other_encodings_give_the_same_metrics(copy, reference, tmp_path, capsys, encode):
    for mask in masks_of(copy):
        encode(defect_of(mask)).save(mask)
    assert run_metrics(capsys, copy, tmp_path / "out") == reference


def test_jpeg_masks_are_binarised_at_mid_grey(copy, reference, tmp_path, capsys):
    for mask in masks_of(copy):
        _save(mask.with_suffix(".jpg"), Image.open(mask).convert("L"), quality=75)
        mask.unlink()
    noisy = np.asarray(Image.open(next(copy.rglob("*_mask.jpg"))))
    assert ((noisy > 0) & (noisy < 128)).any()  # the compression noise a '!= 0' rule would count
    assert run_metrics(capsys, copy, tmp_path / "out") == reference


def test_a_soft_mask_is_binarised_with_a_warning_naming_it(copy, reference, tmp_path, capsys):
    soft = masks_of(copy)[0]
    defect = defect_of(soft)
    rim = np.zeros_like(defect)
    rows, cols = np.nonzero(defect)
    rim[rows.min() - 1:rows.max() + 2, cols.min() - 1:cols.max() + 2] = True
    Image.fromarray(np.where(defect, 255, np.where(rim, 100, 0)).astype(np.uint8)).save(soft)  # a dark grey fringe
    with pytest.warns(SoftMaskWarning, match=re.escape(str(soft))):
        assert run_metrics(capsys, copy, tmp_path / "out") == reference


# --- EXIF orientation ----------------------------------------------------------------------------------------------

def as_jpeg(root: Path, orientation: int | None) -> None:
    """Every image re-saved as a near-lossless JPEG; with ``orientation`` 6 the pixels are stored turned 90 degrees
    counter-clockwise and the tag tells a viewer to turn them back."""
    for path in sorted(root.glob("*/t*/*/*.png")):
        image = Image.open(path).convert("RGB")
        exif = Image.Exif()
        if orientation is not None:
            image = image.transpose(Image.Transpose.ROTATE_90)
            exif[0x0112] = orientation
        _save(path.with_suffix(".jpg"), image, quality=100, subsampling=0, exif=exif)
        path.unlink()


def test_an_image_stored_rotated_is_read_as_displayed(folder, tmp_path, capsys):
    upright, rotated = (Path(shutil.copytree(folder, tmp_path / name / "parts")) for name in ("upright", "rotated"))
    as_jpeg(upright, None)
    as_jpeg(rotated, 6)
    expected = run_metrics(capsys, upright, tmp_path / "upright-out")
    found = run_metrics(capsys, rotated, tmp_path / "rotated-out")
    assert expected["P-AP"] > 0.9
    assert found == pytest.approx(expected, abs=0.005)  # JPEG rounding of the turned pixels only


# --- files in an image folder that are not read --------------------------------------------------------------------

def animated_gif(path: Path) -> Path:
    frames = [Image.new("RGB", (SIZE, SIZE), colour) for colour in ("red", "blue")]
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=100, loop=0)
    return path


@pytest.mark.parametrize("make,message", [
    (animated_gif, ".gif images are not read"),
    (lambda path: path.with_suffix(".png").symlink_to(path.parent / "gone.png") or path.with_suffix(".png"),
     "broken symbolic link"),
], ids=["animated-gif", "dangling-symlink"])
def test_an_image_that_would_be_skipped_is_an_error_naming_it(copy, tmp_path, capsys, make, message):
    bad = make(copy / "c2" / "test" / "good" / "009.gif")
    code, _, err = run_cli(capsys, "run", "--root", copy, "--out", tmp_path / "out", *RUN)
    assert_clean_error(code, err, bad, message)
    assert not (tmp_path / "out").exists()


# --- categories named in a config ----------------------------------------------------------------------------------

def misspelt_categories(folder: Path, tmp_path: Path) -> Path:
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump({
        "tier": "custom", "results_dir": str(tmp_path / "results"), "prompt_seeds": [1],
        "datasets": {"d": {"kind": "folder", "root": str(folder), "image_size": 32, "categories": ["c1", "c2", "c3"]}},
        "runs": {"pd": {"method": "prompt-diff", "prompt": "random", "options": {"space": "pixel"}}}}))
    return config


def test_a_misspelt_category_is_refused_before_any_model(folder, tmp_path, capsys):
    config = misspelt_categories(folder, tmp_path)
    out = tmp_path / "pred"
    code, _, err = run_cli(capsys, "predict", "pd", "--config", config, "--dataset", "d", "--seed", "1", "--out", out,
                           "--device", "cpu")
    assert_clean_error(code, err, "datasets.d.categories", "'c3' not in", folder, "present: c1, c2")
    assert not out.exists()


def test_the_workflow_refuses_a_misspelt_category_before_any_job(folder, tmp_path):
    config = misspelt_categories(folder, tmp_path)
    proc = subprocess.run([str(Path(sys.executable).parent / "snakemake"), "--dry-run", "--cores", "1", "--nolock",
                           "--configfile", str(config)], cwd=Path(__file__).resolve().parents[2], capture_output=True,
                          text=True, timeout=300)
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert f"datasets.d.categories: 'c3' not in {folder} (present: c1, c2)" in output, output[-2000:]
    assert not (tmp_path / "results").exists()
