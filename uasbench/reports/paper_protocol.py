"""Which metric protocol each paper's printed numbers follow, so every paper-vs-reproduced Δ compares like with like.

The MetaUAS tables come from the MetaUAS evaluator (``metauas-compat``); the OneNIP tables, and the OneNIP README's,
from the UniAD evaluator that OneNIP kept (``uniad-compat``). A config table may name another one with
``paper_protocol``. The workflow evaluates every prediction of a run compared with a paper table under the
configured ``metric_protocol`` (``metrics/``, what regression and the main tables read) and, when the paper's
protocol differs, once more under it into ``metrics_<protocol>/``; ``uasbench track`` logs those means as
``protocol.<protocol>.<metric>`` beside the main metrics, and the Δ column reads them.
"""

from __future__ import annotations

from uasbench.errors import ConfigError
from uasbench.metrics.protocols import get_protocol

PAPER_PROTOCOL = {"metauas": "metauas-compat", "onenip": "uniad-compat"}
COLUMN_PREFIX = "protocol."


def table_protocol(name: str, spec: dict) -> str | None:
    """The protocol of a config table's ``paper_table`` (None when it compares with no paper)."""
    if not spec.get("paper_table"):
        return None
    if spec.get("paper_protocol"):
        return get_protocol(spec["paper_protocol"]).name
    paper = str(spec["paper_table"]).split("_", 1)[0]
    if paper not in PAPER_PROTOCOL:
        raise ConfigError(f"tables.{name}.paper_table = {spec['paper_table']!r}: no known protocol for paper "
                          f"{paper!r} (known: {', '.join(sorted(PAPER_PROTOCOL))}); set tables.{name}.paper_protocol")
    return PAPER_PROTOCOL[paper]


def paper_row(config: dict, spec: dict, run: str) -> str | None:
    """The row of the table's paper table that ``run`` reproduces: the table's ``paper_rows`` entry (a run such as
    the default MetaUAS is a different row in each ablation table), else the run's ``paper_row``."""
    return (spec.get("paper_rows") or {}).get(run) or config["runs"][run].get("paper_row")


def default_tables(config: dict) -> dict[str, dict]:
    """The tables of a config without a ``tables`` section: main (vs MetaUAS Tab 1), efficiency, per category."""
    runs = list(config["runs"])
    tables = {"main": {"title": "Anomaly classification and segmentation (cf. MetaUAS Tab 1)", "runs": runs,
                       "paper_table": "metauas_tab1"},
              "efficiency": {"title": "Parameters and latency (cf. MetaUAS Tab 2)", "runs": runs, "efficiency": True}}
    tables["per_category"] = {"title": "Per-category results", "runs": runs, "per_category": True,
                              "columns": ["I-AUROC", "P-AP"]}
    return tables


def config_tables(config: dict) -> dict[str, dict]:
    """The config's tables, else the default ones (here, not in the report builder: the Snakefile's parse reads
    them, and must not import pandas)."""
    return config.get("tables") or default_tables(config)


def run_protocols(config: dict) -> dict[str, list[str]]:
    """Per run with a paper row in some table: the paper protocols its comparisons need beyond the configured one, sorted."""
    main = config["metric_protocol"]
    needed: dict[str, set[str]] = {}
    for name, spec in config_tables(config).items():
        protocol = table_protocol(name, spec)
        if protocol is None or protocol == main:
            continue
        for run in spec["runs"]:
            if paper_row(config, spec, run):
                needed.setdefault(run, set()).add(protocol)
    return {run: sorted(protocols) for run, protocols in needed.items()}


def metric_column(protocol: str | None, metric: str, main_protocol: str) -> str:
    """The collected-results column holding ``metric`` under ``protocol`` (the plain column for the main one)."""
    if protocol is None or protocol == main_protocol:
        return metric
    return f"{COLUMN_PREFIX}{protocol}.{metric}"
