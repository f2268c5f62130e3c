"""Torch dataset over the sharded change pairs written by ``generate_change_pairs``.

Augmentation follows CYWS (data/augmentation.py), which MetaUAS trains with: each image independently gets a
colour jitter (brightness, contrast, saturation, hue = 0.1, random order) and a random affine warp (±30°,
translate 0.2, scale 0.8–1.5, border padding). The change mask is warped with the query; as in CYWS it keeps
only the changed pixels that are also inside the prompt's field of view, so the target never asks for a change
the prompt cannot show. Prompt and query are therefore not pixel-aligned.

Randomness: item ``i`` of epoch ``e`` uses ``numpy.random.default_rng([seed, e, i])`` only, so a batch is the
same whatever the number of DataLoader workers or the order items are read; call ``set_epoch`` each epoch.
"""

from __future__ import annotations

import json
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import cv2
import numpy as np
import torch
import torchvision.transforms.functional as TF

from uasbench.datasets.change_pairs.generate import CHANGE_KINDS, parse_kinds, shard_name
from uasbench.datasets.hue import adjust_hue
from uasbench.errors import DataError

SPLITS = ("train", "val")


@dataclass(frozen=True)
class AugmentConfig:
    """Ranges of the per-image augmentation; the defaults are CYWS's (used for MetaUAS)."""

    degrees: float = 30.0
    translate: float = 0.2
    scale: tuple[float, float] = (0.8, 1.5)
    brightness: float = 0.1
    contrast: float = 0.1
    saturation: float = 0.1
    hue: float = 0.1

    @classmethod
    def mild(cls) -> "AugmentConfig":
        """Smaller geometric ranges for short CPU runs on the embedded tier (less border padding at 128²)."""
        return cls(degrees=15.0, translate=0.1, scale=(0.9, 1.2))


def read_manifest(root: str | Path) -> dict[str, Any]:
    """The manifest of a change-pair dataset, checked for the keys the loader needs."""
    path = Path(root) / "manifest.json"
    try:
        manifest = json.loads(path.read_text())
    except (FileNotFoundError, NotADirectoryError) as err:
        raise DataError(f"{path} not found: not a change-pair dataset (run 'uasbench data make-change-pairs')") from err
    except OSError as err:
        raise DataError(f"{path}: cannot read ({err.strerror or err})") from err
    except json.JSONDecodeError as err:
        raise DataError(f"{path} is not valid JSON: {err}") from err
    for key in ("image_size", "pairs"):
        if key not in manifest:
            raise DataError(f"{path}: missing key {key!r}")
    return manifest


def load_pair_arrays(root: str | Path, rows: Sequence[dict[str, Any]]) -> dict[str, np.ndarray]:
    """Stack ``prompt``/``query``/``mask`` of ``rows`` (manifest rows) from their shards, in row order."""
    root = Path(root)
    by_shard: dict[int, list[int]] = {}
    for position, row in enumerate(rows):
        by_shard.setdefault(int(row["shard"]), []).append(position)
    out: dict[str, np.ndarray] = {}
    for shard, positions in sorted(by_shard.items()):
        path = root / shard_name(shard)
        try:
            with np.load(path) as data:
                arrays = {key: data[key] for key in ("prompt", "query", "mask")}
        except (OSError, KeyError, ValueError, EOFError, zipfile.BadZipFile, zlib.error) as err:  # truncated/corrupt
            raise DataError(f"cannot read shard {path}: {type(err).__name__}: {err}; regenerate the pairs "
                            "(uasbench data make-change-pairs --force)") from err
        index = np.array([int(rows[p]["index"]) for p in positions])
        if index.max() >= len(arrays["mask"]):
            raise DataError(f"{path} has {len(arrays['mask'])} pairs but the manifest asks for index {index.max()}")
        for key, value in arrays.items():
            if key not in out:
                out[key] = np.empty((len(rows),) + value.shape[1:], value.dtype)
            out[key][positions] = value[index]
    return out


def random_affine(rng: np.random.Generator, size: tuple[int, int], cfg: AugmentConfig) -> np.ndarray:
    """A 2x3 matrix like torchvision/kornia RandomAffine: rotate+scale about the centre, then translate."""
    h, w = size
    angle = rng.uniform(-cfg.degrees, cfg.degrees)
    scale = rng.uniform(*cfg.scale)
    tx, ty = rng.uniform(-cfg.translate, cfg.translate, size=2) * (w, h)
    matrix = cv2.getRotationMatrix2D(((w - 1) / 2, (h - 1) / 2), angle, scale)
    matrix[:, 2] += (tx, ty)
    return matrix


def warp(image: np.ndarray, matrix: np.ndarray, nearest: bool = False, border: int = cv2.BORDER_REPLICATE
         ) -> np.ndarray:
    """Affine-warp an image to its own size; ``nearest`` for masks, so they stay binary."""
    h, w = image.shape[:2]
    flags = cv2.INTER_NEAREST if nearest else cv2.INTER_LINEAR
    return cv2.warpAffine(image, matrix, (w, h), flags=flags, borderMode=border)


def visible_after(matrix: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Bool (H, W) in the original frame: pixels that stay inside the image after warping with ``matrix``."""
    h, w = size
    ones = np.ones((h, w), np.uint8)
    return cv2.warpAffine(ones, matrix, (w, h), flags=cv2.INTER_NEAREST | cv2.WARP_INVERSE_MAP,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=0).astype(bool)


def color_jitter(image: torch.Tensor, rng: np.random.Generator, cfg: AugmentConfig) -> torch.Tensor:
    """torchvision ColorJitter semantics on a float (3, H, W) image in [0, 1], factors drawn from ``rng``.

    The hue step is :func:`uasbench.datasets.hue.adjust_hue`: torchvision's numbers bit for bit, 5x faster (it was
    3/4 of a training pair's cost).
    """
    ops = [(TF.adjust_brightness, rng.uniform(1 - cfg.brightness, 1 + cfg.brightness)),
           (TF.adjust_contrast, rng.uniform(1 - cfg.contrast, 1 + cfg.contrast)),
           (TF.adjust_saturation, rng.uniform(1 - cfg.saturation, 1 + cfg.saturation)),
           (adjust_hue, rng.uniform(-cfg.hue, cfg.hue))]
    for k in rng.permutation(len(ops)):
        fn, factor = ops[k]
        if (fn is adjust_hue and factor != 0) or (fn is not adjust_hue and factor != 1):
            image = fn(image, float(factor))
    return image


def augment_pair(prompt: np.ndarray, query: np.ndarray, mask: np.ndarray, rng: np.random.Generator,
                 cfg: AugmentConfig) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Independent jitter + affine per image; the mask follows the query, restricted to the prompt's view."""
    size = mask.shape[:2]
    prompt_matrix, query_matrix = random_affine(rng, size, cfg), random_affine(rng, size, cfg)
    mask = mask.astype(bool) & visible_after(prompt_matrix, size)
    prompt = warp(prompt, prompt_matrix)
    query = warp(query, query_matrix)
    mask = warp(mask.astype(np.uint8), query_matrix, nearest=True)
    prompt_t = color_jitter(to_tensor(prompt), rng, cfg)
    query_t = color_jitter(to_tensor(query), rng, cfg)
    return prompt_t, query_t, torch.from_numpy(mask.astype(np.float32))[None]


def to_tensor(image: np.ndarray) -> torch.Tensor:
    """uint8 (H, W, 3) to float (3, H, W) in [0, 1], the layout and range the models take."""
    return torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1).float().div_(255.0)


class ChangePairDataset(torch.utils.data.Dataset):
    """(prompt (3,H,W), query (3,H,W), mask (1,H,W)) float32 in [0, 1], all pairs of ``split`` held in memory.

    ``fraction`` keeps a seeded subset of the training pairs (MetaUAS Tab. 3d); subsets are nested (10 % is
    inside 30 %) because they are prefixes of one permutation. ``kinds`` keeps object and/or local pairs
    (Tab. 3c). ``image_size`` resizes once at load time when it differs from the stored size.
    """

    def __init__(self, root: str | Path, split: str = "train", augment: bool = True, fraction: float = 1.0,
                 kinds: Sequence[str] | str = CHANGE_KINDS, seed: int = 0, image_size: int | None = None,
                 augment_config: AugmentConfig | None = None) -> None:
        if split not in SPLITS:
            raise DataError(f"split must be one of {SPLITS}, got {split!r}")
        if not 0.0 < fraction <= 1.0:
            raise DataError(f"fraction must be in (0, 1], got {fraction}")
        self.root, self.split, self.augment, self.seed = Path(root), split, augment, seed
        self.augment_config = augment_config or AugmentConfig()
        self.epoch = 0
        self.manifest = read_manifest(root)
        kinds = parse_kinds(kinds)
        rows = [r for r in self.manifest["pairs"] if r["split"] == split and r["kind"] in kinds]
        if split == "train" and fraction < 1.0:
            order = np.random.default_rng([seed, 0xF4AC]).permutation(len(rows))
            keep = np.sort(order[:max(1, int(round(fraction * len(rows))))])
            rows = [rows[i] for i in keep]
        if not rows:
            raise DataError(f"{self.root}: no {split} pairs of kinds {list(kinds)}")
        self.rows = rows
        arrays = load_pair_arrays(root, rows)
        stored = int(self.manifest["image_size"])
        if image_size is not None and image_size != stored:
            arrays = _resize_all(arrays, image_size, upscale=image_size > stored)
        self.prompt, self.query, self.mask = arrays["prompt"], arrays["query"], arrays["mask"]

    def set_epoch(self, epoch: int) -> None:
        """Draw new augmentations next epoch (the generator is seeded with seed, epoch and index)."""
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        prompt, query, mask = self.prompt[index], self.query[index], self.mask[index]
        if self.augment:
            rng = np.random.default_rng([self.seed, self.epoch, int(index)])
            return augment_pair(prompt, query, mask, rng, self.augment_config)
        return to_tensor(prompt), to_tensor(query), torch.from_numpy(mask.astype(np.float32))[None]


def _resize_all(arrays: dict[str, np.ndarray], size: int, upscale: bool) -> dict[str, np.ndarray]:
    def resize(stack: np.ndarray, interpolation: int) -> np.ndarray:
        return np.stack([cv2.resize(x, (size, size), interpolation=interpolation) for x in stack])

    smooth = cv2.INTER_LINEAR if upscale else cv2.INTER_AREA
    return {"prompt": resize(arrays["prompt"], smooth), "query": resize(arrays["query"], smooth),
            "mask": resize(arrays["mask"], cv2.INTER_NEAREST)}
