"""Load and validate workflow configs; errors name the offending key so a typo never runs silently."""

from __future__ import annotations

import copy
import functools
import math
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from uasbench.datasets.splits import GENERATED_KIND, dataset_root
from uasbench.errors import ConfigError
from uasbench.yamlfile import load_yaml

__all__ = ["dataset_root", "load_config", "load_schema", "validate_config"]


@functools.cache
def load_schema() -> dict[str, Any]:
    """The JSON schema every config is validated against, read from the installed package once per process (with
    libyaml's parser where installed: the pure-Python one takes a noticeable part of every job's start-up).
    Callers only read it."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return yaml.load(resources.files("uasbench").joinpath("config.schema.yaml").read_text(), Loader=loader)


def _key_path(path) -> str:
    return ".".join(str(p) for p in path) or "<top level>"


def validate_config(config: dict[str, Any], source: str = "config") -> dict[str, Any]:
    """Validate against the JSON schema plus the cross-references a schema cannot express, then fill in the
    schema's defaults (in place: the Snakefile's config too), so every reader finds each defaulted key set."""
    schema = load_schema()
    validator = _validator_class()(schema)
    errors = sorted(validator.iter_errors(config), key=lambda e: (len(e.absolute_path), list(e.absolute_path)))
    if errors:
        err = errors[0]
        if err.validator == "additionalProperties":
            raise ConfigError(f"{source}: unknown key at {_key_path(err.absolute_path)}: {err.message}")
        if "propertyNames" in err.absolute_schema_path:
            raise ConfigError(f"{source}: invalid key {err.instance!r} at {_key_path(err.absolute_path)}: it becomes a "
                              "file or folder name, so only letters, digits, _ . + - are allowed (not first: . _ + -)")
        message = err.message
        if err.validator == "type" and "number" in err.validator_value and isinstance(err.instance, float) \
                and not math.isfinite(err.instance):
            message = f"{err.instance} is not a finite number"
        raise ConfigError(f"{source}: invalid value at {_key_path(err.absolute_path)}: {message}")
    _check_run_methods(config, source)
    _check_training_methods(config, source)
    _check_checkpoints(config, source)
    models = model_entries(config)
    for name, run in config["runs"].items():
        if "model" in run and run["model"] not in models:
            raise ConfigError(f"{source}: runs.{name}.model = {run['model']!r} is not a key of 'training' or "
                              f"'checkpoints' (known: {', '.join(sorted(models)) or 'none'})")
        if "model" in run and models[run["model"]]["method"] != run["method"]:
            raise ConfigError(f"{source}: runs.{name}.method = {run['method']!r} but its model {run['model']!r} is "
                              f"a {models[run['model']]['method']!r} model")
        for ds in run.get("datasets", []):
            if ds not in config["datasets"]:
                raise ConfigError(f"{source}: runs.{name}.datasets names unknown dataset {ds!r}")
    for name, table in config.get("tables", {}).items():
        for run in table["runs"]:
            if run not in config["runs"]:
                raise ConfigError(f"{source}: tables.{name}.runs names unknown run {run!r}")
        for run in table.get("paper_rows", {}):
            if run not in table["runs"]:
                raise ConfigError(f"{source}: tables.{name}.paper_rows names {run!r}, which is not one of its runs")
        for ds in table.get("datasets", []):
            if ds not in config["datasets"]:
                raise ConfigError(f"{source}: tables.{name}.datasets names unknown dataset {ds!r}")
    for name, ds in config["datasets"].items():
        if ds["kind"] != GENERATED_KIND and not ds.get("root"):
            raise ConfigError(f"{source}: datasets.{name}.root must name the {ds['kind']} folder")
    for name, entry in config.get("training", {}).items():
        data = entry.get("data")
        for key in ([data] if isinstance(data, str) else data or []):
            if key != "change_pairs" and key not in config["datasets"]:
                raise ConfigError(f"{source}: training.{name}.data names {key!r}, neither 'change_pairs' nor a dataset")
    _check_method_options(config, source)
    _check_image_sizes(config, source)
    _check_resample_keys(config, source)
    apply_defaults(schema, config)
    return config


def image_size_problem(size: int) -> str | None:
    """Why a square input side is refused, or None: its ``size x size`` pixels must stay within the image pixel
    limit (``UASBENCH_MAX_IMAGE_PIXELS``), known before a tensor of that size is allocated."""
    from uasbench.datasets.imageio import MAX_PIXELS_ENV, max_image_pixels

    limit = max_image_pixels()
    if size * size <= limit:
        return None
    return (f"{size}x{size} = {size * size:,} pixels is over the limit of {limit:,} pixels per image "
            f"({MAX_PIXELS_ENV}; raise it if you mean it)")


def _check_image_sizes(config: dict[str, Any], source: str) -> None:
    """Every ``image_size`` of the config (datasets, change pairs, training entries) against the pixel limit."""
    sizes = {f"datasets.{name}": ds.get("image_size") for name, ds in config["datasets"].items()}
    sizes["change_pairs"] = (config.get("change_pairs") or {}).get("image_size")
    sizes.update({f"training.{name}": entry.get("image_size") for name, entry in config.get("training", {}).items()})
    for where, size in sizes.items():
        problem = None if size is None else image_size_problem(size)
        if problem:
            raise ConfigError(f"{source}: invalid value at {where}.image_size: {problem}")


def model_entries(config: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every model a run may name with ``model:``: the training entries and the converted official checkpoints."""
    return {**config.get("training", {}), **config.get("checkpoints", {})}


def _check_checkpoints(config: dict[str, Any], source: str) -> None:
    """A checkpoints entry has a name no training entry has, and a converter made for its method."""
    from uasbench.methods.converters import OFFICIAL_CONVERTERS

    for name, entry in config.get("checkpoints", {}).items():
        if name in config.get("training", {}):
            raise ConfigError(f"{source}: checkpoints.{name} has the name of a training entry; a run's 'model:' "
                              "must name one model, so rename one of them")
        converts_to = OFFICIAL_CONVERTERS[entry["convert"]].method
        if entry["method"] != converts_to:
            raise ConfigError(f"{source}: checkpoints.{name}: convert {entry['convert']!r} makes a {converts_to!r} "
                              f"model, not {entry['method']!r}")


def _check_resample_keys(config: dict[str, Any], source: str) -> None:
    """Every ``resample`` (top level, runs, training entries) names a known resampler."""
    from uasbench.datasets.preprocessing import check_resample

    if "resample" in config:
        check_resample(config["resample"], f"{source}: resample")
    for section in ("runs", "training"):
        for name, entry in (config.get(section) or {}).items():
            if "resample" in entry:
                check_resample(entry["resample"], f"{source}: {section}.{name}.resample")


def apply_defaults(schema: dict[str, Any], instance: Any) -> None:
    """Set every absent key that ``schema`` gives a ``default``, in ``instance`` and the mappings inside it
    (``properties`` and the entries of an ``additionalProperties`` mapping such as ``runs``)."""
    if not isinstance(instance, dict):
        return
    properties = schema.get("properties", {})
    for key, sub in properties.items():
        if key not in instance and "default" in sub:
            instance[key] = copy.deepcopy(sub["default"])
    entries = schema.get("additionalProperties")
    for key, value in instance.items():
        sub = properties.get(key, entries if isinstance(entries, dict) else None)
        if sub is not None:
            apply_defaults(sub, value)


def _validator_class():
    """Draft 2020-12 with two changes: a float is never an ``integer`` (the spec lets 64.0 pass, which then crashes
    as a tensor size or ``range`` bound deep inside a job), and a ``number`` is finite (YAML's ``.nan`` passes every
    bound, since each comparison with NaN is false, and ``.inf`` every lower one)."""
    import jsonschema

    base = jsonschema.Draft202012Validator
    checker = base.TYPE_CHECKER.redefine_many({
        "integer": lambda _checker, value: isinstance(value, int) and not isinstance(value, bool),
        "number": lambda _checker, value: _is_finite_number(value)})
    return jsonschema.validators.extend(base, type_checker=checker)


def _is_finite_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _check_run_methods(config: dict[str, Any], source: str) -> None:
    """A run's method is a built-in or an installed plug-in's (the schema cannot list plug-ins)."""
    from uasbench.methods.registry import ENTRY_POINT_GROUP, list_methods

    known = None
    for name, run in config["runs"].items():
        known = known or list_methods()
        if run["method"] not in known:
            raise ConfigError(f"{source}: invalid value at runs.{name}.method: {run['method']!r} is not a known method "
                              f"({', '.join(known)}; a package adds one through the entry point group "
                              f"{ENTRY_POINT_GROUP!r})")


def _check_training_methods(config: dict[str, Any], source: str) -> None:
    """A training entry's method is a known method that declares itself ``trainable`` (built-in or plug-in)."""
    from uasbench.methods.registry import ENTRY_POINT_GROUP, list_methods, method_spec

    known = list_methods() if config.get("training") else []
    for name, entry in config.get("training", {}).items():
        if entry["method"] in known and method_spec(entry["method"]).trainable:  # a broken plug-in's error here
            continue
        what = "is not trainable" if entry["method"] in known else "is not a known method"
        raise ConfigError(f"{source}: invalid value at training.{name}.method: {entry['method']!r} {what} "
                          f"(trainable methods: {', '.join(m for m in known if _trainable(m))}; a package adds one "
                          f"through the entry point group {ENTRY_POINT_GROUP!r})")


def _trainable(name: str) -> bool:
    """Whether the method ``name`` declares itself trainable; a plug-in that fails to load is not."""
    from uasbench.methods.registry import method_spec

    try:
        return method_spec(name).trainable
    except ConfigError:
        return False


def _check_method_options(config: dict[str, Any], source: str) -> None:
    """Option names and values of every training entry and run against the method's declared options (built-ins:
    uasbench.methods.catalog, nothing imported; plug-ins: their constructor), so a misspelt option or a wrong value
    fails here instead of hours into a job or silently as a default."""
    from uasbench.methods.options import entry_kwargs
    from uasbench.methods.registry import check_options, method_spec

    training = config.get("training", {})

    def trained_kwargs(entry: dict[str, Any]) -> dict[str, Any]:
        return entry_kwargs(entry, method_spec(entry["method"]).entry_options)

    for name, entry in training.items():
        check_options(entry["method"], trained_kwargs(entry), f"{source}: training.{name}.options")
    models = model_entries(config)
    for name, entry in config.get("checkpoints", {}).items():
        check_options(entry["method"], entry.get("options", {}), f"{source}: checkpoints.{name}.options")
    for name, run in config["runs"].items():
        if "model" in run:  # a run's options override the trained model's constructor options
            entry = models[run["model"]]
            check_options(entry["method"], {**trained_kwargs(entry), **run.get("options", {})},
                          f"{source}: runs.{name}.options")
        else:
            check_options(run["method"], run.get("options", {}), f"{source}: runs.{name}.options")


def load_config(path: str | Path, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Read, override and validate a workflow config; a missing file, bad YAML or a schema violation is a
    ConfigError naming the file, so a typo fails before any computation."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    config = load_yaml(path)
    if not isinstance(config, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level, got {type(config).__name__}")
    config = copy.deepcopy(config)
    if overrides:
        config.update(overrides)
    return validate_config(config, source=str(path))
