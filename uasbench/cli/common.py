"""Helpers every command module uses so all commands share the same options and behaviour."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any, Callable

from uasbench.devices import DEVICE_CHOICES

Handler = Callable[[argparse.Namespace], Any]

MAX_SEED = 2**32 - 1


class DefaultsFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Appends ``(default: X)`` only where it says something: not when the help already states its default, and
    not for a None/False default (an optional value or a flag), which read as "(default: None)"."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if action.default is None or action.default is False or action.default == argparse.SUPPRESS \
                or "default" in text:
            return text
        return super()._get_help_string(action)


class RawDefaultsFormatter(argparse.RawDescriptionHelpFormatter, DefaultsFormatter):
    """A description whose line breaks are kept (lists, exit statuses), with the options' defaults as above."""


def add_command(subparsers: Any, name: str, help: str, func: Handler, description: str | None = None,
                device: bool = False) -> argparse.ArgumentParser:
    """Add a leaf command; ``device=True`` for a command that computes on a device (it gets ``--device``)."""
    parser = subparsers.add_parser(name, help=help, description=description or help, formatter_class=DefaultsFormatter)
    if device:
        add_device_argument(parser)
    parser.set_defaults(func=func)
    return parser


def add_device_argument(parser: argparse.ArgumentParser) -> None:
    """``--device auto|cpu|cuda``, the same choices and default for every command that computes."""
    parser.add_argument("--device", default="auto", choices=DEVICE_CHOICES,
                        help="compute device; auto = CUDA when present, else CPU")


def add_precision_argument(parser: argparse.ArgumentParser, what: str) -> None:
    """``--precision fp32|tf32|bf16`` (default None = the config's choice, else fp32)."""
    from uasbench.precision import PRECISIONS

    parser.add_argument("--precision", default=None, choices=PRECISIONS,
                        help=f"numerics of {what}: fp32 (the published numbers), tf32 (CUDA tensor cores) or bf16 "
                             "autocast; default: the config's 'precision', else fp32")


def add_protocol_argument(parser: argparse.ArgumentParser, help: str) -> None:
    """``--protocol``: the choices and default of the config schema's ``metric_protocol`` (read from the schema, so
    a --help page imports no metrics code)."""
    from uasbench.config import load_schema

    spec = load_schema()["properties"]["metric_protocol"]
    parser.add_argument("--protocol", default=spec["default"], choices=spec["enum"], help=help)


def add_inference_execution_arguments(parser: argparse.ArgumentParser, what: str) -> None:
    """How a run's forward passes execute, overriding the run (uasbench.precision.Execution): ``--precision``,
    ``--channels-last`` / ``--no-channels-last`` and ``--compile`` / ``--no-compile`` (None when not given)."""
    add_precision_argument(parser, what)
    parser.add_argument("--channels-last", default=None, action=argparse.BooleanOptionalAction,
                        help="run the network's weights and inputs in channels_last (NHWC) memory order, which "
                             "tensor-core convolutions prefer; default: the run's 'channels_last', else off")
    parser.add_argument("--compile", default=None, action=argparse.BooleanOptionalAction,
                        help="torch.compile the method's network (the first batch compiles, and each new batch "
                             "size; on a CPU it needs a C++ compiler); default: the run's 'compile', else off")


def add_training_execution_arguments(parser: argparse.ArgumentParser, what: str) -> None:
    """How a training entry runs, overriding the entry: ``--precision``, ``--compile`` / ``--no-compile`` and
    ``--workers`` (each None when not given = the entry's value, else the default)."""
    add_precision_argument(parser, what)
    parser.add_argument("--compile", default=None, action=argparse.BooleanOptionalAction,
                        help="torch.compile the training forward + loss (the first batch compiles; on a CPU it needs "
                             "a C++ compiler); default: the entry's 'compile', else off")
    parser.add_argument("--workers", type=non_negative_int, default=None,
                        help="data-loader worker processes (default: the entry's 'workers', else CPU cores - 1, at "
                             "most 16; 0 = build batches in the main process); the batches are the same for any count")


def add_batch_size_argument(parser: argparse.ArgumentParser, default: int = 16) -> None:
    """``--batch-size``: the knob a user lowers when the device runs out of memory."""
    parser.add_argument("--batch-size", type=positive_int, default=default,
                        help="query images per forward pass (lower it when the device runs out of memory)")


def add_group(subparsers: Any, name: str, help: str) -> Any:
    """Add a command group (``uasbench data ...``) and return its sub-subparsers."""
    group = subparsers.add_parser(name, help=help, description=help)
    group.set_defaults(func=None, group_parser=group)
    return group.add_subparsers(dest=f"{name}_command", metavar="SUBCOMMAND", title="subcommands")


def add_group_from_package(subparsers: Any, package: str, help: str) -> Any:
    """A command group (``uasbench data ...``) whose subcommands are the modules of the package ``package``.

    Each module is named after its command (``make_change_pairs.py`` for ``make-change-pairs``) and defines
    ``register(group_subparsers)`` and ``run(args)``; a module that cannot be imported is an error, never skipped.
    """
    import importlib
    import pkgutil

    module = importlib.import_module(package)
    group = add_group(subparsers, package.rsplit(".", 1)[-1], help)
    for info in sorted(pkgutil.iter_modules(module.__path__), key=lambda m: m.name):
        importlib.import_module(f"{package}.{info.name}").register(group)
    return group


def add_config_argument(parser: argparse.ArgumentParser) -> None:
    """``--config``: every workflow command reads the same YAML, by default the embedded tier's."""
    parser.add_argument("--config", default="config/config.yaml",
                        help="workflow config (config/config.yaml = embedded tier, config/paper.yaml = paper scale)")


def _int_in(text: str, low: int, high: int | None = None, why: str = "") -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < low:
        raise argparse.ArgumentTypeError(f"{value} is not allowed: must be a whole number >= {low}")
    if high is not None and value > high:
        raise argparse.ArgumentTypeError(f"{value} is not allowed: must be at most {high}{why}")
    return value


def positive_int(text: str) -> int:
    """argparse type of counts and sizes (batch size, images): 0 or -3 is a usage error, not a crash later."""
    return _int_in(text, 1)


def non_negative_int(text: str) -> int:
    """argparse type of counts that may be zero (workers, warm-up rounds)."""
    return _int_in(text, 0)


def seed_int(text: str) -> int:
    """argparse type of seeds: 0 .. 2**32 - 1, the range every seeded library here accepts (numpy's generators
    refuse negative seeds, torch's overflow above 2**64 - 1)."""
    return _int_in(text, 0, MAX_SEED, " (a 32-bit seed)")


def thread_count(text: str) -> int:
    """argparse type of ``--threads``: 1 .. the CPU cores of this machine (torch allocates per thread: 100000
    threads is a MemoryError, and more threads than cores only slow a run down)."""
    cores = os.cpu_count() or 1
    return _int_in(text, 1, cores, f" (this machine has {cores} CPU cores)")


def image_side(text: str) -> int:
    """argparse type of ``--image-size``: a positive side whose square image stays within the pixel limit (a
    200000 px side would ask for a 120 GB tensor before the first batch)."""
    from uasbench.config import image_size_problem

    value = _int_in(text, 1)
    problem = image_size_problem(value)
    if problem:
        raise argparse.ArgumentTypeError(f"{value} is not allowed: {problem}")
    return value


def add_threads_argument(parser: argparse.ArgumentParser) -> None:
    """``--threads``: torch CPU threads, checked against the machine's cores (see :func:`thread_count`)."""
    parser.add_argument("--threads", type=thread_count, default=None, help="torch CPU threads")


def apply_threads(args: argparse.Namespace) -> None:
    """Set torch's CPU threads when ``--threads`` was given."""
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)


def check_output(path: str | os.PathLike, what: str, inputs: dict[str, str | os.PathLike] | None = None,
                 file: bool = False, whole: bool = False) -> None:
    """The up-front checks of an output path, before any model runs: the folder written into can be created and
    written (``file``: the file's folder; ``whole``: a folder replaced as a whole, so its parent too), a file
    path is not an existing folder, and the path lies apart from every input (label -> path; see
    :func:`uasbench.outdir.check_apart`). Creates nothing."""
    from uasbench.errors import UasbenchError
    from uasbench.io import check_creatable_dir
    from uasbench.outdir import check_apart

    path = Path(path)
    if file and path.is_dir():
        raise UasbenchError(f"{what} {path} is an existing folder; give a file path")
    for folder in ([path.parent] if file else [path, path.parent] if whole else [path]):
        try:
            check_creatable_dir(folder)
        except UasbenchError as err:  # name the output the user gave, not only the folder that blocks it
            raise type(err)(f"{what} {path}: {err}") from None
    check_apart(path, what, inputs or {})
