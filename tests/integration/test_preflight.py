"""The preflight: ``uasbench check`` names every missing or incomplete input of a config in one message, and the
paper DAG with ``fetch: true`` plans the downloads as local jobs that the dataset consumers wait for."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import yaml

from tests.integration.fetch_layouts import mvtec_members
from uasbench.cli import main

REPO = Path(__file__).resolve().parents[2]


def _paper_config(tmp_path: Path, data: Path) -> Path:
    config = yaml.safe_load((REPO / "config/paper.yaml").read_text())
    roots = {"mvtec": data / "mvtec_anomaly_detection", "visa": data / "VisA_20220922", "goodsad": data / "GoodsAD",
             "btad": data / "BTech_Dataset_transformed"}
    for spec in config["datasets"].values():
        spec["root"] = str(roots[spec["kind"]])
    config["prompts_root"] = str(data / "metauas_prompts")
    config["change_pairs"].update(coco_images=str(data / "coco/train2017"),
                                  coco_annotations=str(data / "coco/annotations/instances_train2017.json"))
    path = tmp_path / "paper.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def test_check_names_every_missing_input_in_one_message(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))  # no weights cached: they resolve to random
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf"))
    monkeypatch.setenv("HOME", str(tmp_path))
    data = tmp_path / "data"
    for name, payload in mvtec_members(drop=3).items():  # a half-extracted MVTec: 3 training images short
        (data / "mvtec_anomaly_detection" / name).parent.mkdir(parents=True, exist_ok=True)
        (data / "mvtec_anomaly_detection" / name).write_bytes(payload)
    (data / "VisA_20220922").mkdir()  # an empty folder
    config = _paper_config(tmp_path, data)
    assert main(["check", "--config", str(config)]) == 2
    err = capsys.readouterr().err
    for key in ("datasets.mvtec-256.root", "datasets.visa-512.root", "datasets.goods-512.root",
                "datasets.btad-224.root", "prompts_root", "change_pairs.coco_images", "change_pairs.coco_annotations",
                "weights of efficientnet_b4", "weights of ViT-B-16-plus-240"):
        assert key in err, key
    assert "bottle (differs: train good 206 (official 209))" in err
    assert f"uasbench fetch mvtec --data-root {data}" in err and f"uasbench fetch visa --data-root {data}" in err
    assert f"uasbench fetch coco-annotations --data-root {data}" in err
    assert "uasbench fetch efficientnet-b4" in err and "5.3 GB" in err and "19.3 GB" in err


def test_paper_dag_plans_fetch_jobs_as_local_rules_feeding_the_dataset_markers(tmp_path):
    data = tmp_path / "data"
    wrapper = tmp_path / "wrapper.smk"
    wrapper.write_text(f'include: "{REPO / "Snakefile"}"\n'
                       'print("FETCH_IS_LOCAL", workflow.is_local(rules.fetch_input.rule))\n')
    result = subprocess.run(
        [sys.executable, "-m", "snakemake", "-s", str(wrapper), "-d", str(REPO), "-n", "--forceall", "all",
         "--configfile", str(REPO / "config/paper.yaml"), "--config", "fetch=True", f"data_root={data}"],
        capture_output=True, text=True, env={**os.environ, "UASBENCH_SKIP_ROOT_CHECK": "1"}, timeout=600)
    out = result.stdout + result.stderr
    assert result.returncode == 0, out[-3000:]
    assert "FETCH_IS_LOCAL True" in out
    for source in ("mvtec", "metauas-prompts", "efficientnet-b4"):
        assert f"output: {data}/.fetched/{source}.json" in out, source
    predict_inputs = [block.split("output:")[0] for block in out.split("rule predict:")[1:]]
    assert predict_inputs and all(f"{data}/.fetched/" in block for block in predict_inputs)
    assert any(f"{data}/.fetched/mvtec.json" in block for block in predict_inputs)  # predict waits for the stamp
    assert not (data / ".fetched").exists()


def test_fetching_dag_refuses_a_config_naming_other_places_than_it_fetches_to(tmp_path):
    data = tmp_path / "data"
    result = subprocess.run(
        [sys.executable, "-m", "snakemake", "-n", "--configfile", "config/paper.yaml", "--config", "fetch=True",
         f"data_root={data}"], cwd=REPO, capture_output=True, text=True, timeout=600,
        env={k: v for k, v in os.environ.items() if k != "UASBENCH_SKIP_ROOT_CHECK"})
    out = result.stdout + result.stderr
    assert result.returncode != 0
    assert f"datasets.mvtec-256.root = '/data/mvtec_anomaly_detection', but the DAG fetches mvtec into " \
           f"'{data}/mvtec_anomaly_detection'" in out
    assert "prompts_root = '/data/metauas_prompts'" in out and "datasets.goods-512.root" in out
    assert not (data / ".fetched").exists()
