"""What ``uasbench track`` leaves in the store, read back with MLflow's own client: every run complete."""

import shutil
import subprocess

import pytest

from tests.fixtures.tracked import TRAIN_HISTORY, make_tracked_results

pytest.importorskip("mlflow")
HEAD = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()


@pytest.fixture(scope="module")
def tracked(tmp_path_factory):
    from uasbench.pipeline.track import track_all

    tmp = tmp_path_factory.mktemp("tracked")
    config = make_tracked_results(tmp)
    track_all(config, tmp / "logged.json")
    return config


def _runs(config):
    from mlflow.tracking import MlflowClient

    from uasbench.tracking import tracking_uri_for

    client = MlflowClient(tracking_uri_for(config))
    experiments = {e.name: e for e in client.search_experiments() if e.name.startswith("uasbench/")}
    return client, experiments, {name: client.search_runs([e.experiment_id]) for name, e in experiments.items()}


def test_every_run_has_metrics_aliases_tags_times_and_artifacts(tracked):
    from uasbench.tracking import artifact_root

    client, experiments, runs = _runs(tracked)
    assert set(experiments) == {"uasbench/custom/mydata", "uasbench/custom/_training"}
    assert all(e.tags.get("mlflow.experimentKind") == "custom_model_development" for e in experiments.values())
    predictions = runs["uasbench/custom/mydata"]
    assert len(predictions) == 2 and len(runs["uasbench/custom/_training"]) == 1
    for run in predictions + runs["uasbench/custom/_training"]:
        tags = run.data.tags
        assert tags["mlflow.source.name"].startswith(("uasbench predict", "uasbench train"))
        if HEAD:  # a git checkout (a source tarball has no commit to record)
            assert tags["mlflow.source.git.commit"] == HEAD and tags["uasbench.git.dirty"] in ("true", "false")
        assert tags["model"] and run.data.params["run.model"] == tags["model"]
        assert 0 < run.info.start_time < run.info.end_time and run.info.status == "FINISHED"
        assert run.info.artifact_uri.startswith("mlflow-artifacts:/")  # no absolute path in the store
        local = artifact_root(tracked) / run.info.artifact_uri.removeprefix("mlflow-artifacts:/")
        assert sorted(p.name for p in local.iterdir())
    for run in predictions:
        metrics = run.data.metrics
        assert {"P-AP", "P_AP", "I_AUROC", "cat.bottle.P_AP", "params_total"} <= set(metrics)
        assert metrics["P_AP"] == metrics["P-AP"] and run.data.tags["model"] == "none"  # 'random' is untrained
        local = artifact_root(tracked) / run.info.artifact_uri.removeprefix("mlflow-artifacts:/")
        assert {p.name for p in local.iterdir()} == {f"seed{run.data.params['seed']}.json", "config.yaml",
                                                     "heatmaps.png"}


def test_search_without_back_quotes(tracked):
    client, experiments, _ = _runs(tracked)
    exp = experiments["uasbench/custom/mydata"].experiment_id
    assert len(client.search_runs([exp], filter_string="metrics.P_AP >= 0")) == 2
    assert len(client.search_runs([exp], filter_string="metrics.cat.bottle.I_AUROC >= 0")) == 2


def test_training_run_logs_the_loss_per_epoch(tracked):
    client, _, runs = _runs(tracked)
    run = runs["uasbench/custom/_training"][0]
    history = client.get_metric_history(run.info.run_id, "loss")
    assert [(m.step, m.value) for m in sorted(history, key=lambda m: m.step)] == [
        (row["epoch"], row["loss"]) for row in TRAIN_HISTORY]
    assert run.data.params["training.epochs"] == "3" and run.data.tags["model"] == "tiny"
    assert run.info.end_time - run.info.start_time == 6000  # three epochs of 2 s


def test_a_copied_results_folder_keeps_its_artifacts(tracked, tmp_path):
    """The store names artifacts relative to its artifact folder: a copy reads its own files, not the original's."""
    from uasbench.tracking import artifact_root

    copy = tmp_path / "moved"
    shutil.copytree(tracked["results_dir"], copy)
    _, _, runs = _runs({**tracked, "results_dir": str(copy)})
    run = runs["uasbench/custom/mydata"][0]
    rel = run.info.artifact_uri.removeprefix("mlflow-artifacts:/")
    assert (artifact_root({**tracked, "results_dir": str(copy)}) / rel / "config.yaml").is_file()
    assert str(tracked["results_dir"]) not in run.info.artifact_uri
