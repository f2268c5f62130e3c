"""Training hooks of ``uniad`` and ``onenip``; the ``UniAD`` and ``OneNIP`` classes declare them for ``uasbench train``.

Unified training: one model for every category of the entry's dataset(s) (``data`` may list several keys, e.g. the
merged MVTec+BTAD+VisA setting of OneNIP Tab 2). Only normal training images are used. Items are a function of
(seed, epoch, index) alone, so a resumed run sees exactly the data of an uninterrupted one:

* UniAD: ``{"query"}``.
* OneNIP: ``{"query", "prompt", "synthetic", "mask"}``: the prompt is a random normal image of the query's category
  (it may be the query itself, as officially) or, with ``train_prompt: fixed``, the category's first image
  (Tab 4d); the synthetic anomaly is CutPaste or DRAEM-Perlin of the query (p = 0.5 each) with its mask.
  In the last epoch items also carry ``calibrate`` so the loss records the reconstruction-map range of normal
  training images (the non-transductive normaliser, ``normalizer: train-set``).

Option ``cache_features: true`` adds ``query_id``/``prompt_id`` so the frozen backbone runs once per training image
(kept in memory: ~C·(S/16)² floats per image) instead of every epoch; only the synthetic images are re-encoded.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from uasbench.datasets.preprocessing import resolve_resample
from uasbench.errors import ConfigError, DataError
from uasbench.methods.reconstruction.method import DEFAULT_IMAGE_SIZE, ReconstructionMethod
from uasbench.methods.reconstruction.model import ReconstructionNet

# Paper / official config: AdamW 1e-4 (wd 1e-4), 1000 epochs, StepLR 800 / 0.1 per epoch, clip 0.1, batch 8 × 8 GPUs.
TRAIN_DEFAULTS: dict[str, Any] = {"epochs": 1000, "batch_size": 64, "lr": 1e-4, "weight_decay": 1e-4,
                                  "grad_clip": 0.1, "step_size": 800, "gamma": 0.1, "betas": (0.9, 0.999)}
TRAIN_PROMPT_MODES = ("random", "fixed")


def _to_tensor(image_uint8: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(image_uint8)).permute(2, 0, 1).float().div_(255.0)


class ReconstructionTrainingSet(Dataset):
    """Decoded normal training images (uint8, cached at the training size) and their category groups."""

    def __init__(self, images: np.ndarray, groups: list[str], seed: int, with_prompt: bool = False,
                 synthesizer=None, train_prompt: str = "random", calibrate_epoch: int | None = None,
                 with_ids: bool = False) -> None:
        if len(images) != len(groups) or not len(images):
            raise DataError(f"training set: {len(images)} images for {len(groups)} category labels")
        if train_prompt not in TRAIN_PROMPT_MODES:
            raise ConfigError(f"option train_prompt={train_prompt!r} is not one of {', '.join(TRAIN_PROMPT_MODES)}")
        self.images = images
        self.groups = groups
        self.seed = int(seed)
        self.with_prompt = with_prompt
        self.synthesizer = synthesizer
        self.train_prompt = train_prompt
        self.calibrate_epoch = calibrate_epoch
        self.with_ids = with_ids
        members: dict[str, list[int]] = {}
        for index, group in enumerate(groups):
            members.setdefault(group, []).append(index)
        self.members = {g: np.asarray(v) for g, v in members.items()}
        self.epoch = 0

    def __len__(self) -> int:
        return len(self.images)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def prompt_index(self, index: int, rng: np.random.Generator) -> int:
        pool = self.members[self.groups[index]]
        return int(pool[0]) if self.train_prompt == "fixed" else int(pool[rng.integers(len(pool))])

    def __getitem__(self, index: int) -> dict[str, Any]:
        rng = np.random.default_rng([self.seed, self.epoch, int(index)])
        query = self.images[index]
        item: dict[str, Any] = {"query": _to_tensor(query)}
        if self.with_ids:
            item["query_id"] = int(index)
        if self.with_prompt:
            prompt_index = self.prompt_index(index, rng)
            item["prompt"] = _to_tensor(self.images[prompt_index])
            if self.with_ids:
                item["prompt_id"] = prompt_index
        if self.synthesizer is not None:
            synthetic, mask = self.synthesizer(query, rng)
            item["synthetic"] = _to_tensor(synthetic)
            item["mask"] = torch.from_numpy(np.asarray(mask, dtype=np.float32))[None]
        if self.calibrate_epoch is not None:
            item["calibrate"] = int(self.epoch == self.calibrate_epoch)
        return item


def _data_keys(config: dict, entry: dict) -> list[str]:
    data = entry.get("data")
    keys = [data] if isinstance(data, str) else list(data or [])
    if not keys:
        raise ConfigError(f"training entry for {entry.get('method')!r} needs 'data': a dataset key or a list of keys")
    unknown = [k for k in keys if k not in config.get("datasets", {})]
    if unknown:
        raise ConfigError(f"training 'data' names unknown datasets {unknown}; "
                          f"'datasets' defines: {', '.join(sorted(config.get('datasets', {})))}")
    return keys


def load_normal_images(config: dict, keys: list[str], size: int,
                       resample: str = "cv2-linear") -> tuple[np.ndarray, list[str]]:
    """All normal training images of the datasets ``keys`` at ``size`` (uint8, resized with ``resample``) and their
    category groups
    (``<dataset>/<category>`` when several datasets are merged, so equal category names never mix)."""
    from tqdm.auto import tqdm

    from uasbench.datasets import load_split, read_image

    paths, groups = [], []
    for key in keys:
        samples, _ = load_split(config, key)
        normals = [s for s in samples if s.split == "train" and s.label == 0]
        if not normals:
            raise DataError(f"dataset {key!r} has no normal training images to train on")
        paths += [s.image_path for s in normals]
        groups += [s.category if len(keys) == 1 else f"{key}/{s.category}" for s in normals]
    images = np.stack([read_image(p, size, resample) for p in tqdm(paths, desc="decode training images", leave=False)])
    return images, groups


def unified_training_set(config: dict, entry: dict,
                         streams: tuple[bool, bool, bool] | None = None) -> ReconstructionTrainingSet:
    """The unified training set of a training entry: UniAD's query-only items, or with ``streams`` (uses a prompt,
    restoration stream, refiner; see ``uasbench.methods.reconstruction.onenip.training_streams``) OneNIP's."""
    options = dict(entry.get("options") or {})
    size = int(entry.get("image_size") or DEFAULT_IMAGE_SIZE)
    resample = resolve_resample(ReconstructionMethod, config, entry)
    images, groups = load_normal_images(config, _data_keys(config, entry), size, resample)
    seed = int(entry.get("seed", 0))
    with_ids = bool(options.get("cache_features", False))
    if streams is None:
        return ReconstructionTrainingSet(images, groups, seed, with_ids=with_ids)
    uses_prompt, restoration, refiner = streams
    synthesizer = None
    if restoration:
        from uasbench.datasets.anomalies.synthesis import AnomalySynthesizer
        from uasbench.datasets.anomalies.textures import TextureSource

        dtd_dir = (entry.get("data_options") or {}).get("dtd_dir")  # the schema's place for it, next to augment
        textures = TextureSource.from_dtd(dtd_dir) if dtd_dir else TextureSource.builtin(size)
        synthesizer = AnomalySynthesizer(textures, cutpaste_prob=0.5)
    epochs = int(entry.get("epochs", TRAIN_DEFAULTS["epochs"]))
    return ReconstructionTrainingSet(images, groups, seed, with_prompt=uses_prompt, synthesizer=synthesizer,
                                     train_prompt=options.get("train_prompt", "random"),
                                     calibrate_epoch=epochs - 1 if refiner else None, with_ids=with_ids)


def training_loss(model: torch.nn.Module, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """MSE (+ 0.5·Dice for OneNIP) of one batch; in the calibration epoch also widen the normaliser range."""
    if not isinstance(model, ReconstructionNet):
        raise TypeError(f"reconstruction training_loss expects a ReconstructionNet, got {type(model).__name__}")
    prompt = batch.get("prompt") if model.config.uses_prompt else None
    calibrate = batch.get("calibrate")
    if calibrate is not None and model.refiner is not None and bool(calibrate.any()):
        model.update_train_range(batch["query"], prompt)
    return model.loss(batch["query"], prompt, batch.get("synthetic"), batch.get("mask"), batch.get("query_id"),
                      batch.get("prompt_id"))
