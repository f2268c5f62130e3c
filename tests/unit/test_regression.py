"""``uasbench regress``: drift detection with the right delta, tolerances, missing/extra runs, guarded updates."""

import json
import re
import subprocess

import pytest

from uasbench.cli import main
from uasbench.errors import DataError
from uasbench.regression import DEFAULT_TOLERANCES, collect_results, compare, load_golden, run_key, update_golden

METRICS = {"I-AUROC": 0.91, "I-AP": 0.83, "I-F1max": 0.77, "P-AUROC": 0.95, "P-AP": 0.42, "P-F1max": 0.47,
           "P-AUPRO": 0.81}
RUNS = [("synth", "metauas", 1), ("synth", "metauas", 3), ("synth", "patchcore", 0)]


def write_metrics(results, dataset, run, seed, per_category=None, protocol="official"):
    per_category = per_category or {"bottle": dict(METRICS), "cable": {k: v - 0.1 for k, v in METRICS.items()}}
    mean = {k: sum(row[k] for row in per_category.values()) / len(per_category) for k in METRICS}
    path = results / "metrics" / dataset / run / f"seed{seed}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"protocol": protocol, "per_category": per_category, "mean": mean, "meta": {}}))
    return path


def write_config(path, results, tier, runs=("metauas", "patchcore")):
    """A config over the dataset 'synth' defining ``runs`` (each its own method, no prompt)."""
    defined = ", ".join(f"{run}: {{method: {run}, prompt: none}}" for run in runs)
    path.write_text(f"tier: {tier}\nresults_dir: {results}\ndatasets: {{synth: {{kind: synthetic-ad}}}}\n"
                    f"runs: {{{defined}}}\n")
    return path


def edit_metrics(path, scope, metric, value):
    data = json.loads(path.read_text())
    (data["mean"] if scope == "mean" else data["per_category"][scope])[metric] = value
    path.write_text(json.dumps(data))


@pytest.fixture
def recorded(tmp_path):
    """A results folder with three runs and a golden file recorded from it."""
    results = tmp_path / "results"
    for run in RUNS:
        write_metrics(results, *run)
    golden = tmp_path / "expected.json"
    update_golden(golden, collect_results(results), reason="initial recording")
    return results, golden


def regress(capsys, golden, results, *extra):
    code = main(["regress", "--expected", str(golden), "--results", str(results), *map(str, extra)])
    out, err = capsys.readouterr()
    return code, out, err


def test_unchanged_results_pass_with_one_summary_line(recorded, capsys):
    results, golden = recorded
    code, out, err = regress(capsys, golden, results)
    assert code == 0 and err == ""
    assert out.count("\n") == 1 and out.startswith("regression OK: 3 runs, 63 values")  # 3 x (mean + 2 cats) x 7


def test_drift_is_reported_with_its_delta_and_sorted_by_severity(recorded, capsys):
    results, golden = recorded
    path = results / "metrics" / "synth" / "metauas" / "seed1.json"
    edit_metrics(path, "cable", "P-AUPRO", 0.71 - 0.034)    # tol 0.01 -> 3.4 x tol
    edit_metrics(path, "mean", "I-AUROC", 0.86 + 0.0125)     # tol 0.005 -> 2.5 x tol
    edit_metrics(path, "bottle", "P-AP", 0.42 + 0.004)       # within tolerance: not listed
    code, out, _ = regress(capsys, golden, results)
    assert code == 1
    assert "2 values drifted, 0 missing runs, 0 unexpected runs" in out
    rows = [line.split() for line in out.splitlines() if line.startswith("synth|")]
    assert [(r[1], r[2]) for r in rows] == [("cable", "P-AUPRO"), ("mean", "I-AUROC")]
    assert rows[0][3:] == ["0.7100", "0.6760", "-0.0340", "0.0100", "3.40"]
    assert rows[1][3:] == ["0.8600", "0.8725", "+0.0125", "0.0050", "2.50"]


def test_within_tolerance_passes_and_names_the_largest_move(recorded, capsys):
    results, golden = recorded
    edit_metrics(results / "metrics" / "synth" / "patchcore" / "seed0.json", "bottle", "P-AUPRO", 0.81 + 0.0099)
    code, out, _ = regress(capsys, golden, results)
    assert code == 0
    assert "largest |delta|/tol 0.99 (synth|patchcore|seed0 bottle P-AUPRO)" in out


def test_tolerance_boundary_and_per_metric_tolerances(recorded):
    results, golden = recorded
    path = results / "metrics" / "synth" / "metauas" / "seed3.json"
    edit_metrics(path, "bottle", "I-AP", 0.83 + 0.006)      # > default 0.005
    edit_metrics(path, "bottle", "P-AUPRO", 0.81 + 0.006)   # < P-AUPRO's 0.01
    result = compare(load_golden(golden), collect_results(results))
    assert [(d.scope, d.metric) for d in result.drifts] == [("bottle", "I-AP")]
    assert result.drifts[0].delta == pytest.approx(0.006)


def test_undefined_value_on_one_side_is_a_drift(recorded):
    results, golden = recorded
    edit_metrics(results / "metrics" / "synth" / "metauas" / "seed1.json", "bottle", "I-AUROC", None)
    drifts = compare(load_golden(golden), collect_results(results)).drifts
    assert [(d.key, d.scope, d.metric, d.actual) for d in drifts] == [
        ("synth|metauas|seed1", "bottle", "I-AUROC", None)]


def test_missing_and_unexpected_runs_are_flagged(recorded, capsys):
    results, golden = recorded
    (results / "metrics" / "synth" / "metauas" / "seed3.json").unlink()
    write_metrics(results, "synth", "winclip", 0)
    code, out, _ = regress(capsys, golden, results)
    assert code == 1
    assert "0 values drifted, 1 missing runs, 1 unexpected runs" in out
    missing = out.split("missing runs (in the golden file, no metrics file):")[1].split("\n\n")[0]
    unexpected = out.split("unexpected runs (metrics file, not in the golden file):")[1].split("\n\n")[0]
    assert missing.split() == ["synth|metauas|seed3"] and unexpected.split() == ["synth|winclip|seed0"]


def test_missing_category_and_changed_protocol_are_structural_changes(recorded):
    results, golden = recorded
    write_metrics(results, "synth", "patchcore", 0, per_category={"bottle": dict(METRICS)}, protocol="metauas-compat")
    result = compare(load_golden(golden), collect_results(results))
    assert not result.ok
    assert any("category cable missing" in s for s in result.structure)
    assert any("protocol 'metauas-compat'" in s for s in result.structure)


def test_update_requires_a_reason_and_leaves_the_file_untouched(recorded, capsys):
    results, golden = recorded
    before = golden.read_bytes()
    for extra in (["--update"], ["--update", "--reason", "  "]):
        code, out, err = regress(capsys, golden, results, *extra)
        assert code == 2 and "--reason" in err and len(err.strip().splitlines()) == 1
    with pytest.raises(DataError, match="without a reason"):
        update_golden(golden, collect_results(results), reason="")
    assert golden.read_bytes() == before


def test_update_records_reason_and_provenance_and_keeps_tolerances(recorded, capsys, tmp_path):
    results, golden = recorded
    data = json.loads(golden.read_text())
    data["tolerances"]["P-AP"] = 0.02
    golden.write_text(json.dumps(data))
    edit_metrics(results / "metrics" / "synth" / "metauas" / "seed1.json", "cable", "P-AP", 0.2)
    config = write_config(tmp_path / "ci.yaml", results, "ci")
    code = main(["regress", "--expected", str(golden), "--config", str(config), "--update", "--reason",
                 "new AUPRO integration"])
    out = capsys.readouterr().out
    assert code == 0 and "changes accepted into" in out and "-0.1200" in out
    data = json.loads(golden.read_text())
    prov = data["provenance"]
    assert prov["reason"] == "new AUPRO integration" and prov["tier"] == "ci" and prov["config"] == str(config)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", prov["date_utc"])
    assert {"torch", "numpy", "timm", "scikit-learn"} <= set(prov["packages"])
    assert prov["git_sha"] == _git_head() or prov["git_sha"] == "unknown"
    assert data["tolerances"]["P-AP"] == 0.02 and data["tolerances"]["P-AUPRO"] == DEFAULT_TOLERANCES["P-AUPRO"]
    assert data["values"][run_key("synth", "metauas", 1)]["per_category"]["cable"]["P-AP"] == 0.2
    assert regress(capsys, golden, results)[0] == 0
    assert not list(tmp_path.glob(".*.tmp"))


def _git_head():
    done = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True)
    return done.stdout.strip() or None


def test_tier_mismatch_between_config_and_golden_is_an_error(recorded, capsys, tmp_path):
    results, golden = recorded
    data = json.loads(golden.read_text())
    data["provenance"]["tier"] = "ci"
    golden.write_text(json.dumps(data))
    config = write_config(tmp_path / "embedded.yaml", results, "embedded")
    code = main(["regress", "--expected", str(golden), "--config", str(config)])
    err = capsys.readouterr().err
    assert code == 2 and "tier 'ci'" in err and str(config) in err


@pytest.mark.parametrize("content, problem", [
    ("{not json", "cannot read golden file"),
    ("[1, 2]", "expected a JSON object"),
    ('{"values": {}, "provenance": {}}', "section 'tolerances'"),
    ('{"tolerances": {"P-AP": 0.01}, "values": {}, "provenance": {}}', "'default'"),
    ('{"tolerances": {"default": -1}, "values": {}, "provenance": {}}', "tolerances.default"),
    ('{"tolerances": {"default": 0.01}, "values": {"synth-metauas": {}}, "provenance": {}}', "'synth-metauas'"),
    ('{"tolerances": {"default": 0.01}, "values": {"s|m|seed1": {"mean": {"P-AP": "high"}, "per_category": {}}},'
     ' "provenance": {}}', "values.s|m|seed1.mean.P-AP"),
])
def test_corrupt_golden_file_is_a_clear_error_naming_it(recorded, capsys, content, problem):
    results, golden = recorded
    golden.write_text(content)
    code, out, err = regress(capsys, golden, results)
    assert code == 2 and out == ""
    assert err.startswith(f"uasbench: error: {golden}:") and problem in err and len(err.strip().splitlines()) == 1


def test_update_refuses_to_overwrite_a_corrupt_golden_file(recorded, capsys):
    results, golden = recorded
    golden.write_text("{truncated")
    code, _, err = regress(capsys, golden, results, "--update", "--reason", "x")
    assert code == 2 and "not updating it" in err and golden.read_text() == "{truncated"


def test_unreadable_metrics_file_and_missing_folders_are_named(recorded, capsys, tmp_path):
    results, golden = recorded
    code, _, err = regress(capsys, golden, tmp_path / "nowhere")
    assert code == 2 and str(tmp_path / "nowhere" / "metrics") in err
    code, _, err = regress(capsys, tmp_path / "absent.json", results)
    assert code == 2 and "absent.json: golden file not found" in err
    bad = results / "metrics" / "synth" / "metauas" / "seed1.json"
    bad.write_text('{"protocol": "official", "mean": {"P-AP": NaN}, "per_category": {}}')
    code, _, err = regress(capsys, golden, results)
    assert code == 2 and str(bad) in err and "metrics.mean.P-AP" in err


def test_only_the_given_metrics_files_are_compared(recorded, capsys):
    """The workflow names its metrics files: a stray run in the folder is not read, a run not given is missing."""
    results, golden = recorded
    write_metrics(results, "synth", "winclip", 0)  # would be an unexpected run if the folder were globbed
    given = [results / "metrics" / "synth" / "metauas" / f"seed{s}.json" for s in (1, 3)]
    code, out, _ = regress(capsys, golden, results, *given)
    assert code == 1
    assert "0 values drifted, 1 missing runs, 0 unexpected runs" in out and "synth|patchcore|seed0" in out
    code, out, _ = regress(capsys, golden, results, *given, results / "metrics" / "synth" / "patchcore" / "seed0.json")
    assert code == 0 and out.startswith("regression OK: 3 runs")


@pytest.mark.parametrize("given", [False, True], ids=["globbed", "given"])
def test_metrics_of_a_run_the_config_does_not_define_are_refused(recorded, capsys, tmp_path, given):
    results, golden = recorded
    stale = write_metrics(results, "synth", "winclip", 0)
    config = write_config(tmp_path / "ci.yaml", results, "ci")
    code = main(["regress", "--expected", str(golden), "--config", str(config), *([str(stale)] if given else [])])
    err = capsys.readouterr().err
    assert code == 2 and str(stale) in err and "run 'winclip'" in err and len(err.strip().splitlines()) == 1
    stale.unlink()
    assert main(["regress", "--expected", str(golden), "--config", str(config)]) == 0


def test_look_alike_and_protocol_files_are_refused_by_name(recorded, capsys):
    results, golden = recorded
    copy = results / "metrics" / "synth" / "metauas" / "seed1 (copy).json"
    copy.write_text((results / "metrics" / "synth" / "metauas" / "seed1.json").read_text())
    code, _, err = regress(capsys, golden, results)
    assert code == 2 and str(copy) in err and "seed<N>.json" in err
    copy.unlink()
    protocol = results / "metrics_metauas-compat" / "synth" / "metauas" / "seed1.json"  # a paper protocol's copy
    protocol.parent.mkdir(parents=True)
    protocol.write_text((results / "metrics" / "synth" / "metauas" / "seed1.json").read_text())
    code, _, err = regress(capsys, golden, results, protocol)
    assert code == 2 and str(protocol) in err and "metauas-compat" in err
