"""The papers' rows from the official checkpoints in one command: a config's ``checkpoints`` are converted by a DAG
rule into the model files its runs name, then predicted, evaluated and reported beside the paper; nothing trains.

The official files are tiny stand-ins written by the test in each official format (random weights, official key
layout: the inverse maps of the converters, as tests/unit/test_metauas_convert.py and test_uniad.py make them)."""

from __future__ import annotations

import csv
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml

from uasbench.cli import main
from uasbench.methods import create

ROOT = Path(__file__).resolve().parents[2]
SNAKEMAKE = Path(sys.executable).parent / "snakemake"
SIZE = 64
SMALL = {"image_size": SIZE, "encoder_layers": 1, "decoder_layers": 1}  # what the OneNIP/UniAD converter reads off
DATASET = {"kind": "synthetic-ad", "seed": 0, "image_size": SIZE, "n_train": 2, "n_test_good": 1, "n_test_defect": 2,
           "categories": ["nut"], "paper_dataset": "mvtec"}


@pytest.fixture(scope="module")
def official(tmp_path_factory) -> dict[str, Path]:
    """One official-format file per converter: MetaUAS (plain state dict), OneNIP and UniAD ({'state_dict': DDP})."""
    from uasbench.methods.metauas.convert import uasbench_to_official as metauas_official
    from uasbench.methods.reconstruction.convert import uasbench_to_official as reconstruction_official

    folder = tmp_path_factory.mktemp("official")
    torch.manual_seed(0)
    metauas = create("metauas", pretrained_backbone=False).model
    torch.save(metauas_official(metauas.state_dict(), metauas), folder / "metauas-256.ckpt")
    for method in ("onenip", "uniad"):
        model = create(method, pretrained_backbone=False, **SMALL).model
        torch.save({"state_dict": reconstruction_official(model.state_dict(), method)}, folder / f"{method}.pkl")
    return {"metauas": folder / "metauas-256.ckpt", "onenip": folder / "onenip.pkl", "uniad": folder / "uniad.pkl"}


def write_config(folder: Path, official: dict[str, Path], methods: tuple[str, ...]) -> Path:
    """A paper-tier config evaluating the official checkpoints of ``methods`` on a tiny generated dataset."""
    checkpoints = {"metauas-official": {"method": "metauas", "convert": "metauas-official",
                                        "source": str(official["metauas"])},
                   "onenip-official": {"method": "onenip", "convert": "onenip-official",
                                       "source": str(official["onenip"]), "options": SMALL},
                   "uniad-official": {"method": "uniad", "convert": "uniad-official",
                                      "source": str(official["uniad"]), "options": SMALL}}
    runs = {"metauas": {"method": "metauas", "model": "metauas-official", "prompt": "random",
                        "label": "MetaUAS (official weights)", "paper_row": "metauas"},
            "onenip": {"method": "onenip", "model": "onenip-official", "prompt": "random-per-image",
                       "label": "OneNIP (official weights)", "paper_row": "onenip"},
            "uniad": {"method": "uniad", "model": "uniad-official", "prompt": "none",
                      "label": "UniAD (official weights)", "paper_row": "uniad"}}
    config = {"tier": "paper", "results_dir": str(folder / "results"), "device": "cpu", "prompt_seeds": [1],
              "datasets": {"synthetic": DATASET},
              "checkpoints": {f"{m}-official": checkpoints[f"{m}-official"] for m in methods},
              "runs": {m: runs[m] for m in methods},
              "tables": {"metauas_tab1": {"title": "MetaUAS Tab 1 (official weights)", "paper_table": "metauas_tab1",
                                          "runs": list(methods), "datasets": ["synthetic"]}},
              "efficiency": {"batch_sizes": [1], "warmup": 0, "repeats": 1}}
    path = folder / "official.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def snakemake(folder: Path, config: Path, *extra: str) -> str:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    env.pop("UASBENCH_SKIP_ROOT_CHECK", None)
    done = subprocess.run([str(SNAKEMAKE), "--snakefile", str(ROOT / "Snakefile"), "--directory", str(folder),
                           "--configfile", str(config), "--nolock", *extra], cwd=folder, env=env,
                          capture_output=True, text=True, timeout=1800)
    assert done.returncode == 0, (done.stdout + done.stderr)[-4000:]
    return done.stdout


def test_dry_run_plans_convert_predict_evaluate_report_and_no_training(tmp_path, official):
    config = write_config(tmp_path, official, ("metauas", "onenip", "uniad"))
    plan = snakemake(tmp_path, config, "-n", "--forceall")
    blocks = {}
    for block in re.split(r"\n(?=(?:local)?rule \w+:)", plan):
        head = re.match(r"(?:local)?rule (\w+):", block)
        if head:
            blocks.setdefault(head.group(1), []).append(block)
    assert {"convert_checkpoint", "predict", "evaluate", "report"} <= set(blocks)
    assert not {"train", "change_pairs"} & set(blocks)
    converted = {re.search(r"wildcards: model=(\S+)", b).group(1) for b in blocks["convert_checkpoint"]}
    assert converted == {"metauas-official", "onenip-official", "uniad-official"}
    for run in ("metauas", "onenip", "uniad"):  # each prediction reads its converted model file
        predict = next(b for b in blocks["predict"] if re.search(rf"wildcards: dataset=synthetic, run={run},", b))
        assert f"results/converted/{run}-official/model.pt" in re.search(r"input: (.*)", predict).group(1)


def test_convert_command_writes_a_model_file_predict_loads(tmp_path, official, capsys):
    from uasbench.config import load_config
    from uasbench.pipeline.methods import load_trained_method

    path = write_config(tmp_path, official, ("onenip",))
    assert main(["convert", "checkpoint", "onenip-official", "--config", str(path)]) == 0
    assert "results/converted/onenip-official/model.pt" in capsys.readouterr().out
    method = load_trained_method(load_config(path), "onenip-official", torch.device("cpu"))
    assert method.weight_source == f"official checkpoint {official['onenip']}"


def test_convert_command_refuses_a_checkpoint_that_does_not_fit_the_configured_model(tmp_path, official, capsys):
    config = yaml.safe_load(write_config(tmp_path, official, ("uniad",)).read_text())
    config["checkpoints"]["uniad-official"]["options"] = {**SMALL, "image_size": 128}  # the file holds 64 px
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(config))
    assert main(["convert", "checkpoint", "uniad-official", "--config", str(path)]) == 2
    err = capsys.readouterr().err
    assert "checkpoints.uniad-official" in err and "'image_size': 128" in err
    assert not (tmp_path / "results" / "converted" / "uniad-official" / "model.pt").exists()


@pytest.mark.slow
def test_the_official_route_runs_end_to_end_into_the_paper_table(tmp_path, official):
    config = write_config(tmp_path, official, ("metauas", "uniad"))
    snakemake(tmp_path, config, "--cores", "2")
    assert not (tmp_path / "results" / "models").exists()  # nothing trained
    rows = list(csv.DictReader((tmp_path / "reports" / "paper" / "tables" /
                                "metauas_tab1_paper_vs_reproduced.csv").open()))
    mine = [row for row in rows if row["Method"] == "MetaUAS (official weights)" and row["Metric"] == "I-AUROC"]
    assert len(mine) == 1 and mine[0]["Paper dataset"] == "mvtec"
    assert 0 <= float(mine[0]["Reproduced"]) <= 100 and 0 < float(mine[0]["Paper"]) <= 100
    meta = yaml.safe_load((tmp_path / "results" / "predictions" / "synthetic" / "metauas" / "seed1" /
                           "meta.json").read_text())
    assert meta["weight_source"] == f"official checkpoint {official['metauas']}"
    assert meta["checkpoint"].endswith("converted/metauas-official/model.pt")


def test_the_schema_names_exactly_the_converters_that_exist():
    import pkgutil

    import uasbench.cli.convert
    from uasbench.config import load_schema
    from uasbench.methods.converters import OFFICIAL_CONVERTERS

    schema = load_schema()["properties"]["checkpoints"]["additionalProperties"]["properties"]["convert"]["enum"]
    commands = {m.name.replace("_", "-") for m in pkgutil.iter_modules(uasbench.cli.convert.__path__)}
    assert set(schema) == set(OFFICIAL_CONVERTERS) == commands - {"checkpoint"}
