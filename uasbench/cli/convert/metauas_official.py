"""``uasbench convert metauas-official IN.ckpt OUT.pt``: official MetaUAS weights → uasbench state dict."""

from __future__ import annotations

import argparse

from uasbench.cli.common import add_command

_DESCRIPTION = """\
Convert an official MetaUAS checkpoint (metauas-256.ckpt / metauas-512.ckpt from the csgaobb/MetaUAS Hugging Face
Space: a plain state dict of the whole model, encoder and its BN statistics included) into a uasbench MetaUAS state
dict for the official configuration (efficientnet_b4, soft alignment, cat fusion, UNet decoder). The file is read
with torch.load(weights_only=True); every key must match (names and shapes), otherwise nothing is written. Load the
result with create('metauas', checkpoint=OUT)."""


def register(group_subparsers) -> None:
    """Add ``convert metauas-official IN.ckpt OUT.pt``."""
    parser = add_command(group_subparsers, "metauas-official", "official MetaUAS .ckpt → uasbench state dict",
                         run, description=_DESCRIPTION)
    parser.add_argument("input", metavar="IN.ckpt", help="official MetaUAS checkpoint")
    parser.add_argument("output", metavar="OUT.pt", help="where to write the uasbench state dict (atomically)")


def run(args: argparse.Namespace) -> int:
    """Convert the official checkpoint and print the tensor and parameter counts as a check of what was read."""
    from uasbench.methods.metauas.convert import convert_official_checkpoint

    counts = convert_official_checkpoint(args.input, args.output)  # conversion is CPU-only; --device is unused
    print(f"wrote {args.output}: {counts['tensors']} tensors, {counts['parameters'] / 1e6:.2f}M parameters")
    return 0
