"""uasbench.layout: the one place that spells the results tree, for the rules' patterns and the commands alike."""

from __future__ import annotations

from pathlib import Path

import pytest

from uasbench import layout
from uasbench.errors import ConfigError, DataError

CONFIG = {"results_dir": "results/ci", "tier": "ci", "runs": {"metauas": {}, "winclip+": {}},
          "datasets": {"synthetic": {}}}


def test_paths_with_wildcards_are_the_rules_patterns():
    """Snakemake fills these patterns in; the same functions called with values give the files a command reads."""
    assert str(layout.prediction_meta(CONFIG, "{run}", "{dataset}", "{seed}")) == \
        "results/ci/predictions/{dataset}/{run}/seed{seed}/meta.json"
    assert str(layout.metrics_file(CONFIG, "{run}", "{dataset}", "{seed}", protocol="{protocol}")) == \
        "results/ci/metrics_{protocol}/{dataset}/{run}/seed{seed}.json"
    assert str(layout.log_file(CONFIG, "evaluate", *layout.job_key("{run}", "{dataset}", "{seed}"))) == \
        "results/ci/logs/evaluate/{dataset}/{run}/seed{seed}.log"
    assert str(layout.benchmark_file(CONFIG, "train", "{model}")) == "results/ci/benchmarks/train/{model}.tsv"
    assert str(layout.log_file(CONFIG, "track")) == "results/ci/logs/track.log"
    assert str(layout.model_file(CONFIG, "{model}")) == "results/ci/models/{model}/model.pt"
    assert str(layout.report_dir(CONFIG)) == "reports/ci"
    official = {**CONFIG, "report_dir": "reports/official", "checkpoints": {"m": {}}}
    assert str(layout.report_dir(official)) == "reports/official"
    assert str(layout.model_file(official, "m")) == "results/ci/converted/m/model.pt"  # not the train rule's file


def test_filled_in_paths():
    assert layout.metrics_file(CONFIG, "metauas", "synthetic", 3) == \
        Path("results/ci/metrics/synthetic/metauas/seed3.json")
    assert layout.prediction_dir(CONFIG, "winclip+", "synthetic", 1) == \
        Path("results/ci/predictions/synthetic/winclip+/seed1")
    assert layout.efficiency_file(CONFIG, "metauas") == Path("results/ci/efficiency/metauas.json")
    assert layout.change_pairs_manifest(CONFIG) == Path("results/ci/data/change_pairs/manifest.json")
    assert layout.dataset_marker(CONFIG, "synthetic") == Path("results/ci/data/synthetic/dataset.json")
    assert layout.tracking_done(CONFIG) == Path("results/ci/tracking/logged.json")
    assert layout.resolved_config(CONFIG) == Path("results/ci/config.resolved.yaml")


@pytest.mark.parametrize("protocol", [None, "uniad-compat"])
def test_a_metrics_path_parses_back_into_its_job(protocol):
    path = layout.metrics_file(CONFIG, "winclip+", "synthetic", 7, protocol=protocol)
    assert layout.parse_metrics_file(path, CONFIG) == layout.MetricsKey("synthetic", "winclip+", 7, protocol)


@pytest.mark.parametrize("name", ["metrics/d/r/seed0 (copy).json", "metrics/d/it's/seed0.json",
                                  "metrics/d/r/seed1a.json", "other/d/r/seed0.json", "d/r/seed0.json"])
def test_look_alike_metrics_paths_are_refused(name):
    with pytest.raises(DataError, match="seed<N>.json"):
        layout.parse_metrics_file(Path("results") / name)


@pytest.mark.parametrize("run, dataset, word", [("gone", "synthetic", "run 'gone'"),
                                                ("metauas", "mvtec", "dataset 'mvtec'")])
def test_metrics_of_what_the_config_does_not_define_are_refused(run, dataset, word):
    path = layout.metrics_file(CONFIG, run, dataset, 0)
    layout.parse_metrics_file(path)  # a well-formed name: only the config makes it stale
    with pytest.raises(DataError, match=word) as info:
        layout.parse_metrics_file(path, CONFIG)
    assert str(path) in str(info.value)


def test_model_names_cannot_leave_the_models_folder(tmp_path):
    config = {"results_dir": str(tmp_path)}
    assert layout.model_dir(config, "m") == tmp_path / "models" / "m"
    for bad in ("../x", "/etc"):
        with pytest.raises(ConfigError, match="outside"):
            layout.model_dir(config, bad)


def test_found_files_are_sorted_and_checked(tmp_path):
    config = {**CONFIG, "results_dir": str(tmp_path)}
    made = [layout.metrics_file(config, r, "synthetic", s, protocol=p) for r, s, p in
            [("winclip+", 1, None), ("metauas", 3, None), ("metauas", 1, None), ("metauas", 1, "metauas-compat")]]
    for path in made:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("{}")
    assert layout.find_metrics_files(config) == sorted(made[:3])
    assert layout.find_metrics_files(config, protocols=True) == [made[3]]
    for seed in (3, 1):
        layout.prediction_meta(config, "metauas", "synthetic", seed).parent.mkdir(parents=True)
        layout.prediction_meta(config, "metauas", "synthetic", seed).write_text("{}")
    layout.prediction_dir(config, "metauas", "synthetic", 5).mkdir()  # unfinished: no meta.json
    assert layout.find_predictions(config, "metauas", "synthetic") == [
        layout.prediction_dir(config, "metauas", "synthetic", s) for s in (1, 3)]
    (tmp_path / "metrics" / "synthetic" / "metauas" / "seed1 (copy).json").write_text("{}")
    with pytest.raises(DataError, match="seed1 \\(copy\\).json"):
        layout.find_metrics_files(config)
