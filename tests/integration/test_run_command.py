"""``uasbench run``: one command from a user's MVTec-layout folder to a table (custom tier), through the CLI."""

import csv
import json

import pytest

from tests.fixtures.layouts import make_mvtec
from uasbench.cli import main

METRICS = ["I-AUROC", "I-AP", "I-F1max", "P-AUROC", "P-AP", "P-F1max", "P-AUPRO"]


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("user") / "my parts"  # a space: the dataset key becomes 'my-parts'
    make_mvtec(root)
    return root


@pytest.mark.parametrize("method,extra,prompt,seeds", [
    ("prompt-diff", ["--options", "space=pixel", "--seeds", "1", "3"], "random", [1, 3]),
    ("random", [], "none", [0]),  # no seed draws its prompts: one job, seed 0, as in the workflow
    ("patchcore", ["--options", '{"backbone": "tf_efficientnet_lite0", "coreset_fraction": 0.5}', "--image-size", "64"],
     "random", [1]),
])
def test_run_writes_metrics_and_tables(folder, tmp_path, capsys, method, extra, prompt, seeds):
    out = tmp_path / "out"
    assert main(["run", "--root", str(folder), "--method", method, "--out", str(out), "--device", "cpu", *extra]) == 0
    for seed in seeds:
        result = json.loads((out / "metrics" / "my-parts" / method / f"seed{seed}.json").read_text())
        assert set(METRICS) <= set(result["mean"]) and set(result["per_category"]) == {"bottle", "cable"}
        assert result["meta"]["tier"] == "custom" and result["meta"]["prompt"] == prompt
    rows = list(csv.DictReader((out / "tables" / "main_my-parts.csv").open()))
    assert len(rows) == 1 and rows[0]["Method"] == method and rows[0]["tier"] == "custom"
    assert int(rows[0]["Seeds"]) == len(seeds) and all(0 <= float(rows[0][m]) <= 100 for m in METRICS)
    markdown = (out / "tables" / "main_my-parts.md").read_text()
    assert "config tier: custom" in markdown and f"| {method} | {prompt} |" in markdown
    assert (out / "tables" / "per_category_my-parts_P-AP.csv").is_file() and (out / "config.yaml").is_file()
    assert "main_my-parts.md" in capsys.readouterr().out


def test_checkpoint_goes_to_the_method_options(folder, tmp_path):
    from uasbench.pipeline.run import custom_config

    weights = tmp_path / "metauas.pt"
    weights.write_bytes(b"")
    config = custom_config(folder, "metauas", tmp_path / "out", checkpoint=str(weights), seeds=[1, 3, 5])
    run = config["runs"]["metauas"]
    assert run["options"] == {"checkpoint": str(weights.resolve())} and run["seeds"] == [1, 3, 5]
    assert config["tier"] == "custom" and config["datasets"]["my-parts"] == {"kind": "folder", "root": str(folder),
                                                                          "image_size": 256}  # the default


@pytest.mark.parametrize("argv,message", [
    (["--method", "random", "--checkpoint", "{ckpt}"], "method 'random': unknown option(s) checkpoint"),
    (["--method", "no-such-method"], "unknown method 'no-such-method'"),
    (["--method", "random", "--options", "seed"], "--options: 'seed' is not key=value"),
])
def test_bad_arguments_are_one_line_errors(folder, tmp_path, capsys, argv, message):
    ckpt = tmp_path / "w.pt"
    ckpt.write_bytes(b"")
    argv = [a.replace("{ckpt}", str(ckpt)) for a in argv]
    assert main(["run", "--root", str(folder), "--out", str(tmp_path / "out"), *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("uasbench: error:") and message in err and not (tmp_path / "out").exists()


def test_a_folder_with_a_missing_mask_fails_before_any_output(tmp_path, capsys):
    make_mvtec(tmp_path / "data")
    (tmp_path / "data" / "cable" / "ground_truth" / "bent_wire" / "000_mask.png").unlink()
    assert main(["run", "--root", str(tmp_path / "data"), "--method", "random", "--out", str(tmp_path / "out")]) == 2
    assert "000.png: missing mask" in capsys.readouterr().err and not (tmp_path / "out").exists()
