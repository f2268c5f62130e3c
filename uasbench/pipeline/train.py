"""``uasbench train``: train one configured model (a key of the config's ``training`` section).

Each trainable method class declares its wiring (see ``uasbench.methods.base.Method``): ``trainable``,
``train_defaults`` (grad-clip, lr schedule), ``entry_options``, ``training_dataset(config, entry)``,
``training_loss(model, batch)`` and ``total_epochs_matter(entry)``; a plug-in method trains the same way. This
module owns the rest: the loop, checkpoints, the final model file.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Any

import torch

from uasbench import layout
from uasbench.errors import ConfigError
from uasbench.io import check_creatable_dir, save_torch, write_json
from uasbench.methods import create
from uasbench.methods.registry import method_class
from uasbench.pipeline.methods import method_kwargs
from uasbench.pipeline.weights import pretrained_only, training_needs
from uasbench.training.distributed import is_main_process
from uasbench.training.loop import TrainSpec, train

FALLBACKS = {"epochs": 1, "batch_size": 8, "lr": 1e-4, "weight_decay": 1e-4, "seed": 0}


def with_overrides(config: dict, model: str, **overrides) -> dict:
    """``config`` with the given keys (None = not given) set in ``training.<model>``, so a command-line value flows
    through the same path as a config value (TrainSpec, train_summary.json); the caller's dict is not modified."""
    given = {key: value for key, value in overrides.items() if value is not None}
    if not given or model not in config.get("training", {}):
        return config
    return {**config, "training": {**config["training"], model: {**config["training"][model], **given}}}


def training_spec(config: dict, model_name: str, **overrides: Any) -> tuple[dict, type, TrainSpec]:
    """(entry, method class, TrainSpec) of ``training.<model_name>`` as ``uasbench train`` resolves them, with the
    non-None ``overrides`` (workers, precision, compile, batch_size) set in the entry (see :func:`with_overrides`)."""
    config = with_overrides(config, model_name, **overrides)
    if model_name not in config.get("training", {}):
        known = ", ".join(sorted(config.get("training", {})))
        raise ConfigError(f"unknown model {model_name!r}; 'training' defines: {known}")
    entry = config["training"][model_name]
    method_cls = method_class(entry["method"])
    if not method_cls.trainable:
        raise ConfigError(f"training.{model_name}: method {entry['method']!r} is not trainable")
    # the config entry overrides the method's defaults, which override the loop's fallbacks
    settings = {**FALLBACKS, **method_cls.train_defaults, **entry}
    fields = {f.name for f in dataclasses.fields(TrainSpec)}
    return entry, method_cls, TrainSpec(**{key: value for key, value in settings.items() if key in fields})


def run_training(config: dict, model_name: str, device: torch.device, resume: bool = True,
                 out_dir: str | Path | None = None) -> dict[str, Any]:
    """Train ``training.<model_name>`` into ``out_dir`` (default: its model folder); returns the summary it wrote."""
    entry, method_cls, spec = training_spec(config, model_name)
    out = check_creatable_dir(Path(out_dir) if out_dir else layout.model_dir(config, model_name))
    torch.manual_seed(spec.seed)
    with pretrained_only(config, entry, training_needs(config, model_name, refusable_only=True)):
        method = create(entry["method"], **method_kwargs(entry))
    dataset = method_cls.training_dataset(config, entry)
    t0 = time.perf_counter()
    ran = {"model": model_name, "method": entry["method"], "entry": _entry_settings(entry, method_cls)}
    history = train(method.model, method_cls.training_loss, dataset, spec, out, device, resume=resume,
                    desc=f"train {model_name}", meta=ran)
    final = {"method": entry["method"], "model": model_name, "state_dict": method.model.state_dict(),
             "weight_source": method.weight_source, "entry": entry}
    if is_main_process():  # under torchrun rank 0 alone writes the files (every rank holds the same weights)
        save_torch(out / layout.MODEL_FILE, final)
    summary = {"model": model_name, "method": entry["method"], "history": history, "tier": config["tier"],
               "weight_source": method.weight_source, "params": method.parameter_counts(),
               "train_seconds_this_invocation": time.perf_counter() - t0, "n_train_items": len(dataset),
               "device": str(device), "settings": {"spec": dataclasses.asdict(spec), "entry": entry}}
    if is_main_process():
        write_json(out / layout.TRAIN_SUMMARY, summary)
    return summary


def _entry_settings(entry: dict, method_cls: type) -> dict[str, Any]:
    """What a resume must not change beyond the TrainSpec (which the loop checks itself): data, options, backbone...

    ``epochs`` joins when the method class says the total shapes training (OneNIP's refiner calibrates
    in the last epoch).
    """
    spec_fields = {f.name for f in dataclasses.fields(TrainSpec)}
    kept = {key: value for key, value in entry.items() if key not in spec_fields}
    if method_cls.total_epochs_matter(entry):
        kept["epochs"] = entry.get("epochs")
    return kept
