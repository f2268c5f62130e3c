"""Name → method class registry. Method modules are imported lazily so ``create('patchcore')`` never imports CLIP,
and a config is checked against the built-ins' declared options (uasbench.methods.catalog) without importing any.

A separate package adds a method without forking uasbench through the entry point group ``uasbench.methods``:
``name = "module:Class"`` (the class is registered under ``name``) or ``name = "module"`` (the module registers it
with ``@register_method(name)`` on import). Built-in names win over plug-ins of the same name.
"""

from __future__ import annotations

import importlib
import inspect
from typing import Any, Callable, TypeVar

from uasbench.errors import ConfigError
from uasbench.methods.catalog import BUILT_IN
from uasbench.methods.options import MethodSpec, Option

# Which module defines each method name; the module registers the class with @register_method on import.
METHOD_MODULES: dict[str, str] = {name: spec.module for name, spec in BUILT_IN.items()}

_REGISTRY: dict[str, type] = {}
T = TypeVar("T", bound=type)
ENTRY_POINT_GROUP = "uasbench.methods"


def register_method(name: str) -> Callable[[T], T]:
    """Class decorator: make a method available to ``create(name)`` and set its ``name`` attribute."""
    def decorator(cls: T) -> T:
        _REGISTRY[name] = cls
        cls.name = name
        return cls
    return decorator


def plugin_entry_points() -> dict[str, Any]:
    """Installed packages' methods, name → ``importlib.metadata.EntryPoint`` (looked up on every call: cheap, and a
    package installed into a running session is seen)."""
    from importlib import metadata

    return {ep.name: ep for ep in metadata.entry_points(group=ENTRY_POINT_GROUP) if ep.name not in METHOD_MODULES}


def list_methods() -> list[str]:
    """Built-in and installed plug-in method names, sorted; the modules are not imported."""
    return sorted({*METHOD_MODULES, *plugin_entry_points()})


def create(name: str, **config: Any):
    """Build the method ``name`` with its config (e.g. ``create("metauas", backbone="efficientnet_b4")``)."""
    cls = method_class(name)
    _check_options(name, cls, config)
    return cls(**config)


def method_class(name: str) -> type:
    """The class registered as ``name`` (importing its module: torch, not the model weights)."""
    if name not in METHOD_MODULES:
        return _plugin_class(name)
    if name not in _REGISTRY:
        try:
            importlib.import_module(METHOD_MODULES[name])
        except ModuleNotFoundError as err:
            if err.name == METHOD_MODULES[name]:
                raise ConfigError(f"method {name!r} is declared but its module {err.name} "
                                  "is not implemented yet") from err
            raise
    return _REGISTRY[name]


def _plugin_class(name: str) -> type:
    """Load the entry point ``name``; a broken plug-in is a ConfigError naming its package, not a traceback."""
    if name in _REGISTRY:
        return _REGISTRY[name]
    plugins = plugin_entry_points()
    if name not in plugins:
        raise ConfigError(f"unknown method {name!r}; known methods: {', '.join(list_methods())} (a package adds one "
                          f"through the entry point group {ENTRY_POINT_GROUP!r})")
    entry = plugins[name]
    try:
        loaded = entry.load()
    except Exception as err:
        raise ConfigError(f"method {name!r}: cannot load its entry point {entry.value!r} "
                          f"({type(err).__name__}: {err})") from err
    if isinstance(loaded, type):
        register_method(name)(loaded)
    if name not in _REGISTRY:
        raise ConfigError(f"method {name!r}: entry point {entry.value!r} names neither a class nor a module that "
                          f"registers {name!r} with @register_method")
    return _REGISTRY[name]


def method_spec(name: str) -> MethodSpec:
    """What a config may say about the method ``name``: a built-in's declared table (nothing imported), or a
    plug-in's read off its class (importing the plug-in: option names from its constructor, values unchecked)."""
    if name in BUILT_IN:
        return BUILT_IN[name]
    return signature_spec(_plugin_class(name))


def check_options(name: str, options: dict[str, Any], where: str = "") -> None:
    """Config-time check of option names and values, so a typo or a wrong value fails before any long job starts.

    ``where`` (e.g. ``"c.yaml: runs.r.options"``) prefixes the error.
    """
    method_spec(name).check(name, options, where)


def signature_spec(cls: type) -> MethodSpec:
    """A method class's options as its constructor's signature gives them (kinds unknown, so values unchecked).

    A constructor with ``**options`` declares what they may be in its class's ``extra_options`` (any name passes
    if absent).
    """
    signature = inspect.signature(cls.__init__).parameters.values()
    variadic = (inspect.Parameter.VAR_KEYWORD, inspect.Parameter.VAR_POSITIONAL)
    options = {p.name: Option("any", None if p.default is p.empty else p.default)
               for p in signature if p.name != "self" and p.kind not in variadic}
    extra = getattr(cls, "extra_options", None)
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in signature)
    if takes_any and extra is not None:
        options.update({key: options.get(key, Option("any")) for key in extra})
    return MethodSpec(cls.__module__, options, trainable=bool(getattr(cls, "trainable", False)),
                      entry_options=tuple(cls.entry_options), open=takes_any and extra is None,
                      image_score_rule=getattr(cls, "image_score_rule", None))


def _check_options(name: str, cls: type, config: dict[str, Any], where: str = "") -> None:
    """Unknown options are a ConfigError naming them, not a TypeError deep inside a constructor."""
    signature_spec(cls).check(name, config, where)
