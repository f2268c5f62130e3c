"""``uasbench env``: what this machine runs with, and where every backbone's weights would come from."""

from __future__ import annotations

import argparse

from uasbench.cli.common import add_command


def run(args: argparse.Namespace) -> int:
    """Print package versions, the device and each backbone's weight source, flagging random weights, so a bug
    report or a results folder says what it ran on."""
    from uasbench.backbones import weight_report
    from uasbench.devices import resolve_device
    from uasbench.provenance import device_summary, package_versions

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
    """Add ``env``."""
    add_command(subparsers, "env", "print versions, CPU/GPU and the weight source every backbone preset resolves to",
                run)
