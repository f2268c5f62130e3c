"""Load and validate workflow configs; errors name the offending key so a typo never runs silently."""

from __future__ import annotations

import copy
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from uasbench.datasets.splits import GENERATED_KIND, dataset_root
from uasbench.errors import ConfigError

__all__ = ["dataset_root", "load_config", "load_schema", "validate_config"]


def load_schema() -> dict[str, Any]:
    """The JSON schema every config is validated against, read from the installed package."""
    return yaml.safe_load(resources.files("uasbench").joinpath("config.schema.yaml").read_text())


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
        raise ConfigError(f"{source}: invalid value at {_key_path(err.absolute_path)}: {err.message}")
    training = config.get("training", {})
    _check_run_methods(config, source)
    _check_training_methods(config, source)
    for name, run in config["runs"].items():
        if "model" in run and run["model"] not in training:
            raise ConfigError(f"{source}: runs.{name}.model = {run['model']!r} is not a key of 'training' "
                              f"(known: {', '.join(sorted(training)) or 'none'})")
        for ds in run.get("datasets", []):
            if ds not in config["datasets"]:
                raise ConfigError(f"{source}: runs.{name}.datasets names unknown dataset {ds!r}")
    for name, table in config.get("tables", {}).items():
        for run in table["runs"]:
            if run not in config["runs"]:
                raise ConfigError(f"{source}: tables.{name}.runs names unknown run {run!r}")
        for ds in table.get("datasets", []):
            if ds not in config["datasets"]:
                raise ConfigError(f"{source}: tables.{name}.datasets names unknown dataset {ds!r}")
    for name, ds in config["datasets"].items():
        if ds["kind"] != GENERATED_KIND and not ds.get("root"):
            raise ConfigError(f"{source}: datasets.{name}.root must name the {ds['kind']} folder")
    for name, entry in training.items():
        data = entry.get("data")
        for key in ([data] if isinstance(data, str) else data or []):
            if key != "change_pairs" and key not in config["datasets"]:
                raise ConfigError(f"{source}: training.{name}.data names {key!r}, neither 'change_pairs' nor a dataset")
    _check_method_options(config, source)
    apply_defaults(schema, config)
    return config


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
    """Draft 2020-12 with one change: a float is never an ``integer`` (the spec lets 64.0 pass, which then crashes
    as a tensor size or ``range`` bound deep inside a job)."""
    import jsonschema

    base = jsonschema.Draft202012Validator
    checker = base.TYPE_CHECKER.redefine(
        "integer", lambda _checker, value: isinstance(value, int) and not isinstance(value, bool))
    return jsonschema.validators.extend(base, type_checker=checker)


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
    """A training entry's method is a known method whose class declares ``trainable`` (built-in or plug-in)."""
    from uasbench.methods.registry import ENTRY_POINT_GROUP, list_methods, method_class

    for name, entry in config.get("training", {}).items():
        known = list_methods()
        if entry["method"] in known and method_class(entry["method"]).trainable:  # a broken plug-in's error here
            continue
        what = "is not trainable" if entry["method"] in known else "is not a known method"
        raise ConfigError(f"{source}: invalid value at training.{name}.method: {entry['method']!r} {what} "
                          f"(trainable methods: {', '.join(m for m in known if _trainable(m))}; a package adds one "
                          f"through the entry point group {ENTRY_POINT_GROUP!r})")


def _trainable(name: str) -> bool:
    """Whether the method ``name`` declares itself trainable; a plug-in that fails to load is not."""
    from uasbench.methods.registry import method_class

    try:
        return bool(method_class(name).trainable)
    except ConfigError:
        return False


def _check_method_options(config: dict[str, Any], source: str) -> None:
    """Option names of every training entry and run against the method's constructor (imports the method modules,
    builds nothing), so a misspelt option fails here instead of hours into a job or silently as a default."""
    from uasbench.methods.registry import check_options, method_class

    training = config.get("training", {})
    for name, entry in training.items():
        check_options(entry["method"], method_class(entry["method"]).entry_kwargs(entry),
                      f"{source}: training.{name}.options")
    for name, run in config["runs"].items():
        if "model" in run:  # a run's options override the trained model's constructor options
            entry = training[run["model"]]
            check_options(entry["method"], {**method_class(entry["method"]).entry_kwargs(entry),
                                            **run.get("options", {})}, f"{source}: runs.{name}.options")
        else:
            check_options(run["method"], run.get("options", {}), f"{source}: runs.{name}.options")


def load_config(path: str | Path, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Read, override and validate a workflow config; a missing file, bad YAML or a schema violation is a
    ConfigError naming the file, so a typo fails before any computation."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    try:
        config = yaml.safe_load(path.read_text())
    except yaml.YAMLError as err:
        raise ConfigError(f"{path}: not valid YAML: {err}") from err
    if not isinstance(config, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level, got {type(config).__name__}")
    config = copy.deepcopy(config)
    if overrides:
        config.update(overrides)
    return validate_config(config, source=str(path))
