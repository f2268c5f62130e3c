"""What the DAG fetches for a config that asks for it (``fetch: true``): the sources of its inputs, and the
stamp files its dataset, prompt, weight and COCO consumers depend on."""

from __future__ import annotations

from typing import Any, Mapping

from uasbench.inputs.preflight import config_inputs
from uasbench.inputs.sources import data_root, load_sources, source_for, stamp_path


def fetched_sources(config: Mapping[str, Any]) -> list[str]:
    """Names of the sources the DAG downloads (none unless ``fetch: true``; manual ones are only checked)."""
    if not config.get("fetch"):
        return []
    return list(dict.fromkeys(n.source.name for n in config_inputs(config)
                              if n.source is not None and not n.source.manual))


def stamps_for(config: Mapping[str, Any], keys: tuple[str, ...], extra: tuple[str, ...] = ()) -> list[str]:
    """Stamp files of the fetched sources behind the config keys (or key prefixes) given, and of the sources
    named in ``extra``."""
    fetched = set(fetched_sources(config))
    names = [n.source.name for n in config_inputs(config) if n.source is not None and n.key.startswith(keys)]
    return [str(stamp_path(data_root(config), name)) for name in dict.fromkeys([*extra, *names]) if name in fetched]


def dataset_stamps(config: Mapping[str, Any], dataset: str) -> list[str]:
    """Stamps a job on ``dataset`` waits for: the dataset's own source, the prompt files and the weights."""
    source = source_for(load_sources(), "dataset", config["datasets"][dataset]["kind"])
    return stamps_for(config, ("prompts_root", "weights of "), (source.name,) if source else ())
