"""``uasbench bench ...``: speed measurements (metrics throughput, model latency, command start-up)."""

from uasbench.cli.common import add_group_from_package


def register(subparsers) -> None:
    """Add the ``bench`` group; its subcommands are this package's modules."""
    add_group_from_package(subparsers, __name__,
                           "measure speed: metric evaluation, model forward latency, command start-up")
