"""Declared constructor options (timm style): what each option of a method is, checked without importing torch.

A method's options are its constructor's keyword arguments. :class:`MethodSpec` declares them as a table of
:class:`Option` (kind of value, default, allowed range or choices), with the class facts a config check needs
(``trainable``, ``entry_options``), so a config loads and is checked in a process that never imports the model code.
``tests/unit/test_method_options.py`` holds every table equal to its constructor's real signature.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping

from uasbench.errors import ConfigError

#: kinds of option value, as an error message words them; "any" is a plug-in's option known only by its name
KINDS = {"bool": "true or false", "int": "a whole number", "float": "a finite number", "str": "a text",
         "path": "a file path", "ints": "a non-empty list of whole numbers", "any": "any value"}
#: training-entry keys passed to a constructor besides ``options`` unless a method declares others
DEFAULT_ENTRY_OPTIONS = ("backbone", "backbone_weights")


@dataclass(frozen=True)
class Option:
    """One constructor option: ``kind`` of value, its ``default``, whether None is allowed, and the allowed values
    (an interval ``low``..``high``, each end closed unless ``*_open``, or ``choices``)."""

    kind: str
    default: Any = None
    nullable: bool = False
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    choices: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"option kind {self.kind!r} is not one of {', '.join(KINDS)}")

    def expected(self) -> str:
        """What a valid value is, in words (for the error message)."""
        if self.choices is not None:
            what = "one of " + ", ".join(repr(c) for c in self.choices)
        else:
            what = KINDS[self.kind] + self._range()
        return what + (" (or null)" if self.nullable else "")

    def _range(self) -> str:
        low, high = _bound(self.low), _bound(self.high)
        if low and high:
            return f" in {'(' if self.low_open else '['}{low}, {high}{')' if self.high_open else ']'}"
        if low:
            return f" {'>' if self.low_open else '>='} {low}"
        if high:
            return f" {'<' if self.high_open else '<='} {high}"
        return ""

    def accepts(self, value: Any) -> bool:
        """Whether ``value`` (as read from YAML) is a valid value of this option."""
        if self.kind == "any":
            return True
        if value is None:
            return self.nullable
        if self.kind == "ints":
            return isinstance(value, (list, tuple)) and len(value) > 0 and all(self._number_ok(v, int) for v in value)
        if self.kind == "bool":
            return isinstance(value, bool)
        if self.kind in ("str", "path"):
            return isinstance(value, str) and (self.choices is None or value in self.choices)
        return self._number_ok(value, int if self.kind == "int" else (int, float))

    def _number_ok(self, value: Any, types: type | tuple[type, ...]) -> bool:
        if isinstance(value, bool) or not isinstance(value, types) or not math.isfinite(value):
            return False
        if self.low is not None and (value <= self.low if self.low_open else value < self.low):
            return False
        return self.high is None or (value < self.high if self.high_open else value <= self.high)


def flag(default: bool) -> Option:
    """A true/false switch."""
    return Option("bool", default)


def whole(default: int, low: int | None = None, high: int | None = None) -> Option:
    """A whole number in [low, high] (64.0 is not one: it would crash later as a size or a range bound)."""
    return Option("int", default, low=low, high=high)


def number(default: float, low: float | None = None, high: float | None = None, low_open: bool = False,
           high_open: bool = False) -> Option:
    """A finite number (a whole one too) in the interval low..high, each end closed unless ``*_open``."""
    return Option("float", default, low=low, high=high, low_open=low_open, high_open=high_open)


def text(default: str | None, choices: tuple[str, ...] | None = None, nullable: bool = False) -> Option:
    """A text, one of ``choices`` when given."""
    return Option("str", default, nullable=nullable, choices=choices)


def path(default: str | None = None) -> Option:
    """A file path, or null for none."""
    return Option("path", default, nullable=True)


def wholes(default: tuple[int, ...] | None, low: int = 1, nullable: bool = False) -> Option:
    """A non-empty list of whole numbers, each >= ``low``."""
    return Option("ints", default, nullable=nullable, low=low)


@dataclass(frozen=True)
class MethodSpec:
    """A method as a config sees it: the module that registers its class, its constructor ``options``, whether
    ``uasbench train`` trains it and which training-entry keys become constructor arguments. ``open`` = the
    constructor takes any further keyword (a plug-in's ``**kwargs`` without ``extra_options``): names unchecked."""

    module: str
    options: Mapping[str, Option]
    trainable: bool = False
    entry_options: tuple[str, ...] = DEFAULT_ENTRY_OPTIONS
    open: bool = False
    #: the rule its own image score follows (``Method.image_score_rule``), read by evaluation without the model code
    image_score_rule: str | None = None

    def check(self, name: str, options: Mapping[str, Any], where: str = "") -> None:
        """Unknown option names, then values outside their declared kind or range, as a ConfigError naming the key,
        the value and what is expected."""
        prefix = f"{where}: " if where else ""
        unknown = [] if self.open else sorted(set(options) - set(self.options))
        if unknown:
            raise ConfigError(f"{prefix}method {name!r}: unknown option(s) {', '.join(unknown)}; "
                              f"known: {', '.join(sorted(self.options))}")
        for key, value in options.items():
            option = self.options.get(key)
            if option is not None and not option.accepts(value):
                location = f"{where}.{key}" if where else f"option {key}"
                raise ConfigError(f"{location} = {_shown(value)}: method {name!r} takes {option.expected()} there")


def entry_kwargs(entry: Mapping[str, Any], entry_options: tuple[str, ...]) -> dict[str, Any]:
    """Constructor arguments of a training entry: its ``options`` plus the set keys ``entry_options`` names."""
    kwargs = dict(entry.get("options") or {})
    kwargs.update({key: entry[key] for key in entry_options if entry.get(key) is not None})
    return kwargs


def _bound(value: float | None) -> str:
    """An interval end as written in a config ("" for none): whole numbers in full, others as %g."""
    return "" if value is None else str(value) if isinstance(value, int) else f"{value:g}"


def _shown(value: Any, limit: int = 80) -> str:
    """``repr(value)`` cut to ``limit`` characters, so a huge value never floods the error line."""
    shown = repr(value)
    return shown if len(shown) <= limit else shown[:limit - 3] + "..."
