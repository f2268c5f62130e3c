"""``uasbench convert checkpoint NAME``: a config's official checkpoint → the model file its runs name (no training).

The file has the form ``uasbench train`` writes (method, state dict, weight source, entry), so ``uasbench predict``
loads a converted official model and a trained one the same way (uasbench.pipeline.methods.load_trained_method).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import torch

from uasbench import layout
from uasbench.errors import ConfigError
from uasbench.io import atomic_path, ensure_writable_dir
from uasbench.methods import create
from uasbench.methods.converters import OFFICIAL_CONVERTERS


def convert_configured_checkpoint(config: dict[str, Any], name: str, out: str | Path | None = None
                                  ) -> dict[str, Any]:
    """Convert ``checkpoints.<name>`` into ``out`` (default: its model file); returns the converter's counts.

    The converted weights are loaded into the model the entry's options describe before anything is written, so a
    file that does not fit (e.g. OneNIP at another image size) fails here, naming the options, not in predict."""
    from uasbench.backbones.weights import quiet_random_weights

    entries = config.get("checkpoints", {})
    if name not in entries:
        raise ConfigError(f"unknown checkpoint {name!r}; 'checkpoints' defines: {', '.join(sorted(entries)) or 'none'}")
    entry = entries[name]
    converter = OFFICIAL_CONVERTERS[entry["convert"]]
    source = Path(entry["source"]).expanduser()
    if not source.is_file():
        raise ConfigError(f"checkpoints.{name}.source = {str(source)!r} does not exist: get it with "
                          f"'uasbench fetch {converter.fetch}' or point the key at your copy")
    out = Path(out) if out is not None else layout.model_file(config, name)
    ensure_writable_dir(out.parent)
    with tempfile.TemporaryDirectory(prefix=".convert-", dir=out.parent) as scratch:
        state_file = Path(scratch) / "state.pt"
        counts = converter.convert(source, state_file)
        options = entry.get("options", {})
        with quiet_random_weights():  # every weight, the encoder's included, comes from the checkpoint
            try:
                method = create(entry["method"], **options, pretrained_backbone=False, checkpoint=state_file)
            except Exception as err:  # noqa: BLE001 - a misfit is a CheckpointError, a bad option a ConfigError
                raise ConfigError(f"checkpoints.{name}: {source} converts ({counts}) but does not load into the "
                                  f"{entry['method']} model of options {options}: {err}") from err
    model = {"method": entry["method"], "model": name, "state_dict": method.model.state_dict(),
             "weight_source": f"official checkpoint {source}", "entry": entry}
    with atomic_path(out) as tmp:
        torch.save(model, tmp)
    return counts
