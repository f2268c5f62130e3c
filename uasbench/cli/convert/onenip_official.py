"""``uasbench convert onenip-official IN OUT.pt``: official OneNIP weights → uasbench state dict.

``register_official_converter`` is shared with ``uniad-official`` (same checkpoint format, other key rules).
"""

from __future__ import annotations

import argparse

from uasbench.cli.common import add_command

_SOURCES = {
    "onenip": ("OneNIP", "gaobb/OneNIP (checkpoints-v2, ckpt.pkl)"),
    "uniad": ("UniAD", "zhiyuanyou/UniAD (ckpt.pth.tar) or the UniAD config of gaobb/OneNIP"),
}


def register_official_converter(group_subparsers, method: str) -> None:
    """Add ``convert <method>-official``; OneNIP and UniAD share one checkpoint format, so one parser serves both."""
    title, origin = _SOURCES[method]
    description = (
        f"Convert an official {title} checkpoint from {origin}: a {{'state_dict': ...}} file of the "
        f"DistributedDataParallel-wrapped model (keys 'module.backbone.*' = EfficientNet-b4 with its classifier, "
        f"'module.reconstruction.*'), into a uasbench {method} state dict. The file is read with "
        f"torch.load(weights_only=True); image size (16 x the position-table rows) and encoder/decoder depths are "
        f"read off the keys; every key must match a module (names and shapes), otherwise nothing is written and "
        f"the offending keys are named. Load the result with create('{method}', image_size=N, checkpoint=OUT)."
    )
    parser = add_command(group_subparsers, f"{method}-official", f"official {title} checkpoint → uasbench state dict",
                         lambda args: run(method, args), description=description)
    parser.add_argument("input", metavar="IN", help=f"official {title} checkpoint")
    parser.add_argument("output", metavar="OUT.pt", help="where to write the uasbench state dict (atomically)")


def run(method: str, args: argparse.Namespace) -> int:
    """Convert an official OneNIP/UniAD checkpoint and print the ``create`` call that loads it (image size and
    depths are read off the file, so the user need not guess them)."""
    from uasbench.methods.reconstruction.convert import convert_official_checkpoint

    info = convert_official_checkpoint(method, args.input, args.output)  # CPU-only; --device is unused
    print(f"wrote {args.output}: {info['tensors']} tensors, {info['parameters'] / 1e6:.2f}M parameters; "
          f"load with create('{method}', image_size={info['image_size']}, encoder_layers={info['encoder_layers']}, "
          f"decoder_layers={info['decoder_layers']}, checkpoint='{args.output}')")
    return 0


def register(group_subparsers) -> None:
    """Add ``convert onenip-official``."""
    register_official_converter(group_subparsers, "onenip")
