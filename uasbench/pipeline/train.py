"""``uasbench train``: train one configured model (a key of the config's ``training`` section).

Each trainable method module provides ``training_dataset(config, entry)``, ``training_loss(model, batch)`` and
``TRAIN_DEFAULTS`` (grad-clip, lr schedule); this module owns the rest: the loop, checkpoints, the final model file.
"""

from __future__ import annotations

import dataclasses
import importlib
import time
from pathlib import Path
from typing import Any

import torch

from uasbench.errors import ConfigError
from uasbench.io import atomic_path, check_creatable_dir, write_json
from uasbench.methods import create
from uasbench.pipeline.methods import method_kwargs, model_dir
from uasbench.training.loop import TrainSpec, train

# Where each trainable method's training hooks live (dataset builder, loss, defaults).
TRAINING_HOOKS = {"metauas": "uasbench.methods.metauas.training",
                  "onenip": "uasbench.methods.reconstruction.training",
                  "uniad": "uasbench.methods.reconstruction.training"}

FALLBACKS = {"epochs": 1, "batch_size": 8, "lr": 1e-4, "weight_decay": 1e-4, "seed": 0}


def run_training(config: dict, model_name: str, device: torch.device, resume: bool = True,
                 out_dir: str | Path | None = None) -> dict[str, Any]:
    if model_name not in config.get("training", {}):
        raise ConfigError(f"unknown model {model_name!r}; 'training' defines: {', '.join(sorted(config.get('training', {})))}")
    entry = config["training"][model_name]
    out = check_creatable_dir(Path(out_dir) if out_dir else model_dir(config, model_name))
    hooks = importlib.import_module(TRAINING_HOOKS[entry["method"]])
    # the config entry overrides the method's defaults, which override the loop's fallbacks
    settings = {**FALLBACKS, **getattr(hooks, "TRAIN_DEFAULTS", {}), **entry}
    spec = TrainSpec(**{f.name: settings[f.name] for f in dataclasses.fields(TrainSpec) if f.name in settings})
    torch.manual_seed(spec.seed)
    method = create(entry["method"], **method_kwargs(entry))
    dataset = hooks.training_dataset(config, entry)
    t0 = time.perf_counter()
    ran = {"model": model_name, "method": entry["method"], "entry": _entry_settings(entry, hooks)}
    history = train(method.model, hooks.training_loss, dataset, spec, out, device, resume=resume,
                    desc=f"train {model_name}", meta=ran)
    final = {"method": entry["method"], "model": model_name, "state_dict": method.model.state_dict(),
             "weight_source": method.weight_source, "entry": entry}
    with atomic_path(out / "model.pt") as tmp:
        torch.save(final, tmp)
    summary = {"model": model_name, "method": entry["method"], "history": history, "tier": config["tier"],
               "weight_source": method.weight_source, "params": method.parameter_counts(),
               "train_seconds_this_invocation": time.perf_counter() - t0, "n_train_items": len(dataset),
               "device": str(device), "settings": {"spec": dataclasses.asdict(spec), "entry": entry}}
    write_json(out / "train_summary.json", summary)
    return summary


def _entry_settings(entry: dict, hooks: Any) -> dict[str, Any]:
    """What a resume must not change beyond the TrainSpec (which the loop checks itself): data, options, backbone...

    ``epochs`` joins when the hooks say the total shapes training (OneNIP's refiner calibrates in the last epoch).
    """
    spec_fields = {f.name for f in dataclasses.fields(TrainSpec)}
    kept = {key: value for key, value in entry.items() if key not in spec_fields}
    if getattr(hooks, "total_epochs_matter", lambda _entry: False)(entry):
        kept["epochs"] = entry.get("epochs")
    return kept
