"""``uasbench env``: what this machine runs with, and where every backbone's weights would come from."""

from __future__ import annotations

import argparse

from uasbench.cli.common import add_command


def run(args: argparse.Namespace) -> int:
    """Print package versions, the device and each backbone's weight source, flagging random weights, so a bug
    report or a results folder says what it ran on; with ``--config``, every weight that config needs."""
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
    if args.config:
        print_config_weights(args.config)
    return 0


def print_config_weights(path: str) -> None:
    """One line per weight the config's training entries and runs load: where it resolves, or for a random one
    where it was looked for, whether the config allows it, and how to get it."""
    from uasbench.backbones.weights import fetch_hint
    from uasbench.config import load_config
    from uasbench.pipeline.weights import config_needs

    needs = config_needs(load_config(path))
    print(f"weights {path} needs ({len(needs)}; runs that name a model read every weight from that model file)")
    for need in needs:
        where = str(need.choice.path) if need.choice.path is not None else "random"
        print(f"  {need.user:<40} {need.what:<32} {where}")
        if need.refused:
            print(f"    REFUSED: its jobs stop before computing; looked in: {'; '.join(need.choice.searched) or '-'}; "
                  f"{fetch_hint(need.fetch)}")
        elif need.choice.is_random and need.pretrained:
            print("    random, allowed by allow_random_weights: results with it are not meaningful")


def register(subparsers) -> None:
    """Add ``env``."""
    p = add_command(subparsers, "env", "print versions, CPU/GPU and the weight source every backbone preset "
                    "resolves to", run)
    p.add_argument("--config", default=None, help="also list every weight this config needs and where it resolves "
                   "(path, or random with where it was looked for)")
