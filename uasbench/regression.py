"""CI regression of reproduced numbers: compare every metrics file of a results folder against a golden file.

The golden file (e.g. ``tests/regression/expected_ci.json``) holds, per ``"<dataset>|<run>|seed<S>"``, the mean and
per-category metrics of the last accepted run, the per-metric absolute tolerances, and where the numbers came from
(reason, UTC date, git sha, package versions, config, tier). A check flags every value that moved by more than its
tolerance, every run or category that disappeared or appeared, and a changed metric protocol. An update rewrites the
file atomically and only with a stated reason, so a drift is never silently accepted.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

from uasbench import layout
from uasbench.errors import DataError, echo
from uasbench.io import write_json
from uasbench.provenance import cpu_fingerprint, cpu_model, git_commit, git_dirty, package_versions

FORMAT = "uasbench-regression/1"
# Absolute tolerances on metrics in [0, 1]; AUPRO integrates a steep curve up to FPR 0.3, so it moves more.
DEFAULT_TOLERANCES: dict[str, float] = {"I-AUROC": 0.005, "I-AP": 0.005, "I-F1max": 0.005, "P-AUROC": 0.005,
                                        "P-AP": 0.005, "P-F1max": 0.005, "P-AUPRO": 0.01, "default": 0.005}
STORED_DIGITS = 6  # far below any tolerance; keeps the golden file readable and its diffs small
_KEY = re.compile(r"[^|/\n]+\|[^|/\n]+\|seed\d+")  # whole keys only (fullmatch)

Values = dict[str, float | None]  # metric -> value (None = undefined, written as null by ``uasbench evaluate``)


@dataclass(frozen=True)
class RunValues:
    """What is compared for one (dataset, run, seed): the mean row, each category's row, the protocol."""

    mean: Values
    per_category: dict[str, Values]
    protocol: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"protocol": self.protocol, "mean": _rounded(self.mean),
                "per_category": {c: _rounded(r) for c, r in sorted(self.per_category.items())}}


def _rounded(row: Values) -> Values:
    return {k: None if v is None else round(v, STORED_DIGITS) for k, v in sorted(row.items())}


@dataclass(frozen=True)
class Golden:
    """A loaded golden file: accepted values per run key, tolerances per metric, and their provenance."""

    path: Path
    tolerances: dict[str, float]
    values: dict[str, RunValues]
    provenance: dict[str, Any]

    def tolerance(self, metric: str) -> float:
        return self.tolerances.get(metric, self.tolerances["default"])


@dataclass(frozen=True)
class Drift:
    """One value outside its tolerance; ``actual``/``expected`` None = undefined (NaN) on that side."""

    key: str
    scope: str  # "mean" or a category name
    metric: str
    expected: float | None
    actual: float | None
    tolerance: float

    @property
    def delta(self) -> float:
        if self.expected is None or self.actual is None:
            return math.inf
        return self.actual - self.expected

    @property
    def severity(self) -> float:
        """|Δ| / tolerance, the sort key of the report (inf when one side is undefined)."""
        return abs(self.delta) / self.tolerance if self.tolerance > 0 else (math.inf if self.delta else 0.0)


@dataclass
class Comparison:
    """The outcome of comparing results with a golden file; ``ok`` only when nothing drifted, went missing or
    changed shape."""

    compared: list[str] = field(default_factory=list)
    n_values: int = 0
    drifts: list[Drift] = field(default_factory=list)
    missing_runs: list[str] = field(default_factory=list)
    unexpected_runs: list[str] = field(default_factory=list)
    structure: list[str] = field(default_factory=list)  # missing/extra categories or metrics, protocol changes
    worst: Drift | None = None  # the largest |Δ|/tol among values within tolerance

    @property
    def ok(self) -> bool:
        return not (self.drifts or self.missing_runs or self.unexpected_runs or self.structure)


def run_key(dataset: str, run: str, seed: int) -> str:
    """``<dataset>|<run>|seed<S>``, the key a run's values are stored under in the golden file."""
    return f"{dataset}|{run}|seed{seed}"


def _number(value: Any, where: str, source: Path) -> float | None:
    """A metric value: a fraction in [0, 1] (``uasbench evaluate`` writes 0.961, not 96.1) or null (undefined)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise DataError(f"{source}: {where} must be a finite number or null, got {echo(value)}")
    if not 0.0 <= value <= 1.0:
        raise DataError(f"{source}: {where} = {value!r} is outside [0, 1]: metrics are stored as fractions "
                        "(0.961, not 96.1), so this file was edited or written by something else")
    return float(value)


def _row(row: Any, where: str, source: Path) -> Values:
    if not isinstance(row, dict) or not row:
        raise DataError(f"{source}: {where} must be a non-empty object metric -> value")
    return {str(k): _number(v, f"{where}.{k}", source) for k, v in row.items()}


def _run_values(data: Any, where: str, source: Path) -> RunValues:
    if not isinstance(data, dict) or "mean" not in data or not isinstance(data.get("per_category"), dict):
        raise DataError(f"{source}: {where} must be an object with 'mean' and 'per_category'")
    protocol = data.get("protocol")
    return RunValues(mean=_row(data["mean"], f"{where}.mean", source),
                     per_category={str(c): _row(r, f"{where}.per_category.{c}", source)
                                   for c, r in data["per_category"].items()},
                     protocol=None if protocol is None else str(protocol))


def check_metrics_result(data: Any, path: Path) -> RunValues:
    """A metrics file's content (as ``uasbench evaluate`` writes it) checked; DataError naming ``path`` and key."""
    return _run_values(data, "metrics", path)


def _read_json(path: Path, what: str) -> Any:
    try:
        return json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise DataError(f"{path}: cannot read {what} ({type(err).__name__}: {err})") from err


def collect_results(results_dir: str | Path, files: Sequence[str | Path] | None = None,
                    config: Mapping[str, Any] | None = None) -> dict[str, RunValues]:
    """Metrics files keyed ``"<dataset>|<run>|seed<S>"``: ``files`` (the workflow names them), else every
    ``<results_dir>/metrics/<dataset>/<run>/seed<S>.json``. With ``config``, a file of a run or dataset the config
    does not define is an error naming it, as is a look-alike name or a paper-protocol copy (``metrics_<p>/``)."""
    if files is None:
        where = {"results_dir": str(results_dir)}
        if not layout.metrics_dir(where).is_dir():
            raise DataError(f"{layout.metrics_dir(where)}: no metrics folder (run the workflow first, or pass "
                            "--results)")
        files = layout.find_metrics_files(where)
    found: dict[str, RunValues] = {}
    for path in map(Path, files):
        parsed = layout.parse_metrics_file(path, config)
        if parsed.protocol is not None:
            raise DataError(f"{path}: metrics under the paper protocol {parsed.protocol!r}; regression compares the "
                            "configured protocol's metrics/ files")
        key = run_key(parsed.dataset, parsed.run, parsed.seed)
        if key in found:
            raise DataError(f"{path}: a second metrics file of {key}")
        found[key] = _run_values(_read_json(path, "metrics file"), "metrics", path)
    return found


def load_golden(path: str | Path) -> Golden:
    """Read and check the golden file; every problem is a DataError naming the file and the offending entry."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: golden file not found (create it with 'uasbench regress --update --reason ...')")
    data = _read_json(path, "golden file")
    if not isinstance(data, dict):
        raise DataError(f"{path}: corrupt golden file: expected a JSON object, got {type(data).__name__}")
    for section in ("tolerances", "values", "provenance"):
        if not isinstance(data.get(section), dict):
            raise DataError(f"{path}: corrupt golden file: missing or non-object section {section!r}")
    tolerances = data["tolerances"]
    if "default" not in tolerances:
        raise DataError(f"{path}: corrupt golden file: tolerances need a 'default' entry")
    for metric, tol in tolerances.items():
        if isinstance(tol, bool) or not isinstance(tol, (int, float)) or not tol >= 0 or not math.isfinite(tol):
            raise DataError(f"{path}: corrupt golden file: tolerances.{metric} must be a number >= 0, got {echo(tol)}")
    bad_keys = [k for k in data["values"] if not _KEY.fullmatch(k)]
    if bad_keys:
        raise DataError(f"{path}: corrupt golden file: values key {echo(bad_keys[0])} is not '<dataset>|<run>|seed<S>'")
    values = {key: _run_values(entry, f"values.{key}", path) for key, entry in data["values"].items()}
    return Golden(path, {k: float(v) for k, v in tolerances.items()}, values, dict(data["provenance"]))


def _compare_row(golden: Golden, key: str, scope: str, expected: Values, actual: Values, out: Comparison) -> None:
    for metric in sorted(set(expected) - set(actual)):
        out.structure.append(f"{key} {scope}: metric {metric} missing from the results")
    for metric in sorted(set(actual) - set(expected)):
        out.structure.append(f"{key} {scope}: metric {metric} not in the golden file")
    for metric in sorted(set(expected) & set(actual)):
        want, got = expected[metric], actual[metric]
        drift = Drift(key, scope, metric, want, got, golden.tolerance(metric))
        out.n_values += 1
        if want is None and got is None:
            continue
        if want is None or got is None or abs(drift.delta) > drift.tolerance + 1e-12:
            out.drifts.append(drift)
        elif out.worst is None or drift.severity > out.worst.severity:
            out.worst = drift


def compare(golden: Golden, current: Mapping[str, RunValues]) -> Comparison:
    """Every difference between the golden values and the current results (see :class:`Comparison`)."""
    out = Comparison(missing_runs=sorted(set(golden.values) - set(current)),
                     unexpected_runs=sorted(set(current) - set(golden.values)))
    for key in sorted(set(golden.values) & set(current)):
        want, got = golden.values[key], current[key]
        out.compared.append(key)
        if want.protocol is not None and got.protocol != want.protocol:
            out.structure.append(f"{key}: metric protocol {got.protocol!r}, golden file has {want.protocol!r}")
        _compare_row(golden, key, "mean", want.mean, got.mean, out)
        for category in sorted(set(want.per_category) - set(got.per_category)):
            out.structure.append(f"{key}: category {category} missing from the results")
        for category in sorted(set(got.per_category) - set(want.per_category)):
            out.structure.append(f"{key}: category {category} not in the golden file")
        for category in sorted(set(want.per_category) & set(got.per_category)):
            _compare_row(golden, key, category, want.per_category[category], got.per_category[category], out)
    out.drifts.sort(key=lambda d: (-d.severity, d.key, d.scope, d.metric))
    return out


def _fmt(value: float | None, signed: bool = False) -> str:
    if value is None:
        return "null"
    return "inf" if math.isinf(value) else (f"{value:+.4f}" if signed else f"{value:.4f}")


def format_drift_table(drifts: list[Drift]) -> str:
    """Aligned text table of the drifted values with expected, actual, delta and |delta|/tolerance."""
    header = ("run", "scope", "metric", "expected", "actual", "delta", "tol", "|delta|/tol")
    rows = [(d.key, d.scope, d.metric, _fmt(d.expected), _fmt(d.actual), _fmt(d.delta, signed=True),
             f"{d.tolerance:.4f}", "inf" if math.isinf(d.severity) else f"{d.severity:.2f}") for d in drifts]
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    return "\n".join("  ".join(str(c).ljust(w) for c, w in zip(row, widths)).rstrip() for row in [header, *rows])


def format_comparison(golden: Golden, result: Comparison, results_dir: str | Path, updating: bool = False) -> str:
    """One line when everything matches; otherwise what moved (worst first), then missing/extra runs.

    ``updating``: the same report, worded as the changes an update accepts into the golden file.
    """
    if result.ok:
        worst = result.worst
        worst_text = (f"; largest |delta|/tol {worst.severity:.2f} ({worst.key} {worst.scope} {worst.metric})"
                      if worst is not None and worst.severity > 0 else "; all values identical")
        return (f"regression OK: {len(result.compared)} runs, {result.n_values} values in {results_dir} within "
                f"tolerance of {golden.path}{worst_text}")
    headline = "changes accepted into" if updating else "regression FAILED against"
    lines = [f"{headline} {golden.path} ({results_dir}): {len(result.drifts)} values drifted, "
             f"{len(result.missing_runs)} missing runs, {len(result.unexpected_runs)} unexpected runs, "
             f"{len(result.structure)} structural changes"]
    if result.drifts:
        lines += ["", format_drift_table(result.drifts)]
    sections = (("missing runs (in the golden file, no metrics file)", result.missing_runs),
                ("unexpected runs (metrics file, not in the golden file)", result.unexpected_runs),
                ("structural changes", result.structure))
    for title, items in sections:
        if items:
            lines += ["", f"{title}:"] + [f"  {item}" for item in items]
    # The same CPU model runs the same kernels (the workflow pins torch's set), so torch, which the fingerprint
    # asks, is imported only for another model: comparing numbers needs no torch.
    recorded_cpu = golden.provenance.get("cpu")
    if not updating and recorded_cpu is not None and recorded_cpu.get("model") != cpu_model():
        lines += ["", f"note: the golden numbers were recorded on CPU {recorded_cpu}, this machine is "
                      f"{cpu_fingerprint()}; trained models are bit-reproducible on one kind of CPU, not across "
                      "instruction sets"]
    if not updating:
        lines += ["", "if the change is intended: uasbench regress --update --reason \"...\" (records the reason)"]
    return "\n".join(lines)


def provenance(reason: str, config_path: str | Path | None, tier: str | None, repo_dir: Path) -> dict[str, Any]:
    """Why and from what the golden values were (re)recorded; git state of the repository holding ``repo_dir``."""
    return {"reason": reason, "date_utc": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "git_sha": git_commit(repo_dir) or "unknown", "git_dirty": git_dirty(repo_dir),
            "packages": package_versions(), "cpu": cpu_fingerprint(),
            "config": None if config_path is None else str(config_path), "tier": tier}


def update_golden(path: str | Path, current: Mapping[str, RunValues], reason: str,
                  config_path: str | Path | None = None, tier: str | None = None
                  ) -> tuple[Golden, Comparison | None]:
    """Rewrite the golden file (atomically) from ``current``, keeping its tolerances (defaults for a new file).

    Returns the new golden file and what changed against the previous one (None for a new file).
    """
    path = Path(path)
    if not reason or not reason.strip():
        raise DataError(f"{path}: refusing to update the golden file without a reason (--reason \"why\")")
    if not current:
        raise DataError(f"{path}: refusing to update the golden file from an empty results folder")
    tolerances, changes = dict(DEFAULT_TOLERANCES), None
    if path.exists():
        try:
            previous = load_golden(path)
        except DataError as err:
            raise DataError(f"{err}; not updating it (fix the file, or delete it to start from the default "
                            "tolerances)") from err
        tolerances, changes = previous.tolerances, compare(previous, current)
    data = {"format": FORMAT, "tolerances": tolerances,
            "provenance": provenance(reason.strip(), config_path, tier, path.parent.resolve()),
            "values": {key: current[key].to_json() for key in sorted(current)}}
    write_json(path, data)
    return load_golden(path), changes
