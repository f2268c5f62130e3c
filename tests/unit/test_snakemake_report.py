"""`snakemake --report` works (no --cores needed) and carries the workflow description, captions and HTML tables.

A real report needs a finished DAG; this one stands in fake report outputs for a CI-tier run in a temp folder.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from uasbench.reports.tables import Table, fmt_percent, to_html

ROOT = Path(__file__).resolve().parents[2]
SNAKEMAKE = Path(sys.executable).parent / "snakemake"


def fake_report_outputs(workdir: Path) -> None:
    """What `uasbench report` leaves in reports/ci/ (one table, the two figures), as far as the report reads it."""
    reports = workdir / "reports" / "ci"
    (reports / "tables").mkdir(parents=True)
    (reports / "figures").mkdir()
    (reports / "index.md").write_text("# uasbench report\n")
    table = Table("Main table", ["Method", "P-AP"], [["MetaUAS", fmt_percent(0.257, 0.009)]], ["config tier: ci"])
    (reports / "tables" / "main_synthetic.html").write_text(to_html(table))
    png = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                        "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082")
    for kind in ("bars", "qualitative"):
        (reports / "figures" / f"{kind}_synthetic.png").write_bytes(png)


def test_report_builds_without_cores_with_description_and_captions(tmp_path):
    fake_report_outputs(tmp_path)
    out = tmp_path / "report.html"
    proc = subprocess.run([str(SNAKEMAKE), "--snakefile", str(ROOT / "Snakefile"), "--directory", str(tmp_path),
                           "--configfile", str(ROOT / "config" / "ci.yaml"), "--nolock", "--report", str(out)],
                          cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    page = out.read_text()
    assert "one-prompt universal anomaly segmentation, tier <strong>ci</strong>" in page  # workflow.rst
    assert "main_synthetic.html" in page and "Metrics in percent" in page  # the HTML table and its caption
    assert "bars_*" in page  # the figures' caption
