"""``uasbench bench startup``: how long the commands that compute nothing take to start, and what they import.

Every job of the workflow is a fresh ``python -m uasbench ...`` process, and a dry run parses the Snakefile, so
start-up is paid once per job. Each probe is a real command run as a subprocess: one untimed warm-up run (disk
caches, ``__pycache__``), then ``repeats`` timed runs (wall clock, min and median: on a shared machine the min is
the figure), then once more under ``python -X importtime`` to list the heavy packages it imported (torch, timm,
open_clip, torchvision, mlflow), which none of these probes needs.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from uasbench.errors import ConfigError

#: packages a command that computes nothing must not import (seconds of start-up each)
HEAVY_PACKAGES = ("torch", "timm", "open_clip", "torchvision", "mlflow")


@dataclass(frozen=True)
class Probe:
    """A command to time (arguments after ``python``) and its start-up target in seconds."""

    name: str
    args: tuple[str, ...]
    target_s: float


def startup_probes(config: str | Path) -> list[Probe]:
    """The benchmarked commands: ``uasbench --help``, two non-compute jobs' start-up, and a dry run of ``config``'s
    DAG (``snakemake -n``, from the folder holding the Snakefile)."""
    return [Probe("uasbench --help", ("-m", "uasbench", "--help"), 0.5),
            Probe("uasbench evaluate --help", ("-m", "uasbench", "evaluate", "--help"), 1.0),
            Probe("uasbench track --help", ("-m", "uasbench", "track", "--help"), 1.0),
            Probe(f"snakemake -n ({config})", ("-m", "snakemake", "-n", "--cores", "1", "--quiet", "all",
                                               "--configfile", str(config)), 3.0)]


def _run(args: Sequence[str], cwd: Path) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, *args], cwd=cwd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise ConfigError(f"'python {' '.join(args)}' failed in {cwd} (exit {proc.returncode}): "
                          f"{proc.stderr.strip()[-500:]}")
    return proc


def imported_packages(args: Sequence[str], cwd: Path) -> list[str]:
    """Top-level packages the command imports, read from ``python -X importtime`` (its lines go to stderr)."""
    stderr = _run(["-X", "importtime", *args], cwd).stderr
    names = {line.rsplit("|", 1)[-1].strip().split(".")[0] for line in stderr.splitlines()
             if line.startswith("import time:") and "|" in line}
    return sorted(names)


def time_probe(probe: Probe, cwd: Path, repeats: int) -> dict[str, Any]:
    """One probe's wall times (min, median, all), whether the min meets the target, and the heavy imports."""
    _run(probe.args, cwd)  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        _run(probe.args, cwd)
        times.append(time.perf_counter() - start)
    heavy = [p for p in imported_packages(probe.args, cwd) if p in HEAVY_PACKAGES]
    return {"name": probe.name, "command": "python " + " ".join(probe.args), "min_s": min(times),
            "median_s": statistics.median(times), "times_s": times, "target_s": probe.target_s,
            "met": min(times) <= probe.target_s, "heavy_imports": heavy}


def bench_startup(config: str | Path, workdir: str | Path = ".", repeats: int = 5) -> dict[str, Any]:
    """Time every probe of :func:`startup_probes` from ``workdir`` (the repository root: Snakefile, config)."""
    workdir = Path(workdir)
    if not (workdir / "Snakefile").is_file():
        raise ConfigError(f"no Snakefile in {workdir.resolve()}: run from the repository root or pass --workdir")
    probes = [time_probe(p, workdir, repeats) for p in startup_probes(config)]
    return {"repeats": repeats, "python": sys.executable, "probes": probes}


def format_startup(report: dict[str, Any]) -> str:
    """A Markdown table: command, min and median seconds, target, met, heavy packages imported."""
    lines = [f"start-up over {report['repeats']} runs (after one warm-up)", "",
             "| Command | Min s | Median s | Target s | Met | Heavy imports |", "|---|---|---|---|---|---|"]
    for p in report["probes"]:
        lines.append(f"| {p['name']} | {p['min_s']:.2f} | {p['median_s']:.2f} | {p['target_s']:g} | "
                     f"{'yes' if p['met'] else 'NO'} | {', '.join(p['heavy_imports']) or 'none'} |")
    return "\n".join(lines)
