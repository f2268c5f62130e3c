"""``uasbench data ...``: dataset checks, generators and previews."""

from uasbench.cli.common import add_group_from_package


def register(subparsers) -> None:
    """Add the ``data`` group; its subcommands are this package's modules."""
    add_group_from_package(subparsers, __name__,
                           "check benchmark folders, generate the embedded datasets, preview samples")
