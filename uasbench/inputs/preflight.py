"""Every input a config needs, checked at once before any job: benchmark roots (counted against the official
counts), prompt files, COCO folders, DTD and pretrained weights, each missing one named with its size and the
``uasbench fetch`` command that brings it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Mapping

from uasbench.errors import DataError
from uasbench.inputs.completeness import dataset_problem, folder_problem
from uasbench.inputs.sources import Source, data_root, destination, load_sources, source_for


@dataclass(frozen=True)
class Need:
    """One input of a config: the config key naming it, its path (None for a weight) and the source fetching it."""

    key: str
    path: Path | None
    source: Source | None
    kind: str  # dataset | prompts | coco | dtd | checkpoint | weights
    dataset_kind: str | None = None
    categories: tuple[str, ...] | None = None
    prompt_files: tuple[str, ...] = ()


def _seeds(config: Mapping[str, Any]) -> list[int]:
    seeds = set(config.get("prompt_seeds", [0]))
    for run in config.get("runs", {}).values():
        seeds.update(run.get("seeds", []))
    return sorted(seeds)


def _prompt_files(config: Mapping[str, Any], spec: Mapping[str, Any]) -> list[str]:
    files = []
    for pattern in (spec.get("prompt_file") or {}).values():
        files += sorted({pattern.format(seed=s) for s in _seeds(config)})
    return files


def weight_names(config: Mapping[str, Any]) -> list[str]:
    """Backbone presets and CLIP models the config names (training entries, run options, CLIP priors)."""
    names = {entry["backbone"] for entry in config.get("training", {}).values() if entry.get("backbone")}
    for run in config.get("runs", {}).values():
        options = run.get("options") or {}
        names.update(options[k] for k in ("backbone", "model_name") if options.get(k))
        if run.get("clip_prior"):
            names.add(run["clip_prior"]["clip_model"])
    return sorted(names)


def needs_pretrained(config: Mapping[str, Any]) -> bool:
    """Whether the config's tier claims pretrained weights (the paper tier, unless it opts out)."""
    return config.get("tier") == "paper" and not config.get("allow_random_weights", False)


def config_inputs(config: Mapping[str, Any], sources: Mapping[str, Source] | None = None) -> Iterator[Need]:
    """The inputs of a config, in config order; synthetic datasets are built by the DAG and need nothing."""
    sources = load_sources() if sources is None else sources
    seen_roots = set()
    for name, spec in config.get("datasets", {}).items():
        if spec["kind"] == "synthetic-ad" or spec["root"] in seen_roots:
            continue
        seen_roots.add(spec["root"])
        yield Need(f"datasets.{name}.root", Path(spec["root"]).expanduser(),
                   source_for(sources, "dataset", spec["kind"]), "dataset", spec["kind"],
                   tuple(spec["categories"]) if spec.get("categories") else None)
    if config.get("prompts_root"):
        files = [f for spec in config.get("datasets", {}).values() for f in _prompt_files(config, spec)]
        yield Need("prompts_root", Path(config["prompts_root"]).expanduser(), source_for(sources, "prompts", "metauas"),
                   "prompts", prompt_files=tuple(dict.fromkeys(files)))
    pairs = config.get("change_pairs") or {}
    for key, provides in (("coco_images", "images"), ("coco_annotations", "annotations")):
        if pairs.get(key):
            yield Need(f"change_pairs.{key}", Path(pairs[key]).expanduser(), source_for(sources, "coco", provides),
                       "coco")
    for model, entry in config.get("training", {}).items():
        dtd = (entry.get("data_options") or {}).get("dtd_dir")
        if dtd:
            yield Need(f"training.{model}.data_options.dtd_dir", Path(dtd).expanduser(),
                       source_for(sources, "dataset", "dtd"), "dtd")
    for name, entry in config.get("checkpoints", {}).items():  # official checkpoints a DAG converts
        yield Need(f"checkpoints.{name}.source", Path(entry["source"]).expanduser(),
                   source_for(sources, "checkpoint", entry["method"]), "checkpoint")
    if needs_pretrained(config):
        for name in weight_names(config):
            yield Need(f"weights of {name}", None, source_for(sources, "weights", name), "weights")


def _weight_problem(name: str) -> str | None:
    from uasbench.backbones.clip import is_clip_model, resolve_clip_weights
    from uasbench.backbones.registry import resolve_backbone_weights

    choice = resolve_clip_weights(name) if is_clip_model(name) else resolve_backbone_weights(name)
    return "resolve to RANDOM (no file in the hub caches or a package)" if choice.is_random else None


def need_problem(need: Need) -> str | None:
    """None when the input is present and complete, else what is wrong."""
    if need.kind == "weights":
        return _weight_problem(need.key.removeprefix("weights of "))
    if need.kind == "dataset":
        return dataset_problem(need.dataset_kind, need.path, list(need.categories) if need.categories else None)
    if need.kind == "prompts":
        if not need.path.is_dir():
            return "does not exist"
        missing = [f for f in need.prompt_files if not (need.path / f).is_file()]
        return f"lacks {len(missing)} of {len(need.prompt_files)} prompt files (first: {missing[0]})" \
            if missing else None
    if need.kind == "checkpoint" or need.path.suffix == ".json":  # a checkpoint, the COCO annotation file
        return None if need.path.is_file() else "does not exist"
    if need.source is not None:
        return folder_problem(need.source, need.path)
    return None if need.path.exists() else "does not exist"


def fetch_command(need: Need, config: Mapping[str, Any]) -> str:
    """The command that brings the input to the path the config names."""
    source = need.source
    if source is None:
        return "no download source known: place it by hand"
    if need.path is None or source.relative_dest() is None:
        return f"uasbench fetch {source.name}"
    relative = str(fetched_path(need, config).relative_to(data_root(config)))
    path = str(need.path)
    if path.endswith("/" + relative):
        return f"uasbench fetch {source.name} --data-root {path[: -len(relative) - 1]}"
    return f"uasbench fetch {source.name} (it fills {fetched_path(need, config)}; point {need.key} there)"


def fetched_path(need: Need, config: Mapping[str, Any]) -> Path | None:
    """Where ``uasbench fetch`` puts the input under the config's data root (None for weights, which go to the
    caches the weight resolution reads)."""
    if need.path is None or need.source is None or need.source.relative_dest() is None:
        return None
    dest = destination(need.source, data_root(config))
    if need.kind == "checkpoint":  # one file of the source, in its folder below the destination
        return dest / next((f.path for f in need.source.files if f.path and need.path.match(f.path)), need.path.name)
    return dest / need.path.name if need.kind == "coco" and need.path.suffix == ".json" else dest


def missing_inputs(config: Mapping[str, Any], fetched_by_workflow: frozenset[str] = frozenset()) -> list[str]:
    """One line per missing or incomplete input; sources in ``fetched_by_workflow`` are left to the DAG, which
    needs the config to name the places it fetches them to."""
    lines = []
    for need in config_inputs(config):
        if need.source is not None and need.source.name in fetched_by_workflow:
            target = fetched_path(need, config)
            if target is not None and need.path != target:
                lines.append(f"  {need.key} = {str(need.path)!r}, but the DAG fetches {need.source.name} into "
                             f"{str(target)!r}: set {need.key} to that path")
            continue
        problem = need_problem(need)
        if problem is None:
            continue
        where = f" = {str(need.path)!r}" if need.path is not None else ""
        size = f", {need.source.size_label}" if need.source is not None and need.source.files else ""
        lines.append(f"  {need.key}{where} {problem}{size}\n      fetch: {fetch_command(need, config)}")
    return lines


def require_inputs(config: Mapping[str, Any], source: str,
                   fetched_by_workflow: frozenset[str] = frozenset()) -> None:
    """Raise one DataError listing every missing input of the config (``source`` names the config file)."""
    lines = missing_inputs(config, fetched_by_workflow)
    if lines:
        raise DataError(f"{len(lines)} input(s) of {source} missing or incomplete (`uasbench fetch --dry-run "
                        f"--config {source}` lists every download):\n" + "\n".join(lines))
