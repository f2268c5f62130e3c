"""Build the method a configured run names: fresh from the registry, or from a trained checkpoint."""

from __future__ import annotations

import inspect
from typing import Any

import torch

from uasbench import layout
from uasbench.backbones.weights import quiet_random_weights
from uasbench.config import model_entries
from uasbench.errors import CheckpointError
from uasbench.methods import create
from uasbench.methods.registry import method_class
from uasbench.methods.state_dicts import listed
from uasbench.pipeline.weights import needs_of, pretrained_only, run_requests
from uasbench.training.checkpoint import check_finite_weights


def build_run_method(config: dict, run: dict, device: torch.device, *, name: str = "run"
                     ) -> tuple[Any, dict[str, Any]]:
    """Returns the method and what every result records about it (weight source, parameter counts, checkpoint).

    Pretrained weights that resolve to random stop it before anything is built (uasbench.pipeline.weights);
    ``name`` is the run's key, for that message."""
    info: dict[str, Any] = {}
    needs = needs_of(config, f"runs.{name}", run, run_requests(run), refusable_only=True)
    with pretrained_only(config, run, needs):
        if "model" in run:  # a run's options override inference-only settings (e.g. OneNIP's normalizer)
            method = load_trained_method(config, run["model"], device, overrides=run.get("options"))
            info["checkpoint"] = str(layout.model_file(config, run["model"]))
        else:
            method = create(run["method"], **run.get("options", {}))
    method.to(device)
    info["weight_source"] = getattr(method, "weight_source", "random")
    info["params"] = method.parameter_counts()
    return method, info


def method_kwargs(entry: dict) -> dict[str, Any]:
    """Constructor arguments of a trainable method from its training entry (the class declares which entry keys
    besides ``options`` it takes: ``entry_options``)."""
    return method_class(entry["method"]).entry_kwargs(entry)


def load_trained_method(config: dict, model_name: str, device: torch.device, overrides: dict | None = None):
    """The trained or converted model ``model_name`` built from its config entry and loaded from its ``model.pt``; a
    missing, foreign or mismatched file is a CheckpointError naming it."""
    entry = model_entries(config)[model_name]
    path = layout.model_file(config, model_name)
    if not path.is_file():
        raise CheckpointError(f"{path}: model not found; run '{_make_command(config, model_name)}' first")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:
        raise CheckpointError(f"{path}: cannot load ({type(err).__name__}: {err})") from err
    if not isinstance(state, dict) or "state_dict" not in state or "method" not in state:
        raise CheckpointError(f"{path}: not a uasbench model file (expected a dict with 'method' and 'state_dict')")
    if state["method"] != entry["method"]:
        raise CheckpointError(f"{path}: holds a {state['method']!r} model, config expects {entry['method']!r}")
    check_finite_weights(state["state_dict"], str(path), f"; retrain it with 'uasbench train {model_name} --no-resume'")
    kwargs = {**method_kwargs(entry), **(overrides or {})}
    # the file carries the encoder weights too, so no pretrained weights need resolving (nor a random-weights
    # warning); a method without the constructor argument (e.g. a plug-in with no pretrained part) has none to skip
    takes = "pretrained_backbone" in inspect.signature(method_class(entry["method"]).__init__).parameters
    with quiet_random_weights():
        method = create(entry["method"], **{**kwargs, **({"pretrained_backbone": False} if takes else {})})
    expected = method.model.state_dict()
    wrong = [f"{k} {tuple(v.shape)} != {tuple(expected[k].shape)}" for k, v in state["state_dict"].items()
             if k in expected and hasattr(v, "shape") and tuple(v.shape) != tuple(expected[k].shape)]
    if wrong:
        raise CheckpointError(f"{path}: does not fit the {entry['method']} model the config now describes"
                              f"{_option_changes(state, kwargs)}; {len(wrong)} tensors have another shape "
                              f"(file != model): {listed(wrong)}. Remake it with '{_make_command(config, model_name)}' "
                              "or restore the options it was made with")
    missing, unexpected = method.model.load_state_dict(state["state_dict"], strict=False)
    if missing or unexpected:
        raise CheckpointError(f"{path}: keys do not match the {entry['method']} model "
                              f"(missing: {missing[:5]}, unexpected: {unexpected[:5]})"
                              f"{_option_changes(state, kwargs)}")
    method.weight_source = state.get("weight_source", "unknown")
    return method.to(device)


def _make_command(config: dict, model_name: str) -> str:
    """The command that writes the model file: training, or converting an official checkpoint."""
    if model_name in config.get("checkpoints", {}):
        return f"uasbench convert checkpoint {model_name} --config <config>"
    return f"uasbench train {model_name}"


def _option_changes(state: dict, now: dict[str, Any]) -> str:
    """`` (options changed since training: key: then -> now)`` from the training entry model.pt records."""
    trained = state.get("entry")
    if not isinstance(trained, dict) or "method" not in trained:
        return ""
    then = method_kwargs(trained)
    changed = [f"{k}: {then.get(k)!r} -> {now.get(k)!r}" for k in sorted(then.keys() | now.keys())
               if k != "pretrained_backbone" and then.get(k) != now.get(k)]
    return f" (options changed since training: {'; '.join(changed)})" if changed else ""
