"""The ``uasbench`` command line: one entry point, one module per command group under ``uasbench/cli/``.

Every module and package here except ``common`` is a command named after its file (``make_change_pairs.py``
is ``make-change-pairs``) and defines ``register(subparsers)`` and ``run(args)``; a package is a command group
whose modules are its subcommands (``cli/data/make_change_pairs.py`` is ``uasbench data make-change-pairs``).
They are discovered, so adding a command never touches this file. Heavy imports (torch, mlflow, ...) stay
inside the command functions so ``uasbench --help`` is instant.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

from uasbench import __version__
from uasbench.errors import UasbenchError, short_message

#: modules of this package that are not commands
NOT_COMMANDS = {"common"}


def build_parser() -> argparse.ArgumentParser:
    """The full ``uasbench`` parser: every command module found in this package registers itself, so a new
    command needs no edit here."""
    parser = argparse.ArgumentParser(
        prog="uasbench",
        description="Benchmark harness for one-prompt universal anomaly segmentation "
        "(MetaUAS, OneNIP and baselines). Commands that compute on a device (run, predict, train, bench latency) "
        "take --device auto|cpu|cuda.",
        epilog="Run 'uasbench COMMAND --help' for the options of one command.",
    )
    parser.add_argument("--version", action="version", version=f"uasbench {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands")
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith("_") or info.name in NOT_COMMANDS:
            continue
        importlib.import_module(f"{__name__}.{info.name}").register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one command and return its exit status: 2 for a usage or input error (one ``uasbench: error:`` line
    instead of a traceback), 130 on Ctrl-C."""
    parser = build_parser()
    args = parser.parse_args(argv)
    func = getattr(args, "func", None)
    if func is None:
        # A group without its subcommand (e.g. 'uasbench data') prints that group's help.
        (getattr(args, "group_parser", None) or parser).print_help(sys.stderr)
        return 2
    try:
        return int(func(args) or 0)
    except UasbenchError as err:
        print(f"uasbench: error: {short_message(err)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("uasbench: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
