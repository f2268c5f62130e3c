"""Commands that compute nothing start without torch: every ``--help``, loading and validating a config, the Snakefile's
parse (a dry run) and the ``evaluate``, ``track``, ``report`` and ``regress`` commands import none of torch, timm,
open_clip, torchvision (nor mlflow where they do not log or read runs); ``regress --update``, which records torch's
CPU kernel set, is the exception. Each is a fresh process read with
``python -X importtime``, as ``uasbench bench startup`` reads them."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from tests.fixtures.tracked import make_tracked_results
from uasbench.cli import main
from uasbench.pipeline.bench_startup import HEAVY_PACKAGES, imported_packages

ROOT = Path(__file__).resolve().parents[2]
MODEL_PACKAGES = set(HEAVY_PACKAGES) - {"mlflow"}

HELP_AND_CONFIGS = """
import contextlib, io
from tests.unit.test_cli_help import _leaf_commands
from uasbench.cli import main
from uasbench.config import load_config

for command in [[]] + _leaf_commands():
    with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):
        main([*command, "--help"])
for name in ("config.yaml", "paper.yaml", "ci.yaml"):
    load_config(f"config/{name}")
"""


def heavy(*args: str) -> set[str]:
    return set(imported_packages(args, ROOT)) & set(HEAVY_PACKAGES)


def test_the_check_sees_a_heavy_import():
    assert heavy("-c", "import torch.nn") == {"torch"}


def test_import_every_help_page_and_every_config_without_torch_or_mlflow():
    assert heavy("-c", "import uasbench, uasbench.methods, uasbench.config") == set()
    assert heavy("-c", HELP_AND_CONFIGS) == set()


def test_bench_startup_times_help_jobs_and_the_dry_run_without_heavy_imports(tmp_path, capsys):
    """The benchmark's dry run parses the Snakefile on the embedded config: no heavy package there either."""
    assert main(["bench", "startup", "--repeats", "1", "--out", str(tmp_path / "startup.json")]) == 0
    report = json.loads((tmp_path / "startup.json").read_text())
    names = [p["name"] for p in report["probes"]]
    assert names == ["uasbench --help", "uasbench evaluate --help", "uasbench track --help",
                     "snakemake -n (config/config.yaml)"], names
    for probe in report["probes"]:
        assert probe["heavy_imports"] == [] and probe["min_s"] > 0 and probe["target_s"] > 0, probe
    assert "| snakemake -n (config/config.yaml) |" in capsys.readouterr().out


def test_evaluate_track_report_regress_import_no_model_code(tmp_path):
    config = make_tracked_results(tmp_path)
    config_path = tmp_path / "c.yaml"
    config_path.write_text(yaml.safe_dump(config))
    prediction = tmp_path / "results" / "predictions" / "mydata" / "random" / "seed1"
    golden = tmp_path / "golden.json"
    cfg = ("--config", str(config_path))
    uas = ("-m", "uasbench")
    assert heavy(*uas, "evaluate", "--pred", str(prediction), "--out", str(tmp_path / "m.json")) == set()
    assert main(["regress", *cfg, "--expected", str(golden), "--update", "--reason", "test"]) == 0  # records torch's
    assert heavy(*uas, "regress", *cfg, "--expected", str(golden)) == set()  # CPU kernel set; comparing needs none
    assert heavy(*uas, "track", *cfg, "--out", str(tmp_path / "ids.json")) <= {"mlflow"}
    assert heavy(*uas, "report", *cfg, "--out", str(tmp_path / "report")) <= {"mlflow"}
    assert (tmp_path / "m.json").is_file() and (tmp_path / "report" / "index.md").is_file()
