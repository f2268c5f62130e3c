"""Outputs that must neither lose nor pollute data: ``uasbench run`` into a folder an earlier or a parallel call
wrote, an output inside its own input (``run --out`` in the dataset, ``predict --out`` over it, ``evaluate --out``
in the predictions), and ``uasbench track`` failing partway. Each is refused before any model runs (exit 2, one
line naming the folder), or leaves the earlier result as it was."""

from __future__ import annotations

import csv
import json
import shutil

import pytest
import yaml
from filelock import FileLock

from tests.fixtures.scratches import PIXEL_RUN, make_scratch_folder
from tests.integration.test_bad_input import assert_clean_error, run_cli, write_config

# a fixture shared with a sibling module: imported by name (F401), then requested as a test parameter (F811)
from tests.integration.test_bad_input_safety import no_computing, snapshot  # noqa: F401
from uasbench import layout
from uasbench.tracking import search_runs


@pytest.fixture(scope="module")
def scratches(tmp_path_factory):
    return make_scratch_folder(tmp_path_factory.mktemp("user") / "scratches")


@pytest.fixture(scope="module")
def earlier(scratches, tmp_path_factory):
    """The output folder of one finished call: prompt-diff in pixel space, seed 1, 32 px."""
    from uasbench.cli import main

    out = tmp_path_factory.mktemp("earlier") / "out"
    assert main(["run", "--root", str(scratches), *PIXEL_RUN, "--image-size", "32", "--seeds", "1",
                 "--out", str(out)]) == 0
    return out


def copy_of(earlier, where):
    """A copy of the earlier output folder whose config.yaml names the copy (as if that call had written it)."""
    out = shutil.copytree(earlier, where)
    config = yaml.safe_load((out / "config.yaml").read_text())
    (out / "config.yaml").write_text(yaml.safe_dump({**config, "results_dir": str(out)}, sort_keys=False))
    return out


def user_run(capsys, scratches, out, *argv):
    return run_cli(capsys, "run", "--root", scratches, "--out", out, *argv)


# --- uasbench run into a folder an earlier or a parallel call wrote -------------------------------------------

@pytest.mark.parametrize("argv, changed", [
    ([*PIXEL_RUN, "--image-size", "32", "--seeds", "2"], "runs.prompt-diff.seeds: [1] -> [2]"),
    ([*PIXEL_RUN, "--image-size", "64", "--seeds", "1"], "datasets.scratches.image_size: 32 -> 64"),
    (["--method", "random", "--image-size", "32"], "runs.prompt-diff: removed; runs.random: added"),
], ids=["other-seed", "other-size", "other-method"])
def test_a_run_with_other_settings_into_an_earlier_out_is_refused_before_computing(
        scratches, earlier, capsys, no_computing, argv, changed):  # noqa: F811
    """Was: the table averaged the new seed with the earlier call's ("Input 32, Seeds 2" from a 64 px and a 32 px
    seed); another method failed only after its compute, on the earlier method's metrics file."""
    before = snapshot(earlier)
    code, _, err = user_run(capsys, scratches, earlier, *argv)
    assert_clean_error(code, err, earlier, "earlier 'uasbench run' with other settings", changed, "choose a new --out")
    assert snapshot(earlier) == before


def test_the_same_run_again_tabulates_only_what_it_ran(scratches, earlier, tmp_path, capsys):
    out = copy_of(earlier, tmp_path / "out")
    seed1 = out / "metrics" / "scratches" / "prompt-diff" / "seed1.json"
    shutil.copy(seed1, seed1.with_name("seed7.json"))  # a stray file of no call of these settings
    code, _, err = user_run(capsys, scratches, out, *PIXEL_RUN, "--image-size", "32", "--seeds", "1")
    assert code == 0, err
    rows = list(csv.DictReader((out / "tables" / "main_scratches.csv").open()))
    assert [(row["Input"], row["Seeds"]) for row in rows] == [("32", "1")]
    assert yaml.safe_load((out / "config.yaml").read_text())["results_dir"] == str(out)


def test_a_second_call_while_one_writes_into_the_same_out_is_refused(scratches, earlier, tmp_path, capsys,
                                                                     no_computing):  # noqa: F811
    """Was: two parallel calls left config.yaml naming one run while the tables showed the other."""
    out = copy_of(earlier, tmp_path / "out")
    before = snapshot(out)
    with FileLock(layout.run_lock({"results_dir": str(out)})):  # the first call, still writing
        code, _, err = user_run(capsys, scratches, out, *PIXEL_RUN, "--image-size", "32", "--seeds", "1")
    assert_clean_error(code, err, out, "another 'uasbench run' is writing into", "choose another --out")
    assert snapshot(out) == before


# --- outputs inside their own inputs --------------------------------------------------------------------------

@pytest.mark.parametrize("where, relation", [("root", "is --root"), ("inside", "is inside --root"),
                                             ("around", "holds --root")])
def test_run_out_in_or_around_the_dataset_is_refused(scratches, capsys, no_computing, where, relation):  # noqa: F811
    """Was: ``--out ds`` wrote config.yaml and predictions/ into the dataset, and every later run on it failed."""
    out = {"root": scratches, "inside": scratches / "results", "around": scratches.parent}[where]
    before = snapshot(scratches.parent)
    code, _, err = user_run(capsys, scratches, out, "--method", "random")
    assert_clean_error(code, err, out, relation, scratches, "choose an output path outside it")
    assert snapshot(scratches.parent) == before and not (scratches / "results").exists()


def test_predict_force_never_replaces_the_dataset_folder(scratches, tmp_path, capsys, no_computing):  # noqa: F811
    data = shutil.copytree(scratches, tmp_path / "data")
    config = write_config(tmp_path / "c.yaml", tmp_path / "results",
                          datasets={"d": {"kind": "folder", "root": str(data), "image_size": 32}})
    before = snapshot(data)
    code, _, err = run_cli(capsys, "predict", "random", "--config", config, "--dataset", "d", "--out", data, "--force")
    assert_clean_error(code, err, data, "is the folder of dataset 'd'")
    assert snapshot(data) == before


@pytest.mark.parametrize("name", ["meta.json", "sub/metrics.json"])
def test_evaluate_out_inside_the_predictions_is_refused(earlier, tmp_path, capsys, name):
    """Was: ``--out P/meta.json`` overwrote the prediction's meta.json with the metrics, exit 0."""
    pred = shutil.copytree(earlier / "predictions" / "scratches" / "prompt-diff" / "seed1", tmp_path / "seed1")
    before = snapshot(pred)
    code, _, err = run_cli(capsys, "evaluate", "--pred", pred, "--out", pred / name)
    assert_clean_error(code, err, pred / name, "is inside --pred", pred)
    assert snapshot(pred) == before


# --- uasbench track failing partway -----------------------------------------------------------------------------

def test_track_failing_partway_keeps_the_earlier_run(earlier, tmp_path, capsys):
    """Was: the earlier FINISHED run was deleted first, and the new one was left RUNNING without artifacts."""
    out = copy_of(earlier, tmp_path / "out")
    logged = out / "tracking" / "logged.json"
    code, _, err = run_cli(capsys, "track", "--config", out / "config.yaml", "--out", logged)
    assert code == 0, err
    uri = f"sqlite:///{out / 'mlflow.db'}"
    run_id = json.loads(logged.read_text())["runs"][0]["run_id"]
    logged_before = logged.read_bytes()

    config = yaml.safe_load((out / "config.yaml").read_text())
    (out / "blocker").write_text("a file where the artifact folder should be\n")
    broken = tmp_path / "broken.yaml"
    broken.write_text(yaml.safe_dump({**config, "mlflow": {"artifact_location": "blocker"}}))
    code, _, err = run_cli(capsys, "track", "--config", broken, "--out", logged)
    assert_clean_error(code, err, out / "blocker", "cannot write the MLflow artifact")
    runs = search_runs(uri)  # the live runs
    assert list(runs["run_id"]) == [run_id] and list(runs["status"]) == ["FINISHED"]
    assert logged.read_bytes() == logged_before
