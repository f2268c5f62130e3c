"""Prompt selection, all of it: :class:`PromptSelector` gives ``uasbench predict`` each category's prompts.

Modes (config ``runs.<name>.prompt``):
- ``none``: zero-shot (CLIP, WinCLIP, random) or full-shot methods that carry their own training set.
- ``random`` (MetaUAS): k fixed normal training images per category per seed (k = the method's shots, 1 for
  one-prompt methods), seeds {1, 3, 5, 7, 9}; results are mean ± std over seeds. k-shot memory methods (PatchCore,
  WinCLIP+) fit on those k images.
- ``random-per-image`` (OneNIP): a fresh random normal image of the query's category for every test image.
- ``best-match`` (MetaUAS*): per query, the normal training image most cosine-similar on globally average-pooled
  last-stage encoder features (:func:`global_features`), searched with faiss (inner product on L2-normalised
  vectors). ``best-match-agnostic`` searches one pool holding every category's normal images (the paper's
  limitation section).
PromptFile reads the official MetaUAS prompt files instead, when the config points at them (``prompt_file``).
"""

from __future__ import annotations

import json
import zlib
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch

from uasbench.datasets.splits import dataset_root
from uasbench.errors import ConfigError
from uasbench.pipeline.images import load_images


def random_prompt_indices(n_candidates: int, seed: int, category: str, k: int = 1) -> list[int]:
    """Deterministic k distinct indices into a category's sorted normal training images for one seed."""
    if n_candidates < k:
        raise ConfigError(f"category {category!r} has {n_candidates} normal training images, {k} prompt(s) requested")
    rng = np.random.default_rng([seed, zlib.crc32(category.encode())])
    return sorted(rng.choice(n_candidates, size=k, replace=False).tolist())


class BestMatchIndex:
    """Cosine nearest neighbour over pooled features (faiss IndexFlatIP on L2-normalised float32 vectors)."""

    def __init__(self, features: np.ndarray, labels: Sequence[str] | None = None):
        import faiss

        if features.ndim != 2 or len(features) == 0:
            raise ConfigError(f"best-match pool needs a non-empty (N, D) feature matrix, got shape {features.shape}")
        self.labels = list(labels) if labels is not None else None
        self.index = faiss.IndexFlatIP(features.shape[1])
        self.index.add(_l2_normalise(features))

    def search(self, queries: np.ndarray, k: int = 1) -> tuple[np.ndarray, np.ndarray]:
        """Return (similarities, indices), each (Q, k), best first."""
        sims, idx = self.index.search(_l2_normalise(queries), k)
        return sims, idx


def _l2_normalise(x: np.ndarray) -> np.ndarray:
    x = np.ascontiguousarray(x, dtype=np.float32)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.maximum(norms, 1e-12)


class PromptFile:
    """An official MetaUAS prompt file, so runs use the paper's prompts image for image.

    ``oneprompt_seed<S>.json``: a JSON object ``{category: {"filename": "<cat>/train/good/075.png", ...}}``, one
    normal prompt per category (MetaUAS, one-shot baselines; mode ``random``). ``test-train-top10pair-eb4.json``:
    JSON lines ``{"<test path>": [10 training paths, best first]}``; MetaUAS* takes the first (mode ``best-match``).
    Paths are relative to the dataset root.
    """

    MODES = {"per-category": "random", "per-query": "best-match"}

    def __init__(self, path: str | Path):
        self.path = Path(path)
        try:
            text = self.path.read_text(encoding="utf-8")
        except OSError as err:
            raise ConfigError(f"prompt file {self.path}: cannot read it ({err})") from err
        try:
            entries = [json.loads(text)]
        except json.JSONDecodeError:
            entries = [self._json(line, number) for number, line in enumerate(text.splitlines(), 1) if line.strip()]
        merged: dict[str, Any] = {}
        for entry in entries:
            if not isinstance(entry, dict):
                raise ConfigError(f"prompt file {self.path}: expected JSON objects, got {type(entry).__name__}")
            merged.update(entry)
        if merged and all(isinstance(v, dict) and isinstance(v.get("filename"), str) for v in merged.values()):
            self.kind, self.entries = "per-category", {k: [v["filename"]] for k, v in merged.items()}
        elif merged and all(isinstance(v, list) and v and all(isinstance(p, str) for p in v) for v in merged.values()):
            self.kind, self.entries = "per-query", {k: list(v) for k, v in merged.items()}
        else:
            raise ConfigError(f"prompt file {self.path}: neither {{category: {{'filename': ...}}}} "
                              "(oneprompt_seed*.json) nor JSON lines {test path: [training paths]} "
                              "(test-train-top10pair-*.json)")

    def _json(self, line: str, number: int) -> Any:
        try:
            return json.loads(line)
        except json.JSONDecodeError as err:
            raise ConfigError(f"prompt file {self.path}, line {number}: not JSON ({err.msg})") from err

    def indices(self, mode: str, category: str, normals: Sequence, tests: Sequence, root: str | Path) -> list[int]:
        """Indices into ``normals`` (Samples): the category's prompt (random) or each test image's top-1
        (best-match)."""
        if self.MODES[self.kind] != mode:
            raise ConfigError(f"prompt file {self.path} lists prompts {self.kind}, which fits prompt mode "
                              f"{self.MODES[self.kind]!r}, not {mode!r}")
        position = {_relative(s.image_path, root): i for i, s in enumerate(normals)}
        keys = [category] if self.kind == "per-category" else [_relative(s.image_path, root) for s in tests]
        picked = []
        for key in keys:
            if key not in self.entries:
                what = "category" if self.kind == "per-category" else "test image"
                raise ConfigError(f"prompt file {self.path} has no entry for {what} {key!r}")
            prompt = self.entries[key][0]
            if prompt not in position:
                raise ConfigError(f"prompt file {self.path}, entry {key!r}: {prompt!r} is not a normal training "
                                  f"image of category {category!r} under {root}")
            picked.append(position[prompt])
        return picked


def _relative(path: str | Path, root: str | Path) -> str:
    """The dataset-root-relative posix path the official files use."""
    try:
        return Path(path).resolve().relative_to(Path(root).resolve()).as_posix()
    except ValueError:
        return Path(path).as_posix()


def prompt_file_for(config: dict, run_name: str, dataset: str, seed: int, mode: str) -> PromptFile | None:
    """The run's ``prompt_file`` (a template, null for none), else the dataset's ``prompt_file[mode]``; ``{seed}`` is
    the prompt seed and a relative path is under ``prompts_root``. None: keep the seeded draw / feature search."""
    run = config["runs"][run_name]
    if "prompt_file" in run:
        template, where = run["prompt_file"], f"runs.{run_name}.prompt_file"
    else:
        template = (config["datasets"][dataset].get("prompt_file") or {}).get(mode)
        where = f"datasets.{dataset}.prompt_file.{mode}"
    if not template:
        return None
    try:
        path = Path(str(template).format(seed=seed))
    except (KeyError, IndexError, ValueError) as err:
        raise ConfigError(f"{where} = {template!r}: only the placeholder {{seed}} is known ({err})") from err
    if not path.is_absolute():
        root = config.get("prompts_root")
        if not root:
            raise ConfigError(f"{where} = {template!r} is relative, but prompts_root is not set")
        if not Path(root).is_dir():
            raise ConfigError(f"prompts_root = {root!r} does not exist: point it at the folder holding MetaUAS's "
                              "prompt files (the official repository's data/ folder)")
        path = Path(root) / path
    if not path.is_file():
        raise ConfigError(f"{where}: prompt file {path} not found")
    return PromptFile(path)


@torch.no_grad()
def global_features(method, images: torch.Tensor, device: torch.device, batch_size: int = 32) -> np.ndarray:
    """Globally average-pooled last-stage encoder features (MetaUAS's best-match descriptor)."""
    encode = getattr(method.model, "encode", None)
    if encode is None:
        raise ConfigError(f"method {method.name!r} has no encoder for best-match prompts")
    feats = [encode(images[i:i + batch_size].to(device))[-1].mean(dim=(2, 3)).cpu()
             for i in range(0, len(images), batch_size)]
    return torch.cat(feats).numpy()


class PromptSelector:
    """The prompts of one predict call (one run, dataset, seed and mode), chosen category by category.

    Built before the category loop: it finds the prompt file (if the config sets one) and, for
    ``best-match-agnostic``, indexes the normal images of every category once.
    """

    def __init__(self, config: dict, run_name: str, dataset: str, seed: int, mode: str, method, samples: list,
                 size: int, device: torch.device, resample: str = "cv2-linear") -> None:
        self.mode, self.seed, self.method, self.size, self.device = mode, seed, method, size, device
        self.resample = resample  # the method's resampler, as its queries
        self.root = dataset_root(config, dataset)
        self.file = prompt_file_for(config, run_name, dataset, seed, mode)  # the paper's own prompts, if set
        self._agnostic = self._agnostic_pool(samples) if mode == "best-match-agnostic" else None

    def for_category(self, category: str, normals: list, tests: list, queries: torch.Tensor) -> torch.Tensor | None:
        """Fit ``method`` on the category's fixed prompts (modes none / random) and return the prompt batch its
        ``predict`` gets for ``queries`` (None, one shared batch, or one prompt per query)."""
        picks = None if self.file is None else self.file.indices(self.mode, category, normals, tests, self.root)
        method, mode = self.method, self.mode
        shots = getattr(method, "shots", 1)
        if mode == "none":
            method.fit(None, category)
            return None
        if not normals:
            raise ConfigError(f"category {category!r} has no normal training images to draw a prompt from")
        if mode == "random":
            if picks is not None and len(picks) != (shots or 1):
                raise ConfigError(f"method {method.name!r} takes {shots} prompts; the prompt file gives {len(picks)}")
            indices = random_prompt_indices(len(normals), self.seed, category, k=shots or 1) if picks is None else picks
            chosen = self._load([normals[i] for i in indices])
            method.fit(chosen, category)  # memory methods build their memory here, once per category
            return method.prompts_for(chosen, len(queries))
        if mode == "random-per-image":
            rng = np.random.default_rng([self.seed, zlib.crc32(category.encode())])
            return self._load([normals[i] for i in rng.integers(0, len(normals), size=len(queries))])
        if mode == "best-match" and picks is not None:
            return self._load([normals[i] for i in picks])
        if mode in ("best-match", "best-match-agnostic"):
            return self._best_match(normals, queries)
        raise ConfigError(f"unknown prompt mode {mode!r}")

    def _load(self, samples: list) -> torch.Tensor:
        return load_images(samples, self.size, self.resample)

    def _best_match(self, normals: list, queries: torch.Tensor) -> torch.Tensor:
        """Each query's most similar normal image: of its category, or of the all-category pool (agnostic)."""
        if self._agnostic is None:
            pool_images = self._load(normals)
            index = BestMatchIndex(global_features(self.method, pool_images, self.device))
        else:
            pool_images, index = self._agnostic
        _, idx = index.search(global_features(self.method, queries, self.device), k=1)
        return pool_images[torch.from_numpy(idx[:, 0].astype(np.int64))]

    def _agnostic_pool(self, samples: list) -> tuple[torch.Tensor, BestMatchIndex]:
        normals = [s for s in samples if s.split == "train"]
        images = self._load(normals)
        return images, BestMatchIndex(global_features(self.method, images, self.device),
                                      labels=[s.category for s in normals])
