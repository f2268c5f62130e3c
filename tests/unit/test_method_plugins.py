"""A separate package adds a method through the entry point group ``uasbench.methods`` (no fork, no registry edit)."""

import re
import sys
import types
from importlib import metadata
from pathlib import Path

import pytest
import torch
import yaml
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


def readme_block(language: str) -> str:
    """The first ``language`` code block of the README's "Add your method" section."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = readme.split("## Add your method", 1)[1]
    return re.search(rf"```{language}\n(.*?)```", section, re.S).group(1)


@pytest.fixture
def plugin(monkeypatch, tmp_path):
    """A fake installed distribution: entry points of the class form, the module form, a broken one and one that
    reuses a built-in name."""
    module = types.ModuleType("toy_uas_plugin")
    module.BrightnessMethod = BrightnessMethod
    monkeypatch.setitem(sys.modules, "toy_uas_plugin", module)
    (tmp_path / "toy_uas_registering.py").write_text(MODULE_FORM)
    (tmp_path / "toy_uas_trainable.py").write_text(readme_block("python"))
    monkeypatch.syspath_prepend(str(tmp_path))
    points = [metadata.EntryPoint("toy", "toy_uas_plugin:BrightnessMethod", registry.ENTRY_POINT_GROUP),
              metadata.EntryPoint("toy-module", "toy_uas_registering", registry.ENTRY_POINT_GROUP),
              metadata.EntryPoint("broken", "toy_uas_plugin:Missing", registry.ENTRY_POINT_GROUP),
              metadata.EntryPoint("patchcore", "toy_uas_plugin:BrightnessMethod", registry.ENTRY_POINT_GROUP),
              metadata.EntryPoint("tiny-ae", "toy_uas_trainable:TinyAE", registry.ENTRY_POINT_GROUP)]
    real = metadata.entry_points

    def entry_points(**params):
        if params.get("group") == registry.ENTRY_POINT_GROUP:
            return metadata.EntryPoints(points)
        return real(**params)

    monkeypatch.setattr(metadata, "entry_points", entry_points)
    yield
    for module_name in ("toy_uas_registering", "toy_uas_trainable"):
        sys.modules.pop(module_name, None)
    for name in ("toy", "toy-module", "tiny-ae"):
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


def _plugin_config(tmp_path) -> dict:
    """A config with the README's training entry and run, on a tiny MVTec folder, trained for one epoch."""
    from tests.fixtures.layouts import make_mvtec
    from uasbench.config import validate_config

    make_mvtec(tmp_path / "data")
    example = yaml.safe_load(readme_block("yaml"))
    example["training"]["ae"].update(data="d", image_size=32, epochs=1, batch_size=4)
    return validate_config({"tier": "custom", "results_dir": str(tmp_path / "results"),
                            "datasets": {"d": {"kind": "mvtec", "root": str(tmp_path / "data"), "image_size": 32}},
                            **example})


def test_the_readme_trainable_plugin_trains_and_predicts(plugin, tmp_path):
    """The README's example, installed as an entry point: validated as trainable, trained one epoch by
    run_training (its own defaults under the entry's keys), then predicted from its model.pt."""
    from uasbench.pipeline.predict import run_predict
    from uasbench.pipeline.train import run_training

    config = _plugin_config(tmp_path)
    summary = run_training(config, "ae", torch.device("cpu"))
    assert [h["epoch"] for h in summary["history"]] == [1]
    assert summary["settings"]["spec"]["lr"] == 1e-3  # train_defaults, not the loop's fallback 1e-4
    assert summary["n_train_items"] == 5  # the fixture's normal training images (bottle 3, cable 2)
    meta = run_predict(config, "ae", "d", 0, tmp_path / "pred", torch.device("cpu"))
    assert meta["method"] == "tiny-ae" and meta["checkpoint"].endswith("model.pt") and meta["n_images"] > 0


@pytest.mark.parametrize("method, words", [("toy", "'toy' is not trainable"),
                                           ("random", "'random' is not trainable"),
                                           ("tiny-aee", "'tiny-aee' is not a known method")])
def test_only_a_trainable_method_may_be_trained(plugin, tmp_path, method, words):
    """The schema lists no method names; validation asks the registry, and names the trainable ones."""
    from uasbench.config import validate_config

    config = _plugin_config(tmp_path)
    config["training"]["ae"]["method"] = method
    config["runs"] = {"r": {"method": "random", "prompt": "none"}}
    with pytest.raises(ConfigError, match=rf"invalid value at training\.ae\.method: {words} \(trainable methods: "
                                          rf"metauas, onenip, tiny-ae, uniad;"):
        validate_config(config)
