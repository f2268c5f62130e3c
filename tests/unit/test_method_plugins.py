"""A separate package adds a method through the entry point group ``uasbench.methods`` (no fork, no registry edit)."""

import sys
import types
from importlib import metadata

import pytest
import torch
from torch import nn

from uasbench.errors import ConfigError
from uasbench.methods import registry
from uasbench.methods.base import Method


class BrightnessMethod(Method):
    """Anomaly = brightness: a method a third-party package might ship."""

    shots = 0

    def __init__(self, gain: float = 1.0) -> None:
        self.model = nn.Identity()
        self.gain = gain
        self.weight_source = "none"

    def predict(self, query, prompt=None, category=None):
        maps = query.mean(1) * self.gain
        return maps, maps.flatten(1).amax(1)


MODULE_FORM = """
from torch import nn
from uasbench.methods.base import Method
from uasbench.methods.registry import register_method

@register_method("toy-module")
class Registered(Method):
    def __init__(self):
        self.model = nn.Identity()
"""


@pytest.fixture
def plugin(monkeypatch, tmp_path):
    """A fake installed distribution: entry points of the class form, the module form, a broken one and one that
    reuses a built-in name."""
    module = types.ModuleType("toy_uas_plugin")
    module.BrightnessMethod = BrightnessMethod
    monkeypatch.setitem(sys.modules, "toy_uas_plugin", module)
    (tmp_path / "toy_uas_registering.py").write_text(MODULE_FORM)
    monkeypatch.syspath_prepend(str(tmp_path))
    points = [metadata.EntryPoint("toy", "toy_uas_plugin:BrightnessMethod", registry.ENTRY_POINT_GROUP),
              metadata.EntryPoint("toy-module", "toy_uas_registering", registry.ENTRY_POINT_GROUP),
              metadata.EntryPoint("broken", "toy_uas_plugin:Missing", registry.ENTRY_POINT_GROUP),
              metadata.EntryPoint("patchcore", "toy_uas_plugin:BrightnessMethod", registry.ENTRY_POINT_GROUP)]
    real = metadata.entry_points

    def entry_points(**params):
        if params.get("group") == registry.ENTRY_POINT_GROUP:
            return metadata.EntryPoints(points)
        return real(**params)

    monkeypatch.setattr(metadata, "entry_points", entry_points)
    yield
    sys.modules.pop("toy_uas_registering", None)
    for name in ("toy", "toy-module"):
        registry._REGISTRY.pop(name, None)


def test_an_entry_point_method_is_listed_created_and_checked(plugin):
    assert "toy" in registry.list_methods() and "broken" in registry.list_methods()
    method = registry.create("toy", gain=2.0)
    maps, scores = method.predict(torch.ones(2, 3, 8, 8))
    assert isinstance(method, BrightnessMethod) and method.name == "toy" and float(scores[0]) == 2.0
    with pytest.raises(ConfigError, match="method 'toy': unknown option"):
        registry.check_options("toy", {"gian": 2.0})
    assert registry.method_class("patchcore") is not BrightnessMethod  # a built-in name is never replaced
    assert registry.create("toy-module").name == "toy-module"  # module form: importing it registers the class


def test_a_broken_entry_point_is_a_config_error(plugin):
    with pytest.raises(ConfigError, match="method 'broken': cannot load its entry point 'toy_uas_plugin:Missing'"):
        registry.create("broken")
    with pytest.raises(ConfigError, match="entry point group 'uasbench.methods'"):
        registry.create("not-installed")


def test_a_plugin_method_runs_end_to_end(plugin, tmp_path):
    from tests.fixtures.layouts import make_mvtec
    from uasbench.cli import main

    make_mvtec(tmp_path / "data")
    out = tmp_path / "out"
    assert main(["run", "--root", str(tmp_path / "data"), "--method", "toy", "--options", "gain=3",
                 "--image-size", "32", "--out", str(out)]) == 0
    assert "| toy | none | 32 |" in (out / "tables" / "main_data.md").read_text()
