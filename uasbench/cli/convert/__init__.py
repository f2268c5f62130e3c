"""``uasbench convert ...``: turn official checkpoints into uasbench state dicts."""

from uasbench.cli.common import add_group_from_package


def register(subparsers) -> None:
    """Add the ``convert`` group; its subcommands are this package's modules."""
    add_group_from_package(subparsers, __name__, "convert official checkpoints to uasbench state dicts")
