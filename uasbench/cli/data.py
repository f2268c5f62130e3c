"""``uasbench data ...``: dataset checks, generators and previews."""

from uasbench.cli._common import add_group_from_parts


def register(subparsers) -> None:
    add_group_from_parts(subparsers, "data", "check benchmark folders, generate the embedded datasets, preview samples",
                         ["check", "synthetic", "pairs", "preview"])
