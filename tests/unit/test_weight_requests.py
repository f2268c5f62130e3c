"""Contract over the whole method registry: the pretrained weights a method declares (``Method.weight_requests``,
what the config-level check resolves before any job computes) are exactly the ones building it resolves, so every
method whose options name pretrained weights goes through the check; and under the guard a random one is refused."""

from __future__ import annotations

import pytest

from tests.fixtures.method_options import OPTIONS
from tests.fixtures.weight_caches import empty_weight_caches
from uasbench.backbones import clip, registry
from uasbench.backbones.weights import refuse_random_weights
from uasbench.errors import ConfigError
from uasbench.methods import list_methods
from uasbench.methods.registry import create, method_class
from uasbench.pipeline.weights import config_needs, resolve_request


@pytest.fixture(autouse=True)
def empty_caches(tmp_path, monkeypatch):
    return empty_weight_caches(tmp_path, monkeypatch)


@pytest.fixture
def resolved(monkeypatch) -> list[str]:
    """The name of every pretrained weight resolved while a method is built (backbone presets and CLIP models)."""
    seen: list[str] = []
    for module in (registry, clip):
        original = module.resolve_weights

        def recording(what, weights, pretrained, *args, _original=original, **kwargs):
            if pretrained:
                seen.append(what)
            return _original(what, weights, pretrained, *args, **kwargs)
        monkeypatch.setattr(module, "resolve_weights", recording)
    return seen


def _without_network_choice(name: str) -> dict:
    """The registry-wide small options with the method's own network choice dropped: its default (the paper's)."""
    declared = method_class(name).weight_parameters
    options = dict(OPTIONS[name])
    if declared is not None and declared.kind == "backbone":
        options.pop(declared.name, None)
    return options


CASES = [(name, OPTIONS[name]) for name in sorted(OPTIONS)]
CASES += [(name, _without_network_choice(name)) for name in sorted(OPTIONS) if _without_network_choice(name) !=
          OPTIONS[name]]


def test_every_registered_method_is_covered():
    assert sorted(OPTIONS) == list_methods()


@pytest.mark.parametrize("name,options", CASES, ids=[f"{n}-{sorted(o.items())}"[:60] for n, o in CASES])
def test_declared_weights_are_the_ones_the_method_resolves(name, options, resolved):
    requests = [r for r in method_class(name).weight_requests(options) if r.pretrained]
    declared = [resolve_request(r)[0] for r in requests]
    resolved.clear()  # resolving the requests above went through the same functions
    create(name, **options)
    assert resolved == declared
    random = [what for what, choice in ((w, resolve_request(r)[1]) for w, r in zip(declared, requests))
              if choice.is_random]
    config = {"runs": {"r": {"method": name, "options": options}}}
    assert [need.what for need in config_needs(config) if need.refused] == random
    resolved.clear()
    if random:  # the guard behind the config check refuses the same weight while the model is built
        with refuse_random_weights(), pytest.raises(ConfigError, match="allow_random_weights"):
            create(name, **options)
    else:
        with refuse_random_weights():
            create(name, **options)


def test_a_checkpoint_carries_every_weight():
    assert method_class("metauas").weight_requests({"checkpoint": "m.pt"}) == []
    assert [r.name for r in method_class("onenip").weight_requests({})] == ["efficientnet_b4"]
    assert method_class("prompt-diff").weight_requests({}) == []  # pixel space: no network
