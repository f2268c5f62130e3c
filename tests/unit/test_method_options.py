"""The declared option tables (uasbench/methods/catalog.py) equal the constructors they describe, for every method of
the registry, so a config checked without importing the model code is checked against what the model really takes."""

from __future__ import annotations

import dataclasses
import inspect
import os
import types
import typing

import pytest

from uasbench.errors import ConfigError
from uasbench.methods.catalog import BUILT_IN
from uasbench.methods.options import Option
from uasbench.methods.registry import METHOD_MODULES, list_methods, method_class

VARIADIC = (inspect.Parameter.VAR_KEYWORD, inspect.Parameter.VAR_POSITIONAL)


def declared_kinds(annotation: typing.Any) -> tuple[set[str], bool]:
    """(the option kinds that may declare a parameter of this annotation, whether None is allowed)."""
    union = typing.get_origin(annotation) in (typing.Union, types.UnionType)
    members = typing.get_args(annotation) if union else (annotation,)
    nullable = type(None) in members
    rest = [m for m in members if m is not type(None)]
    if rest == [str, os.PathLike]:
        return {"path"}, nullable
    if rest and all(typing.get_origin(m) in (tuple, list) and typing.get_args(m)[0] is int for m in rest):
        return {"ints"}, nullable
    assert len(rest) == 1, f"no option kind for {annotation}"
    return {bool: {"bool"}, int: {"int"}, float: {"float"}, str: {"str", "path"}}[rest[0]], nullable


def assert_matches(method: str, name: str, option: Option, annotation: typing.Any, default: typing.Any) -> None:
    kinds, nullable = declared_kinds(annotation)
    assert option.kind in kinds, f"{method}.{name}: declared {option.kind}, constructor says {annotation}"
    assert option.nullable == nullable, f"{method}.{name}: nullable={option.nullable}, constructor {annotation}"
    assert option.default == default and type(option.default) is type(default), \
        f"{method}.{name}: declared default {option.default!r}, constructor {default!r}"
    if default is not None:
        assert option.accepts(default), f"{method}.{name}: the constructor's default {default!r} is refused"


def test_every_registered_method_has_a_declared_table():
    assert sorted(BUILT_IN) == sorted(METHOD_MODULES) == list_methods()


@pytest.mark.parametrize("method", sorted(BUILT_IN))
def test_the_declared_table_equals_the_constructor(method):
    """Names, kinds, None-ness and defaults of every parameter; ``**options`` = the class's ``extra_options``;
    ``trainable``, ``entry_options``, ``image_score_rule`` and the module as the class has them."""
    spec, cls = BUILT_IN[method], method_class(method)
    assert (spec.module, spec.trainable, spec.entry_options) == (cls.__module__, cls.trainable,
                                                                 tuple(cls.entry_options))
    assert spec.image_score_rule == cls.image_score_rule
    hints = typing.get_type_hints(cls.__init__)
    params = [p for p in inspect.signature(cls.__init__).parameters.values()
              if p.name != "self" and p.kind not in VARIADIC]
    extra = set(getattr(cls, "extra_options", None) or ())
    assert set(spec.options) == {p.name for p in params} | extra
    for p in params:
        assert_matches(method, p.name, spec.options[p.name], hints[p.name], p.default)


@pytest.mark.parametrize("method", ["uniad", "onenip"])
def test_reconstruction_switches_equal_the_architecture_config(method):
    """The ``**options`` a reconstruction method passes on are ReconstructionConfig fields: same kind and default."""
    from uasbench.methods.reconstruction.model import ReconstructionConfig

    spec, cls = BUILT_IN[method], method_class(method)
    explicit = set(inspect.signature(cls.__init__).parameters)
    hints = typing.get_type_hints(ReconstructionConfig)
    fields = {f.name: f for f in dataclasses.fields(ReconstructionConfig)}
    switches = [name for name in spec.options if name in fields and name not in explicit]
    assert len(switches) >= 9, switches
    for name in switches:
        assert_matches(method, name, spec.options[name], hints[name], fields[name].default)


def test_declared_choices_are_the_ones_the_model_code_checks():
    from uasbench.methods.metauas.alignment import ALIGNMENT_MODES, FUSION_POLICIES
    from uasbench.methods.metauas.decoders import DECODERS
    from uasbench.methods.reconstruction.method import TRAINING_ONLY_OPTIONS
    from uasbench.methods.reconstruction.onenip import NORMALIZERS, PROMPT_DECODERS
    from uasbench.methods.reconstruction.training import TRAIN_PROMPT_MODES

    code = {("metauas", "alignment"): ALIGNMENT_MODES, ("metauas", "fusion"): FUSION_POLICIES,
            ("metauas", "decoder"): DECODERS, ("onenip", "prompt"): tuple(PROMPT_DECODERS),
            ("onenip", "normalizer"): tuple(NORMALIZERS), ("onenip", "train_prompt"): TRAIN_PROMPT_MODES,
            ("uniad", "train_prompt"): TRAIN_PROMPT_MODES, ("prompt-diff", "space"): ("pixel", "feature")}
    declared = {(m, name): option.choices for m, spec in BUILT_IN.items() for name, option in spec.options.items()
                if option.choices is not None}
    assert declared == code
    assert set(TRAINING_ONLY_OPTIONS) <= set(BUILT_IN["uniad"].options)
    with pytest.raises(ConfigError, match="space must be 'pixel' or 'feature'"):  # the constructor's own check
        method_class("prompt-diff")(space="latent")


@pytest.mark.parametrize("options, words", [
    ({"smoothing_sigma": "abc"}, r"runs\.r\.options\.smoothing_sigma = 'abc': method 'prompt-diff' takes a finite "
                                 r"number >= 0 there"),
    ({"smoothing_sigma": float("nan")}, r"smoothing_sigma = nan: .* a finite number >= 0"),
    ({"smoothing_sigma": -1}, r"smoothing_sigma = -1: .* >= 0"),
    ({"space": "latent"}, r"space = 'latent': .* one of 'pixel', 'feature'"),
    ({"pretrained": "yes"}, r"pretrained = 'yes': .* true or false"),
    ({"smoothing_sigma": True}, r"smoothing_sigma = True: .* a finite number"),
])
def test_a_wrong_option_value_names_the_key_the_value_and_what_is_expected(options, words):
    with pytest.raises(ConfigError, match=words):
        BUILT_IN["prompt-diff"].check("prompt-diff", options, "c.yaml: runs.r.options")


@pytest.mark.parametrize("option, good, bad", [
    (BUILT_IN["patchcore"].options["coreset_fraction"], [1, 0.5], [0, 1.5, float("inf")]),
    (BUILT_IN["patchcore"].options["num_neighbours"], [1, 7], [0, 2.0, True, None]),
    (BUILT_IN["patchcore"].options["seed"], [0, 2**64 - 1], [-1, 2**64]),
    (BUILT_IN["winclip"].options["scales"], [[2], (2, 3)], [[], [0], [2.5], "2,3"]),
    (BUILT_IN["metauas"].options["decoder_channels"], [None, [64, 32]], [[64, "32"], 64]),
    (BUILT_IN["clip"].options["pretrained_tag"], [None, "openai"], [3]),
    (BUILT_IN["uniad"].options["dropout"], [0, 0.5], [1, -0.1]),
])
def test_ranges(option, good, bad):
    assert all(option.accepts(v) for v in good) and not any(option.accepts(v) for v in bad)
